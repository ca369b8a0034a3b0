"""Spatial query benchmark: catscan against PostgreSQL 15 + Q3C on the same uniform sky.

One seeded uniform-sky table (``pts_key``, ``ra``, ``dec``, ``j_m``, ``h_m``, ``k_m``; catscan
adds its ``hpx29`` index) is loaded into a catscan database (sorted by ``hpx29``) and into a
throwaway PostgreSQL 15 cluster (``q3c_ang2ipix`` index, ``CLUSTER``, ``ANALYZE``). Then, in
one process and one run, warm, each workload is timed on both engines in turn, with the same
centres, and the median of the runs is compared. Region queries run in sessions of
``--block`` (10) queries per engine, the engine going first alternating from session to
session (A B, B A) against drift; they run again in strict alternation (each query right
after the other engine's, so on cold CPU caches and a core that was idle), whose ratio is
printed beside the goal:

* cones of 1', 6' and 60' (``cone_sql`` against ``q3c_radial_query``);
* a 1 x 1 degree box (``box_sql`` against ``q3c_poly_query`` on the box's 4 corners);
* a 10-vertex polygon (``polygon_sql`` against ``q3c_poly_query``);
* cross-matches of 100 k and 1 M positions at 2" (``catscan.xmatch.xmatch`` mode ``all``
  against ``q3c_join``).

Both engines must return the same rows (region queries: the same ``pts_key`` sets; cross-match:
the same pairs), on the timed centres and on extra ones at the poles and across RA 0.
The last lines are a table with the catscan/Q3C ratio of medians per workload and its goal.

    python bench/spatial.py [--rows N] [--runs R] [--workloads cone1,cone6,...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pgcluster import BULK_SETTINGS, ensure_postgres, pg_cluster

from catscan import spatial
from catscan.db import connect, init_database, schema_version
from catscan.spatial import MATCH_CELL_COLUMN, match_cell_sql
from catscan.udfs.healpix import hpx29

DEFAULT_ROWS = 20_000_000
DEFAULT_RUNS = 25
XMATCH_1M_RUNS = 5                # the 1 M cross-match is slow on the anchor
DEFAULT_BLOCK = 10                # region queries per engine session (--block)
CHUNK_ROWS = 1_000_000
SEED = 2029
DATA_VERSION = 1                  # bump when the generated data change
XMATCH_RADIUS_DEG = 2.0 / 3600
TARGET_JITTER_ARCSEC = 0.7        # per axis, for targets drawn from the catalog
TARGET_UNMATCHED = 0.2            # share of targets placed at random (mostly no match)
COLUMNS = ("pts_key", "ra", "dec", "j_m", "h_m", "k_m")

# Query-serving settings for the anchor: the 20 M-row table (1.7 GB) and its index fit in
# shared_buffers; JIT off, because Q3C's cost estimates (~1e11 for a q3c_join) switch it on
# for every cross-match, where it added ~110 ms of compilation and saved nothing; the rest as
# in the load benchmark.
QUERY_SETTINGS = {**BULK_SETTINGS, "shared_buffers": "4GB", "effective_cache_size": "16GB",
                  "jit": "off"}

# (ra, dec) centres checked on both engines but not timed: poles and both sides of RA 0.
CHECK_CENTRES = ((123.4, 89.7), (250.0, -89.95), (0.004, 12.0), (359.99, -33.0), (0.0, 0.0))


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    kind: str                     # cone | box | polygon | xmatch
    size: float                   # cone radius, box side, polygon radius (deg); targets
    goal: float | None


WORKLOADS = {w.name: w for w in (
    Workload("cone1", "cone 1'", "cone", 1 / 60, 0.5),
    Workload("cone6", "cone 6'", "cone", 6 / 60, 0.5),
    Workload("cone60", "cone 60'", "cone", 1.0, 0.5),
    Workload("box1", "box 1 deg x 1 deg", "box", 1.0, None),
    Workload("poly10", "polygon, 10 vertices", "polygon", 0.5, None),
    Workload("xm100k", "cross-match 100 k, 2\"", "xmatch", 100_000, 0.5),
    Workload("xm1m", "cross-match 1 M, 2\"", "xmatch", 1_000_000, 0.7),
)}


# ---------------------------------------------------------------------------- the sky

def chunk_table(index: int, start: int, rows: int) -> pa.Table:
    """Rows ``start .. start + rows``: uniform on the sphere, PSC-like magnitudes."""
    rng = np.random.default_rng([SEED, index])
    ra = rng.uniform(0.0, 360.0, rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, rows)))
    j_m = np.round(16.8 - rng.exponential(1.6, rows), 3)
    h_m = np.round(j_m - rng.normal(0.55, 0.25, rows), 3)
    k_m = np.round(h_m - rng.normal(0.2, 0.15, rows), 3)
    return pa.table({"pts_key": np.arange(start + 1, start + rows + 1, dtype=np.int64),
                     "ra": ra, "dec": dec, "j_m": j_m, "h_m": h_m, "k_m": k_m,
                     "hpx29": hpx29(ra, dec)})


def data_digest(rows: int) -> str:
    digest = hashlib.sha256(f"{DATA_VERSION} {SEED} {CHUNK_ROWS} {rows}".encode())
    digest.update(Path(__file__).read_bytes().split(b"# ---- end of generator")[0])
    return digest.hexdigest()[:16]


@dataclass
class Sky:
    """The cached files of one ``--rows``: Parquet for catscan, CSV for PostgreSQL."""
    root: Path
    rows: int
    parquet: list[Path] = field(default_factory=list)
    csv: list[Path] = field(default_factory=list)


def generate(workdir: Path, rows: int) -> Sky:
    """The uniform sky in chunks, written once (Parquet and CSV) and reused."""
    sky = Sky(workdir / f"sky_{rows}rows", rows)
    starts = range(0, rows, CHUNK_ROWS)
    sky.parquet = [sky.root / f"chunk_{i:04d}.parquet" for i in range(len(starts))]
    sky.csv = [p.with_suffix(".csv") for p in sky.parquet]
    manifest = sky.root / "manifest.json"
    wanted = {"rows": rows, "digest": data_digest(rows)}
    if manifest.exists() and json.loads(manifest.read_text()) == wanted \
            and all(p.exists() for p in sky.parquet + sky.csv):
        print(f"using the cached sky in {sky.root}/", flush=True)
        return sky
    sky.root.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        for i, start in enumerate(starts):
            table = chunk_table(i, start, min(CHUNK_ROWS, rows - start))
            pq.write_table(table, sky.parquet[i])
            # DuckDB writes doubles in their shortest exact form: PostgreSQL reads the same
            con.execute(f"COPY (SELECT {', '.join(COLUMNS)} FROM '{sky.parquet[i]}') "
                        f"TO '{sky.csv[i]}' (HEADER false)")
    finally:
        con.close()
    manifest.write_text(json.dumps(wanted))
    print(f"generated {rows:,} rows in {len(sky.parquet)} chunks "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return sky


def offset_by(ra, dec, pa_deg, sep_deg):
    """Positions ``sep_deg`` away from (ra, dec) at position angle ``pa_deg`` (E of N)."""
    ra, dec, pa_r, s = (np.radians(np.asarray(x, float)) for x in (ra, dec, pa_deg, sep_deg))
    dec2 = np.arcsin(np.clip(np.sin(dec) * np.cos(s)
                             + np.cos(dec) * np.sin(s) * np.cos(pa_r), -1, 1))
    ra2 = ra + np.arctan2(np.sin(pa_r) * np.sin(s) * np.cos(dec),
                          np.cos(s) - np.sin(dec) * np.sin(dec2))
    return np.degrees(ra2) % 360.0, np.degrees(dec2)


def targets_for(con: duckdb.DuckDBPyConnection, sky: Sky, n: int) -> pa.Table:
    """``n`` positions to cross-match: catalog rows moved by ~1" (80 %, including rows at the
    poles and next to RA 0), the rest at random (mostly no counterpart), in random order."""
    path = sky.root / f"targets_{n}_{data_digest(sky.rows)}.parquet"
    if path.exists():
        return pq.read_table(path)
    rng = np.random.default_rng([SEED, n])
    near = n - int(n * TARGET_UNMATCHED)
    special = con.execute(
        "SELECT pts_key FROM psc WHERE abs(dec) > 89.5 OR ra < 0.01 OR ra > 359.99 "
        "ORDER BY pts_key LIMIT ?", [max(1, near // 1000)]).fetchnumpy()["pts_key"]
    keys = np.concatenate([special, rng.choice(np.arange(1, sky.rows + 1), near - len(special),
                                               replace=False)])
    picked = pa.table({"pts_key": keys, "k": np.arange(len(keys))})
    con.register("bench_keys", picked)
    try:
        rows = con.execute("SELECT p.ra, p.dec FROM bench_keys k JOIN psc p USING (pts_key) "
                           "ORDER BY k.k").fetchnumpy()
    finally:
        con.unregister("bench_keys")
    jitter = rng.normal(0.0, TARGET_JITTER_ARCSEC / 3600, (2, near))
    ra, dec = offset_by(rows["ra"], rows["dec"], np.degrees(np.arctan2(*jitter)),
                        np.hypot(*jitter))
    far = n - near
    ra = np.concatenate([ra, rng.uniform(0, 360, far)])
    dec = np.concatenate([dec, np.degrees(np.arcsin(rng.uniform(-1, 1, far)))])
    order = rng.permutation(n)
    table = pa.table({"tid": np.arange(1, n + 1, dtype=np.int64), "ra": ra[order],
                      "dec": dec[order]})
    pq.write_table(table, path)
    return table


# ---- end of generator (the cache digest covers the code above)

def centres(n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` seeded centres uniform on the sky."""
    rng = np.random.default_rng([SEED, seed])
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return [(float(a), float(d)) for a, d in zip(ra, dec, strict=True)]


def box_corners(ra: float, dec: float, width: float, height: float) -> list[tuple[float, float]]:
    """The corners of catscan's box: the gnomonic rectangle (+-tan(w/2), +-tan(h/2)) at the
    centre, projected back onto the sky (its edges are great circles, as Q3C's)."""
    tx, ty = math.tan(math.radians(width / 2)), math.tan(math.radians(height / 2))
    a0, d0 = math.radians(ra), math.radians(dec)
    corners = []
    for xi, eta in ((tx, ty), (-tx, ty), (-tx, -ty), (tx, -ty)):
        d = math.asin((math.sin(d0) + eta * math.cos(d0)) / math.sqrt(1 + xi**2 + eta**2))
        a = a0 + math.atan2(xi, math.cos(d0) - eta * math.sin(d0))
        corners.append((math.degrees(a) % 360.0, math.degrees(d)))
    return corners


def polygon_around(ra: float, dec: float, radius: float, seed: int,
                   vertices: int = 10) -> list[tuple[float, float]]:
    """A convex polygon: ``vertices`` points on the circle of ``radius`` around the centre,
    at jittered position angles, counter-clockwise on the sky (east of north)."""
    rng = np.random.default_rng([SEED, seed])
    step = 360.0 / vertices
    angles = np.arange(vertices) * step + rng.uniform(-step / 4, step / 4, vertices)
    ras, decs = offset_by(np.full(vertices, ra), np.full(vertices, dec), angles,
                          np.full(vertices, radius))
    return [(float(a), float(d)) for a, d in zip(ras, decs, strict=True)]


def num(x: float) -> str:
    return repr(float(x))


def q3c_array(points: Sequence[tuple[float, float]]) -> str:
    return "ARRAY[" + ", ".join(f"{num(a)}, {num(d)}" for a, d in points) + "]"


# ----------------------------------------------------------------------------- engines

COLUMNS_FETCHED = ["pts_key", "ra", "dec"]
SELECT = f"SELECT {', '.join(COLUMNS_FETCHED)} FROM psc WHERE "


@dataclass
class Query:
    """One instance of a workload: a callable per engine (the timed work), and the rows the
    anchor returns for the check when its timed callable does not parse them."""
    label: str
    catscan: Callable[[], object]
    postgres: Callable[[], object]
    postgres_rows: Callable[[], object] | None = None


def region_sql(workload: Workload, ra: float, dec: float, i: int
               ) -> tuple[Callable[[], str], str]:
    """The region at (ra, dec) as catscan's WHERE fragment (built when called: that is part of
    catscan's query time) and as Q3C's."""
    size = workload.size
    if workload.kind == "cone":
        return (lambda: spatial.cone_sql(ra, dec, size),
                f"q3c_radial_query(ra, dec, {num(ra)}, {num(dec)}, {num(size)})")
    if workload.kind == "box":
        return (lambda: spatial.box_sql(ra, dec, size, size),
                f"q3c_poly_query(ra, dec, {q3c_array(box_corners(ra, dec, size, size))})")
    poly = polygon_around(ra, dec, size, seed=1000 + i)
    return lambda: spatial.polygon_sql(poly), f"q3c_poly_query(ra, dec, {q3c_array(poly)})"


def search_query(workload: Workload, duck, ra: float, dec: float, i: int
                 ) -> Callable[[], pa.Table]:
    """catscan's search API for the region (ranges in SQL, the exact test in numpy)."""
    size = workload.size
    if workload.kind == "cone":
        return lambda: spatial.cone_search(duck, ra, dec, size, columns=COLUMNS_FETCHED)
    if workload.kind == "box":
        return lambda: spatial.box_search(duck, ra, dec, size, size, columns=COLUMNS_FETCHED)
    poly = polygon_around(ra, dec, size, seed=1000 + i)
    return lambda: spatial.polygon_search(duck, poly, columns=COLUMNS_FETCHED)


def region_queries(workload: Workload, duck, cur, where: list[tuple[float, float]]
                   ) -> list[Query]:
    """Cone, box or polygon queries at the given centres; both sides fetch (pts_key, ra, dec)
    of every row: Q3C as Python tuples, catscan as an Arrow table from its search API
    (``cone_search``, ``box_search``, ``polygon_search``: ranges in SQL, the exact test in
    numpy). The SQL fragments (``cone_sql`` ...) return the same rows (tests); ``--explain``
    shows their plans."""
    out = []
    for i, (ra, dec) in enumerate(where):
        cs, pg = region_sql(workload, ra, dec, i)
        catscan = search_query(workload, duck, ra, dec, i)
        out.append(Query(
            f"({ra:.4f}, {dec:+.4f})", catscan,
            lambda pg=pg: cur.execute(SELECT + pg, prepare=False).fetchall()))
    return out


def xmatch_query(duck, cur, targets: pa.Table, pg_table: str) -> Query:
    """catscan ``xmatch(mode="all")`` against ``q3c_join``: every pair within 2", plus the
    unmatched targets (LEFT JOIN), with the separation. catscan returns an Arrow table (its
    API); the anchor sends every result row in its cheapest bulk form, a binary COPY, read
    to the end but not parsed (parsed rows, for the check, come from a separate fetch)."""
    from catscan.xmatch import xmatch

    r = XMATCH_RADIUS_DEG
    pg = (f"SELECT t.tid, c.pts_key, q3c_dist(t.ra, t.dec, c.ra, c.dec) * 3600 "
          f"FROM {pg_table} t LEFT JOIN psc c ON q3c_join(t.ra, t.dec, c.ra, c.dec, {num(r)})")

    def copy_out() -> int:
        size = 0
        with cur.copy(f"COPY ({pg}) TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                size += len(block)
        return size

    return Query(f"{len(targets):,} targets",
                 lambda: xmatch(duck, targets, r, catalog="psc", mode="all",
                                columns=["pts_key"]),
                 copy_out,
                 lambda: cur.execute(pg, prepare=False).fetchall())


def region_ids(result) -> list[int]:
    if isinstance(result, pa.Table):
        return sorted(result.column("pts_key").to_pylist())
    return sorted(row[0] for row in result)


def xmatch_pairs(result) -> tuple[int, set[tuple[int, int]]]:
    """(result rows, set of (target, pts_key) pairs) of either engine's cross-match."""
    if isinstance(result, pa.Table):
        tid = result.column("tid").to_pylist()
        key = result.column("pts_key").to_pylist()
        return result.num_rows, {(t, k) for t, k in zip(tid, key, strict=True)
                                 if k is not None}
    return len(result), {(t, k) for t, k, _ in result if k is not None}


def same_result(kind: str, a, b) -> tuple[bool, int, int]:
    """Whether both engines found the same rows; and their row counts."""
    if kind == "xmatch":
        (na, pa_), (nb, pb) = xmatch_pairs(a), xmatch_pairs(b)
        return na == nb and pa_ == pb, na, nb
    ia, ib = region_ids(a), region_ids(b)
    return ia == ib, len(ia), len(ib)


# ------------------------------------------------------------------------------ timing

@dataclass
class Timing:
    workload: Workload
    catscan: list[float] = field(default_factory=list)
    postgres: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    checked: int = 0
    # region workloads also run in strict alternation (block 1), reported beside the goal
    alternating: tuple[list[float], list[float]] | None = None

    @property
    def ratio(self) -> float:
        return statistics.median(self.catscan) / statistics.median(self.postgres)

    @property
    def alternating_ratio(self) -> float | None:
        if not self.alternating:
            return None
        catscan, postgres = self.alternating
        return statistics.median(catscan) / statistics.median(postgres)


def clock(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def check(timing: Timing, query: Query) -> None:
    """Run the query on both engines (a warm-up too) and compare the rows."""
    a, b = query.catscan(), (query.postgres_rows or query.postgres)()
    if query.postgres_rows:
        query.postgres()                                   # warm the timed form too
    same, na, nb = same_result(timing.workload.kind, a, b)
    timing.checked += 1
    if not same:
        timing.mismatches.append(f"{query.label}: catscan {na:,} rows, Q3C {nb:,} rows"
                                 + ("" if na != nb else " (different rows)"))


def run_workload(timing: Timing, queries: list[Query], runs: int,
                 extra: Sequence[Query] = (), block: int = 1) -> None:
    """Warm up and check every query (and the untimed ``extra`` ones) on both engines, then
    time ``runs`` runs, cycling through the queries. ``block`` queries run on one engine
    before the other engine runs the same ones, the engine going first alternating from
    block to block (A B, then B A). With ``block=1`` each query is followed by the other
    engine's (the CPU caches are the other engine's: the harshest case for short queries);
    larger blocks are a session of queries on one engine, still interleaved against drift."""
    for query in (*queries, *extra):
        check(timing, query)
    for start in range(0, runs, block):
        chunk = [queries[i % len(queries)] for i in range(start, min(start + block, runs))]
        catscan_times, postgres_times, rows = [], [], []

        def run_catscan(chunk=chunk, times=catscan_times, rows=rows) -> None:
            for query in chunk:
                t, res = clock(query.catscan)
                times.append(t)
                rows.append(res.num_rows if isinstance(res, pa.Table) else len(res))

        def run_postgres(chunk=chunk, times=postgres_times) -> None:
            for query in chunk:
                times.append(clock(query.postgres)[0])

        first, second = (run_catscan, run_postgres) if (start // block) % 2 == 0 else \
            (run_postgres, run_catscan)
        first()
        second()
        timing.catscan += catscan_times
        timing.postgres += postgres_times
        timing.rows += rows


# ------------------------------------------------------------------------------- loads

def load_catscan(sky: Sky) -> tuple[Path, float]:
    """A catscan database whose psc is the sky, sorted by hpx29 (kept in the work dir)."""
    db = sky.root / "catscan.duckdb"
    done = sky.root / "catscan.done"
    stamp = f"{data_digest(sky.rows)} schema {schema_version()}"
    if db.exists() and done.exists() and done.read_text() == stamp:
        print(f"using the cached catscan database {db}", flush=True)
        return db, math.nan
    for path in (db, db.with_name(db.name + ".wal"), done):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    init_database(db)
    con = duckdb.connect(str(db))
    try:
        files = ", ".join(f"'{p}'" for p in sky.parquet)
        con.execute("DROP TABLE psc")
        con.execute(f"CREATE TABLE psc AS SELECT {', '.join(COLUMNS)}, hpx29, "
                    f"{match_cell_sql('hpx29')} AS {MATCH_CELL_COLUMN} "
                    f"FROM read_parquet([{files}]) ORDER BY hpx29")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    seconds = time.perf_counter() - started
    done.write_text(stamp)
    return db, seconds


@dataclass
class PgLoad:
    copy: float = 0.0
    index: float = 0.0
    cluster: float = 0.0
    analyze: float = 0.0
    targets: dict[int, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.copy + self.index + self.cluster + self.analyze


def copy_csv(cur, table: str, columns: Sequence[str], path: Path) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy, \
            open(path, "rb") as src:
        while block := src.read(1 << 20):
            copy.write(block)


def index_cluster(cur, table: str) -> tuple[float, float, float]:
    """q3c index, CLUSTER, ANALYZE: their seconds."""
    times = []
    for sql in (f"CREATE INDEX {table}_q3c ON {table} (q3c_ang2ipix(ra, dec))",
                f"CLUSTER {table} USING {table}_q3c", f"ANALYZE {table}"):
        times.append(clock(lambda sql=sql: cur.execute(sql))[0])
    return tuple(times)


def load_postgres(cur, sky: Sky) -> PgLoad:
    """COPY the same rows, q3c index, CLUSTER, ANALYZE; then prewarm table and index."""
    load = PgLoad()
    cur.execute("CREATE EXTENSION q3c")
    cur.execute("CREATE EXTENSION pg_prewarm")
    cur.execute("CREATE TABLE psc (pts_key bigint NOT NULL, ra double precision NOT NULL, "
                "dec double precision NOT NULL, j_m double precision, h_m double precision, "
                "k_m double precision)")
    for path in sky.csv:
        load.copy += clock(lambda path=path: copy_csv(cur, "psc", COLUMNS, path))[0]
    load.index, load.cluster, load.analyze = index_cluster(cur, "psc")
    cur.execute("SELECT pg_prewarm('psc'), pg_prewarm('psc_q3c')")
    return load


def load_targets(cur, name: str, targets: pa.Table) -> float:
    """The targets as a PostgreSQL table with its own q3c index, clustered (Q3C's advice
    for q3c_join); returns the seconds (reported, not part of the cross-match time)."""
    started = time.perf_counter()
    cur.execute(f"CREATE TABLE {name} (tid bigint NOT NULL, ra double precision NOT NULL, "
                "dec double precision NOT NULL)")
    with cur.copy(f"COPY {name} (tid, ra, dec) FROM STDIN") as copy:
        for row in zip(*(targets.column(c).to_pylist() for c in ("tid", "ra", "dec")),
                       strict=True):
            copy.write_row(row)
    index_cluster(cur, name)
    return time.perf_counter() - started


# -------------------------------------------------------------------------------- main

def xmatch_available() -> bool:
    try:
        from catscan.xmatch import xmatch  # noqa: F401
    except ImportError:
        return False
    return True


def polygon_available() -> bool:
    return hasattr(spatial, "polygon_sql")


def explain(duck, cur, workload: Workload, where: tuple[float, float]) -> None:
    """EXPLAIN ANALYZE of one region query on both engines, in short: catscan's total and
    per-operator times and row groups scanned; the anchor's planning and execution times."""
    ra, dec = where
    cs, pg = region_sql(workload, ra, dec, 0)
    started = time.perf_counter()
    where_sql = cs()
    build = time.perf_counter() - started
    plan = duck.execute("EXPLAIN ANALYZE " + SELECT + where_sql).fetchall()[0][1]
    ranges = len(re.findall(r'hpx29"? >=', where_sql))
    facts = [f"SQL built in {build * 1e3:.2f} ms ({ranges} ranges)"]
    facts += [m.group(0) for m in re.finditer(
        r"Total Time: [\d.]+s|Row Groups Scanned: \d+ / \d+|─ (\w[\w ]*) ─|"
        r"\d[\d,]* rows? +[\d.]+[µm]?s", plan)]
    print(f"--- {workload.label} at ({ra:.3f}, {dec:+.3f})")
    print("catscan: " + "; ".join(re.sub(r" {2,}", " ", f.strip("─ ")) for f in facts
                                   if f.strip("─ ") != "Summary"))
    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + SELECT + pg, prepare=False)
    lines = [r[0].strip() for r in cur.fetchall()]
    kept = lines[:1] + [next((x for x in lines if x.startswith("Buffers")), "")]
    kept += [x for x in lines if x.startswith(("Rows Removed", "Planning Time", "Execution"))]
    print("Q3C: " + "; ".join(x for x in kept if x))


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.platform()}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}" if seconds < 10 else f"{seconds * 1e3:,.0f}"


def report(rows: int, timings: list[Timing], versions: dict[str, str],
           block: int) -> list[dict]:
    print()
    print(f"spatial benchmark: {rows:,} uniform-sky rows; {machine()}")
    print(f"catscan (DuckDB {versions['duckdb']}) vs PostgreSQL {versions['postgres']} + "
          f"q3c {versions['q3c']}; median wall ms per query, warm (region queries in "
          f"sessions of {block}); 'alt.': the ratio in strict alternation")
    header = (f"| {'workload':<24} | {'runs':>4} | {'rows/query':>10} | {'catscan ms':>10} "
              f"| {'Q3C ms':>10} | {'ratio':>5} | {'goal':>6} | {'alt.':>5} "
              f"| {'same rows':<12} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    out = []
    for t in timings:
        goal = "" if t.workload.goal is None else f"<= {t.workload.goal:.1f}"
        verdict = ("" if t.workload.goal is None
                   else " ok" if t.ratio <= t.workload.goal else " MISSED")
        same = (f"yes ({t.checked})" if not t.mismatches
                else f"NO ({len(t.mismatches)}/{t.checked})")
        cs, pg = statistics.median(t.catscan), statistics.median(t.postgres)
        alt = "" if t.alternating_ratio is None else f"{t.alternating_ratio:.2f}"
        print(f"| {t.workload.label:<24} | {len(t.catscan):>4} | "
              f"{statistics.median(t.rows):>10,.0f} | {ms(cs):>10} | {ms(pg):>10} | "
              f"{t.ratio:>5.2f} | {goal:>6} | {alt:>5} | {same:<12} |{verdict}")
        out.append({"workload": t.workload.name, "label": t.workload.label,
                    "runs": len(t.catscan), "rows_median": statistics.median(t.rows),
                    "catscan_s": t.catscan, "postgres_s": t.postgres, "ratio": t.ratio,
                    "goal": t.workload.goal, "checked": t.checked,
                    "mismatches": t.mismatches,
                    "alternating": None if t.alternating is None else {
                        "catscan_s": t.alternating[0], "postgres_s": t.alternating[1],
                        "ratio": t.alternating_ratio}})
    for t in timings:
        for m in t.mismatches:
            print(f"MISMATCH {t.workload.label}: {m}")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"rows in the table (default {DEFAULT_ROWS:,})")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                        help=f"timed runs per workload (default {DEFAULT_RUNS}); region "
                             "workloads use one centre per run")
    parser.add_argument("--xmatch-1m-runs", type=int, default=XMATCH_1M_RUNS,
                        help=f"timed runs of the 1 M cross-match (default {XMATCH_1M_RUNS})")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--block", type=int, default=DEFAULT_BLOCK,
                        help="region queries run in sessions of BLOCK queries on one engine, "
                             "then the other engine runs the same ones, the engine going first "
                             f"alternating (default {DEFAULT_BLOCK}: warm, as an engine serving "
                             "a stream of queries; the goal is checked on these). With a "
                             "block above 1 the same queries also run in strict alternation "
                             "(each after the other engine's: cold caches), shown as 'alt.'")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of one query per region workload")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out",
                        help="cache for the generated sky and the catscan database "
                             "(default bench/out/)")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    if args.rows < CHUNK_ROWS // 100 or args.runs < 1 or args.xmatch_1m_runs < 1 or \
            args.block < 1:
        parser.error("--rows must be at least 10000, --runs and --block positive")
    return args


def main(argv: list[str] | None = None) -> int:
    import psycopg

    args = parse_args(argv)
    workloads = [WORKLOADS[w] for w in args.workloads]
    missing = [w.name for w in workloads
               if (w.kind == "polygon" and not polygon_available())
               or (w.kind == "xmatch" and not xmatch_available())]
    if missing:
        print(f"skipping {', '.join(missing)}: catscan has no polygon_sql / xmatch yet",
              flush=True)
        workloads = [w for w in workloads if w.name not in missing]
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    sky = generate(workdir, args.rows)
    db, duck_load = load_catscan(sky)
    if not math.isnan(duck_load):
        print(f"catscan database: {duck_load:.1f} s (read Parquet, sort by hpx29)", flush=True)
    ensure_postgres()
    duck = connect(db, read_only=True)
    results = {}
    try:
        targets = {}
        for w in workloads:
            if w.kind == "xmatch":
                targets[w.name] = targets_for(duck, sky, int(w.size))
        with pg_cluster(QUERY_SETTINGS) as pg, \
                psycopg.connect(pg.conninfo, autocommit=True) as pgcon:
            cur = pgcon.cursor()
            print("loading PostgreSQL: COPY, q3c index, CLUSTER, ANALYZE ...", flush=True)
            pg_load = load_postgres(cur, sky)
            print(f"PostgreSQL: COPY {pg_load.copy:.1f} s, index {pg_load.index:.1f} s, "
                  f"CLUSTER {pg_load.cluster:.1f} s, ANALYZE {pg_load.analyze:.1f} s",
                  flush=True)
            for name, table in targets.items():
                seconds = load_targets(cur, f"t_{name}", table)
                print(f"PostgreSQL: {len(table):,} targets loaded, indexed, clustered "
                      f"({seconds:.1f} s, not timed)", flush=True)
            versions = {"duckdb": duckdb.__version__,
                        "postgres": cur.execute("SHOW server_version").fetchone()[0].split()[0],
                        "q3c": cur.execute("SELECT extversion FROM pg_extension "
                                           "WHERE extname = 'q3c'").fetchone()[0]}
            timings = run_all(args, workloads, duck, cur, targets)
            results = report(args.rows, timings, versions, args.block)
            if args.explain:
                for w in workloads:
                    if w.kind != "xmatch":
                        explain(duck, cur, w, centres(1, list(WORKLOADS).index(w.name))[0])
            out = workdir / f"spatial_{args.rows}rows.json"
            out.write_text(json.dumps({"rows": args.rows, "machine": machine(),
                                       "date": time.strftime("%Y-%m-%d"), **versions,
                                       "workloads": results}, indent=1))
            print(f"(all timings in {out})")
    finally:
        duck.close()
    return 1 if any(r["mismatches"] for r in results) else 0


def run_all(args, workloads: list[Workload], duck, cur, targets) -> list[Timing]:
    timings = []
    for w in workloads:
        seed = list(WORKLOADS).index(w.name)
        started = time.perf_counter()
        timing = Timing(w)
        if w.kind == "xmatch":
            query = xmatch_query(duck, cur, targets[w.name], f"t_{w.name}")
            runs = args.xmatch_1m_runs if w.size >= 1_000_000 else args.runs
            run_workload(timing, [query], runs)
        else:
            queries = region_queries(w, duck, cur, centres(args.runs, seed))
            extra = region_queries(w, duck, cur, list(CHECK_CENTRES))
            run_workload(timing, queries, args.runs, extra, block=args.block)
            if args.block > 1:                # the same queries, each after the other engine's
                cold = Timing(w)
                run_workload(cold, queries, args.runs, block=1)
                timing.alternating = (cold.catscan, cold.postgres)
        alternating = "" if timing.alternating_ratio is None else \
            f" (strict alternation {timing.alternating_ratio:.2f})"
        print(f"{w.label}: catscan {ms(statistics.median(timing.catscan))} ms, Q3C "
              f"{ms(statistics.median(timing.postgres))} ms, ratio {timing.ratio:.2f}"
              f"{alternating}"
              f"{'' if not timing.mismatches else ', ROWS DIFFER'} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        timings.append(timing)
    return timings


if __name__ == "__main__":
    sys.exit(main())
