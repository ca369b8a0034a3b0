"""Load benchmark: ``catscan load psc`` against a PostgreSQL 15 + Q3C anchor, same files.

Generates N realistic PSC rows in release format (gzipped ``|``-separated files ordered by
declination, like the real ``psc_aaa.gz`` ...), caches them in the work directory, then times

* catscan: ``catscan init`` + ``catscan load psc FILES...`` on a fresh DuckDB file, as
  subprocesses, with the load's peak RSS (goal: a 20 M-row load stays under 2 GiB);
* the anchor: PostgreSQL 15 ``COPY`` of the same files into a 60-column table with the same
  names and types, ``CREATE INDEX ON psc (q3c_ang2ipix(ra, dec))``, ``CLUSTER``, ``ANALYZE``,
  in a throwaway cluster on a Unix socket (removed at the end, also on failure).

The last line is the headline ratio ``catscan / (COPY + q3c index + CLUSTER)``, goal <= 0.50.

    python bench/load.py [--rows N] [--files K] [--workdir DIR] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
from pgcluster import Cluster, ensure_postgres, pg_cluster, seconds_of

from catscan.db import memory_database
from catscan.loaders import release_format
from catscan.loaders.release_format import write_release_file
from catscan.loaders.schema_info import file_columns
from catscan.survey import synthetic_psc as synthetic_module
from catscan.survey.synthetic_psc import synthetic_psc

DEFAULT_ROWS = 20_000_000
CHUNK_ROWS = 1_000_000          # rows generated at a time (bounds the generator's memory)
ROWS_PER_FILE = 5_000_000       # the real release holds ~5.1 M rows per psc_xxx.gz file
SEED = 2003
LAYOUT_VERSION = 1              # bump when plan() or write_file() change the files
GOAL_RATIO = 0.50
RSS_GOAL_KIB = 2 * 1024 * 1024  # 2 GiB
TIME_BIN = Path("/usr/bin/time")

PG_TYPES = {
    "DOUBLE": "double precision", "FLOAT": "real", "VARCHAR": "text", "SMALLINT": "smallint",
    "INTEGER": "integer", "BIGINT": "bigint", "DATE": "date", "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


# ---------------------------------------------------------------------------- generation

@dataclass(frozen=True)
class Chunk:
    """Rows ``start .. start + rows`` of the survey: one equal-area declination band."""
    index: int
    start: int
    rows: int
    total: int

    def dec_range(self) -> tuple[float, float]:
        lo = -1.0 + 2.0 * self.start / self.total
        hi = -1.0 + 2.0 * (self.start + self.rows) / self.total
        return tuple(float(np.degrees(np.arcsin(np.clip(z, -1, 1)))) for z in (lo, hi))


def release_name(index: int) -> str:
    """psc_aaa.gz, psc_aab.gz, ... as in the real release."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "psc_" + "".join(letters[index // 26**p % 26] for p in (2, 1, 0)) + ".gz"


def plan(rows: int, files: int) -> dict[str, list[Chunk]]:
    """File name -> its chunks; files hold consecutive declination bands, south to north."""
    layout: dict[str, list[Chunk]] = {}
    index = 0
    for f in range(files):
        start, stop = f * rows // files, (f + 1) * rows // files
        chunks = []
        for s in range(start, stop, CHUNK_ROWS):
            chunks.append(Chunk(index, s, min(CHUNK_ROWS, stop - s), rows))
            index += 1
        layout[release_name(f)] = chunks
    return layout


def write_chunk(con: duckdb.DuckDBPyConnection, chunk: Chunk, out: Path) -> None:
    """One chunk as a gzip member of release lines, sorted by declination."""
    table = synthetic_psc(chunk.rows, seed=SEED + chunk.index, dec_range=chunk.dec_range(),
                          first_key=chunk.start + 1, scan_key=chunk.index + 1,
                          first_coadd_key=1000 * (chunk.index + 1))
    con.register("bench_chunk", table.sort_by("dec"))
    try:
        write_release_file(con, "psc", "bench_chunk", out)
    finally:
        con.unregister("bench_chunk")


def write_file(con: duckdb.DuckDBPyConnection, path: Path, chunks: list[Chunk]) -> None:
    """Concatenate the chunks' gzip members into ``path`` (atomically, via ``.part``)."""
    part = path.with_name(path.name + ".part")
    member = path.with_name(path.name + ".chunk.gz")
    with open(part, "wb") as dst:
        for chunk in chunks:
            write_chunk(con, chunk, member)
            with open(member, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
            member.unlink()
    part.replace(path)


def generator_digest() -> str:
    """sha256 of the generator's and the writer's sources: a change regenerates the files."""
    digest = hashlib.sha256(str(LAYOUT_VERSION).encode())
    for module in (synthetic_module, release_format):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def generate(workdir: Path, rows: int, files: int) -> list[Path]:
    """The release files for (rows, files), generated once and cached in ``workdir``."""
    target = workdir / f"psc_{rows}rows_{files}files"
    manifest = target / "manifest.json"
    layout = plan(rows, files)
    wanted = {"rows": rows, "files": sorted(layout), "seed": SEED,
              "chunk_rows": CHUNK_ROWS, "generator": generator_digest()}
    paths = [target / name for name in layout]
    if manifest.exists() and json.loads(manifest.read_text()) == wanted \
            and all(p.exists() for p in paths):
        print(f"using cached release files in {target}/", flush=True)
        return paths
    target.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    con = memory_database()
    con.execute("SET enable_progress_bar = false")
    try:
        for path, (name, chunks) in zip(paths, layout.items(), strict=True):
            started = time.perf_counter()
            write_file(con, path, chunks)
            print(f"generated {name}: {sum(c.rows for c in chunks):,} rows "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        con.close()
    manifest.write_text(json.dumps(wanted, indent=1))
    return paths


# ------------------------------------------------------------------------------- catscan

@dataclass
class Run:
    """One timed subprocess."""
    seconds: float
    max_rss_kib: int | None
    output: str


def timed(cmd: list[str], **kwargs) -> Run:
    """Run ``cmd``; wall seconds and peak RSS (/usr/bin/time -v, else getrusage)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        full = [str(TIME_BIN), "-v", "-o", report.name, *cmd] if TIME_BIN.exists() else cmd
        started = time.perf_counter()
        done = subprocess.run(full, capture_output=True, text=True, **kwargs)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")
        text = report.read() if TIME_BIN.exists() else ""
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    rss = int(match.group(1)) if match else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Run(seconds, rss, done.stdout)


def catscan_cmd() -> list[str]:
    exe = shutil.which("catscan")
    return [exe] if exe else [sys.executable, "-m", "catscan.cli"]


@dataclass
class CatscanResult:
    init: Run
    load: Run
    rows: int
    db_bytes: int
    file_seconds: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.init.seconds + self.load.seconds


def remove_db(db: Path) -> None:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".tmp"), ignore_errors=True)


def run_catscan(workdir: Path, files: list[Path]) -> CatscanResult:
    """``catscan init`` and ``catscan load psc FILES`` on a fresh database file."""
    db = workdir / "bench.duckdb"
    remove_db(db)
    try:
        init = timed([*catscan_cmd(), "init", "--db", str(db)])
        load = timed([*catscan_cmd(), "load", "psc", *map(str, files), "--db", str(db)])
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("SELECT count(*) FROM psc").fetchone()[0]
        per_file = [float(s) for s in re.findall(r", ([\d.]+) s\)", load.output)]
        return CatscanResult(init, load, rows, db.stat().st_size, per_file)
    finally:
        remove_db(db)


# ---------------------------------------------------------------------------- PostgreSQL

def psc_ddl() -> str:
    """CREATE TABLE psc with the 60 release columns of catscan's schema, in PG types."""
    con = memory_database()
    try:
        columns = file_columns(con, "psc")
    finally:
        con.close()
    body = ",\n  ".join(f'"{c.name}" {PG_TYPES[c.type]}' + (" NOT NULL" if c.not_null else "")
                        for c in columns)
    return f"CREATE TABLE psc (\n  {body}\n)"


@dataclass
class PostgresResult:
    version: str
    q3c: str
    rows: int
    copy: float
    index: float
    cluster: float
    analyze: float
    table_bytes: int

    @property
    def total(self) -> float:
        return self.copy + self.index + self.cluster


def copy_file(pg: Cluster, path: Path) -> None:
    """zcat FILE | psql -c '\\copy psc FROM pstdin ...'."""
    sql = r"\copy psc FROM pstdin WITH (FORMAT text, DELIMITER '|', NULL '\N')"
    with subprocess.Popen(["zcat", str(path)], stdout=subprocess.PIPE) as zcat:
        try:
            pg.psql(sql, stdin=zcat.stdout)
        finally:
            zcat.stdout.close()
    if zcat.returncode != 0:
        raise RuntimeError(f"zcat {path} failed ({zcat.returncode})")


def run_postgres(files: list[Path]) -> PostgresResult:
    """COPY, q3c index, CLUSTER and ANALYZE in a fresh cluster; each phase timed."""
    ensure_postgres()
    with pg_cluster() as pg:
        pg.psql("CREATE EXTENSION q3c")
        pg.psql(psc_ddl())
        copy = sum(seconds_of(lambda p=p: copy_file(pg, p)) for p in files)
        index = seconds_of(lambda: pg.psql(
            "CREATE INDEX psc_q3c ON psc (q3c_ang2ipix(ra, dec))"))
        cluster = seconds_of(lambda: pg.psql("CLUSTER psc USING psc_q3c"))
        analyze = seconds_of(lambda: pg.psql("ANALYZE psc"))
        return PostgresResult(
            version=pg.value("SHOW server_version"),
            q3c=pg.value("SELECT extversion FROM pg_extension WHERE extname = 'q3c'"),
            rows=int(pg.value("SELECT count(*) FROM psc")),
            copy=copy, index=index, cluster=cluster, analyze=analyze,
            table_bytes=int(pg.value("SELECT pg_total_relation_size('psc')")))


# -------------------------------------------------------------------------------- report

def gib(kib_or_bytes: float, unit: int = 1) -> str:
    return f"{kib_or_bytes * unit / 2**30:.2f} GiB"


def line(label: str, value: str) -> None:
    print(f"  {label:<38} {value}")


def report_catscan(cs: CatscanResult, rows: int) -> None:
    rss = cs.load.max_rss_kib
    verdict = "" if rss is None else (" (goal < 2 GiB: ok)" if rss < RSS_GOAL_KIB
                                      else " (goal < 2 GiB: MISSED)")
    print(f"catscan (DuckDB {duckdb.__version__})")
    line("init", f"{cs.init.seconds:8.1f} s")
    line("load psc", f"{cs.load.seconds:8.1f} s")
    if cs.file_seconds:
        line("  of which per-file read/check/insert", f"{sum(cs.file_seconds):8.1f} s")
        line("  rest (startup, final hpx29 sort)",
             f"{cs.load.seconds - sum(cs.file_seconds):8.1f} s")
    line("total (init + load)", f"{cs.seconds:8.1f} s")
    line("rows/s", f"{rows / cs.seconds:>10,.0f}")
    line("peak RSS of the load process", ("n/a" if rss is None else gib(rss, 1024)) + verdict)
    line("database file", gib(cs.db_bytes))
    if cs.rows != rows:
        print(f"  WARNING: psc holds {cs.rows:,} rows, expected {rows:,}")


def report_postgres(pg: PostgresResult, rows: int) -> None:
    print(f"PostgreSQL {pg.version} + q3c {pg.q3c} (anchor)")
    line("COPY", f"{pg.copy:8.1f} s")
    line("CREATE INDEX (q3c_ang2ipix)", f"{pg.index:8.1f} s")
    line("CLUSTER", f"{pg.cluster:8.1f} s")
    line("total (COPY + index + CLUSTER)", f"{pg.total:8.1f} s")
    line("ANALYZE (not in the total)", f"{pg.analyze:8.1f} s")
    line("rows/s", f"{rows / pg.total:>10,.0f}")
    line("table + index size", gib(pg.table_bytes))
    if pg.rows != rows:
        print(f"  WARNING: psc holds {pg.rows:,} rows, expected {rows:,}")


def report(rows: int, files: list[Path], cs: CatscanResult, pg: PostgresResult | None) -> None:
    size = sum(p.stat().st_size for p in files)
    print()
    print(f"load benchmark: {rows:,} PSC rows in {len(files)} release files "
          f"({gib(size)} gzipped)")
    report_catscan(cs, rows)
    if pg is None:
        print("catscan / (PostgreSQL COPY + q3c index + cluster) = n/a "
              "(--skip-postgres) (goal <= 0.50)")
        return
    report_postgres(pg, rows)
    ratio = cs.seconds / pg.total
    print(f"catscan / (PostgreSQL COPY + q3c index + cluster) = {ratio:.2f} "
          f"(goal <= {GOAL_RATIO:.2f})")


# ---------------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"PSC rows to load (default {DEFAULT_ROWS:,})")
    parser.add_argument("--files", type=int, default=None,
                        help=f"release files (default: one per {ROWS_PER_FILE:,} rows)")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out",
                        help="cache for the generated files and the database (default "
                             "bench/out/)")
    parser.add_argument("--skip-postgres", action="store_true",
                        help="time catscan only")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    args.files = args.files or max(1, math.ceil(args.rows / ROWS_PER_FILE))
    if not 1 <= args.files <= min(args.rows, 26**3):
        parser.error("--files must be between 1 and min(rows, 17576)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    files = generate(workdir, args.rows, args.files)
    print(f"timing catscan init + load psc ({len(files)} files) ...", flush=True)
    cs = run_catscan(workdir, files)
    pg = None
    if not args.skip_postgres:
        print("timing PostgreSQL COPY + q3c index + CLUSTER + ANALYZE ...", flush=True)
        pg = run_postgres(files)
    report(args.rows, files, cs, pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
