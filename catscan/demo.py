"""``catscan demo``: a small sample survey in release format, loaded and queried.

Three scans at real 2MASS places (M31 from the north, M17 from the south, HCG 7 on the
equator) with synthetic but realistic point sources. Files are written next to the
database and are byte-for-byte reproducible, so running the demo twice loads nothing new.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config import resolve_db_path
from .db import connect, init_database, memory_database
from .info import database_info
from .loaders import load_files
from .loaders.release_format import write_release_file
from .progress import Progress
from .render import print_info
from .survey.synthetic_psc import synthetic_psc
from .survey.synthetic_scans import ScanSpec, scan_rows

DEMO_SCANS = [
    ScanSpec(1, "n", dt.date(1997, 10, 24), 8, 330628, 10.68479, 41.26906, "n", "P", 9.5),
    ScanSpec(2, "s", dt.date(1999, 5, 2), 142, 308165, 275.12297, -16.30449, "s", "P", 8.0,
             "2.1"),
    ScanSpec(3, "n", dt.date(1998, 4, 16), 64, 314527, 9.81625, 0.88806, "n", "P", 10.0),
]

EXAMPLES = [
    ("Brightest point sources within 5' of the M31 nucleus",
     "SELECT designation, ra, dec, j_m, h_m, k_m, ph_qual, "
     "round(ang_sep(ra, dec, 10.68479, 41.26906) * 3600, 1) AS dist_arcsec "
     "FROM psc WHERE ang_sep(ra, dec, 10.68479, 41.26906) < 5.0 / 60 "
     "ORDER BY j_m LIMIT 8"),
    ("Photometric quality in J per scan",
     "SELECT s.date, s.hemis, s.scan, s.tile, s.qa_score, count(*) AS sources, "
     "count(*) FILTER (WHERE p.ph_qual[1] = 'A') AS j_quality_a "
     "FROM psc p JOIN scans s USING (scan_key) GROUP BY ALL ORDER BY s.date"),
    ("Red sources (J-Ks > 1.5) with A-quality photometry in all bands",
     "SELECT designation, j_m, k_m, round(j_m - k_m, 3) AS j_k FROM psc "
     "WHERE ph_qual = 'AAA' AND j_m - k_m > 1.5 ORDER BY j_k DESC LIMIT 5"),
]


def write_demo_files(workdir: Path, rows: int) -> tuple[Path, list[Path]]:
    """The scan table and one PSC file per scan, in release format."""
    workdir.mkdir(parents=True, exist_ok=True)
    con = memory_database()
    try:
        con.register("demo_scans", scan_rows(DEMO_SCANS, seed=7))
        scans_file = write_release_file(con, "scans", "demo_scans", workdir / "scans.tbl")
        psc_files = []
        for i, spec in enumerate(DEMO_SCANS):
            (ra_range, dec_range) = spec.box()
            table = synthetic_psc(rows, seed=100 + i, ra_range=ra_range, dec_range=dec_range,
                                  first_key=1 + i * 10_000_000, date=spec.date,
                                  hemis=spec.hemis, scan=spec.scan, scan_key=spec.scan_key,
                                  first_coadd_key=1000 * spec.scan_key)
            con.register("demo_psc", table)
            name = f"psc_{spec.date:%y%m%d}{spec.hemis}_s{spec.scan:03d}.gz"
            psc_files.append(write_release_file(con, "psc", "demo_psc", workdir / name))
            con.unregister("demo_psc")
    finally:
        con.close()
    return scans_file, psc_files


def run_demo(db: str | None, rows: int = 30000, workdir: str | None = None) -> None:
    console = Console()
    path = resolve_db_path(db)
    _, applied = init_database(path)
    console.print(f"[bold]catscan demo[/bold] in {path}"
                  + (" (new database)" if applied else " (existing database)"))
    files_dir = Path(workdir) if workdir else path.with_name(path.stem + "-demo")
    scans_file, psc_files = write_demo_files(files_dir, rows)
    console.print(f"sample release files in {files_dir}/")
    con = connect(path, read_only=False)
    try:
        with Progress() as progress:
            for table, files in (("scans", [scans_file]), ("psc", psc_files)):
                for result in load_files(con, table, files, progress=progress):
                    console.print("  " + result.summary())
        print_info(database_info(con, str(path), path.stat().st_size), console)
        for title, sql in EXAMPLES:
            result = con.execute(sql)
            table = Table(title=title, title_justify="left", caption=sql,
                          caption_justify="left")
            for column in result.description:
                table.add_column(column[0])
            for row in result.fetchall():
                table.add_row(*("" if v is None else str(v) for v in row))
            console.print(table)
    finally:
        con.close()
