"""Nightly loading against bulk loading, and the demo against its goal.

    python bench/nights.py                  # 2 M rows of bench-scale nights, 3 paired runs
    python bench/nights.py --rows 500000 --runs 5
    python bench/nights.py --demo           # `catscan demo` against 2 minutes / 500 MB

Nights: generates bench-scale deliveries (cached under bench/out/nights-<rows>/), then times
with farm-bench, run against run, A = `catscan load night DIR` (Quality Review gate, one
transaction per night, duplicate resolution, tile states, the final sort) and B = `catscan
load psc` of exactly the point-source files A accepts (the bulk release path of the
foundation, which checks and sorts the same rows but does nothing per night). The headline
is the median A/B ratio: the price of doing it night by night.

Demo: `catscan demo` on a fresh database, wall time and peak memory against the issue's goal
(generate + load + queries under 120 s and 500 MB on 2 cores).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from catscan.loaders import delivery  # noqa: E402
from catscan.loaders.qa_gate import DEFAULT_MIN_SCORE, gate  # noqa: E402


def passing_psc_files(root: Path) -> list[Path]:
    """The point-source files of the scans the night loader lets through (latest delivery
    of each night)."""
    latest: dict[str, Path] = {}
    for night in delivery.find_deliveries([root]):
        latest[night.name] = night          # a reprocessed delivery comes after
    files = []
    names = ["scan_key", "hemis", "date", "scan", "tile", "scan_type"]
    for night in latest.values():
        for line in (night / delivery.SCANS).read_text().splitlines():
            values = line.split("|")
            row = dict(zip(names, values, strict=False))
            row |= {"status": values[27],
                    "qa_score": None if values[31] == "\\N" else float(values[31])}
            if gate(row, DEFAULT_MIN_SCORE)[0]:
                files.append(night / delivery.psc_file(int(row["scan"])))
    return files


def farm(a: str, b: str | None, runs: int, timeout: int) -> str:
    command = ["farm-bench", "-n", str(runs), "--timeout", str(timeout)]
    if b:
        command += ["--vs", b]
    command += ["--", "sh", "-c", a]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def cached_survey(name: str, rows: int) -> Path:
    """``bench/out/<name>-<rows>/``, holding a bench-scale survey of about ``rows`` point
    sources under ``deliveries/`` (generated once, then reused)."""
    out = HERE / "out" / f"{name}-{rows}"
    if not (out / "done").is_file():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(["catscan", "generate", str(out / "deliveries"), "--scale", "bench",
                        "--rows", str(rows)], check=True, stdout=subprocess.DEVNULL)
        (out / "done").write_text("")
    return out


def bench_nights(rows: int, runs: int) -> None:
    out = cached_survey("nights", rows)
    files = passing_psc_files(out / "deliveries")
    db_a, db_b = out / "a.duckdb", out / "b.duckdb"
    fresh = "rm -f {db} {db}.wal && catscan init --db {db} >/dev/null && "
    a = fresh.format(db=db_a) + (f"catscan load night {out / 'deliveries'} --db {db_a} "
                                 ">/dev/null")
    b = fresh.format(db=db_b) + (f"catscan load psc {' '.join(str(f) for f in files)} "
                                 f"--db {db_b} >/dev/null")
    print(f"{len(files)} accepted point-source files under {out}")
    print(farm(a, "sh -c " + shlex.quote(b), runs, timeout=3600))


def bench_demo(runs: int) -> None:
    out = HERE / "out" / "demo"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    db = out / "demo.duckdb"
    command = (f"rm -rf {db} {db}.wal {out / 'demo-demo'} && catscan demo --db {db} "
               ">/dev/null")
    print("goal: wall < 120 s, peak < 500 MB (generate + load + queries, 2 cores)")
    print(farm(command, None, runs, timeout=1800))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    if args.demo:
        bench_demo(args.runs)
    else:
        bench_nights(args.rows, args.runs)


if __name__ == "__main__":
    main()
