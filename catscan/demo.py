"""``catscan demo``: generate the sample survey, load it through Quality Review, show it.

The six nights of ``catscan.survey.plan.demo_plan`` (M31, HCG 7, M17, the North Galactic Pole;
one night delivered again after reprocessing) are written as nightly deliveries next to the
database and loaded with ``catscan load night``, exactly as an operator would. The deliveries
are byte-for-byte reproducible, so running the demo again loads nothing new.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config import resolve_db_path
from .db import connect, init_database
from .info import database_info
from .language import Catalog, compile_text
from .loaders.night import load_nights
from .progress import Progress
from .render import print_info
from .survey.generate import generate

SEED = 1
_STAMP = "generated.json"

# CatScan queries (docs/language.md), each shown with its text
EXAMPLES = [
    ("Scans by processing status and Quality Review, night by night",
     "select date, hemis, count(*) as scans, count_if(status = 'P') as p, "
     "count_if(status = 'F') as f, count_if(status = 'R') as r, "
     "count_if(status = '-') as not_processed, count_if(loaded) as loaded, "
     "round(avg(qa_score), 2) as mean_qa from scans group by date, hemis order by date"),
    ("Brightest point sources within 10' of the M31 nucleus",
     "select designation, ra, dec, j_m, h_m, k_m, ph_qual from psc "
     "within 10 arcmin of 00:42:44.3 +41:16:09 where use_src = 1 order by j_m limit 8"),
    ("Duplicate resolution in the overlaps of adjacent scans",
     "select dup_src, use_src, count(*) as sources from psc "
     "group by dup_src, use_src order by dup_src, use_src"),
    ("Red sources (J-Ks > 1.5) in the M17 tile, A-quality photometry",
     "select designation, j_m, k_m, round(j_m - k_m, 3) as j_k, date, scan from psc "
     "in tile 308165 where quality(j, h, k) = 'A' and use_src = 1 and j_m - k_m > 1.5 "
     "order by j_k desc limit 5"),
    ("Tiles by survey state",
     "select status, count(*) as tiles from tiles group by status order by tiles desc"),
]

NEXT_STEPS = """[bold]Where to go next[/bold]
  catscan info --db {db}                  what the database holds
  catscan load night {deliveries}/971024n --db {db}
                                          the same delivery again: nothing changes
  catscan queries --db {db}               the saved queries; catscan run NAME runs one
  catscan status --db {db}                processing status per night; catscan qa NIGHT
  catscan composite 00:42:44.3 +41:16:09 --grid --out m31.png --db {db}
                                          a J/H/Ks picture from the Atlas Images
  catscan serve --db {db}                 the web pages and VO endpoints (docs/web.md)
  catscan query "select basic from psc within 2arcmin of 00:42:44.3 +41:16:09" --db {db}
  duckdb {db}                             plain SQL: tables psc, xsc, scans, nights, tiles,
                                          atlas_images, processing_history, night_qa
  docs/delivery_format.md                 the nightly delivery format and the QA gate"""


def quiet_demo_database(root: Path, image_scans: int = 0) -> Path:
    """The demo survey generated under ``root`` and loaded night by night into
    ``root/catscan.duckdb``, without output (tests and benchmarks)."""
    root = Path(root)
    db = root / "catscan.duckdb"
    generate(root / "survey", scale="demo", seed=SEED, image_scans=image_scans)
    return load_into(db, [root / "survey"])


def load_into(db: Path, paths: list[Path]) -> Path:
    """A new database at ``db`` holding the night deliveries under ``paths``, loaded
    night by night in processing order, without output."""
    init_database(db)
    con = connect(db, read_only=False)
    try:
        load_nights(con, paths)
    finally:
        con.close()
    return db


def _generated(directory: Path, image_scans: int) -> bool:
    """Whether ``directory`` already holds this demo survey (generation is deterministic)."""
    stamp = directory / _STAMP
    want = {"scale": "demo", "seed": SEED, "image_scans": image_scans}
    return stamp.is_file() and json.loads(stamp.read_text()) == want


def _print_nights(console: Console, results) -> None:
    """What the loader did with each delivery, and every scan Quality Review kept out."""
    nights = Table(title="Nightly deliveries", title_justify="left")
    for column in ("night", "2MAPPS", "outcome", "scans", "passed", "sources", "images"):
        nights.add_column(column)
    rejected = Table(title="Scans recorded but not loaded", title_justify="left")
    for column in ("night", "scan", "tile", "reason"):
        rejected.add_column(column)
    unchanged = 0
    for r in results:
        if r.outcome == "unchanged":
            unchanged += 1
            nights.add_row(r.night, r.version, f"unchanged (load {r.load_id})",
                           "", "", "", "")
            continue
        nights.add_row(r.night, r.version, r.outcome, str(len(r.scans)),
                       str(len(r.loaded_scans)), f"{r.psc_rows + r.xsc_rows:,}", str(r.images))
        for scan in r.scans:
            if not scan.loaded:
                rejected.add_row(r.night, str(scan.scan), str(scan.tile), scan.reason)
    console.print(nights)
    if rejected.row_count:
        console.print(rejected)
    if unchanged == len(results):
        console.print(f"all {unchanged} deliveries were loaded before: nothing changed")


def run_demo(db: str | None, image_scans: int = 1, workdir: str | None = None) -> None:
    console = Console()
    path = resolve_db_path(db)
    _, applied = init_database(path)
    console.print(f"[bold]catscan demo[/bold] in {path}"
                  + (" (new database)" if applied else " (existing database)"))
    deliveries = Path(workdir) if workdir else path.with_name(path.stem + "-demo")
    if _generated(deliveries, image_scans):
        console.print(f"sample survey already generated in {deliveries}/")
    else:
        with console.status("generating the sample survey (six nights)..."):
            result = generate(deliveries, scale="demo", seed=SEED, image_scans=image_scans)
        (deliveries / _STAMP).write_text(json.dumps(
            {"scale": "demo", "seed": SEED, "image_scans": image_scans}))
        console.print(f"generated {result.summary()}")
    console.print("\n[bold]Loading the nights through Quality Review[/bold] "
                  "(scans load only with status P and a QA score > 3)")
    con = connect(path, read_only=False)
    try:
        with Progress() as progress:
            results = load_nights(con, [deliveries], progress=progress)
        _print_nights(console, results)
        print_info(database_info(con, str(path), path.stat().st_size), console)
        catalog = Catalog.from_connection(con)
        for title, text in EXAMPLES:
            result = con.execute(compile_text(text, catalog, con=con).sql)
            table = Table(title=title, title_justify="left", caption=text,
                          caption_justify="left")
            for column in result.description:
                table.add_column(column[0])
            for row in result.fetchall():
                table.add_row(*("" if v is None else str(v) for v in row))
            console.print(table)
    finally:
        con.close()
    console.print(NEXT_STEPS.format(db=path, deliveries=deliveries), highlight=False)
