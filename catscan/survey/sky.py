"""The true sky of the sample survey: stars and galaxies, the same for every scan that sees them.

Sources are drawn per HEALPix cell (NESTED order 7, 0.21 deg²) from a generator seeded by
(seed, cell), so any scan overlapping a cell sees exactly the same objects, whichever night
observes it and in whatever order the survey is generated. Overlapping scans therefore detect
the same stars, which is what makes duplicate resolution (use_src / dup_src) meaningful.

Star density follows the Galaxy: about 2e3 per deg² (to J ≈ 17) towards the Galactic poles,
rising to about 1e5 per deg² in the plane towards the centre. Galaxies number about 40 per
deg² at high latitude and thin out behind the plane.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import cdshealpix.nested as hp
import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord
from cdshealpix import cdshealpix as _cds

from ..geometry.footprint import unit_vectors

CELL_DEPTH = 7
CELL_AREA_DEG2 = 41252.96 / (12 * 4**CELL_DEPTH)
POLE_DENSITY = 2000.0          # stars per deg² to J ≈ 17 at high latitude
PLANE_DENSITY = 1.2e5          # extra stars per deg² in the plane towards l = 0
PLANE_SCALE_DEG = 3.5          # exponential scale height of the plane, in b
GALAXY_DENSITY = 40.0          # XSC-like galaxies per deg² (K < 13.5) away from the plane
J_FAINT = 17.2                 # faintest true J drawn


def star_density(l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
    """Stars per deg² at Galactic (l, b), the model the generator draws from."""
    dl = (np.asarray(l_deg) + 180.0) % 360.0 - 180.0
    towards_centre = 0.35 + 0.65 * np.exp(-((dl / 40.0) ** 2))
    return POLE_DENSITY + PLANE_DENSITY * np.exp(-np.abs(b_deg) / PLANE_SCALE_DEG) * towards_centre


def galaxy_density(b_deg: np.ndarray) -> np.ndarray:
    """Galaxies per deg²: fewer behind the dust and crowding of the plane."""
    return GALAXY_DENSITY * (1.0 - np.exp(-np.abs(b_deg) / 5.0))


@lru_cache(maxsize=1)
def _icrs_to_galactic() -> np.ndarray:
    """The ICRS -> Galactic rotation matrix, taken from astropy once (the transform per
    call costs milliseconds; cells need thousands of them)."""
    basis = SkyCoord(x=[1.0, 0.0, 0.0], y=[0.0, 1.0, 0.0], z=[0.0, 0.0, 1.0],
                     representation_type="cartesian", frame="icrs")
    return np.asarray(basis.galactic.cartesian.xyz.value)


def galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic (l, b) in degrees of ICRS positions (element by element, so a value never
    depends on the array it came in: the files must not depend on how work was batched)."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    v = (np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec))
    m = _icrs_to_galactic()
    x, y, z = (m[i, 0] * v[0] + m[i, 1] * v[1] + m[i, 2] * v[2] for i in range(3))
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))


def _sub_cells(rng: np.random.Generator, cell: int, n: int) -> np.ndarray:
    """``n`` random order-29 sub-cells of a cell: positions uniform on the sphere inside it."""
    shift = np.uint64(2 * (29 - CELL_DEPTH))
    return (np.uint64(cell) << shift) + rng.integers(0, 1 << int(shift), n, dtype=np.uint64)


_JRLL = np.array([2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4], np.int64)   # base cells' ring / 1 nside
_JPLL = np.array([1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7], np.int64)   # and longitude / 45 deg


def _compress_bits(v: np.ndarray) -> np.ndarray:
    """The even bits of ``v`` packed together (a NESTED index's x; its odd bits are y)."""
    x = v & np.uint64(0x5555555555555555)
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F),
                        (4, 0x00FF00FF00FF00FF), (8, 0x0000FFFF0000FFFF),
                        (16, 0x00000000FFFFFFFF)):
        x = (x | (x >> np.uint64(shift))) & np.uint64(mask)
    return x.astype(np.int64)


def _lonlat(ipix: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres (ra, dec in degrees) of NESTED HEALPix cells: HEALPix's nest2xyf + pix2loc
    (Gorski et al. 2005) in numpy. cdshealpix gives the same to 1e-13 deg
    (tests/test_generate_workers.py) but starts a thread pool on every call (~0.4 ms, tens of
    ms on a loaded machine), and the generator converts a few cells at a time."""
    ipix = np.asarray(ipix, np.uint64)
    nside = 1 << depth
    face = (ipix >> np.uint64(2 * depth)).astype(np.int64)
    within = ipix & np.uint64(nside * nside - 1)
    ix, iy = _compress_bits(within), _compress_bits(within >> np.uint64(1))
    jr = _JRLL[face] * nside - ix - iy - 1                  # ring number, 1 .. 4 nside - 1
    north, south = jr < nside, jr > 3 * nside
    polar = north | south
    nr = np.where(north, jr, np.where(south, 4 * nside - jr, nside))
    tmp = nr.astype(float) ** 2 / (3.0 * nside * nside)     # 1 - |z| in the polar caps
    z = np.where(polar, np.where(north, 1.0 - tmp, tmp - 1.0),
                 (2 * nside - jr) * (2.0 / (3.0 * nside)))
    sin_theta = np.sqrt(np.maximum(np.where(polar, tmp * (2.0 - tmp), (1.0 - z) * (1.0 + z)),
                                   0.0))
    kshift = np.where(polar, 0, (jr - nside) & 1)
    jp = (_JPLL[face] * nr + ix - iy + 1 + kshift) // 2
    jp = np.where(jp > 4 * nside, jp - 4 * nside, np.where(jp < 1, jp + 4 * nside, jp))
    phi = (jp - (kshift + 1) * 0.5) * (np.pi / 2 / nr)
    return np.degrees(phi) % 360.0, np.degrees(np.arctan2(z, sin_theta))


def cells_of(ra_corners, dec_corners) -> np.ndarray:
    """The order-7 cells overlapping a polygon (corners in order around it)."""
    lon, lat = np.radians(np.asarray(ra_corners, float)), np.radians(np.asarray(dec_corners,
                                                                                 float))
    try:    # the Rust function itself: its Python wrapper's argument checks cost 10x the search
        ipix, _, _ = _cds.polygon_search(CELL_DEPTH, lon, lat, True)
    except (AttributeError, TypeError):
        ipix, _, _ = hp.polygon_search(Angle(lon, u.rad), Angle(lat, u.rad), CELL_DEPTH,
                                       flat=True)
    return np.unique(np.asarray(ipix, dtype=np.int64))


def _draw_stars(seed: int, cell: int, l_deg: float, b_deg: float):
    """A cell's stars but their positions: (sub-cells, columns)."""
    rng = np.random.default_rng([seed, 7, cell])
    n = rng.poisson(float(star_density(np.array(l_deg), np.array(b_deg))) * CELL_AREA_DEG2)
    sub = _sub_cells(rng, cell, n)
    # near-infrared number counts dN/dm ∝ 10^(0.3 m), brighter than 3 mag clipped
    j = np.maximum(J_FAINT + np.log10(rng.uniform(1e-12, 1, n)) / 0.3, 3.0)
    reddening = rng.exponential(0.25, n) * np.exp(-abs(b_deg) / 4.0)
    j_h = rng.normal(0.62, 0.18, n) + 0.35 * reddening
    h_k = rng.normal(0.18, 0.08, n) + 0.2 * reddening
    return sub, {"j": j, "h": j - j_h, "k": j - j_h - h_k,
                 "star_id": (np.int64(cell) << 24) + np.arange(n, dtype=np.int64)}


def _draw_galaxies(seed: int, cell: int, l_deg: float, b_deg: float):
    """A cell's galaxies but their positions: (sub-cells, properties)."""
    from .synthetic_xsc import true_galaxies

    rng = np.random.default_rng([seed, 8, cell])
    n = rng.poisson(float(galaxy_density(np.array(b_deg))) * CELL_AREA_DEG2)
    sub = _sub_cells(rng, cell, n)
    # the properties draw nothing that depends on the position, which is filled in later
    return sub, true_galaxies(np.zeros(n), np.zeros(n), rng)


# Neighbouring scans share cells; the cache holds a strip's worth (a dense cell is ~1 MB).
CACHE_CELLS = 128
_CACHE: dict[str, OrderedDict] = {"stars": OrderedDict(), "galaxies": OrderedDict()}
_DRAW = {"stars": _draw_stars, "galaxies": _draw_galaxies}


def _in_cells(kind: str, seed: int, cells) -> list[dict[str, np.ndarray]]:
    """The true sources of each cell (cached; the cells missing are drawn together), with
    their unit vectors (``xyz``): every scan over a cell tests them against its edges."""
    cache = _CACHE[kind]
    cells = [int(c) for c in cells]
    missing = [c for c in dict.fromkeys(cells) if (seed, c) not in cache]
    if missing:
        l_deg, b_deg = galactic(*_lonlat(np.array(missing), CELL_DEPTH))
        drawn = [_DRAW[kind](seed, c, float(lc), float(bc))
                 for c, lc, bc in zip(missing, l_deg, b_deg, strict=True)]
        ra, dec = _lonlat(np.concatenate([sub for sub, _ in drawn]), 29)
        start = 0
        for c, (sub, columns) in zip(missing, drawn, strict=True):
            end = start + len(sub)
            cache[(seed, c)] = {**columns, "ra": ra[start:end], "dec": dec[start:end],
                                "xyz": unit_vectors(ra[start:end], dec[start:end])}
            start = end
    found = []
    for c in cells:
        cache.move_to_end((seed, c))
        found.append(cache[(seed, c)])
    while len(cache) > max(CACHE_CELLS, len(set(cells))):
        cache.popitem(last=False)
    return found


def stars_in_cells(seed: int, cells) -> list[dict[str, np.ndarray]]:
    """True stars of each cell: ra, dec and true J, H, Ks magnitudes (do not modify)."""
    return _in_cells("stars", seed, cells)


def galaxies_in_cells(seed: int, cells) -> list[dict[str, np.ndarray]]:
    """True galaxies of each cell: positions, total Ks, colours, sizes and shapes."""
    return _in_cells("galaxies", seed, cells)


def clear_cache() -> None:
    """Forget the cached cells (the true sky is only needed while writing)."""
    for cache in _CACHE.values():
        cache.clear()


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join per-cell dicts of arrays (an empty list gives empty arrays)."""
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
