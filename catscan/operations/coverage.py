"""How much of the sky each tile state covers, on the sphere: HEALPix MOC unions of tile
footprints (mocpy), never tile counts (tiles overlap, and their areas differ).

A footprint's MOC holds every cell its quadrilateral touches, so areas err upwards by at
most the cells along the union's boundary (a resolution chosen by the number of polygons:
12.9" cells for a few hundred, coarser for more, see :func:`choose_depth`). Building one
polygon's MOC costs ~0.1-3 ms, so the largest state of a hemisphere (``planned`` early,
``loaded`` late) is not built from its tiles: the grid covers its hemisphere's zone
(docs/tiles.md), so that state covers the zone minus the other states, plus its own tiles
that reach into them. The cost then follows the tiles not in the largest state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from ..errors import CatscanError
from . import projection
from .area import (  # noqa: F401 (coverage.resolution_arcsec, as before)
    AREA_DEPTH,
    SKY_DEG2,
    area_deg2,
    polygons_moc,
    resolution_arcsec,
)

if TYPE_CHECKING:
    from mocpy import MOC

STATES = ("planned", "observed", "processed", "loaded", "rescan", "rejected")
STATE_TEXT = {"planned": "planned", "observed": "observed", "processed": "processed",
              "loaded": "loaded", "rescan": "rescan requested", "rejected": "QA-rejected"}
HEMISPHERES = ("all", "n", "s")
NEAR_STEP_DEG = 0.25          # lattice spacing for "does this tile reach that MOC?"
NEAR_DEPTH = 6                # 0.9 deg cells (min width > 0.5 deg > NEAR_STEP_DEG)
TILES_SQL = ("SELECT tile, hemis, status, ra, dec, ra_1, dec_1, ra_2, dec_2, ra_4, dec_4, "
             "ra_3, dec_3, quality, scans FROM tiles WHERE ra_1 IS NOT NULL AND "
             "ra_2 IS NOT NULL AND ra_3 IS NOT NULL AND ra_4 IS NOT NULL ORDER BY tile")


@dataclass
class Tiles:
    """The tiles table as numpy columns; ``corners`` (n, 4, 2) ICRS lon/lat in the order
    around the footprint (scan-table corners 1, 2, 4, 3)."""

    tile: np.ndarray
    hemis: np.ndarray
    state: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    corners: np.ndarray
    quality: np.ndarray
    scans: np.ndarray

    def __len__(self) -> int:
        return len(self.tile)

    def subset(self, index) -> Tiles:
        return Tiles(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    def counts(self) -> dict[str, int]:
        return {s: int(np.count_nonzero(self.state == s)) for s in STATES}


def load_tiles(con: duckdb.DuckDBPyConnection) -> Tiles:
    cols = con.sql(TILES_SQL).fetchnumpy()
    corners = np.stack([np.stack([np.asarray(cols[f"ra_{i}"], float),
                                  np.asarray(cols[f"dec_{i}"], float)], axis=1)
                        for i in (1, 2, 4, 3)], axis=1) if len(cols["tile"]) else \
        np.zeros((0, 4, 2))
    quality = np.asarray(cols["quality"], dtype=float) if len(cols["tile"]) else np.zeros(0)
    return Tiles(np.asarray(cols["tile"]), np.asarray(cols["hemis"]).astype(str),
                 np.asarray(cols["status"]).astype(str), np.asarray(cols["ra"], float),
                 np.asarray(cols["dec"], float), corners, quality, np.asarray(cols["scans"]))


# --- MOCs -----------------------------------------------------------------------------------

def choose_depth(polygons: int) -> int:
    """The finest MOC depth that keeps building ``polygons`` footprints to about a second:
    14 (12.9" cells) up to 300, 13 (25.8") up to 1,200, 12 (51.5") up to 5,000, 11 (1.7')
    up to 20,000, else 10 (3.4')."""
    for limit, depth in ((300, 14), (1200, 13), (5000, 12), (20000, 11)):
        if polygons <= limit:
            return depth
    return 10


def empty(depth: int) -> MOC:
    from mocpy import MOC

    return MOC.new_empty(depth)


def union(mocs: list[MOC], depth: int) -> MOC:
    mocs = [m for m in mocs if not m.empty()]
    if not mocs:
        return empty(depth)
    return mocs[0].union(*mocs[1:]) if len(mocs) > 1 else mocs[0]


def reaching(tiles: Tiles, others: Tiles, moc: MOC) -> np.ndarray:
    """Which ``tiles`` overlap any of ``others`` (whose union is ``moc``): a quick superset
    first (a lattice of points on each tile, none more than NEAR_STEP_DEG from any of its
    points, tested against the MOC grown to 0.9 deg cells and their neighbours), then the
    exact great-circle test on those."""
    from astropy import units as u

    if moc.empty() or len(tiles) == 0 or len(others) == 0:
        return np.zeros(len(tiles), bool)
    grown = moc.degrade_to_order(NEAR_DEPTH).add_neighbours()
    points = projection.lattice(tiles.corners, NEAR_STEP_DEG)          # (n, k, 3)
    lon, lat = projection.lonlat(points)
    hit = grown.contains_lonlat(lon.ravel() * u.deg, lat.ravel() * u.deg)
    near = np.flatnonzero(np.asarray(hit).reshape(lon.shape).any(axis=1))
    out = np.zeros(len(tiles), bool)
    out[near] = projection.any_overlap(tiles.corners[near], others.corners)
    return out


def _grid_complete(tiles: Tiles, hemis: str) -> bool:
    """Whether the database holds the whole grid of a hemisphere (made by ``catscan init``),
    which covers the zone between its extreme declinations."""
    from ..findtile import CALIBRATION_IDS
    from ..geometry.tiles import tile_grid

    grid = tile_grid().column("hemis").to_numpy(zero_copy_only=False)
    mine = (tiles.hemis == hemis) & (tiles.tile >= CALIBRATION_IDS)
    return int(np.count_nonzero(mine)) == int(np.count_nonzero(grid == hemis))


def zone_moc(dec_min: float, dec_max: float, depth: int) -> MOC:
    """All longitudes between two declinations."""
    from astropy.coordinates import SkyCoord
    from mocpy import MOC

    return MOC.from_zone(SkyCoord([[0.0, dec_min], [360.0, dec_max]], unit="deg"),
                         max_depth=depth)


@dataclass
class Coverage:
    """State MOCs per hemisphere ('n', 's' and 'all'), the hemispheres' own areas, the
    region they were cut to (if any) and the depth used."""

    depth: int
    tiles: Tiles
    states: dict[tuple[str, str], MOC] = field(default_factory=dict)
    domains: dict[str, MOC] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    region: MOC | None = None


def compute_coverage(tiles: Tiles, depth: int | None = None,
                     region: np.ndarray | None = None,
                     built: dict[str, MOC] | None = None) -> Coverage:
    """The MOC of every (hemisphere, state), built as the module docstring says; with
    ``region`` (a convex polygon's ICRS (lon, lat) corners (k, 2), in order around) cut to
    it. ``built``: the sets of :func:`catscan.operations.area.footprint_sets` already made at
    ``depth`` (the whole-sky table takes them from area.current_unions); then ``planned``
    is the state derived from the others."""
    from ..findtile import CALIBRATION_IDS

    plans = {}
    for hemis in ("n", "s"):
        mine = tiles.hemis == hemis
        counts = {s: int(np.count_nonzero(mine & (tiles.state == s))) for s in STATES}
        largest = max(STATES, key=lambda s: counts[s]) if mine.any() else None
        if built is not None:
            largest = "planned" if mine.any() else None
        complete = largest is not None and _grid_complete(tiles, hemis)
        plans[hemis] = (mine, counts, largest if complete else None)
    direct = sum(int(np.count_nonzero(mine & (tiles.state != largest))) if largest else
                 int(np.count_nonzero(mine)) for mine, _, largest in plans.values())
    depth = choose_depth(direct) if depth is None else depth
    if not 4 <= depth <= 20:
        raise CatscanError(f"MOC depth {depth}: choose 4 to 20")
    cover = Coverage(depth, tiles)
    if region is not None:
        from astropy import units as u
        from mocpy import MOC

        cover.region = MOC.from_polygon(region[:, 0] * u.deg, region[:, 1] * u.deg,
                                        max_depth=depth)

    def made(hemis: str, name: str, rows: np.ndarray) -> MOC:
        key = f"{hemis}.{name}"
        return built[key] if built is not None and key in built else \
            polygons_moc(tiles.corners[rows], depth)

    for hemis, (mine, counts, largest) in plans.items():
        for state in STATES:
            cover.counts[(hemis, state)] = counts[state]
            if state != largest:
                cover.states[(hemis, state)] = made(hemis, state, mine & (tiles.state == state))
        others = union([cover.states[(hemis, s)] for s in STATES if s != largest], depth)
        if largest is None:
            cover.domains[hemis] = others
            continue
        grid = mine & (tiles.tile >= CALIBRATION_IDS)
        lat = tiles.corners[grid][..., 1]
        domain = zone_moc(float(lat.min()), float(lat.max()), depth)
        calibration = mine & (tiles.tile < CALIBRATION_IDS)
        domain = union([domain, made(hemis, "calibration", calibration)], depth)
        candidates = np.flatnonzero(mine & (tiles.state == largest))
        rest = np.flatnonzero(mine & (tiles.state != largest))
        near = candidates[reaching(tiles.subset(candidates), tiles.subset(rest), others)]
        own = polygons_moc(tiles.corners[near], depth)
        cover.states[(hemis, largest)] = union([domain.difference(others), own], depth)
        cover.domains[hemis] = domain
    for state in STATES:
        cover.states[("all", state)] = union([cover.states[("n", state)],
                                              cover.states[("s", state)]], depth)
        cover.counts[("all", state)] = cover.counts[("n", state)] + cover.counts[("s", state)]
    cover.domains["all"] = union([cover.domains["n"], cover.domains["s"]], depth)
    if cover.region is not None:
        cover.states = {k: m.intersection(cover.region) for k, m in cover.states.items()}
        cover.domains = {k: m.intersection(cover.region) for k, m in cover.domains.items()}
    return cover


# --- the table ------------------------------------------------------------------------------

COVERAGE_FIELDS = [
    pa.field("hemisphere", pa.string(), metadata={
        "description": "all, n (Mt Hopkins tiles) or s (CTIO tiles)"}),
    pa.field("state", pa.string(), metadata={
        "description": "tile state: planned, observed, processed, loaded, rescan, rejected"}),
    pa.field("tiles", pa.int64(), metadata={
        "description": "tiles in this state (whole tiles, also outside a region)"}),
    pa.field("area", pa.float64(), metadata={
        "unit": "deg2", "description": "sky area of the union of their footprints (MOC)"}),
    pa.field("percent", pa.float64(), metadata={
        "unit": "%", "description": "of the hemisphere's area (all: the sky), in the region "
        "if one is given"}),
    pa.field("sky_percent", pa.float64(), metadata={
        "unit": "%", "description": "of the whole sky"}),
    pa.field("domain_area", pa.float64(), metadata={
        "unit": "deg2", "description": "area of the hemisphere (in the region)"}),
    pa.field("moc_depth", pa.int64(), metadata={
        "description": "HEALPix depth of the MOCs; areas err upwards by at most the cells "
        "along the boundary"}),
]


def coverage_table(cover: Coverage, tiles_in_region: dict[tuple[str, str], int] | None = None
                   ) -> pa.Table:
    """One row per hemisphere (all, n, s) and state."""
    rows = {f.name: [] for f in COVERAGE_FIELDS}
    for hemis in HEMISPHERES:
        domain = area_deg2(cover.domains[hemis])
        for state in STATES:
            area = area_deg2(cover.states[(hemis, state)])
            count = (tiles_in_region or cover.counts)[(hemis, state)]
            for name, value in (("hemisphere", hemis), ("state", state), ("tiles", count),
                                ("area", area),
                                ("percent", 100 * area / domain if domain else None),
                                ("sky_percent", 100 * area / SKY_DEG2),
                                ("domain_area", domain), ("moc_depth", cover.depth)):
                rows[name].append(value)
    return pa.table(rows, schema=pa.schema(COVERAGE_FIELDS))


def whole_sky_summary(con: duckdb.DuckDBPyConnection, tiles: Tiles,
                      depth: int | None = None) -> pa.Table:
    """:func:`coverage_table` of the whole sky for the database as it is, at AREA_DEPTH
    (or ``depth``): the states' MOCs come from :func:`catscan.operations.area.current_unions`,
    which builds only what changed since they were last made, and the table is kept by
    content version, in this process and for the next (``<db>.cache.json``). ``tiles``
    are ``con``'s. Another ``depth`` builds every MOC afresh (a minute at whole-sky scale)."""
    from ..content import cached
    from .area import current_unions

    def compute() -> list[dict]:
        if depth is None or depth == AREA_DEPTH:
            cover = compute_coverage(tiles, AREA_DEPTH, built=current_unions(con, tiles))
        else:
            cover = compute_coverage(tiles, depth)
        return coverage_table(cover).to_pylist()

    name = "coverage.summary" + ("" if depth in (None, AREA_DEPTH) else f".depth{depth}")
    rows = cached(con, name, compute, persist=True)
    return pa.Table.from_pylist(rows, schema=pa.schema(COVERAGE_FIELDS))


def tile_rows(tiles: Tiles) -> pa.Table:
    """One row per tile (for ``--tiles``): id, hemisphere, state, centre, quality, scans."""
    return pa.table({
        "tile": pa.array(tiles.tile, pa.int32()), "hemis": pa.array(tiles.hemis),
        "state": pa.array(tiles.state), "ra": pa.array(tiles.ra), "dec": pa.array(tiles.dec),
        "quality": pa.array(tiles.quality, mask=np.isnan(tiles.quality)),
        "scans": pa.array(tiles.scans, pa.int32())})
