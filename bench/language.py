"""Language benchmark: what the CatScan language costs on top of the SQL it compiles to.

* parse + compile time of every shipped query (``queries/``), median of ``--runs`` runs,
  against a catalog read once (goal: < 1 ms median);
* end-to-end time of the M31 cone query through ``catscan.runner.run_text`` (parse,
  compile, SQL check, run read-only, units and provenance) against the same SQL run
  directly on the same connection, warm, medians (goal: overhead < 20 %); and against the
  hand-written SQL an expert would type without the HEALPix ranges (``ang_sep`` only).

The data are the demo survey (``catscan generate --scale demo``), built once in the work
directory (default ``bench/out/language``).

    python bench/language.py [--runs 200] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from catscan.demo import quiet_demo_database
from catscan.language import Catalog, compile_text
from catscan.language.saved import shipped
from catscan.runner import Session, run_text
from catscan.safety import query_connection

M31 = ("select designation, ra, dec, j_m, h_m, k_m, j_m - k_m as jk from psc "
       "within 5 arcmin of 10.68479 +41.26906 where j_m < 16 order by j_m")
HAND_WRITTEN = ("SELECT designation, ra, dec, j_m, h_m, k_m, j_m - k_m AS jk FROM psc "
                "WHERE ang_sep(ra, dec, 10.68479, 41.26906) <= 5 / 60.0 AND j_m < 16 "
                "ORDER BY j_m")
COMPILE_GOAL_MS, OVERHEAD_GOAL = 1.0, 0.20


def demo_database(workdir: Path) -> Path:
    db = workdir / "catscan.duckdb"
    return db if db.exists() else quiet_demo_database(workdir)


def median_ms(fn, runs: int) -> float:
    fn()                                            # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).with_name("out")
                        / "language")
    args = parser.parse_args(argv)
    db = demo_database(args.workdir)
    con = query_connection(db)
    try:
        catalog = Catalog.from_connection(con)
        print(f"parse + compile, median of {args.runs} runs (goal < {COMPILE_GOAL_MS} ms):")
        medians = []
        for name, saved in shipped().items():
            values = saved.values()
            ms = median_ms(lambda s=saved, v=values: compile_text(s.text, catalog, v),
                           args.runs)
            medians.append(ms)
            print(f"  {name:26s} {ms:6.3f} ms")
        overall = statistics.median(medians)
        print(f"  {'median over the queries':26s} {overall:6.3f} ms  "
              f"{'ok' if overall < COMPILE_GOAL_MS else 'MISSED'}")

        compiled_sql = compile_text(M31, catalog).sql
        ses = Session(con)                              # what a server keeps per connection
        language = median_ms(lambda: run_text(ses, M31), args.runs)
        direct = median_ms(lambda: con.sql(compiled_sql).to_arrow_table(), args.runs)
        hand = median_ms(lambda: con.sql(HAND_WRITTEN).to_arrow_table(), args.runs)
        rows = run_text(ses, M31).table.num_rows
        overhead = language / direct - 1
        print(f"\nM31 cone, {rows} rows, median of {args.runs} runs:")
        print(f"  CatScan end to end          {language:7.3f} ms")
        print(f"  its SQL run directly        {direct:7.3f} ms  overhead {overhead:+.0%} "
              f"(goal < {OVERHEAD_GOAL:.0%}) {'ok' if overhead < OVERHEAD_GOAL else 'MISSED'}")
        print(f"  hand-written ang_sep SQL    {hand:7.3f} ms  CatScan / hand-written "
              f"{language / hand:.2f}")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
