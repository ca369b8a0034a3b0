"""Fuzz campaign: tens of thousands of CatScan and ADQL texts (the generators of
tests/fuzz_queries.py, which the suite's fuzz tests draw a few hundred of), each run the
way the server runs it, on the demo survey:

* CatScan: ``catscan.runner.run_text`` (parse, compile, SQL check, run read-only);
* ADQL: ``catscan.web.adql.translate``, then the SQL run read-only (``run_readonly``);
* deep nesting of every kind the generators know, 1 to 5000 levels, in both languages.

Each input ends in rows, a typed refusal (a CatscanError; compile-time refusals must name
the line and column) or a crash (any other exception, or a refusal without a position).
Crashes are grouped into classes by exception type, the innermost catscan frame and the
message; the report prints the counts and one example of each class.

    python bench/fuzz.py [--catscan 50000] [--adql 20000] [--seed 1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import fuzz_queries as fq  # noqa: E402

from catscan.demo import quiet_demo_database  # noqa: E402
from catscan.errors import CatscanError  # noqa: E402
from catscan.language import QueryError  # noqa: E402
from catscan.runner import Session, run_text  # noqa: E402
from catscan.safety import (  # noqa: E402
    QueryFailed,
    QueryTimeout,
    query_connection,
    run_readonly,
)
from catscan.web.adql import AdqlError, translate  # noqa: E402
from catscan.web.tap_schema import TapCatalog  # noqa: E402

DEPTHS = (1, 10, 30, 48, 49, 64, 100, 500, 1000, 5000)
RUNTIME = (QueryFailed, QueryTimeout)


class Tally:
    """Outcomes of one language's inputs and the crash classes among them."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.classes: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def record(self, text: str, exc: BaseException | None, located: tuple[type, ...]) -> None:
        try:
            self.outcomes[fq.outcome(exc, located=located, runtime=RUNTIME)] += 1
        except AssertionError as failure:
            self.outcomes["crash"] += 1
            key = crash_class(exc, failure)
            self.classes[key] += 1
            self.examples.setdefault(key, text if len(text) < 160 else text[:150] + "...")

    def report(self, name: str) -> None:
        total = sum(self.outcomes.values())
        print(f"{name}: {total} inputs: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(self.outcomes.items())))
        for key, count in self.classes.most_common():
            print(f"  {count:6d}  {key}\n          e.g. {self.examples[key]!r}")


def crash_class(exc: BaseException, failure: AssertionError) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/catscan/" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "-"
    message = str(failure if isinstance(exc, CatscanError) else exc).splitlines()
    message = re.sub(r"\d+", "N", message[0] if message else "")[:90]
    return f"{type(exc).__name__} at {where}: {message}"


def catscan_campaign(ses: Session, n: int, seed_value: int) -> Tally:
    tally = Tally()

    def one(text: str, params: dict[str, str]) -> None:
        try:
            run_text(ses, text, params, limit=20, timeout=1.0)
        except Exception as exc:                       # noqa: BLE001 - what we count
            tally.record(text, exc, (QueryError,))
        else:
            tally.record(text, None, ())

    @seed(seed_value)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fq.catscan_texts(), fq.cs_params)
    def draw(text, params):
        one(text, params)

    draw()
    for kind in fq.CATSCAN_NESTING:
        for depth in DEPTHS:
            one(fq.nested(fq.CATSCAN_NESTING, depth, kind), {})
    return tally


def adql_campaign(con, catalog: TapCatalog, n: int, seed_value: int) -> Tally:
    import pyarrow as pa

    tally = Tally()
    uploads = {"up": pa.table({"name": ["a", "b"], "ra": [10.68, 275.2],
                               "dec": [41.27, -16.1]})}

    def one(text: str) -> None:
        try:
            translation = translate(text, catalog, uploads, row_cap=21)
            for name, table in translation.tables.items():
                con.register(name, table)
            try:
                run_readonly(con, translation.sql, timeout=1.0, limit=20)
            finally:
                for name in translation.tables:
                    con.unregister(name)
        except Exception as exc:                       # noqa: BLE001 - what we count
            tally.record(text, exc, (AdqlError,))
        else:
            tally.record(text, None, ())

    @seed(seed_value)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fq.adql_texts())
    def draw(text):
        one(text)

    draw()
    for kind in fq.ADQL_NESTING:
        for depth in DEPTHS:
            one(fq.nested(fq.ADQL_NESTING, depth, kind))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catscan", type=int, default=50_000, help="CatScan texts")
    parser.add_argument("--adql", type=int, default=20_000, help="ADQL texts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "fuzz")
    args = parser.parse_args(argv)
    db = args.workdir / "catscan.duckdb"
    if not db.exists():
        quiet_demo_database(args.workdir)
    con = query_connection(db)
    try:
        started = time.perf_counter()
        if args.catscan:
            catscan_campaign(Session(con, read_files=False), args.catscan,
                             args.seed).report("CatScan")
        if args.adql:
            catalog = TapCatalog.from_connection(con)
            catalog.register(con)
            adql_campaign(con, catalog, args.adql, args.seed).report("ADQL")
        print(f"{time.perf_counter() - started:.0f} s")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
