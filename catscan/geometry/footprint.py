"""Scan and tile footprints on the sphere: four corners joined by great circles.

2MASS catalog generation measures a source's distance to the edges of its own scan, where an
edge is the great circle through two of the four 3-band coverage corners (2mass_reference.md
§3, "Tile edges used by catalog generation"). Corners are numbered as in the scan table:
1 = eastern at scan start, 2 = western at start, 3 = eastern at end, 4 = western at end.
Everything here is vectorised numpy so that a million sources cost milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

ARCSEC_PER_RAD = 180.0 / np.pi * 3600.0


def unit_vectors(ra, dec) -> np.ndarray:
    """(n, 3) unit vectors of positions in degrees."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    cos_dec = np.cos(dec)
    return np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1)


@dataclass(frozen=True)
class Footprint:
    """A scan's (or tile's) quadrilateral. ``corners`` are (ra, dec) of corners 1..4."""
    corners: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, row: Mapping) -> Footprint:
        """From a mapping with ``ra_1, dec_1 ... ra_4, dec_4`` (a scans or tiles row)."""
        return cls(tuple((float(row[f"ra_{i}"]), float(row[f"dec_{i}"])) for i in range(1, 5)))

    @cached_property
    def _normals(self) -> dict[str, np.ndarray]:
        """Inward unit normals of the four edges (start, end, east, west)."""
        v = unit_vectors(*np.array(self.corners).T)
        centre = v.sum(axis=0)
        normals = {}
        for name, (a, b) in {"start": (0, 1), "end": (2, 3), "east": (0, 2),
                             "west": (1, 3)}.items():
            n = np.cross(v[a], v[b])
            n /= np.linalg.norm(n)
            normals[name] = n if n @ centre > 0 else -n
        return normals

    def edge_distances(self, ra, dec) -> dict[str, np.ndarray]:
        """Signed angular distance (arcsec) of each position to each edge great circle;
        positive inside the footprint."""
        p = unit_vectors(ra, dec)
        return {name: np.arcsin(np.clip(p @ n, -1.0, 1.0)) * ARCSEC_PER_RAD
                for name, n in self._normals.items()}

    def contains(self, ra, dec, margin_arcsec: float = 0.0) -> np.ndarray:
        """True where a position lies inside, at least ``margin_arcsec`` from every edge."""
        d = self.edge_distances(ra, dec)
        return np.minimum.reduce(list(d.values())) >= margin_arcsec

    @cached_property
    def _normal_matrix(self) -> np.ndarray:
        return np.stack(list(self._normals.values()), axis=1)          # (3, 4)

    def contains_vectors(self, p: np.ndarray, margin_arcsec: float = 0.0) -> np.ndarray:
        """``contains`` for unit vectors (n, 3) at hand: the sine of a position's distance to
        an edge is its dot product with the edge's normal, so no trigonometry is needed."""
        if not len(p):
            return np.zeros(0, bool)
        return (p @ self._normal_matrix).min(axis=1) >= np.sin(margin_arcsec / ARCSEC_PER_RAD)

    def north_is_end(self) -> bool:
        """Whether the scan ran northwards (its end edge is the northern one)."""
        return self.corners[2][1] > self.corners[0][1]


def edge_columns(footprint: Footprint, ra, dec,
                 distances: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The PSC columns ``dist_edge_ns``, ``dist_edge_ew`` (whole arcsec) and
    ``dist_edge_flg`` (nearest N/S edge then nearest E/W edge, e.g. ``"se"``);
    ``distances``: ``footprint.edge_distances(ra, dec)`` if the caller has them."""
    d = footprint.edge_distances(ra, dec) if distances is None else distances
    start_nearer = d["start"] <= d["end"]
    ns = np.where(start_nearer, d["start"], d["end"])
    start_is_north = not footprint.north_is_end()
    ns_flag = np.where(start_nearer == start_is_north, "n", "s")
    east_nearer = d["east"] <= d["west"]
    ew = np.where(east_nearer, d["east"], d["west"])
    ew_flag = np.where(east_nearer, "e", "w")
    return {
        "dist_edge_ns": np.floor(np.maximum(ns, 0)).astype(np.int32),
        "dist_edge_ew": np.floor(np.maximum(ew, 0)).astype(np.int16),
        "dist_edge_flg": np.char.add(ns_flag.astype("U1"), ew_flag.astype("U1")),
    }
