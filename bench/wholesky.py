"""Whole-survey operations at full survey scale: info, coverage, status, the home page and
its map, the status pages and FindTile, against the 1 s goal (issue 19, item 5).

    python bench/wholesky.py                 # build (cached) and time everything
    python bench/wholesky.py --runs 9        # more warm runs per operation
    python bench/wholesky.py --rebuild       # build the database again

The database (cached as bench/out/wholesky/catscan.duckdb) holds the metadata of the whole
survey: all 56,774 tiles of the grid observed, about 60,000 scans over ~1,780 nights from
1997-06 to 2001-02 in both hemispheres (two calibration scans a night, 3 % failed or not
processed, QA scores by the 1998 rules, re-observations of ~4 % of the tiles), one
processing event per night plus a 2MAPPS 3.0 reprocessing of every tenth night (its first
load marked replaced), nine health metrics a night, a ``loads`` audit row per delivery and
the nights before 2000 released (with their public copy). PSC and XSC are sparse (a few
rows per loaded scan): none of these operations may read them per request, so their size
must not matter. Rows are inserted with SQL from the survey's tile grid, seeded.

Each operation is timed cold (the first call in a fresh process or server, caches empty)
and warm (the median of --runs calls after it). Then ``info`` and ``coverage`` after one
night's write, against the same two built from scratch (the sky area's footprint unions,
catscan/operations/area.py): goal under 1 s. Ratios are printed against two anchors
measured in the same run: the 1 s goal, and ``SELECT * FROM scans`` fetched to Python (a
read of the whole scans table, which an operation that is proportional to the survey's
metadata cannot beat by much).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from catscan.db import connect, init_database, transaction  # noqa: E402
from catscan.loaders.qa_gate import DEFAULT_MIN_SCORE, gate  # noqa: E402
from catscan.loaders.tile_states import ensure_tiles  # noqa: E402
from catscan.survey.observe import _calibration_corners  # noqa: E402
from catscan.survey.plan import calibration_tile, grid  # noqa: E402

NORTH_START, SOUTH_START = dt.date(1997, 6, 1), dt.date(1998, 3, 18)
SURVEY_END = dt.date(2001, 2, 15)
REPROCESSED_EVERY = 10          # every tenth night reprocessed with 2MAPPS 3.0
REOBSERVED = 0.04               # tiles observed twice (rescans, low scores)
RELEASED_BEFORE = dt.date(2000, 1, 1)
PSC_PER_SCAN, XSC_EVERY = 3, 5  # sparse catalogs: 3 PSC rows per loaded scan, 1 XSC per 5
HEALTH = (("seeing_median", 1.4, "SEESH"), ("scans_failed_fraction", 0.2, None),
          ("j_zp_rms", 0.05, "mag"), ("h_zp_rms", 0.05, "mag"), ("k_zp_rms", 0.05, "mag"),
          ("k_back_max", 1600.0, "DN"), ("array_temp_max", 78.0, "K"),
          ("dome_humidity_max", 90.0, "%"), ("photometric_fraction", 0.4, None))
JD_1997_03_01 = 2450508.5


# --- the database ---------------------------------------------------------------------------

def _nights(rng: np.random.Generator) -> list[tuple[dt.date, str]]:
    nights = []
    day = NORTH_START
    while day <= SURVEY_END:
        for hemis, start in (("n", NORTH_START), ("s", SOUTH_START)):
            if day >= start and rng.random() >= 0.25:       # 0.25: weather
                nights.append((day, hemis))
        day += dt.timedelta(days=1)
    return nights


def _version(date: dt.date) -> str:
    return "2.0x" if date < dt.date(1998, 9, 1) else "2.1" if date < dt.date(2000, 3, 1) \
        else "3.0"


def plan_scans(seed: int) -> tuple[list[tuple[dt.date, str]], pa.Table]:
    """Every night and every scan of the whole-sky survey (science scans walk each
    hemisphere's tiles from the equator; ~4 % of the tiles come round twice)."""
    rng = np.random.default_rng([seed, 19])
    g = grid()
    nights = _nights(rng)
    per_hemis = {h: [n for n in nights if n[1] == h] for h in "ns"}
    columns: dict[str, list] = {k: [] for k in (
        "hemis", "date", "scan", "tile", "scan_type", "direction", "status", "phot", "sens")}
    for hemis, mine in per_hemis.items():
        tiles = np.flatnonzero(g["hemis"] == hemis)
        order = tiles[np.argsort(np.abs(g["dec"][tiles]), kind="stable")]
        again = rng.choice(order, int(len(order) * REOBSERVED), replace=False)
        walk = np.concatenate([order, again])
        per_night = -(-len(walk) // len(mine))
        for i, (date, _) in enumerate(mine):
            chunk = walk[i * per_night:(i + 1) * per_night]
            cal = [calibration_tile(rng.uniform(0, 360), 0.0) for _ in range(2)]
            kinds = ["cal", "cal"] + ["sci"] * len(chunk)
            ids = cal + [int(g["tile"][j]) for j in chunk]
            for number, (kind, tile) in enumerate(zip(kinds, ids, strict=True), start=1):
                u = rng.random()
                status = "F" if u < 0.03 else "-" if u < 0.04 else "R" if u < 0.045 else "P"
                scored = kind == "sci" and status == "P"
                phot = (0.0 if rng.random() < 0.02 else
                        round(min(1.0, rng.uniform(0.6, 1.3)), 2)) if scored else None
                sens = float(rng.choice((1.0, 0.8, 0.5, 0.3, 0.1),
                                        p=(0.75, 0.12, 0.07, 0.04, 0.02))) if scored else None
                for key, value in (("hemis", hemis), ("date", date), ("scan", number),
                                   ("tile", tile), ("scan_type", kind),
                                   ("direction", "ns"[number % 2]), ("status", status),
                                   ("phot", phot), ("sens", sens)):
                    columns[key].append(value)
    table = pa.table(columns)
    order = np.lexsort((np.asarray(table["scan"]), np.asarray(table["hemis"]).astype(str),
                        np.asarray(table["date"])))
    return sorted(nights), table.take(order)


def _corners(tiles: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """(n, 4, 2) corners 1..4 of each scan: the tile's, swapped for a southward scan."""
    g = grid()
    out = np.empty((len(tiles), 4, 2))
    index = np.searchsorted(g["tile"], tiles)
    index[index >= len(g["tile"])] = 0
    survey = g["tile"][index] == tiles
    for k in range(4):
        out[survey, k, 0] = g[f"ra_{k + 1}"][index[survey]] % 360.0
        out[survey, k, 1] = g[f"dec_{k + 1}"][index[survey]]
    for i in np.flatnonzero(~survey):
        out[i] = np.array(_calibration_corners(int(tiles[i])))
        out[i, :, 0] %= 360.0
    south = directions == "s"
    out[south] = out[south][:, [2, 3, 0, 1]]
    return out


def scan_rows(nights: list[tuple[dt.date, str]], plan: pa.Table, seed: int) -> pa.Table:
    """The ``scans`` rows of the plan: corners, centres, QA scores and the gate's verdict."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng([seed, 20])
    n = plan.num_rows
    tiles = np.asarray(plan["tile"])
    corners = _corners(tiles, np.asarray(plan["direction"]).astype(str))
    lon, lat = np.radians(corners[..., 0]), np.radians(corners[..., 1])
    v = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1).sum(1)
    ra = np.degrees(np.arctan2(v[:, 1], v[:, 0])) % 360.0
    dec = np.degrees(np.arcsin(v[:, 2] / np.linalg.norm(v, axis=1)))
    gal = SkyCoord(ra * u.deg, dec * u.deg).galactic
    dates = plan["date"].to_pylist()
    days = np.array([(d - dt.date(1997, 3, 1)).days for d in dates])
    scan = np.asarray(plan["scan"])
    status = plan["status"].to_pylist()
    kind = plan["scan_type"].to_pylist()
    phot, sens = plan["phot"].to_pylist(), plan["sens"].to_pylist()
    base = [10.0 if d >= dt.date(1997, 6, 6) else 5.0 for d in dates]
    score = [None if p is None else round(b * p * s, 2)
             for b, p, s in zip(base, phot, sens, strict=True)]
    verdicts = [gate({"status": st, "qa_score": sc, "scan_type": k}, DEFAULT_MIN_SCORE)
                for st, sc, k in zip(status, score, kind, strict=True)]
    processed = np.array([s == "P" for s in status])

    def measured(mean, sigma, digits):
        values = np.round(rng.normal(mean, sigma, n), digits)
        return pa.array(np.where(processed, values, np.nan), from_pandas=True)

    columns = {
        "scan_key": pa.array(np.arange(1, n + 1, dtype=np.int32)),
        "hemis": plan["hemis"], "date": plan["date"], "scan": pa.array(scan, pa.int16()),
        "tile": plan["tile"], "scan_type": plan["scan_type"], "direction": plan["direction"],
        "ra": np.round(ra, 6), "dec": np.round(dec, 6),
        "glon": np.round(gal.l.deg, 3), "glat": np.round(gal.b.deg, 3),
    }
    for k in range(4):
        columns[f"ra_{k + 1}"] = np.round(corners[:, k, 0], 6)
        columns[f"dec_{k + 1}"] = np.round(corners[:, k, 1], 6)
    columns |= {
        "jdate": np.round(JD_1997_03_01 + days + 0.1 + scan * 0.0062, 5),
        "j_zp_ap": measured(20.93, 0.02, 3), "h_zp_ap": measured(20.55, 0.02, 3),
        "k_zp_ap": measured(19.98, 0.02, 3), "seeing": measured(1.0, 0.08, 2),
        "j_back": measured(200, 30, 1), "h_back": measured(700, 90, 1),
        "k_back": measured(950, 120, 1),
        "status": plan["status"],
        "qa_base": pa.array([b if p is not None else None
                             for b, p in zip(base, phot, strict=True)], pa.float64()),
        "qa_phot": pa.array(phot, pa.float64()), "qa_sens": pa.array(sens, pa.float64()),
        "qa_score": pa.array(score, pa.float64()),
        "version": pa.array([_version(d) for d in dates]),
        "loaded": pa.array([v[0] for v in verdicts]),
        "load_reason": pa.array([v[1] for v in verdicts]),
    }
    return pa.table(columns)


def build(path: Path, seed: int = 1) -> None:
    """The whole-survey database at ``path`` (replaced)."""
    for p in (path, Path(f"{path}.wal"), path.with_suffix(".public.duckdb")):
        p.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    nights, plan = plan_scans(seed)
    scans = scan_rows(nights, plan, seed)
    print(f"planned {len(nights):,} nights, {scans.num_rows:,} scans "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    init_database(path)
    con = connect(path, read_only=False)
    try:
        with transaction(con):
            ensure_tiles(con)
            _insert_survey(con, nights, scans, seed)
        from catscan.operations.publish import publish

        publish(con, path)
        con.execute("CHECKPOINT")
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in (
            "tiles", "nights", "scans", "processing_history", "night_qa", "loads", "psc",
            "xsc")}
        states = con.execute("SELECT status, count(*) FROM tiles GROUP BY ALL "
                             "ORDER BY 1").fetchall()
    finally:
        con.close()
    print(f"built {path} in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print("tile states: " + ", ".join(f"{s} {n:,}" for s, n in states), flush=True)


def _insert_survey(con, nights, scans: pa.Table, seed: int) -> None:
    """nights, loads, processing_history, night_qa, scans, tiles' states, sparse PSC/XSC."""
    from catscan import __version__
    from catscan.db import schema_version

    rng = np.random.default_rng([seed, 21])
    loads, events, nights_rows, health = [], [], [], []
    stamp = dt.datetime(2001, 3, 1, tzinfo=dt.UTC)
    load_of: dict[tuple[dt.date, str], int] = {}
    for i, (date, hemis) in enumerate(nights):
        processed = date + dt.timedelta(days=int(rng.integers(2, 5)))
        tape = date + dt.timedelta(days=1 if hemis == "n" else 3)
        load_id = len(loads) + 1
        loads.append((load_id, f"/deliveries/{date:%y%m%d}{hemis}", processed))
        events.append((date, hemis, "operational", _version(date), tape, processed, load_id))
        if i % REPROCESSED_EVERY == 0:
            load_id = len(loads) + 1
            loads.append((load_id, f"/deliveries/reprocessed/{date:%y%m%d}{hemis}",
                          dt.date(2001, 1, 20)))
            events.append((date, hemis, "reprocessing", "3.0", tape, dt.date(2001, 1, 20),
                           load_id))
        load_of[(date, hemis)] = load_id
        last = events[-1]
        nights_rows.append((date, hemis, "Mt Hopkins" if hemis == "n" else "CTIO",
                            "barney" if hemis == "n" else "rex", tape,
                            tape + dt.timedelta(days=1), last[5], last[3], last[2], load_id,
                            date < RELEASED_BEFORE))
        for metric, limit, unit in HEALTH:
            value = float(np.round(rng.uniform(0.3, 1.1) * limit, 4))
            state = "pass" if value < 0.9 * limit else "warn" if value < limit else "fail"
            health.append((date, hemis, metric, value, limit, unit, state, load_id))
    replaced = {e[6] - 1 for e in events if e[2] == "reprocessing"}
    con.executemany(
        "INSERT INTO loads (load_id, kind, target, path, sha256, bytes, format, rows_accepted, "
        "scans_accepted, catscan_version, schema_version, started, finished, status, "
        "replaced_by) VALUES (?, 'night', 'scans, psc, xsc, atlas_images, nights, night_qa', "
        "?, md5(?::VARCHAR), 1000, 'delivery', 0, 0, ?, ?, ?, ?, ?, ?)",
        [(lid, p, lid, __version__, schema_version(), stamp, stamp,
          "replaced" if lid in replaced else "loaded", lid + 1 if lid in replaced else None)
         for lid, p, _ in loads])
    con.executemany(
        "INSERT INTO processing_history (date, hemis, kind, version, tape_received, "
        "validated, processed, outcome, load_id) VALUES (?, ?, ?, ?, ?, ?::DATE + 1, ?, 'ok', "
        "?)", [(d, h, k, v, t, t, p, lid) for d, h, k, v, t, p, lid in events])
    con.executemany(
        "INSERT INTO nights (date, hemis, facility, computer, tape_received, validated, "
        "processed, version, kind, load_id, released) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        nights_rows)
    con.executemany("INSERT INTO night_qa (date, hemis, metric, value, limit_value, unit, "
                    "status, load_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", health)
    loads_of = pa.array([load_of[(d, h)] for d, h in zip(
        scans["date"].to_pylist(), scans["hemis"].to_pylist(), strict=True)], pa.int32())
    con.register("wholesky_scans", scans.append_column("load_id", loads_of))
    try:
        cols = ", ".join(scans.column_names)
        con.execute(f"INSERT INTO scans ({cols}, hpx29, load_id) SELECT {cols}, "
                    "hpx29(ra, dec), load_id FROM wholesky_scans")
    finally:
        con.unregister("wholesky_scans")
    _tile_states(con)
    _catalogs(con)


def _tile_states(con) -> None:
    """Every tile's state from its scans, by the loader's own rule (tile_states.py)."""
    from catscan.loaders.tile_states import update_tiles

    update_tiles(con, None)


def _catalogs(con) -> None:
    """A few PSC rows per loaded scan and an XSC row for every fifth: sparse on purpose."""
    con.execute(f"""
        INSERT INTO psc (ra, dec, designation, hemis, date, scan, scan_key, pts_key, use_src,
                         hpx29, hpx11, load_id)
        SELECT ra, dec, d, hemis, date, scan, scan_key, k, 1, hpx29, (hpx29 >> 36)::INTEGER,
               load_id FROM (
            SELECT ra, dec, 'J' || scan_key || '-' || i AS d, hemis, date, scan, scan_key,
                   scan_key::BIGINT * 1000000 + i AS k, hpx29(ra, dec) AS hpx29, load_id
            FROM scans s, range({PSC_PER_SCAN}) r(i) WHERE s.loaded)
        ORDER BY hpx29""")
    con.execute(f"""
        INSERT INTO xsc (ra, dec, designation, jdate, ext_key, hemis, date, scan, scan_key,
                         hpx29, hpx11, load_id)
        SELECT ra, dec, d, jdate, scan_key, hemis, date, scan, scan_key, hpx29,
               (hpx29 >> 36)::INTEGER, load_id FROM (
            SELECT ra, dec, 'X' || scan_key AS d, jdate, hemis, date, scan, scan_key,
                   hpx29(ra, dec) AS hpx29, load_id
            FROM scans WHERE loaded AND scan_key % {XSC_EVERY} = 0)
        ORDER BY hpx29""")


# --- timing ---------------------------------------------------------------------------------

def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(first call, median of ``runs`` calls after it), in seconds."""
    started = time.perf_counter()
    call()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def _forget(db: Path) -> None:
    """Empty every cache: this process's and the file the next process would read. The
    states kept beside the database (``<db>.kept/``: the footprint unions, the map) stay,
    as they do across writes: cold is then the first answer after a write that changed no
    footprint; :func:`after_a_night` times a night's write and building them from scratch."""
    from catscan import content, kept

    content.clear()
    kept.forget()
    content.cache_file(db).unlink(missing_ok=True)


def in_process(db: Path, runs: int) -> list[tuple[str, float, float]]:
    """The operations as Python calls on one read-only connection, caches emptied first."""
    from catscan.content import content_version
    from catscan.findtile import find_tiles, parse_positions
    from catscan.info import database_info
    from catscan.operations import coverage, status

    con = connect(db)
    positions = parse_positions(["10.68479", "+41.26906"])
    night = status.resolve_night(con, "2000-01-05n")
    calls: dict[str, Callable[[], object]] = {
        "SELECT * FROM scans (anchor)": lambda: con.execute("SELECT * FROM scans").fetchall(),
        "content version": lambda: content_version(con),
        "info": lambda: database_info(con, str(db), db.stat().st_size),
        "coverage (whole sky)": lambda: coverage.whole_sky_summary(
            con, coverage.load_tiles(con)),
        "status (every night)": lambda: status.night_status(con),
        "status --history": lambda: status.night_history(con),
        "status NIGHT": lambda: status.scan_status(con, *night),
        "findtile (M31)": lambda: find_tiles(con, positions),
    }
    _forget(db)
    try:
        return [(name, *timed(call, runs)) for name, call in calls.items()]
    finally:
        con.close()


def commands(db: Path, runs: int) -> list[tuple[str, float, float]]:
    """Each command as a new process (what a user waits for): cold with no cache file."""
    out = []
    for name, args in (("catscan --version (process start)", ["--version"]),
                       ("catscan info", ["info"]), ("catscan coverage", ["coverage"]),
                       ("catscan status", ["status", "--format", "csv"]),
                       ("catscan findtile", ["findtile", "10.68479", "+41.26906"])):
        if args[0] != "--version":
            args = [*args, "--db", str(db)]
        _forget(db)
        run = [shutil.which("catscan") or "catscan", *args]
        out.append((name, *timed(lambda run=run: subprocess.run(
            run, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), runs)))
    return out


def pages(db: Path, runs: int) -> list[tuple[str, float, float]]:
    """The web pages of a fresh ``catscan serve`` (uvicorn on loopback, no team password
    set: every page open), fetched with httpx; cold is each page's first request."""
    import httpx

    sys.path.insert(0, str(HERE.parent / "tests"))
    from webserver import running_server

    _forget(db)
    out = []
    with running_server(db) as url, httpx.Client(base_url=url, timeout=600) as client:
        for name, path in (("GET / (home)", "/"), ("GET /coverage.png (home map)",
                                                     "/coverage.png"),
                           ("GET /status", "/status"),
                           ("GET /status?history=1", "/status?history=1"),
                           ("GET /status/2000-01-05n", "/status/2000-01-05n"),
                           ("GET /findtile?pos=M31", "/findtile?pos=10.68479+%2B41.26906")):
            def get(path=path):
                response = client.get(path)
                response.raise_for_status()
            out.append((name, *timed(get, runs)))
    return out


def after_a_night(db: Path, runs: int) -> list[tuple[str, float, float]]:
    """``info`` and ``coverage`` (whole sky) together, on a copy of the database: built from
    scratch (no kept sets: the anchor), then cold after one night's write (the last night's
    scans loaded again, its tiles' states updated by the loader's rule and a ``loads`` row
    added, as a night load does), in a fresh process's state (every cache of this process
    emptied, ``<db>.cache.json`` removed; ``<db>.kept/`` kept)."""
    from catscan import content, kept
    from catscan.info import database_info
    from catscan.loaders.tile_states import update_tiles
    from catscan.operations import coverage

    scratch = db.with_name("after-a-night.duckdb")
    shutil.copy(db, scratch)
    con = connect(scratch, read_only=False)

    def fresh_process() -> None:
        content.clear()
        kept.forget()
        content.cache_file(scratch).unlink(missing_ok=True)

    def both() -> None:
        database_info(con, str(scratch), scratch.stat().st_size)
        coverage.whole_sky_summary(con, coverage.load_tiles(con))

    try:
        [(date, hemis)] = con.execute("SELECT date, hemis FROM scans WHERE loaded GROUP BY "
                                      "ALL ORDER BY date DESC, hemis DESC LIMIT 1").fetchall()
        keys = [k for (k,) in con.execute("SELECT scan_key FROM scans WHERE date = ? AND "
                                          "hemis = ? AND loaded", [date, hemis]).fetchall()]
        where = f"scan_key IN ({', '.join(map(str, keys))})"
        with transaction(con):          # the database before that night
            con.execute(f"UPDATE scans SET loaded = false WHERE {where}")
            update_tiles(con, keys)
        fresh_process()
        kept.remove(scratch)
        full = timed(both, runs)
        with transaction(con):          # the night's write
            con.execute(f"UPDATE scans SET loaded = true WHERE {where}")
            update_tiles(con, keys)
            con.execute("INSERT INTO loads SELECT * REPLACE (load_id + 1 AS load_id) FROM loads "
                        "WHERE load_id = (SELECT max(load_id) FROM loads)")
        fresh_process()
        night = timed(both, runs)
        print(f"\none night ({date} {hemis}, {len(keys)} scans loaded again), info + coverage:")
        return [("from scratch (anchor)", *full), ("cold after the night", *night)]
    finally:
        con.close()
        fresh_process()
        kept.remove(scratch)
        for path in (scratch, Path(f"{scratch}.wal")):
            path.unlink(missing_ok=True)


def night_delivery(db: Path, root: Path, seed: int, scans: int = 30) -> Path:
    """A night after the survey's end, as a delivery directory written by the generator
    (catscan/survey): ``scans`` scans re-observing northern survey tiles that are not loaded
    (QA-rejected, rescan requested or observed), in tile order, every one passing Quality
    Review, with scan keys after the database's."""
    from catscan.survey.generate import NightJob, write_night
    from catscan.survey.plan import NightPlan, ScanPlan

    con = connect(db, read_only=False)
    try:
        # the build numbered its loads itself: the loader's numbers start after them
        con.execute("SELECT max(nextval('loads_seq')) FROM range((SELECT max(load_id) "
                    "FROM loads))")
        tiles = [t for (t,) in con.execute(
            "SELECT tile FROM tiles WHERE hemis = 'n' AND tile >= 100000 AND status IN "
            "('rejected', 'rescan', 'observed') ORDER BY tile LIMIT ?", [scans]).fetchall()]
        [(last_key,)] = con.execute("SELECT max(scan_key) FROM scans").fetchall()
    finally:
        con.close()
    date = SURVEY_END + dt.timedelta(days=1)
    plan = NightPlan(date, "n", _version(date), "operational", date + dt.timedelta(days=3),
                     tuple(ScanPlan(i + 1, tile, "ns"[i % 2]) for i, tile in enumerate(tiles)))
    job = NightJob(plan, root, tuple(range(last_key + 1, last_key + 1 + len(tiles))), seed)
    return write_night(job).directory


def through_the_server(db: Path, runs: int, seed: int) -> list[tuple[str, float, float]]:
    """The home page map of ``catscan serve`` (a process of its own, write channel
    included) on a copy of the database: from scratch (nothing kept beside the copy: the
    anchor), the first request after a server start (the map kept beside the database by
    the previous server), and the first after a night's load through the server (``catscan
    load night``, 30 scans that change 30 tiles' states); the other pages too after the
    load. Then the map the server gave after the load against a fresh render of the loaded
    database (skymap.allsky_map): they must be the same bytes."""
    import httpx

    sys.path.insert(0, str(HERE.parent / "tests"))
    from catscan.operations.coverage import load_tiles
    from catscan.operations.skymap import allsky_map

    from webserver import serve_process

    work = db.with_name("through-the-server")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    scratch = work / "catscan.duckdb"
    shutil.copy(db, scratch)
    public = db.with_suffix(".public.duckdb")         # else the load publishes ~900 nights
    if public.exists():
        shutil.copy(public, scratch.with_suffix(".public.duckdb"))
    out = []

    def page(client: httpx.Client, path: str) -> bytes:
        response = client.get(path)
        response.raise_for_status()
        return response.content

    def first(client: httpx.Client, path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        content = page(client, path)
        return time.perf_counter() - started, content

    try:
        night = night_delivery(scratch, work / "deliveries", seed)
        for label in ("from scratch (anchor)", "first after a server start"):
            with serve_process(scratch) as (_, url), httpx.Client(base_url=url,
                                                                   timeout=600) as client:
                cold, _ = first(client, "/coverage.png")
                out.append((f"GET /coverage.png, {label}",
                            cold, timed(lambda c=client: page(c, "/coverage.png"), runs)[1]))
        with serve_process(scratch) as (_, url), httpx.Client(base_url=url,
                                                               timeout=600) as client:
            page(client, "/coverage.png")
            for path in ("/", "/status", "/findtile?pos=10.68479+%2B41.26906"):
                page(client, path)
            started = time.perf_counter()
            subprocess.run([shutil.which("catscan") or "catscan", "load", "night", str(night),
                            "--db", str(scratch)], check=True, stdout=subprocess.DEVNULL)
            load = time.perf_counter() - started
            print(f"{night.name} (30 scans) loaded through the server in {load:.1f} s")
            for name, path in (("GET /coverage.png (home map)", "/coverage.png"),
                               ("GET / (home)", "/"), ("GET /status", "/status"),
                               ("GET /findtile?pos=M31", "/findtile?pos=10.68479+%2B41.26906")):
                cold, content = first(client, path)
                if path == "/coverage.png":
                    served = content
                out.append((f"{name} after the load", cold,
                            timed(lambda c=client, p=path: page(c, p), runs)[1]))
        con = connect(scratch)
        try:
            allsky_map(load_tiles(con), work / "fresh.png", width=1000,
                       title="2MASS sky coverage by tile")
        finally:
            con.close()
        same = (work / "fresh.png").read_bytes() == served
        print(f"the map served after the load is a fresh render's, byte for byte: {same}")
        if not same:
            raise SystemExit("the served map is not the fresh render's")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: list[tuple[str, float, float]], anchor: float,
           start: float | None = None) -> None:
    """Cold and warm times, the warm median over the 1 s goal and over the anchor (and,
    for commands, over a process that only starts: ``catscan --version``)."""
    extra = f" {'/ start':>8}" if start else ""
    print(f"{'operation':38} {'cold s':>8} {'warm ms':>9} {'/ 1 s':>7} {'/ anchor':>9}{extra}")
    for name, cold, warm in rows:
        more = f" {warm / start:8.2f}" if start else ""
        print(f"{name:38} {cold:8.2f} {warm * 1e3:9.1f} {warm:7.3f} {warm / anchor:9.2f}{more}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=HERE / "out" / "wholesky" / "catscan.duckdb")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per operation")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["python", "cli", "web", "night", "server"])
    args = parser.parse_args()
    if args.rebuild or not args.db.exists():
        build(args.db, args.seed)
    os.environ.pop("CATSCAN_DB", None)
    rows = in_process(args.db, args.runs) if "python" not in args.skip else []
    anchor = next((w for n, _, w in rows if n.endswith("(anchor)")), None)
    if anchor is None:
        con = connect(args.db)
        anchor = timed(lambda: con.execute("SELECT * FROM scans").fetchall(), args.runs)[1]
        con.close()
    print(f"\nanchor: SELECT * FROM scans to Python, warm median {anchor * 1e3:.1f} ms; "
          f"goal: every operation under 1 s warm\n")
    if rows:
        print("Python calls (one connection):")
        report(rows, anchor)
    if "cli" not in args.skip:
        print("\ncommands (a new process each):")
        rows = commands(args.db, args.runs)
        report(rows, anchor, start=rows[0][2])
    if "web" not in args.skip:
        print("\nweb pages (catscan serve):")
        report(pages(args.db, args.runs), anchor)
    if "server" not in args.skip:
        print("\nthe home page map through a night's load (catscan serve, its own process):")
        rows = through_the_server(args.db, args.runs, args.seed)
        print(f"{'request':52} {'cold s':>8} {'warm ms':>9} {'cold / 1 s':>11} "
              f"{'cold / anchor':>14}")
        for name, cold, warm in rows:
            print(f"{name:52} {cold:8.2f} {warm * 1e3:9.1f} {cold:11.3f} "
                  f"{cold / rows[0][1]:14.3f}")
    if "night" not in args.skip:
        rows = after_a_night(args.db, args.runs)
        report(rows, rows[0][2])
        full, night = rows[0][1], rows[1][1]
        print(f"cold after a night / from scratch: {night / full:.3f}; goal: cold after a "
              f"night under 1 s ({night / 1.0:.2f} of it)")


if __name__ == "__main__":
    main()
