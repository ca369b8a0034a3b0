"""Region words at scale: what the hpx29 ranges of a scan's, night's or tile's sky save.

For each survey word of the CatScan language (``in scan``, ``on night``, ``in tile``,
``observed between`` over a few nights and over the whole survey) on the PSC of a database:
the row groups DuckDB scanned (``EXPLAIN ANALYZE``) and the median time, against the anchor:
the same query compiled without a database (the plain ``date``/``scan``/``tile`` filter,
no ranges), in the same run, alternating. Both must give the same result; a difference is
printed as MISMATCH and the exit status is 1. Not a timed test.

    python bench/regions.py [DB] [--runs 9]             # DB default: the bench survey
    python bench/regions.py --rows 2000000              # generate and load one this size

Without DB it uses (and makes once, in ``bench/out/regions-<rows>/``) the bench survey
``catscan generate --scale bench --rows N`` loaded with ``catscan load night``. From Python
(bench/scale.py at 100 M rows): ``measure(db_path) -> list[dict]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from catscan.language import Catalog, compile_text
from catscan.safety import query_connection

DEFAULT_ROWS = 20_000_000            # the generator's bench survey
SELECT = "select count(*) as n, avg(j_m - k_m) as jk from psc"
SCANNED = re.compile(r"Row Groups Scanned:\s*([\d,]+)\s*/\s*([\d,]+)")


def words(con) -> list[tuple[str, str]]:
    """(name, word) of the database: the loaded science scan in the middle of the survey
    (by scan_key), its night, its tile, the nights of its week and the whole survey."""
    keys = con.execute("SELECT scan_key FROM scans WHERE loaded AND scan_type = 'sci' "
                       "ORDER BY scan_key").fetchall()
    if not keys:
        raise SystemExit("no loaded science scan in this database")
    key = keys[len(keys) // 2][0]
    date, hemis, scan, tile = con.execute(
        "SELECT date, hemis, scan, tile FROM scans WHERE scan_key = ?", [key]).fetchone()
    first, last = con.execute("SELECT min(date), max(date) FROM scans").fetchone()
    week = con.execute("SELECT min(date), max(date) FROM (SELECT DISTINCT date FROM scans "
                       "WHERE date >= ? ORDER BY date LIMIT 7)", [date]).fetchone()
    return [("scan", f"in scan {date} {hemis} {scan}"),
            ("night", f"on night {date} {hemis}"),
            ("tile", f"in tile {tile}"),
            ("7 nights", f"observed between {week[0]} and {week[1]}"),
            ("survey", f"observed between {first} and {last}")]


def row_groups(con, sql: str) -> tuple[int, int]:
    """(scanned, total) row groups of the psc scan, from EXPLAIN ANALYZE (the scan with
    most row groups: a tile's join also scans ``scans``); (0, 0) for no scan at all."""
    plan = "\n".join(str(r[-1]) for r in con.execute("EXPLAIN ANALYZE " + sql).fetchall())
    found = [tuple(int(x.replace(",", "")) for x in f) for f in SCANNED.findall(plan)]
    return max(found, key=lambda f: f[1]) if found else (0, 0)


def timed(con, sql: str) -> tuple[float, list]:
    started = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - started, rows


def measure(db_path, runs: int = 9) -> list[dict]:
    """One dict per word: word, scans' cover (ranges), row groups scanned with and without
    the ranges, median ms of both, their ratio, compile ms and whether the rows agree."""
    con = query_connection(Path(db_path))
    try:
        catalog = Catalog.from_connection(con)
        out = []
        for name, word in words(con):
            text = f"{SELECT} {word}"
            started = time.perf_counter()
            pruned = compile_text(text, catalog, con=con)
            compile_ms = (time.perf_counter() - started) * 1e3
            anchor = compile_text(text, catalog)
            ranges = sum(len(r.ranges) for r in pruned.regions)
            groups, total = row_groups(con, pruned.sql)
            anchor_groups, _ = row_groups(con, anchor.sql)
            times: dict[str, list[float]] = {"ranges": [], "anchor": []}
            results = {}
            for i in range(runs + 1):                     # the first run of each: warm-up
                order = (("ranges", pruned.sql), ("anchor", anchor.sql))
                for side, sql in order if i % 2 else order[::-1]:
                    seconds, rows = timed(con, sql)
                    results[side] = rows
                    if i:
                        times[side].append(seconds)
            ms = {side: statistics.median(t) * 1e3 for side, t in times.items()}
            out.append({"name": name, "word": word, "ranges": ranges,
                        "description": "; ".join(r.description for r in pruned.regions),
                        "row_groups": groups, "row_groups_anchor": anchor_groups,
                        "row_groups_total": total, "rows": results["ranges"][0][0],
                        "ms": ms["ranges"], "ms_anchor": ms["anchor"],
                        "ratio": ms["ranges"] / ms["anchor"], "compile_ms": compile_ms,
                        "same": _same(results["ranges"], results["anchor"])})
        return out
    finally:
        con.close()


def _same(a: list, b: list) -> bool:
    """Equal counts and averages (the average to 1e-9: summation order may differ)."""
    (n1, avg1), (n2, avg2) = a[0], b[0]
    return n1 == n2 and (avg1 == avg2 or abs(avg1 - avg2) <= 1e-9 * max(1, abs(avg2)))


def bench_survey(rows: int, workdir: Path) -> Path:
    """The bench survey of ``rows`` point sources, generated and loaded once."""
    db = workdir / "catscan.duckdb"
    if db.exists():
        return db
    workdir.mkdir(parents=True, exist_ok=True)
    survey = workdir / "survey"
    catscan = [sys.executable, "-m", "catscan.cli"]
    for step in (["generate", str(survey), "--scale", "bench", "--rows", str(rows)],
                 ["init", "--db", str(db) + ".part"],
                 ["load", "night", str(survey), "--db", str(db) + ".part"]):
        print("catscan " + " ".join(step), flush=True)
        subprocess.run(catscan + step, check=True, stdout=subprocess.DEVNULL)
    Path(str(db) + ".part").rename(db)
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", nargs="?", type=Path, help="database (default: bench survey)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help="size of the bench survey made when no DB is given")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per query")
    args = parser.parse_args(argv)
    db = args.db or bench_survey(args.rows, Path(__file__).with_name("out")
                                 / f"regions-{args.rows}")
    results = measure(db, args.runs)
    print(f"{db}: psc in {results[0]['row_groups_total']:,} row groups; median of "
          f"{args.runs} runs, warm, the anchor without ranges in the same run")
    print(f"{'word':10s} {'rows':>10s} {'ranges':>6s} {'groups':>13s} {'anchor':>7s} "
          f"{'ms':>9s} {'anchor ms':>10s} {'ratio':>6s} {'compile':>8s}")
    for r in results:
        print(f"{r['name']:10s} {r['rows']:10,d} {r['ranges']:6d} "
              f"{r['row_groups']:6,d}/{r['row_groups_total']:<6,d} {r['row_groups_anchor']:7,d} "
              f"{r['ms']:9.1f} {r['ms_anchor']:10.1f} {r['ratio']:6.2f} "
              f"{r['compile_ms']:6.1f}ms{'' if r['same'] else '  MISMATCH'}")
    return 0 if all(r["same"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
