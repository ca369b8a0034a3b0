"""The survey generator's speed: rows/s of `catscan generate --scale bench`, against DuckDB
writing the same rows.

    python bench/generate.py                     # 5 M rows, one worker per core
    python bench/generate.py --rows 20000000
    python bench/generate.py --rows 1000000 --workers 1 --anchor none

What it times: `catscan generate OUTDIR --scale bench --rows N` as a subprocess into an empty
directory under the work directory (default bench/out/, git-ignored): every night's manifest,
scan table, health summary and gzipped PSC/XSC files, as `catscan load night` reads them. It
prints point-source rows per second (wall clock), the peak RSS of the largest process (the
CLI or one of its workers; `getrusage(RUSAGE_CHILDREN)`) and the CPU time of all of them (rows
per CPU-second does not depend on what else the machine runs; the wall clock does). Goal
(issue 19): >= 200,000 rows/s on this 2-core machine, peak RSS well under 2 GiB whatever N
(nights are written one at a time per worker, in batches of bounded size).

The anchor, measured in the same run on the same rows: the generated PSC files are read into
a DuckDB table (not timed), then DuckDB writes that table with `COPY ... (FORMAT csv,
DELIMITER '|', NULLSTR '\\N', COMPRESSION gzip)` (`--anchor duckdb`, the default), or the way
catscan's loaders and tests write release files, `loaders.release_format.write_release_file`
(COPY to text, then zlib level 1; `--anchor release`). The printed ratio is generator rows/s
over anchor rows/s: above 1, making the survey costs less than merely writing its rows did.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402

from catscan.db import apply_schema  # noqa: E402
from catscan.loaders.release_format import write_release_file  # noqa: E402
from catscan.loaders.schema_info import file_columns  # noqa: E402

GOAL_ROWS_PER_S = 200_000
GOAL_RSS_BYTES = 2 << 30


def generate(outdir: Path, rows: int, seed: int, workers: int | None) -> tuple[float, str]:
    """Run the CLI; returns (seconds, its summary line)."""
    command = [sys.executable, "-m", "catscan.cli", "generate", str(outdir), "--scale",
               "bench", "--rows", str(rows), "--seed", str(seed)]
    if workers:
        command += ["--workers", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"catscan generate failed:\n{done.stderr}")
    return seconds, done.stdout.strip().splitlines()[-1]


def psc_rows(outdir: Path, database: Path) -> int:
    """Read the generated PSC files into a DuckDB table ``psc_rows`` (the anchor's input)."""
    con = duckdb.connect(str(database))
    try:
        apply_schema(con)                     # the release writer reads the file columns
        columns = file_columns(con, "psc")
        spec = "{" + ", ".join(f"'{c.name}': '{c.type}'" for c in columns) + "}"
        files = sorted(str(p) for p in outdir.glob("*/s*/psc_*.gz"))
        con.execute(f"CREATE TABLE psc_rows AS SELECT * FROM read_csv(?, columns = {spec}, "
                    "delim = '|', header = false, quote = '', escape = '', nullstr = '\\N', "
                    "auto_detect = false, dateformat = '%Y-%m-%d')", [files])
        return con.execute("SELECT count(*) FROM psc_rows").fetchone()[0]
    finally:
        con.close()


def anchor(kind: str, database: Path, target: Path) -> float:
    """Seconds for the anchor to write every row of ``psc_rows`` as one gzipped file."""
    con = duckdb.connect(str(database))
    try:
        start = time.perf_counter()
        if kind == "duckdb":
            con.execute(f"COPY psc_rows TO '{target}' (FORMAT csv, DELIMITER '|', HEADER false, "
                        "QUOTE '', ESCAPE '', NULLSTR '\\N', DATEFORMAT '%Y-%m-%d', "
                        "COMPRESSION gzip)")
        else:
            write_release_file(con, "psc", "psc_rows", target)
        return time.perf_counter() - start
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None,
                        help="catscan generate --workers (default: its own, one per core)")
    parser.add_argument("--anchor", choices=["duckdb", "release", "none"], default="duckdb")
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true", help="keep the generated survey")
    args = parser.parse_args(argv)

    work = args.workdir / f"generate-{args.rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        load_before = os.getloadavg()[0]
        seconds, summary = generate(work / "survey", args.rows, args.seed, args.workers)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss, cpu = usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime
        rows = int(summary.split(" point sources")[0].rsplit(" ", 1)[1].replace(",", ""))
        rate = rows / seconds
        size = sum(p.stat().st_size for p in (work / "survey").rglob("*") if p.is_file())
        print(summary)
        print(f"generate: {rows:,} PSC rows in {seconds:.1f} s = {rate:,.0f} rows/s "
              f"(goal >= {GOAL_ROWS_PER_S:,}: {'met' if rate >= GOAL_ROWS_PER_S else 'NOT met'})"
              f", peak RSS {rss / 2**20:,.0f} MiB (goal < 2048: "
              f"{'met' if rss < GOAL_RSS_BYTES else 'NOT met'}), {size / 2**30:.2f} GiB on disk")
        print(f"  CPU {cpu:.1f} s over all its processes = {rows / cpu:,.0f} rows per CPU-second "
              f"({os.cpu_count()} cores; load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after: other work on the machine slows the wall clock)")
        if args.anchor != "none":
            database = work / "anchor.duckdb"
            copied = psc_rows(work / "survey", database)
            assert copied == rows, (copied, rows)
            anchor_s = anchor(args.anchor, database, work / "anchor.txt.gz")
            what = "DuckDB COPY (gzip)" if args.anchor == "duckdb" else \
                "write_release_file (COPY + zlib 1)"
            print(f"anchor: {what} of the same {rows:,} rows in {anchor_s:.1f} s = "
                  f"{rows / anchor_s:,.0f} rows/s")
            print(f"ratio generate / anchor (rows/s): {rate / (rows / anchor_s):.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
