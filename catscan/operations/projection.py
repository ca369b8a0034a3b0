"""Sky geometry for the coverage map: frames, great-circle outlines, the Hammer-Aitoff
projection.

The all-sky map uses the FITS ``AIT`` projection (Calabretta & Greisen 2002: Hammer-Aitoff,
equal-area, as astropy's ``RA---AIT`` WCS), written out in numpy so that a tile crossing the
map's edge can be drawn on both sides: points a little past longitude +-180 project just
outside the ellipse instead of jumping across the map. Tests check it against astropy.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..geometry.footprint import unit_vectors

FRAMES = ("equatorial", "galactic")
AIT_HALF_WIDTH = 2 * np.sqrt(2) * np.degrees(1.0)    # x at longitude 180, latitude 0 [deg]
AIT_HALF_HEIGHT = np.sqrt(2) * np.degrees(1.0)       # y at latitude 90 [deg]


@lru_cache(maxsize=1)
def icrs_to_galactic() -> np.ndarray:
    """The 3x3 rotation taking ICRS unit vectors to Galactic ones (astropy's definition)."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    axes = SkyCoord([0.0, 90.0, 0.0] * u.deg, [0.0, 0.0, 90.0] * u.deg, frame="icrs")  # x y z
    cart = axes.galactic.cartesian
    return np.stack([cart.x.value, cart.y.value, cart.z.value], axis=0)


def to_frame(vectors: np.ndarray, frame: str) -> np.ndarray:
    """ICRS unit vectors (..., 3) in ``frame``."""
    if frame == "equatorial":
        return vectors
    if frame == "galactic":
        return vectors @ icrs_to_galactic().T
    raise ValueError(f"unknown frame {frame!r}: choose {', '.join(FRAMES)}")


def from_frame(vectors: np.ndarray, frame: str) -> np.ndarray:
    """Unit vectors in ``frame`` back to ICRS."""
    if frame == "equatorial":
        return vectors
    return vectors @ icrs_to_galactic()


def lonlat(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(longitude in [0, 360), latitude) in degrees of unit vectors (..., 3)."""
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    lon = np.degrees(np.arctan2(y, x)) % 360.0
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return lon, lat


def great_circle(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """``steps + 1`` points from ``a`` to ``b`` (unit vectors (..., 3)) along the great
    circle: (..., steps + 1, 3). Interpolated chords, normalised: at the < 180 deg edges of
    tiles the spacing is uneven by well under a pixel."""
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    points = a[..., None, :] * (1 - t) + b[..., None, :] * t
    return points / np.linalg.norm(points, axis=-1, keepdims=True)


def outlines(corners: np.ndarray, steps: int) -> np.ndarray:
    """Closed outlines (n, 4 * steps, 3) of quadrilaterals given as ICRS (lon, lat) corners
    (n, 4, 2) in the order around them (1, 2, 4, 3 of the scan table)."""
    v = unit_vectors(corners[..., 0], corners[..., 1])           # (n, 4, 3)
    edges = [great_circle(v[:, i], v[:, (i + 1) % 4], steps)[:, :-1] for i in range(4)]
    return np.concatenate(edges, axis=1)


def lattice(corners: np.ndarray, step_deg: float) -> np.ndarray:
    """Points (n, k, 3) spread over each quadrilateral (corners as in :func:`outlines`)
    no further apart than about ``step_deg``: a sample dense enough that any point of the
    quadrilateral lies within ``step_deg`` of one."""
    v = unit_vectors(corners[..., 0], corners[..., 1])
    c1, c2, c4, c3 = v[:, 0], v[:, 1], v[:, 2], v[:, 3]

    def length(a, b):
        return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1, 1)))

    along = max(float(np.max(length(c1, c3), initial=0)),
                float(np.max(length(c2, c4), initial=0)))
    across = max(float(np.max(length(c1, c2), initial=0)),
                 float(np.max(length(c3, c4), initial=0)))
    n_along = max(1, int(np.ceil(along / step_deg)))
    n_across = max(1, int(np.ceil(across / step_deg)))
    s = np.linspace(0, 1, n_along + 1)[:, None, None, None]
    t = np.linspace(0, 1, n_across + 1)[None, :, None, None]
    start = c1[None, None] * (1 - t) + c2[None, None] * t           # (1, m, n, 3)
    end = c3[None, None] * (1 - t) + c4[None, None] * t
    points = start * (1 - s) + end * s                               # (k, m, n, 3)
    points = points.reshape(-1, len(v), 3).transpose(1, 0, 2)
    return points / np.linalg.norm(points, axis=-1, keepdims=True)


def wrap(lon: np.ndarray, centre: float = 0.0) -> np.ndarray:
    """Longitudes relative to ``centre``, in (-180, 180]."""
    rel = (np.asarray(lon, float) - centre) % 360.0
    return np.where(rel > 180.0, rel - 360.0, rel)


def hammer_aitoff(lon_rel: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FITS AIT projection plane coordinates (x, y) in degrees; ``lon_rel`` relative to the
    map centre (values a little beyond +-180 land just outside the ellipse). x grows with
    longitude: the map flips it to put east on the left."""
    phi, theta = np.radians(lon_rel), np.radians(lat)
    gamma = np.degrees(1.0) * np.sqrt(2.0 / np.maximum(1.0 + np.cos(theta) * np.cos(phi / 2),
                                                       1e-12))
    return 2 * gamma * np.cos(theta) * np.sin(phi / 2), gamma * np.sin(theta)


def inverse_hammer_aitoff(x: np.ndarray, y: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon_rel, lat, inside) of plane coordinates in degrees (FITS AIT inverse)."""
    xr, yr = np.radians(x), np.radians(y)
    zz = 1.0 - (xr / 4) ** 2 - (yr / 2) ** 2
    inside = zz >= 0.5
    z = np.sqrt(np.clip(zz, 0.5, 1.0))
    lon = np.degrees(2 * np.arctan2(z * xr / 2, 2 * z * z - 1))
    lat = np.degrees(np.arcsin(np.clip(yr * z, -1, 1)))
    return lon, lat, inside


def _inward_normals(v: np.ndarray) -> np.ndarray:
    """Inward unit normals (..., k, 3) of the edges of convex spherical polygons given by
    their vertices in order (..., k, 3), either way round."""
    normals = np.cross(v, np.roll(v, -1, axis=-2))
    centre = v.sum(axis=-2, keepdims=True)
    sign = np.sign(np.sum(normals * centre, axis=-1, keepdims=True))
    return normals * np.where(sign == 0, 1, sign)


def overlapping(corners: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which quadrilaterals (corners (n, 4, 2), ICRS degrees, in order around) overlap the
    convex spherical polygon ``polygon`` ((k, 2) degrees): two convex polygons are apart
    exactly when the great circle of an edge of one has the other wholly outside it."""
    tiles = unit_vectors(corners[..., 0], corners[..., 1])             # (n, 4, 3)
    region = unit_vectors(polygon[:, 0], polygon[:, 1])                 # (k, 3)
    tile_normals = _inward_normals(tiles)                               # (n, 4, 3)
    region_normals = _inward_normals(region)                            # (k, 3)
    # region vertices outside a tile edge: (n, 4 edges, k vertices)
    outside_tile = np.einsum("nei,ki->nek", tile_normals, region) < 0
    outside_region = np.einsum("ei,nvi->nev", region_normals, tiles) < 0
    apart = outside_tile.all(axis=2).any(axis=1) | outside_region.all(axis=2).any(axis=1)
    return ~apart


def _radius(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre unit vectors (n, 3), angular radius in radians (n,)) of polygons (n, k, 3)."""
    centre = v.sum(axis=1)
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    cos = np.einsum("nki,ni->nk", v, centre).min(axis=1)
    return centre, np.arccos(np.clip(cos, -1, 1))


def any_overlap(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each quadrilateral of ``a`` (n, 4, 2), whether it overlaps any of ``b`` (m, 4, 2)
    (convex spherical quadrilaterals, ICRS degrees, corners in order around): pairs whose
    bounding circles meet, then the separating-edge test of :func:`overlapping`."""
    out = np.zeros(len(a), bool)
    if len(a) == 0 or len(b) == 0:
        return out
    va, vb = unit_vectors(a[..., 0], a[..., 1]), unit_vectors(b[..., 0], b[..., 1])
    ca, ra = _radius(va)
    cb, rb = _radius(vb)
    na, nb = _inward_normals(va), _inward_normals(vb)
    for start in range(0, len(a), chunk):
        stop = min(start + chunk, len(a))
        separation = np.arccos(np.clip(ca[start:stop] @ cb.T, -1, 1))
        i, j = np.nonzero(separation <= ra[start:stop, None] + rb[None, :] + 1e-9)
        if len(i) == 0:
            continue
        i += start
        out_a = np.einsum("pei,pvi->pev", na[i], vb[j]) < 0       # b's vertices vs a's edges
        out_b = np.einsum("pei,pvi->pev", nb[j], va[i]) < 0
        apart = out_a.all(axis=2).any(axis=1) | out_b.all(axis=2).any(axis=1)
        out[np.unique(i[~apart])] = True
    return out


def near_any(a: np.ndarray, b: np.ndarray, margin_rad: float, chunk: int = 2048
             ) -> np.ndarray:
    """For each quadrilateral of ``a`` (n, 4, 2), whether its bounding circle comes within
    ``margin_rad`` of the bounding circle of any of ``b`` (m, 4, 2): a superset of the pairs
    that may share a HEALPix cell touched by both when the margin is two cell diagonals."""
    out = np.zeros(len(a), bool)
    if len(a) == 0 or len(b) == 0:
        return out
    ca, ra = _radius(unit_vectors(a[..., 0], a[..., 1]))
    cb, rb = _radius(unit_vectors(b[..., 0], b[..., 1]))
    for start in range(0, len(b), chunk):
        stop = min(start + chunk, len(b))
        separation = np.arccos(np.clip(ca @ cb[start:stop].T, -1, 1))
        out |= (separation <= ra[:, None] + rb[None, start:stop] + margin_rad).any(axis=1)
    return out
