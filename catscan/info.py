"""What the database holds: the numbers behind ``catscan info``."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from . import __version__
from .content import cached
from .operations.area import AREA_DEPTH, resolution_arcsec  # noqa: F401 (info.resolution_arcsec)
from .parallelism import parallel

ROW_TABLES = ("tiles", "nights", "processing_history", "scans", "night_qa", "psc", "xsc",
              "atlas_images", "loads")
SKY_DEG2 = 4 * np.pi * (180 / np.pi) ** 2
AREA_ORDER = 10  # HEALPix cells of 3.4' for the area holding catalogue sources


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
    scan_area_deg2: float                   # union of loaded tiles' footprints (MOC), the
    scan_area_depth: int                    # area `catscan coverage` gives; the MOC's depth
    source_area_deg2: float                 # HEALPix order-10 cells holding PSC/XSC sources
    last_loads: list[tuple] = field(default_factory=list)
    unsorted: list[str] = field(default_factory=list)  # re-sort pending: `catscan optimize`
    fresh_bytes: int | None = None          # a fresh copy's estimated size (`catscan compact`)


def _dict(rows) -> dict:
    return {r[0]: r[1] for r in rows}


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
    its cardinality in DuckDB 2, no scan). The sky covered by loaded scans is the loaded
    tiles' union that ``catscan coverage`` reports (operations/area.py, brought up to date
    by what changed); the area holding sources reads every catalog row. Both are kept by
    content version, also for the next process."""
    # the loaders: imported when info runs, not at every command's start
    from .loaders.compact import fresh_size_estimate
    from .loaders.optimize import pending_sorts

    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ROW_TABLES}
    from .operations.area import loaded_area

    area = cached(con, "area.loaded", lambda: loaded_area(con), persist=True)
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
        scan_area_deg2=area, scan_area_depth=AREA_DEPTH,
        source_area_deg2=cached(con, "info.source_area", lambda: source_area(con),
                                persist=True),
        last_loads=con.execute(
            "SELECT load_id, kind, path, rows_accepted, status, finished FROM loads "
            "ORDER BY load_id DESC LIMIT 5").fetchall(),
        unsorted=pending_sorts(con),
        fresh_bytes=fresh_size_estimate(con),
    )
