"""The sky area, one implementation for ``catscan info``, ``catscan coverage`` and the
server: unions of footprints as HEALPix MOCs at one depth (AREA_DEPTH), kept up to date by
what a write changed instead of built again from every footprint (docs/operations.md).

A footprint's MOC (mocpy) costs 1-5 ms at AREA_DEPTH, so the union of the whole sky's
~56,000 footprints takes a minute or more, while a night changes ~40-100. Each set (a
hemisphere's loaded scans, its tiles in each other state, its calibration fields) is kept
with its union: the footprints' ids, their corners and the MOC, in this process and in
``<db>.kept/`` for the next one (catscan/kept.py). To bring a set up to date (:func:`update`), only
footprints that joined it are built; when some left it, the cells their MOCs touched are
taken out and filled again from the set's footprints that could share a cell with them
(bounding circles within two cell diagonals), which gives exactly the cells of a union built
from scratch. A set is built from scratch only when no earlier state of it is known (a new
database, a lost directory) or when most of it left.

The kept sets do not depend on the content version: ``scans`` and ``tiles`` say what each set
holds now, the kept state what it held when its MOC was made, and the difference is the
work. (The version only lets one process share the answer between ``info`` and ``coverage``.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

if TYPE_CHECKING:
    from mocpy import MOC

    from .coverage import Tiles

AREA_DEPTH = 12               # 51.5" cells: see docs/operations.md for the error and the cost
SKY_DEG2 = 4 * math.pi * math.degrees(1.0) ** 2
KEPT_PREFIX = "area."         # the sets' names in <db>.kept/ (catscan/kept.py)
REBUILD_FRACTION = 0.5        # more of a set left than this: build it again from scratch


def resolution_arcsec(depth: int) -> float:
    """Mean size of a HEALPix cell at ``depth``."""
    return math.sqrt(SKY_DEG2 / (12 * 4**depth)) * 3600


def area_deg2(moc: MOC) -> float:
    return 0.0 if moc.empty() else float(moc.sky_fraction * SKY_DEG2)


@dataclass
class Union:
    """A set of footprints (tile ids sorted, corners (n, 4, 2) ICRS degrees in order around)
    and the MOC of their union at ``depth``."""

    ids: np.ndarray
    corners: np.ndarray
    moc: MOC
    depth: int


def polygons_moc(corners: np.ndarray, depth: int) -> MOC:
    """The union of quadrilateral footprints (corners (n, 4, 2), ICRS degrees): one mocpy
    call builds every polygon's MOC (in parallel), their ranges are merged in one step."""
    from mocpy import MOC

    if len(corners) == 0:
        return MOC.new_empty(depth)
    vertices = np.empty((2 * len(corners), 4))
    vertices[0::2], vertices[1::2] = corners[..., 0], corners[..., 1]
    mocs = MOC.from_polygons(vertices, max_depth=depth)
    return mocs[0].union(*mocs[1:]) if len(mocs) > 1 else mocs[0]


def build(ids: np.ndarray, corners: np.ndarray, depth: int = AREA_DEPTH) -> Union:
    """A set's union from scratch."""
    order = np.argsort(ids, kind="stable")
    return Union(ids[order], corners[order], polygons_moc(corners[order], depth), depth)


def update(previous: Union | None, ids: np.ndarray, corners: np.ndarray,
           depth: int = AREA_DEPTH) -> Union:
    """The set (``ids``, ``corners``) and its union, from the union of an earlier state of
    the set: exactly :func:`build`'s MOC, at the cost of the tiles that joined or left."""
    from .projection import near_any

    order = np.argsort(ids, kind="stable")
    ids, corners = ids[order], corners[order]
    if previous is None or previous.depth != depth:
        return build(ids, corners, depth)
    both, old_at, new_at = np.intersect1d(previous.ids, ids, assume_unique=True,
                                          return_indices=True)
    moved = ~np.all(previous.corners[old_at] == corners[new_at], axis=(1, 2))
    kept_old = np.zeros(len(previous.ids), bool)
    kept_old[old_at[~moved]] = True
    kept_new = np.zeros(len(ids), bool)
    kept_new[new_at[~moved]] = True
    left, joined = previous.corners[~kept_old], corners[~kept_new]
    if len(left) == 0 and len(joined) == 0:
        return Union(ids, corners, previous.moc, depth)
    if len(left) > REBUILD_FRACTION * max(len(previous.ids), 1):
        return build(ids, corners, depth)
    moc = previous.moc
    if len(left):
        # cells of the tiles that left, then those of every tile still in the set that may
        # touch one of those cells (the cells a tile's MOC holds lie within a cell diagonal
        # of it; two diagonals between bounding circles leave room for both)
        margin = math.radians(4 * resolution_arcsec(depth) / 3600)
        refill = kept_new & near_any(corners, left, margin)
        moc = moc.difference(polygons_moc(left, depth))
        joined = np.concatenate([joined, corners[refill]])
    if len(joined):
        moc = moc.union(polygons_moc(joined, depth))
    return Union(ids, corners, moc, depth)


# --- the sets of a database ------------------------------------------------------------------

LOADED_SQL = ("SELECT hemis, ra_1, dec_1, ra_2, dec_2, ra_4, dec_4, ra_3, dec_3 FROM scans "
              "WHERE loaded AND ra_1 IS NOT NULL AND ra_2 IS NOT NULL AND ra_3 IS NOT NULL "
              "AND ra_4 IS NOT NULL")
FNV_OFFSET, FNV_PRIME = np.uint64(14695981039346656037), np.uint64(1099511628211)


def footprint_ids(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct footprints of ``corners`` (n, 4, 2) and an id for each, a 64-bit hash of
    its corners (a scan keeps its id when a reprocessing loads it again with the same
    corners); positions instead if two distinct footprints hash alike."""
    flat = np.ascontiguousarray(corners, float).reshape(len(corners), 8)
    words = flat.view(np.uint64)
    ids = np.full(len(flat), FNV_OFFSET, np.uint64)
    for k in range(8):
        ids = (ids ^ words[:, k]) * FNV_PRIME
    ids, first, inverse = np.unique(ids.view(np.int64), return_index=True,
                                    return_inverse=True)
    if not np.array_equal(words, words[first][inverse]):      # two footprints, one hash
        flat = np.unique(flat, axis=0)
        return np.arange(len(flat), dtype=np.int64), flat.reshape(-1, 4, 2)
    return ids, flat[first].reshape(-1, 4, 2)


def footprint_sets(con: duckdb.DuckDBPyConnection, tiles: Tiles
                   ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(ids, corners) of each set kept: ``n.loaded``, ``s.loaded``: the footprints of the
    loaded scans (also those loaded from release files, which leave tile states alone);
    ``n.rejected``, ...: the tiles in each other state but ``planned`` (coverage.py derives
    it from the others); ``n.calibration``, ``s.calibration``: the calibration fields, which
    the hemispheres' domains add."""
    from ..findtile import CALIBRATION_IDS
    from .coverage import STATES

    scans = con.execute(LOADED_SQL).fetchnumpy()
    hemis = np.asarray(scans["hemis"]).astype(str)
    lon = np.stack([np.asarray(scans[f"ra_{i}"], float) for i in (1, 2, 4, 3)], axis=1)
    lat = np.stack([np.asarray(scans[f"dec_{i}"], float) for i in (1, 2, 4, 3)], axis=1)
    loaded = np.stack([lon, lat], axis=2) if len(hemis) else np.zeros((0, 4, 2))
    sets = {}
    for h in ("n", "s"):
        sets[f"{h}.loaded"] = footprint_ids(loaded[hemis == h])
        mine = tiles.hemis == h
        for state in STATES:
            if state not in ("planned", "loaded"):
                rows = np.flatnonzero(mine & (tiles.state == state))
                sets[f"{h}.{state}"] = (tiles.tile[rows].astype(np.int64), tiles.corners[rows])
        rows = np.flatnonzero(mine & (tiles.tile < CALIBRATION_IDS))
        sets[f"{h}.calibration"] = (tiles.tile[rows].astype(np.int64), tiles.corners[rows])
    return sets


def current_unions(con: duckdb.DuckDBPyConnection, tiles: Tiles) -> dict[str, MOC]:
    """The MOC of every set of :func:`footprint_sets` (``tiles``: ``con``'s, read now), kept
    by content version (``info`` and ``coverage`` in one process share them)."""
    from ..content import cached

    return cached(con, "area.unions", lambda: _up_to_date(con, tiles))


def _up_to_date(con: duckdb.DuckDBPyConnection, tiles: Tiles) -> dict[str, MOC]:
    """Each set brought up to date from the state kept in this process or in ``<db>.kept/``
    (catscan/kept.py; the sets that changed are kept again)."""
    from .. import kept
    from ..content import database_file

    db = database_file(con)
    out = {}
    for name, (ids, corners) in footprint_sets(con, tiles).items():
        key = f"{KEPT_PREFIX}{name}"
        before = kept.recall(db, key, _decode) if db is not None else None
        now = update(before, ids, corners)
        if db is not None and (before is None or now.moc is not before.moc):
            _keep(db, key, now)
        out[name] = now.moc
    return out


def from_scratch(con: duckdb.DuckDBPyConnection, tiles: Tiles) -> dict[str, MOC]:
    """Every set's MOC built from all its footprints, nothing kept: what
    :func:`current_unions` must equal (tests, bench/wholesky.py)."""
    return {name: build(ids, corners).moc
            for name, (ids, corners) in footprint_sets(con, tiles).items()}


def loaded_moc(con: duckdb.DuckDBPyConnection) -> MOC:
    """The union of the footprints of every loaded scan, both hemispheres."""
    from .coverage import load_tiles

    unions = current_unions(con, load_tiles(con))
    return unions["n.loaded"].union(unions["s.loaded"])


def loaded_area(con: duckdb.DuckDBPyConnection) -> float:
    """Sky area (deg2) covered by loaded scans: the area ``catscan coverage`` gives for the
    ``loaded`` state of ``all`` (the same MOC)."""
    return area_deg2(loaded_moc(con))


def forget() -> None:
    """Drop the sets kept in this process (the files stay)."""
    from .. import kept

    kept.forget(KEPT_PREFIX)


def _decode(stored) -> Union:
    """A set kept in ``<db>.kept/`` (ids, corners, depth and its MOC as a FITS file: reading
    one is ~20x faster than building it from its ranges)."""
    from mocpy import MOC

    ids, corners, depth = stored.arrays["ids"], stored.arrays["corners"], \
        int(stored.arrays["depth"])
    if corners.shape != (len(ids), 4, 2):
        raise ValueError("a kept set of another shape")
    moc = MOC.load(stored.files["moc"], format="fits") if "moc" in stored.files else \
        MOC.new_empty(depth)
    return Union(ids, corners, moc, depth)


def _keep(db: Path, key: str, union: Union) -> None:
    from .. import kept

    files = {} if union.moc.empty() else {
        "moc": (".fits", lambda path: union.moc.save(path, format="fits", overwrite=True))}
    kept.keep(db, key, union, {"ids": union.ids, "corners": union.corners,
                               "depth": np.array(union.depth)}, files)
