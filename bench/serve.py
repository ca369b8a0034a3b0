"""Server benchmark: requests per second and latency of Simple Cone Search cones and small
TAP queries with concurrent clients on loopback.

``catscan serve`` runs as a subprocess (its default 2 workers) on a throwaway copy of the
demo survey (built once in the work directory with ``catscan.demo.quiet_demo_database``)
with a team password, and ``--clients`` threads (default 8) send requests with HTTP Basic
for ``--seconds`` per workload (default 10), each from its own keep-alive connection, at
positions drawn with a fixed seed inside the survey's two dense fields (M17, M31):

* ``scs cone 1'``: ``/scs/psc?RA=&DEC=&SR=0.0167`` (VERB=2, a VOTable);
* ``tap cone 1'``: ``/tap/sync`` ADQL ``SELECT designation, ra, dec, j_m, h_m, k_m ...
  WHERE CONTAINS(POINT, CIRCLE(..., 1')) = 1`` (a VOTable);
* ``tap count 3'``: ``SELECT COUNT(*), AVG(j_m - k_m) ... CONTAINS(POINT, BOX(3' x 3'))``;
* ``availability``: ``/tap/availability``, the HTTP floor (no query, no password).

Each workload runs 1 s untimed first (warm-up). The anchors, measured in the same run:
``availability``, the HTTP floor: each workload's req/s is printed as a share of it (the
goal for the 1' cones: >= 50 %, p99 < 100 ms); and the same work done in-process and
sequentially (the handler's query and encoding, no HTTP), median of 200 calls: ``p50 /
direct`` is what HTTP, the event loop, the worker pool and 8-way queueing add. The CPU time
the server process and the client threads used per request (from /proc and
``time.process_time``) says where the time goes whatever else the machine runs, and
:func:`stages` splits a 1' SCS and TAP cone's server CPU into its stages, measured
in-process as the server runs them. The clients share the machine's cores with the server,
so the throughput is a floor for a dedicated server.

``--soak``: instead, a long mixed load with abusive requests, checking errors, p99 latency
and that the server's memory stays flat (bench/soak.py).

    python bench/serve.py [--seconds 10] [--clients 8] [--workdir DIR]
    python bench/serve.py --soak [--minutes 30] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from catscan.db import connect
from catscan.demo import quiet_demo_database
from catscan.runner import DEFAULT_LIMIT, Session, run_text
from catscan.safety import query_connection
from catscan.web.access import set_password
from catscan.web.scs import cone_query, typed
from catscan.web.tabledata import results_votable
from catscan.web.tap import TapQuery, encode, run_query
from catscan.web.tap_schema import TapCatalog

PASSWORD = "bench password 1998"
FIELDS = ((275.2, -16.1, 0.6), (10.68, 40.0, 2.0))       # (ra, dec, half-size in deg)
TAP_CONE = ("SELECT designation, ra, dec, j_m, h_m, k_m FROM psc WHERE CONTAINS(POINT("
            "'ICRS', ra, dec), CIRCLE('ICRS', {ra!r}, {dec!r}, {r!r})) = 1")
TAP_COUNT = ("SELECT COUNT(*) AS n, AVG(j_m - k_m) AS jk FROM psc WHERE CONTAINS(POINT("
             "'ICRS', ra, dec), BOX('ICRS', {ra!r}, {dec!r}, 0.05, 0.05)) = 1")


def positions(n: int, seed: int = 1998) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ra, dec, half = FIELDS[i % len(FIELDS)]
        out.append((round(ra + rng.uniform(-half, half), 6),
                    round(dec + rng.uniform(-half, half), 6)))
    return out


def demo_database(workdir: Path, image_scans: int = 0) -> Path:
    db = workdir / "catscan.duckdb"
    return db if db.exists() else quiet_demo_database(workdir, image_scans=image_scans)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        server = subprocess.Popen(
            [shutil.which("catscan") or "catscan", "serve", "--db", str(db), "--port",
             str(port), "--timeout", "30"], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"catscan serve exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/tap/availability", timeout=1).is_success:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("catscan serve did not answer within 60 s")


def workloads(base: str) -> dict[str, Callable]:
    """name -> request(client, ra, dec) returning the response."""
    def scs(client, ra, dec):
        return client.get(f"{base}/scs/psc", params={"RA": ra, "DEC": dec, "SR": 1 / 60})

    def tap(query):
        def send(client, ra, dec):
            return client.post(f"{base}/tap/sync", data={
                "REQUEST": "doQuery", "LANG": "ADQL",
                "QUERY": query.format(ra=ra, dec=dec, r=1 / 60)})
        return send

    def available(client, ra, dec):
        return client.get(f"{base}/tap/availability")

    return {"scs cone 1'": scs, "tap cone 1'": tap(TAP_CONE), "tap count 3'": tap(TAP_COUNT),
            "availability": available}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(request, clients: int, seconds: float, places: list[tuple[float, float]],
         server: int | None = None, warm: float = 1.0) -> dict:
    """``clients`` threads sending ``request`` for ``seconds`` (after ``warm`` seconds not
    counted): latencies, errors, and the CPU time the ``server`` process and these clients
    used per request."""
    if warm:
        load(request, clients, warm, places, warm=0)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        with httpx.Client(auth=("team", PASSWORD), timeout=60) as http:
            n = i
            while time.monotonic() < stop:
                ra, dec = places[n % len(places)]
                n += clients
                started = time.perf_counter()
                response = request(http, ra, dec)
                took = time.perf_counter() - started
                if response.status_code != 200 or b'value="ERROR"' in response.content:
                    errors[i] += 1
                else:
                    latencies[i].append(took)

    started = time.monotonic()
    server_cpu, client_cpu = cpu_seconds(server) if server else 0.0, time.process_time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = cpu_seconds(server) - server_cpu if server else float("nan")
    times = sorted(t for per in latencies for t in per)
    done = max(1, len(times) + sum(errors))
    return {"requests": len(times), "errors": sum(errors), "rps": len(times) / elapsed,
            "p50": _quantile(times, 0.50), "p99": _quantile(times, 0.99),
            "server_ms": server_cpu / done * 1e3, "client_ms": client_cpu / done * 1e3}


def _quantile(sorted_times: list[float], q: float) -> float:
    if not sorted_times:
        return float("nan")
    return sorted_times[min(len(sorted_times) - 1, int(q * len(sorted_times)))] * 1e3


def direct(db: Path, places: list[tuple[float, float]], runs: int = 200) -> dict[str, float]:
    """The anchor: each workload's work in-process, sequentially (median ms)."""
    con = query_connection(db)
    ses = Session(con, read_files=False)
    catalog = TapCatalog.from_connection(con)
    info = catalog.table(None, "psc")

    def scs(ra, dec):
        result = run_text(ses, cone_query("psc", ra, dec, 1 / 60, 2), limit=DEFAULT_LIMIT)
        b"".join(results_votable(typed(result.table, "psc", info), result.provenance))

    def tap(query):
        def work(ra, dec):
            table, provenance = run_query(ses, catalog, TapQuery(
                query.format(ra=ra, dec=dec, r=1 / 60), DEFAULT_LIMIT, "votable", ""), None)
            b"".join(encode(table, "votable", provenance))
        return work

    out = {}
    try:
        for name, work in (("scs cone 1'", scs), ("tap cone 1'", tap(TAP_CONE)),
                           ("tap count 3'", tap(TAP_COUNT))):
            work(*places[0])                                   # warm
            times = []
            for i in range(runs):
                started = time.perf_counter()
                work(*places[i % len(places)])
                times.append(time.perf_counter() - started)
            out[name] = statistics.median(times) * 1e3
    finally:
        con.close()
    return out


def stages(db: Path, places: list[tuple[float, float]], runs: int = 200
           ) -> dict[str, dict[str, float]]:
    """Where a 1' cone's work goes, stage by stage, as the server runs it (a cursor of a
    read-write instance at one thread, each request in a read-only transaction): mean CPU
    ms over ``runs`` cones (CPU, not wall: it does not move with the machine's other load).
    The VOTable by astropy's document writer (the writer before tabledata.py) for
    comparison."""
    from catscan.language import compile_text
    from catscan.safety import run_readonly, serving_connection, validate_tree
    from catscan.web import votable
    from catscan.web.adql import translate
    from catscan.web.tap import described

    base = serving_connection(db, files=False)
    con = base.cursor()
    ses = Session(con, read_files=False)
    catalog = TapCatalog.from_connection(con)
    info = catalog.table(None, "psc")
    catalog.register(con)
    spent: dict[str, dict[str, float]] = {"scs cone 1'": {}, "tap cone 1'": {}}

    def timed(workload: str, stage: str, work, *args, **kwargs):
        started = time.process_time()
        out = work(*args, **kwargs)
        spent[workload][stage] = spent[workload].get(stage, 0.0) + \
            time.process_time() - started
        return out

    def joined(write, table, provenance) -> bytes:
        return b"".join(write(table, provenance))

    def transaction():
        con.execute("BEGIN TRANSACTION READ ONLY")
        con.execute("SELECT 1").fetchall()
        con.execute("COMMIT")

    try:
        for i in range(runs + 10):
            ra, dec = places[i % len(places)]
            if i == 10:                                        # the first 10: warm-up
                spent = {name: {} for name in spent}
            name = "scs cone 1'"
            compiled = timed(name, "compile (CatScan)", compile_text,
                             cone_query("psc", ra, dec, 1 / 60, 2), ses.catalog, None, con)
            sql = timed(name, "compile (CatScan)", validate_tree, compiled.expression,
                        ses.tables, sql=compiled.sql)
            timed(name, "transaction", transaction)
            table, _ = timed(name, "query", run_readonly, con, sql, timeout=30,
                             limit=DEFAULT_LIMIT)
            result = run_text(ses, cone_query("psc", ra, dec, 1 / 60, 2))
            table = timed(name, "column types", typed, result.table, "psc", info)
            timed(name, "VOTable", joined, results_votable, table, result.provenance)
            timed(name, "(VOTable by astropy)", joined, votable.results_votable, table,
                  result.provenance)
            name = "tap cone 1'"
            adql = TAP_CONE.format(ra=ra, dec=dec, r=1 / 60)
            translation = timed(name, "translate (ADQL)", translate, adql, catalog, {},
                                row_cap=DEFAULT_LIMIT + 1)
            timed(name, "transaction", transaction)
            table, _ = timed(name, "query", run_readonly, con, translation.sql, timeout=30,
                             limit=DEFAULT_LIMIT)
            table = timed(name, "column types", described, table, translation.columns)
            _, provenance = run_query(ses, catalog, TapQuery(adql, DEFAULT_LIMIT, "votable",
                                                             ""), None)
            timed(name, "VOTable", joined, results_votable, table, provenance)
            timed(name, "(VOTable by astropy)", joined, votable.results_votable, table,
                  provenance)
    finally:
        con.close()
        base.close()
    return {name: {k: v / runs * 1e3 for k, v in parts.items()}
            for name, parts in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per workload")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).with_name("out")
                        / "serve")
    parser.add_argument("--soak", action="store_true", help="the soak: a long mixed load "
                        "with abusive requests (bench/soak.py)")
    parser.add_argument("--minutes", type=float, default=30.0, help="of the soak")
    args = parser.parse_args(argv)
    if args.soak:
        from soak import soak

        return soak(args.minutes, args.clients, args.workdir)
    source = demo_database(args.workdir)
    places = positions(1000)
    with tempfile.TemporaryDirectory(prefix="catscan-serve-") as tmp:
        db = Path(tmp) / "catscan.duckdb"
        shutil.copy(source, db)                             # a throwaway copy
        con = connect(db, read_only=False)
        try:
            set_password(con, PASSWORD)
        finally:
            con.close()
        anchor = direct(db, places)
        parts = stages(db, places)
        port = free_port()
        log = Path(tmp) / "serve.log"
        server = start_server(db, port, log)
        try:
            base = f"http://127.0.0.1:{port}"
            rows = {name: load(request, args.clients, args.seconds, places, server.pid)
                    for name, request in workloads(base).items()}
        except httpx.HTTPError as exc:
            lines = log.read_text(errors="replace").splitlines()
            tail = "\n".join(line for line in lines if " ms " not in line)[-3000:]
            raise SystemExit(f"the server stopped answering ({exc}; exit status "
                             f"{server.poll()}); its log:\n{tail}") \
                from None
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    floor = rows["availability"]["rps"]
    print(f"catscan serve (2 workers) on the demo survey, {args.clients} clients on "
          f"loopback, {args.seconds:g} s per workload (after 1 s of warm-up)\n")
    print(f"{'workload':<14} {'requests':>8} {'errors':>6} {'req/s':>7} {'floor':>6} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'server':>7} {'clients':>7} {'direct':>7} "
          f"{'p50/direct':>10}")
    for name, row in rows.items():
        alone = anchor.get(name)
        ratio = f"{row['p50'] / alone:10.1f}" if alone else f"{'':>10}"
        print(f"{name:<14} {row['requests']:>8} {row['errors']:>6} {row['rps']:>7.1f} "
              f"{row['rps'] / floor:>6.1%} {row['p50']:>7.1f} {row['p99']:>7.1f} "
              f"{row['server_ms']:>7.2f} {row['client_ms']:>7.2f} "
              f"{(f'{alone:.2f}' if alone else '-'):>7} {ratio}")
    print("\nfloor: req/s as a share of /tap/availability's in this run (goal for the cones: "
          ">= 50 %, p99 < 100 ms); server, clients: CPU ms per request of the server process "
          "and of these client threads; direct: the handler's work in-process, median ms")
    print("\nwhere a cone's server CPU goes (ms per request; stages: mean CPU in-process, "
          "as the server runs them)")
    http = rows["availability"]["server_ms"]
    for name, part in parts.items():
        row = rows[name]
        work = sum(v for k, v in part.items() if not k.startswith("("))
        print(f"  {name}: server {row['server_ms']:.2f} = HTTP floor {http:.2f} + "
              + " + ".join(f"{k} {v:.2f}" for k, v in part.items() if not k.startswith("("))
              + f" + the rest {row['server_ms'] - http - work:.2f} (guard, pool, thread "
              "hand-off, provenance, log)"
              + "".join(f"; {k[1:-1]}: {v:.2f}" for k, v in part.items() if k[0] == "("))
    return 1 if any(row["errors"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
