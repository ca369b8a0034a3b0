"""Spherical polygons: validated, oriented and cut into convex pieces for exact SQL tests.

A polygon is N >= 3 vertices joined by great-circle arcs (the shorter arc between two
vertices), convex or concave, but simple (no crossing edges) and smaller than a hemisphere:
its inside is the smaller of the two regions its edges bound, whatever order the vertices are
given in (IRSA's ``polygon(10.1 10.1,10.0 10.1,10 10)`` is clockwise). All vertices must lie
within 90 degrees of their mean direction, so the gnomonic projection there maps the polygon
onto a plane polygon with straight edges; the orientation, the simplicity check and the
triangulation run on that plane polygon, where they are exact. Convex pieces come from ear
clipping followed by Hertel-Mehlhorn merging (at most four times the minimum number of
pieces). A point is inside a convex piece when it is on the inner side of each edge's great
circle, ``(v_i x v_i+1) . p >= 0``, which is three multiplications per edge in SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import CatscanError

MAX_VERTICES = 10_000
SAME_VERTEX_RAD = 1e-12          # ~0.2 micro-arcsec: repeated vertices are dropped
MIN_HEMISPHERE_COS = 1e-9        # vertices must be this far inside the hemisphere


class PolygonError(CatscanError):
    """A polygon that cannot be used: too few vertices, crossing edges, too large."""


def unit_vector(ra_deg, dec_deg) -> np.ndarray:
    """(..., 3) unit vectors of positions in degrees."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _cross2(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z of (a - o) x (b - o): > 0 when o, a, b turn counter-clockwise."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - \
        (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


@dataclass(frozen=True)
class SphericalPolygon:
    """A valid polygon: counter-clockwise vertices (inside on the left seen from outside
    the sphere) and its convex pieces as tuples of vertex indices."""

    ra: tuple[float, ...]
    dec: tuple[float, ...]
    pieces: tuple[tuple[int, ...], ...]

    @classmethod
    def from_vertices(cls, vertices: Sequence[tuple[float, float]]) -> SphericalPolygon:
        ra, dec = _clean(vertices)
        xyz = unit_vector(ra, dec)
        plane = _gnomonic(xyz)
        if _signed_area(plane) < 0:                 # make it counter-clockwise
            ra, dec, xyz, plane = ra[::-1], dec[::-1], xyz[::-1], plane[::-1]
        _drop_straight = _straight_vertices(plane)
        if _drop_straight.any():                    # vertices in the middle of an edge
            keep = ~_drop_straight
            ra, dec, xyz, plane = ra[keep], dec[keep], xyz[keep], plane[keep]
        if len(ra) < 3:
            raise PolygonError("the polygon has no area: its vertices lie on one great circle")
        _check_simple(plane)
        return cls(tuple(map(float, ra)), tuple(map(float, dec)), _convex_pieces(plane))

    @cached_property
    def vertices(self) -> np.ndarray:
        """(N, 3) unit vectors."""
        return unit_vector(np.array(self.ra), np.array(self.dec))

    @cached_property
    def _normals(self) -> tuple[np.ndarray, tuple[slice, ...]]:
        """Every piece's edge normals stacked (M, 3), and each piece's slice of them."""
        blocks = [self.edge_normals(piece) for piece in self.pieces]
        ends = np.cumsum([len(b) for b in blocks])
        return np.concatenate(blocks), tuple(slice(e - len(b), e)
                                             for b, e in zip(blocks, ends, strict=True))

    def edge_normals(self, piece: Sequence[int]) -> np.ndarray:
        """Inward normals ``v_i x v_i+1`` of a convex piece's edges (unnormalised)."""
        xyz = self.vertices[list(piece)]
        return np.cross(xyz, np.roll(xyz, -1, axis=0))

    def contains(self, ra, dec) -> np.ndarray:
        """Vectorised inside test (boundary included), the same one the SQL runs."""
        p = unit_vector(np.asarray(ra, float), np.asarray(dec, float))
        normals, pieces = self._normals
        side = p @ normals.T >= 0                      # (..., M): inner side of each edge
        if len(pieces) == 1:
            return side.all(axis=-1)
        return np.any([side[..., s].all(axis=-1) for s in pieces], axis=0)

    @property
    def spec(self) -> str:
        """The validated vertices as text, ``"ra dec,ra dec,..."`` (exact float reprs): what
        the ``sky_polygon_contains`` UDF receives."""
        return ",".join(f"{a!r} {d!r}" for a, d in zip(self.ra, self.dec, strict=True))

    def area_deg2(self) -> float:
        """Solid angle in square degrees: each convex piece as a fan of triangles, each by
        Van Oosterom & Strackee's formula."""
        xyz = self.vertices
        total = 0.0
        for piece in self.pieces:
            a = xyz[piece[0]]
            for j in range(1, len(piece) - 1):
                b, c = xyz[piece[j]], xyz[piece[j + 1]]
                total += 2 * np.arctan2(abs(np.dot(a, np.cross(b, c))),
                                        1 + np.dot(a, b) + np.dot(b, c) + np.dot(c, a))
        return float(total * (180 / np.pi) ** 2)

    def centre(self) -> tuple[float, float, float]:
        """Mean direction of the vertices and the largest distance (deg) to a vertex."""
        xyz = self.vertices
        c = xyz.sum(axis=0)
        c /= np.linalg.norm(c)
        radius = float(np.degrees(np.arccos(np.clip(xyz @ c, -1, 1)).max()))
        ra = float(np.degrees(np.arctan2(c[1], c[0])) % 360.0)
        return ra, float(np.degrees(np.arcsin(np.clip(c[2], -1, 1)))), radius


_BY_SPEC: OrderedDict[str, SphericalPolygon] = OrderedDict()
CACHE_SIZE = 256


def remember(polygon: SphericalPolygon) -> SphericalPolygon:
    """Keep a polygon for :func:`from_spec` (the UDF then need not validate it again)."""
    _BY_SPEC[polygon.spec] = polygon
    _BY_SPEC.move_to_end(polygon.spec)
    while len(_BY_SPEC) > CACHE_SIZE:
        _BY_SPEC.popitem(last=False)
    return polygon


def from_spec(spec: str) -> SphericalPolygon:
    """The polygon a :attr:`SphericalPolygon.spec` text describes (cached)."""
    polygon = _BY_SPEC.get(spec)
    if polygon is not None:
        _BY_SPEC.move_to_end(spec)
        return polygon
    try:
        vertices = [tuple(map(float, pair.split())) for pair in spec.split(",")]
    except ValueError:
        raise PolygonError(f"not a polygon specification: {spec[:80]!r}") from None
    return remember(SphericalPolygon.from_vertices(vertices))


def _clean(vertices: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices as arrays, checked, without repeats (including a closing repeat)."""
    try:
        arr = np.array([(float(a), float(d)) for a, d in vertices], dtype=float)
    except (TypeError, ValueError):
        raise PolygonError("polygon vertices must be (ra, dec) pairs of numbers") from None
    if arr.ndim != 2 or len(arr) < 3:
        raise PolygonError(f"a polygon needs at least 3 vertices, not {len(arr)}")
    if len(arr) > MAX_VERTICES:
        raise PolygonError(f"a polygon has at most {MAX_VERTICES} vertices, not {len(arr)}")
    if not np.isfinite(arr).all() or (np.abs(arr[:, 1]) > 90).any():
        raise PolygonError("polygon vertices need finite RA and Dec within [-90, 90]")
    ra, dec = arr[:, 0] % 360.0, arr[:, 1]
    xyz = unit_vector(ra, dec)
    gap = np.linalg.norm(xyz - np.roll(xyz, -1, axis=0), axis=1)
    keep = gap > SAME_VERTEX_RAD                    # drop v_i when v_i+1 repeats it
    ra, dec = ra[keep], dec[keep]
    if len(ra) < 3:
        raise PolygonError("a polygon needs at least 3 distinct vertices")
    return ra, dec


def _gnomonic(xyz: np.ndarray) -> np.ndarray:
    """Vertices in the gnomonic plane at their mean direction (east, north axes)."""
    c = xyz.sum(axis=0)
    norm = np.linalg.norm(c)
    cos_c = xyz @ (c / norm) if norm > 0 else np.zeros(len(xyz))
    if norm == 0 or cos_c.min() <= MIN_HEMISPHERE_COS:
        raise PolygonError("the polygon is larger than a hemisphere: all its vertices must "
                           "lie within 90 degrees of their mean direction")
    c = c / norm
    pole = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    east = np.cross(pole, c)
    east /= np.linalg.norm(east)
    north = np.cross(c, east)
    return np.stack([xyz @ east / cos_c, xyz @ north / cos_c], axis=1)


def _signed_area(plane: np.ndarray) -> float:
    x, y = plane[:, 0], plane[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _straight_vertices(plane: np.ndarray) -> np.ndarray:
    """Vertices where the boundary goes straight on (turn of exactly zero, same direction)."""
    prev, nxt = np.roll(plane, 1, axis=0), np.roll(plane, -1, axis=0)
    turn = _cross2(prev, plane, nxt)
    forward = np.einsum("ij,ij->i", plane - prev, nxt - plane) > 0
    scale = np.linalg.norm(plane - prev, axis=1) * np.linalg.norm(nxt - plane, axis=1)
    return (np.abs(turn) <= 1e-15 * scale) & forward


def _check_simple(plane: np.ndarray) -> None:
    """No two non-adjacent edges meet, and no edge folds back on the next one."""
    n = len(plane)
    a, b = plane, np.roll(plane, -1, axis=0)
    block = max(1, 4_000_000 // n)                     # pairs tested at once
    for start in range(0, n, block):
        i = np.arange(start, min(n, start + block))[:, None]
        j = np.arange(n)[None, :]
        pairs = (j >= i + 2) & ~((i == 0) & (j == n - 1))        # not the same or adjacent
        ai, bi, c, d = a[i[:, 0]][:, None], b[i[:, 0]][:, None], a[None], b[None]
        d1, d2 = _cross2(c, d, ai), _cross2(c, d, bi)
        d3, d4 = _cross2(ai, bi, c), _cross2(ai, bi, d)
        crossing = (d1 * d2 <= 0) & (d3 * d4 <= 0)
        # collinear pairs pass the sign test without touching: check their extents overlap
        collinear = (d1 == 0) & (d2 == 0)
        if (collinear & pairs).any():
            lo, hi = np.minimum(c, d), np.maximum(c, d)
            ilo, ihi = np.minimum(ai, bi), np.maximum(ai, bi)
            touch = np.all((lo <= ihi) & (ilo <= hi), axis=-1)
            crossing = np.where(collinear, touch, crossing)
        crossing &= pairs
        if crossing.any():
            ii, jj = (int(v) for v in np.argwhere(crossing)[0])
            ii += start
            raise PolygonError(f"the polygon's edges cross: edge {ii + 1} (vertex {ii + 1} to "
                               f"{(ii + 1) % n + 1}) meets edge {jj + 1} (vertex {jj + 1} to "
                               f"{(jj + 1) % n + 1})")
    prev, nxt = np.roll(plane, 1, axis=0), np.roll(plane, -1, axis=0)
    back = (np.abs(_cross2(prev, plane, nxt)) <= 1e-15) & \
        (np.einsum("ij,ij->i", plane - prev, nxt - plane) < 0)
    if back.any():
        k = int(np.argmax(back))
        raise PolygonError(f"the polygon's edges fold back on themselves at vertex {k + 1}")


def _convex_pieces(plane: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """Convex pieces of a counter-clockwise simple plane polygon, as vertex index tuples."""
    n = len(plane)
    if (_cross2(np.roll(plane, 1, axis=0), plane, np.roll(plane, -1, axis=0)) >= 0).all():
        return (tuple(range(n)),)
    return _merge(plane, _ear_clip(plane))


def _ear_clip(plane: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles (counter-clockwise index triples) of a simple polygon, by ear clipping;
    vertices that became straight (an edge continues through them) are dropped."""
    left = list(range(len(plane)))
    triangles: list[tuple[int, int, int]] = []
    i = 0
    while len(left) > 3:
        m = len(left)
        for step in range(m):
            k = (i + step) % m
            p, v, q = left[k - 1], left[k], left[(k + 1) % m]
            turn = _cross2(plane[p], plane[v], plane[q])
            straight = turn == 0 and float(np.dot(plane[v] - plane[p],
                                                  plane[q] - plane[v])) > 0
            if straight or (turn > 0 and not _any_inside(plane, left, p, v, q)):
                if not straight:
                    triangles.append((p, v, q))
                del left[k]
                i = max(k - 1, 0)
                break
        else:
            raise PolygonError("the polygon cannot be cut into triangles: it is degenerate "
                               "(edges touching or folding back)")
    if _cross2(*plane[left]) > 0:
        triangles.append((left[0], left[1], left[2]))
    return triangles


def _any_inside(plane: np.ndarray, left: list[int], p: int, v: int, q: int) -> bool:
    """Whether another remaining reflex-capable vertex lies in the triangle p, v, q."""
    others = np.array([k for k in left if k not in (p, v, q)])
    if len(others) == 0:
        return False
    pts = plane[others]
    a, b, c = plane[p], plane[v], plane[q]
    return bool(np.any((_cross2(a, b, pts) >= 0) & (_cross2(b, c, pts) >= 0)
                       & (_cross2(c, a, pts) >= 0)))


def _merge(plane: np.ndarray, triangles: list[tuple[int, int, int]]
           ) -> tuple[tuple[int, ...], ...]:
    """Hertel-Mehlhorn: drop each diagonal whose removal leaves a convex piece."""
    pieces: dict[int, list[int]] = {k: list(t) for k, t in enumerate(triangles)}
    owner: dict[tuple[int, int], int] = {}
    for k, tri in pieces.items():
        for a, b in zip(tri, tri[1:] + tri[:1], strict=True):
            owner[(a, b)] = k
    n = len(plane)
    diagonals = [(a, b) for (a, b) in owner if (b - a) % n not in (1, n - 1) and a < b]
    for a, b in diagonals:
        k1, k2 = owner.get((a, b)), owner.get((b, a))
        if k1 is None or k2 is None or k1 == k2:
            continue
        p1, p2 = pieces[k1], pieces[k2]
        i1, i2 = p1.index(b), p2.index(a)
        merged = p1[i1:] + p1[:i1]                   # b ... a
        merged += (p2[i2:] + p2[:i2])[1:-1]          # a ... b without a and b
        if not _convex_at(plane, merged, (a, b)):
            continue
        pieces[k1] = merged
        del pieces[k2]
        del owner[(a, b)], owner[(b, a)]
        for u_, w in zip(merged, merged[1:] + merged[:1], strict=True):
            if (u_, w) in owner:
                owner[(u_, w)] = k1
    return tuple(tuple(p) for p in pieces.values())


def _convex_at(plane: np.ndarray, piece: list[int], corners: tuple[int, int]) -> bool:
    m = len(piece)
    for vertex in corners:
        j = piece.index(vertex)
        if _cross2(plane[piece[j - 1]], plane[vertex], plane[piece[(j + 1) % m]]) < 0:
            return False
    return True
