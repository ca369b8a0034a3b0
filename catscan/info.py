"""What the database holds: the numbers behind ``catscan info``."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from . import __version__
from .content import cached
from .parallelism import parallel

ROW_TABLES = ("tiles", "nights", "processing_history", "scans", "night_qa", "psc", "xsc",
              "atlas_images", "loads")
SKY_DEG2 = 4 * np.pi * (180 / np.pi) ** 2
AREA_ORDER = 10  # HEALPix cells of 3.4' for the area holding catalogue sources
MOC_DEPTH = 15   # 6.4" cells: the footprint union overestimates by at most its boundary cells
FINE_SCANS = 100  # up to this many footprints at MOC_DEPTH; more: coverage.choose_depth's


@dataclass
class DatabaseInfo:
    path: str
    schema_version: int
    catscan_version: str
    file_bytes: int
    rows: dict[str, int]
    nights: dict[str, int]                  # hemisphere -> nights
    versions: dict[str, int]                # 2MAPPS version -> nights
    scans_by_status: dict[tuple[str, bool], int]
    scan_area_deg2: float                   # union of loaded scans' footprints (MOC)
    scan_area_depth: int                    # the MOC's HEALPix depth
    source_area_deg2: float                 # HEALPix order-10 cells holding PSC/XSC sources
    last_loads: list[tuple] = field(default_factory=list)
    unsorted: list[str] = field(default_factory=list)  # re-sort pending: `catscan optimize`
    fresh_bytes: int | None = None          # a fresh copy's estimated size (`catscan compact`)


def resolution_arcsec(depth: int) -> float:
    """Mean size of a HEALPix cell at ``depth``."""
    return float(np.sqrt(SKY_DEG2 / (12 * 4**depth)) * 3600)


def _dict(rows) -> dict:
    return {r[0]: r[1] for r in rows}


def scan_area_depth(footprints: int) -> int:
    """The MOC depth for the union of ``footprints`` scans: MOC_DEPTH for a few, then the
    coverage map's rule (12.9" cells up to 300, ... 3.4' beyond 20,000), which keeps the
    cost near a second per thousand footprints; a depth-15 union of the whole sky's
    50,000 loaded scans did not finish in 12 minutes and 3 GB."""
    from .operations.coverage import choose_depth

    return MOC_DEPTH if footprints <= FINE_SCANS else choose_depth(footprints)


def scan_area(con: duckdb.DuckDBPyConnection, loaded_only: bool = True) -> tuple[float, int]:
    """Sky area (deg²) of the union of scan footprints, on the sphere (mocpy MOC union),
    and the MOC depth used (:func:`scan_area_depth`)."""
    from mocpy import MOC

    where = "loaded AND " if loaded_only else ""
    corners = con.execute(
        f"SELECT ra_1, dec_1, ra_2, dec_2, ra_4, dec_4, ra_3, dec_3 FROM scans WHERE {where}"
        "ra_1 IS NOT NULL AND ra_2 IS NOT NULL AND ra_3 IS NOT NULL AND ra_4 IS NOT NULL"
    ).fetchnumpy()
    if not corners or len(corners["ra_1"]) == 0:
        return 0.0, MOC_DEPTH
    depth = scan_area_depth(len(corners["ra_1"]))
    lon = np.stack([corners[k] for k in ("ra_1", "ra_2", "ra_4", "ra_3")], axis=1)
    lat = np.stack([corners[k] for k in ("dec_1", "dec_2", "dec_4", "dec_3")], axis=1)
    vertices = np.empty((2 * len(lon), 4))
    vertices[0::2], vertices[1::2] = lon, lat   # mocpy's [lon1, lat1, lon2, lat2, ...] form
    mocs = MOC.from_polygons(vertices, max_depth=depth)
    union = mocs[0].union(*mocs[1:]) if len(mocs) > 1 else mocs[0]
    return float(union.sky_fraction * SKY_DEG2), depth


def source_area(con: duckdb.DuckDBPyConnection) -> float:
    """Sky area (deg²) of the HEALPix order-10 cells holding PSC or XSC sources: a read of
    every row of both catalogs, so callers take it through :func:`catscan.content.cached`."""
    shift = 2 * (29 - AREA_ORDER)
    with parallel(con):                       # every row of both catalogs
        cells = con.execute(
            f"SELECT count(*) FROM (SELECT hpx29 >> {shift} FROM psc UNION "
            f"SELECT hpx29 >> {shift} FROM xsc)").fetchall()[0][0]
    return cells * SKY_DEG2 / (12 * 4**AREA_ORDER)


def database_info(con: duckdb.DuckDBPyConnection, path: str, file_bytes: int) -> DatabaseInfo:
    """Everything but the two areas is metadata or a small table (``count(*)`` of a table is
    its cardinality in DuckDB 2, no scan); the areas read every loaded scan and every
    catalog row, so they are kept by content version, also for the next process."""
    # the loaders: imported when info runs, not at every command's start
    from .loaders.compact import fresh_size_estimate
    from .loaders.optimize import pending_sorts

    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ROW_TABLES}
    area, depth = cached(con, "info.scan_area", lambda: list(scan_area(con)), persist=True)
    return DatabaseInfo(
        path=path,
        schema_version=con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0],
        catscan_version=__version__,
        file_bytes=file_bytes,
        rows=rows,
        nights=_dict(con.execute("SELECT hemis, count(*) FROM nights GROUP BY ALL ORDER BY 1")
                     .fetchall()),
        versions=_dict(con.execute("SELECT coalesce(version, 'unknown'), count(*) FROM nights "
                                   "GROUP BY ALL ORDER BY 1").fetchall()),
        scans_by_status={(s, bool(ld)): n for s, ld, n in con.execute(
            "SELECT status, loaded, count(*) FROM scans GROUP BY ALL ORDER BY 1, 2").fetchall()},
        scan_area_deg2=area, scan_area_depth=depth,
        source_area_deg2=cached(con, "info.source_area", lambda: source_area(con),
                                persist=True),
        last_loads=con.execute(
            "SELECT load_id, kind, path, rows_accepted, status, finished FROM loads "
            "ORDER BY load_id DESC LIMIT 5").fetchall(),
        unsorted=pending_sorts(con),
        fresh_bytes=fresh_size_estimate(con),
    )
