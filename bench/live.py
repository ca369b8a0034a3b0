"""Live load benchmark: a night loads through ``catscan serve`` while clients query it
(docs/serving.md, issue 19).

``--clients`` threads (default 8), each with its own keep-alive connection and the team
password, alternate a Simple Cone Search cone (1') and an ADQL TAP cone (1') at fixed-seed
positions in the survey's dense fields (bench/serve.py's workloads) against a ``catscan
serve`` process: after 3 s of warm-up (not counted), ``--before`` seconds with no load (the
anchor), then while ``catscan
load night NIGHT`` runs through the server (a process of its own: the write channel). It
prints:

* errors: answers that are not 200 or carry a DALI ERROR, before and during (goal 0);
* p50 and p99 latency before and during the load, and the ratio of the p99s (goal <= 2);
* visibility: right after the load command returned, each client's next ``SELECT COUNT(*)
  FROM psc`` against the count in the file after the server stopped (goal: every client
  sees the whole night at once).

:func:`live` is callable from other benches (e.g. bench/scale.py) on any database and
night; run alone, it builds the demo survey in the work directory with one night held
back (971024n, M31), copies the database and loads that night:

    python bench/live.py [--clients 8] [--before 10] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from serve import PASSWORD, _quantile, free_port, positions, start_server, workloads  # noqa: E402

HELD = "971024n"
WARMUP_S = 3.0


def live(db: Path, night: Path, clients: int = 8, before_s: float = 10.0,
         log: Path | None = None) -> dict:
    """Serve ``db`` (its team password must be bench/serve.py's PASSWORD), query it with
    ``clients`` clients for ``before_s`` seconds, then while ``night`` loads through the
    server; the numbers :func:`report` prints."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = log or db.with_suffix(".serve.log")
    server = start_server(db, port, log)
    work = workloads(base)
    kinds = [work["scs cone 1'"], work["tap cone 1'"]]
    places = positions(2000)
    phase = {"now": "warmup"}
    times: dict[str, list[float]] = {"before": [], "during": []}
    errors = {"before": 0, "during": 0, "after": 0}
    seen_after: list[int | None] = [None] * clients
    stop = threading.Event()
    loaded = threading.Event()
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(auth=("team", PASSWORD), timeout=120) as http:
            n = i
            while not stop.is_set():
                if loaded.is_set() and seen_after[i] is None:
                    seen_after[i] = _count(http, base)
                    continue
                ra, dec = places[n % len(places)]
                request = kinds[n % len(kinds)]
                n += clients
                at = phase["now"]
                started = time.perf_counter()
                try:
                    response = request(http, ra, dec)
                    ok = response.status_code == 200 and b'value="ERROR"' not in \
                        response.content
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - started
                with lock:
                    if phase["now"] != at or at not in times:
                        continue                  # straddled a phase change: not counted
                    if ok:
                        times[at].append(took)
                    else:
                        errors[at] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    try:
        for t in threads:
            t.start()
        time.sleep(WARMUP_S)                      # first queries fill caches: not counted
        with lock:
            phase["now"] = "before"
        time.sleep(before_s)
        with lock:
            phase["now"] = "during"
        started = time.perf_counter()
        done = subprocess.run([shutil.which("catscan") or "catscan", "load", "night",
                               str(night), "--db", str(db)], capture_output=True, text=True)
        load_s = time.perf_counter() - started
        with lock:
            phase["now"] = "after"
        loaded.set()
        deadline = time.monotonic() + 60
        while None in seen_after and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=60)
    con = duckdb.connect(str(db), read_only=True)
    try:
        final = con.execute("SELECT count(*) FROM psc").fetchone()[0]
    finally:
        con.close()
    before, during = sorted(times["before"]), sorted(times["during"])
    return {"clients": clients, "load_exit": done.returncode, "load_s": load_s,
            "load_output": done.stdout + done.stderr, "requests_before": len(before),
            "requests_during": len(during), "errors_before": errors["before"],
            "errors_during": errors["during"],
            "p50_before": _quantile(before, 0.5), "p99_before": _quantile(before, 0.99),
            "p50_during": _quantile(during, 0.5), "p99_during": _quantile(during, 0.99),
            "psc_after": final, "seen_after": seen_after,
            "visible_to_all": all(s == final for s in seen_after)}


def _count(http: httpx.Client, base: str) -> int | None:
    answer = http.post(f"{base}/tap/sync", data={
        "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM psc", "RESPONSEFORMAT": "csv"})
    if answer.status_code != 200:
        return None
    return int(answer.text.splitlines()[1])


def report(result: dict) -> None:
    ratio = result["p99_during"] / result["p99_before"]
    print(f"load through the server: exit {result['load_exit']}, {result['load_s']:.1f} s; "
          f"{result['clients']} clients (SCS and TAP cones of 1')")
    print(f"{'':8s} {'requests':>9s} {'errors':>7s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for phase in ("before", "during"):
        print(f"{phase:8s} {result['requests_' + phase]:9d} {result['errors_' + phase]:7d} "
              f"{result['p50_' + phase]:8.1f} {result['p99_' + phase]:8.1f}")
    print(f"p99 during / before: {ratio:.2f} (goal <= 2); errors: "
          f"{result['errors_before'] + result['errors_during']} (goal 0)")
    print(f"new night visible to every client right after the commit: "
          f"{'yes' if result['visible_to_all'] else 'NO'} (psc {result['psc_after']:,}; "
          f"clients saw {sorted(set(result['seen_after']), key=str)})")


def held_back_survey(workdir: Path) -> tuple[Path, Path]:
    """The demo survey without the HELD night, loaded once in ``workdir`` (reused), and
    the HELD night's directory."""
    from catscan.db import connect, init_database
    from catscan.loaders.night import load_nights
    from catscan.survey.generate import generate
    from catscan.web.access import set_password

    survey, db = workdir / "survey", workdir / "held-back.duckdb"
    if not db.exists():
        if not survey.exists():
            generate(survey, scale="demo", seed=1, image_scans=0)
        init_database(db)
        con = connect(db, read_only=False)
        try:
            load_nights(con, [survey / n for n in sorted(os.listdir(survey))
                              if n not in (HELD, "reprocessed")])
            set_password(con, PASSWORD)
        finally:
            con.close()
    return db, survey / HELD


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--before", type=float, default=10.0, help="seconds before the load")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="catscan-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base, night = held_back_survey(workdir)
    db = workdir / "live.duckdb"
    shutil.copy(base, db)
    result = live(db, night, clients=args.clients, before_s=args.before)
    report(result)
    if result["load_exit"] != 0:
        print(result["load_output"], file=sys.stderr)
    ok = result["load_exit"] == 0 and result["visible_to_all"] and \
        result["errors_before"] + result["errors_during"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
