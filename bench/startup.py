"""Command start-up: each ``catscan`` command as a new process, against the floor every
command pays, ``python -c "import duckdb"`` (issue 19: whole-survey commands under 1 s warm).

    python bench/startup.py                  # a small database made here, 7 paired runs
    python bench/startup.py --db DB --runs 9 # an existing database (e.g. `catscan demo`'s)

Each command (A) and the anchor (B) run in turn, A B A B ..., after one warm-up of each
(which also fills the content-version cache that ``info`` and ``coverage`` read warm), and
the ratio A/B is taken pair by pair, so that it holds while the shared machine's speed
drifts. Every process gets a bytecode cache of its own (PYTHONPYCACHEPREFIX in the
temporary directory, filled by the warm-up), as a user's installation has: with
PYTHONDONTWRITEBYTECODE set, as in some sandboxes, every command would compile catscan's
own modules again (~0.2 s). Printed per command: median wall seconds (min-max), median
CPU seconds (user + system of the finished process), the anchor's median wall and the
median ratio, and whether the median is under the 1 s goal. Which modules a command may
import is checked by tests/test_cli_startup.py; this script only times.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

GOAL_S = 1.0
CONE = "select designation, ra, dec, j_m from psc within 2arcmin of 10.68479 +41.26906"


def commands(db: str) -> list[tuple[str, list[str]]]:
    return [("catscan --help", ["--help"]),
            ("catscan serve --help", ["serve", "--help"]),
            ("catscan info", ["info", "--db", db]),
            ("catscan status", ["status", "--db", db]),
            ("catscan coverage", ["coverage", "--db", db]),
            ("catscan findtile 10.68479 +41.26906", ["findtile", "--db", db, "10.68479",
                                                      "+41.26906"]),
            ("catscan query (2' cone)", ["query", "--db", db, CONE]),
            ("catscan sql (count)", ["sql", "--db", db, "select count(*) from psc"])]


def small_database(workdir: Path, rows: int = 2000) -> str:
    """``catscan init`` and a release file of ``rows`` synthetic PSC rows around M31's
    part of the sky (what the commands read is metadata and one cone)."""
    from catscan.db import memory_database
    from catscan.loaders.release_format import write_release_file
    from catscan.survey.synthetic_psc import synthetic_psc

    db = workdir / "startup.duckdb"
    scratch = memory_database()
    try:
        scratch.register("rows", synthetic_psc(rows, seed=19))
        release = write_release_file(scratch, "psc", "rows", workdir / "psc_aaa.gz")
    finally:
        scratch.close()
    for args in (["init"], ["load", "psc", str(release)]):
        run_once(catscan(args + ["--db", str(db)]))
    return str(db)


def catscan(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "catscan", *args]


ENV = {k: v for k, v in os.environ.items()
       if k not in ("CATSCAN_DB", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (its output thrown away)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=ENV, cwd=ENV["PYTHONPYCACHEPREFIX"])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def paired(a: list[str], b: list[str], runs: int) -> dict[str, list[float]]:
    run_once(a), run_once(b)                          # warm-up: page cache, content cache
    out: dict[str, list[float]] = {"wall": [], "cpu": [], "anchor": [], "ratio": []}
    for _ in range(runs):
        wall, cpu = run_once(a)
        anchor, _ = run_once(b)
        out["wall"].append(wall)
        out["cpu"].append(cpu)
        out["anchor"].append(anchor)
        out["ratio"].append(wall / anchor)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing catscan database (default: a small one "
                        "made in a temporary directory)")
    parser.add_argument("--runs", type=int, default=7, help="paired runs per command")
    args = parser.parse_args()
    anchor = [sys.executable, "-c", "import duckdb"]
    with tempfile.TemporaryDirectory(prefix="catscan-startup-") as tmp:
        # also the processes' directory: ``-m catscan`` must import the installed catscan,
        # not one in the directory the bench was started from
        ENV["PYTHONPYCACHEPREFIX"] = tmp
        db = args.db or small_database(Path(tmp))
        print(f"database {db}; {args.runs} paired runs each; anchor: python -c "
              "\"import duckdb\"\n")
        print("| command | wall median (min-max) | CPU median | anchor wall | "
              "ratio median | < 1 s |")
        print("|---|---:|---:|---:|---:|:-:|")
        for name, argv in commands(db):
            t = paired(catscan(argv), anchor, args.runs)
            wall = statistics.median(t["wall"])
            print(f"| `{name}` | {wall:.3f} s ({min(t['wall']):.3f}-{max(t['wall']):.3f}) | "
                  f"{statistics.median(t['cpu']):.3f} s | "
                  f"{statistics.median(t['anchor']):.3f} s | "
                  f"{statistics.median(t['ratio']):.2f} | "
                  f"{'yes' if wall < GOAL_S else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
