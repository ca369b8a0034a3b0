"""Nightly loads at scale: does a night's cost follow the night or the catalogue?

    python bench/scale.py                                # 0, 25 M, 50 M, 100 M PSC rows
    python bench/scale.py --sizes 0,2M,5M,10M --runs 15  # a quicker curve

One bench-scale survey (``catscan generate --scale bench``, cached under
``bench/out/scale-<rows>/``) is loaded night by night, in processing order, into one growing
database; its last night is held back. At each size, in separate ``catscan`` processes
(wall time, and peak RSS from ``/usr/bin/time``):

* the anchor: the held-back night is loaded into an empty file, then reprocessed (the same
  delivery with a newer 2MAPPS version), measured right before the size's own run so that
  the ratio does not depend on what else the machine did in between;
* the same two loads into a copy of the growing database (at the largest size into the
  database itself: a 100 M-row file, its copy and a fresh copy do not fit on the disk
  together): goal, at the largest size, at most 1.3x the anchor and peak RSS < 2 GiB;
* a freshly sorted copy of the same rows is written (``catscan compact`` to another file):
  the file's size over the copy's (goal <= 1.3), and cones of 1', 6', 60' and a 100 k
  cross-match at 2" on both (warm medians; goal within 1.2x of the copy).

At the end ``bench/live.py`` runs 8 loopback clients (SCS and TAP) against ``catscan
serve`` while the held-back night is delivered once more (a further reprocessing) through
it, at the largest size.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from load import timed  # noqa: E402  (bench/load.py)
from nights import cached_survey  # noqa: E402  (bench/nights.py)

from catscan.db import connect, init_database  # noqa: E402
from catscan.loaders import delivery  # noqa: E402
from catscan.loaders.compact import compact  # noqa: E402
from catscan.loaders.night import load_nights, processing_order  # noqa: E402
from catscan.parallelism import parallel  # noqa: E402
from catscan.spatial import cone_search  # noqa: E402
from catscan.xmatch import xmatch  # noqa: E402

CONES_ARCMIN = (1, 6, 60)
XMATCH_TARGETS = 100_000
XMATCH_RADIUS_DEG = 2 / 3600
SEED = 19


def size_arg(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: e.g. 0, 500k, 25M")
    scale = {"": 1, "k": 10**3, "m": 10**6}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def survey(rows: int) -> tuple[list[Path], Path]:
    """The survey's deliveries in processing order (cached), and the held-back night."""
    nights = [d for _, d in processing_order([cached_survey("scale", rows) / "deliveries"])]
    return nights[:-1], nights[-1]


def reprocessed(night: Path, workdir: Path, version: str = "3.0") -> Path:
    """A copy of ``night`` delivered again by a newer 2MAPPS version (same rows)."""
    copy = workdir / f"{night.name}-v{version.split('.')[0]}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(night, copy)
    manifest = json.loads((copy / delivery.MANIFEST).read_text())
    manifest["version"] = version
    manifest["kind"] = "reprocessing"
    (copy / delivery.MANIFEST).write_text(json.dumps(manifest))
    return copy


def run(args: list[str]) -> tuple[float, float]:
    """Run a catscan command; (wall seconds, peak RSS in GiB) of that process alone.

    The peak comes from ``/usr/bin/time`` (bench/load.py's :func:`timed`), a small process
    that forks the command: a child's ``ru_maxrss`` starts from its parent's resident size
    at the fork, so ``wait4`` on a child of this bench (which holds gigabytes of DuckDB
    cache after its queries) reported this bench's size, not the load's (9.07 GiB "peaks"
    at 50 M rows, where the load alone peaks at ~1.1 GiB)."""
    done = timed(["catscan", *args])
    return done.seconds, (done.max_rss_kib or 0) / 2**20


def remove(db: Path) -> None:
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.compact")):
        path.unlink(missing_ok=True)


def fresh_copy(db: Path, copy: Path) -> None:
    remove(copy)
    shutil.copyfile(db, copy)
    compact(copy)


def queries(db: Path, anchor_db: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Warm medians (ms) of cones and a cross-match on ``db`` and on ``anchor_db`` (the same
    rows, freshly sorted), at the same positions taken from the catalogue, alternating
    between the two so that what else the machine does weighs on both alike.

    The positions are sampled once, in key order: a reservoir sample of each file would
    depend on its physical row order and pick other stars (and other densities) in each."""
    con, anchor = connect(db), connect(anchor_db)
    try:
        rng = np.random.default_rng(SEED)
        total = con.execute("SELECT count(*) FROM psc").fetchall()[0][0]
        step = max(1, total // 200_000)
        sample = con.execute(f"SELECT ra, dec FROM (SELECT ra, dec, row_number() OVER "
                             f"(ORDER BY pts_key) AS n FROM psc) WHERE n % {step} = 0 "
                             "ORDER BY n").fetchnumpy()
        centres = [(float(sample["ra"][i]), float(sample["dec"][i]))
                   for i in rng.integers(0, len(sample["ra"]), runs)]
        out = {}
        for arcmin in CONES_ARCMIN:
            times: dict[int, list[float]] = {0: [], 1: []}
            for ra, dec in centres:
                for side, c in enumerate((con, anchor)):
                    cone_search(c, ra, dec, arcmin / 60)          # warm
                    started = time.perf_counter()
                    cone_search(c, ra, dec, arcmin / 60)
                    times[side].append(time.perf_counter() - started)
            out[f"cone {arcmin}'"] = (1000 * statistics.median(times[0]),
                                      1000 * statistics.median(times[1]))
        pick = rng.integers(0, len(sample["ra"]), XMATCH_TARGETS)
        import pyarrow as pa
        targets = pa.table({"ra": sample["ra"][pick] + rng.normal(0, 1e-4, len(pick)),
                            "dec": sample["dec"][pick] + rng.normal(0, 1e-4, len(pick))})
        times = {0: [], 1: []}
        for _ in range(max(3, runs // 5)):
            for side, c in enumerate((con, anchor)):
                with parallel(c):
                    started = time.perf_counter()
                    xmatch(c, targets, XMATCH_RADIUS_DEG)
                    times[side].append(time.perf_counter() - started)
        out["xmatch 100k"] = (1000 * statistics.median(times[0]),
                              1000 * statistics.median(times[1]))
        return out
    finally:
        con.close()
        anchor.close()


def psc_rows(db: Path) -> int:
    con = connect(db)
    try:
        return con.execute("SELECT count(*) FROM psc").fetchall()[0][0]
    finally:
        con.close()


def load_and_reprocess(db: Path, held: Path, workdir: Path) -> dict:
    """Load ``held`` into ``db``, then the same night again by a newer version (its own
    process each: wall seconds and peak RSS)."""
    load_s, load_rss = run(["load", "night", str(held), "--db", str(db)])
    again = reprocessed(held, workdir)
    reproc_s, reproc_rss = run(["load", "night", str(again), "--db", str(db)])
    return {"load_s": load_s, "load_rss_gib": load_rss,
            "reprocess_s": reproc_s, "reprocess_rss_gib": reproc_rss}


def empty_anchor(held: Path, workdir: Path) -> dict:
    """The anchor, measured right before each size: the same night into an empty file."""
    empty = workdir / "empty.duckdb"
    remove(empty)
    init_database(empty)
    try:
        return load_and_reprocess(empty, held, workdir)
    finally:
        remove(empty)


def measure(db: Path, held: Path, workdir: Path, runs: int, in_place: bool) -> dict:
    """Load and reprocess the held-back night on ``db`` (on a copy unless ``in_place``: the
    last size has no room for two copies of a 100 M-row file next to the fresh one);
    sizes and queries against a freshly sorted copy."""
    trial, fresh = (db if in_place else workdir / "trial.duckdb"), workdir / "fresh.duckdb"
    if not in_place:
        remove(trial)
        shutil.copyfile(db, trial)
    result = load_and_reprocess(trial, held, workdir)
    started = time.perf_counter()
    fresh_copy(trial, fresh)
    result.update(rows=psc_rows(trial), compact_s=time.perf_counter() - started,
                  file_gb=trial.stat().st_size / 1e9, fresh_gb=fresh.stat().st_size / 1e9)
    result["file_ratio"] = result["file_gb"] / result["fresh_gb"]
    if result["rows"]:
        result["queries"] = queries(trial, fresh, runs)
    if not in_place:
        remove(trial)
    remove(fresh)
    return result


def report(size: int, m: dict, base: dict) -> None:
    print(f"\n== PSC {m['rows']:,} rows (target {size:,}); anchor: the same night into an "
          f"empty file, measured just before")
    print(f"  load held-back night   {m['load_s']:7.1f} s  {m['load_s'] / base['load_s']:5.2f}x "
          f"empty ({base['load_s']:.1f} s)   peak {m['load_rss_gib']:.2f} GiB   "
          f"(goal <= 1.3x, < 2 GiB)")
    print(f"  reprocess it           {m['reprocess_s']:7.1f} s  "
          f"{m['reprocess_s'] / base['reprocess_s']:5.2f}x empty ({base['reprocess_s']:.1f} s)"
          f"   peak {m['reprocess_rss_gib']:.2f} GiB")
    print(f"  file {m['file_gb']:.2f} GB / fresh sorted copy {m['fresh_gb']:.2f} GB = "
          f"{m['file_ratio']:.2f}   (goal <= 1.3; the copy took {m['compact_s']:.0f} s)")
    for name, (mine, anchor) in m.get("queries", {}).items():
        print(f"  {name:<12} {mine:8.2f} ms  fresh copy {anchor:8.2f} ms  ratio "
              f"{mine / anchor:5.2f}   (goal <= 1.2)")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,25M,50M,100M",
                        help="PSC sizes to measure at, comma-separated (default 0,25M,50M,100M)")
    parser.add_argument("--runs", type=int, default=25, help="query centres per cone size")
    parser.add_argument("--survey", type=size_arg, default=None,
                        help="rows of the cached survey to take the nights from (default: "
                             "just above the largest size; e.g. 102.2M to reuse the 100 M run's)")
    args = parser.parse_args(argv)
    sizes = sorted(size_arg(s) for s in args.sizes.split(","))
    nights, held = survey(args.survey or int(max(sizes) * 1.02) + 200_000)
    workdir = HERE / "out" / "scale-work"
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "growing.duckdb"
    remove(db)
    init_database(db)
    print(f"{len(nights)} nights before the held-back {held.name}; sizes {sizes}")
    loaded = 0
    for size in sizes:
        started, count = time.perf_counter(), 0
        con = connect(db, read_only=False)
        try:
            while loaded < len(nights):
                rows = con.execute("SELECT count(*) FROM psc").fetchall()[0][0]
                if rows >= size:
                    break
                load_nights(con, [nights[loaded]])
                loaded, count = loaded + 1, count + 1
        finally:
            con.close()
        if count:
            took = time.perf_counter() - started
            print(f"grew by {count} nights in {took:.0f} s ({took / count:.2f} s per night)",
                  flush=True)
        last = size == sizes[-1]
        base = empty_anchor(held, workdir)
        report(size, measure(db, held, workdir, args.runs, in_place=last), base)
    from live import PASSWORD, live  # bench/live.py
    from live import report as report_live

    from catscan.web.access import set_password
    con = connect(db, read_only=False)
    try:
        set_password(con, PASSWORD)
    finally:
        con.close()
    # The held-back night is in the file now (measured in place): the live run delivers it
    # once more, as the next reprocessing, through the server.
    again = reprocessed(held, workdir, version="4.0")
    print(f"\n== 8 clients against catscan serve while {again.name} (a reprocessing of "
          f"{held.name}) loads through it (PSC {psc_rows(db):,} rows)")
    report_live(live(db, again, clients=8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
