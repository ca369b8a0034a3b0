"""The query subcommands of ``catscan``: query, run, explain and queries (docs/language.md).
Kept apart from cli.py so that each file stays one screenful per job."""

from __future__ import annotations

import argparse
import sys

from .errors import CatscanError

PROVENANCE_HELP = ("also write FILE.provenance.json: the query, SQL, database version and "
                   "the columns' units and descriptions (what a CSV file has no place for)")


def _params(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CatscanError(f"--param {pair!r}: write NAME=VALUE, e.g. --param radius=2arcmin")
        out[name.strip().lstrip("$")] = value
    return out


def _emit(result, args: argparse.Namespace) -> int:
    from .results import output_format, write_result

    path = write_result(result.table, args.out, format=args.format,
                        provenance=result.provenance, provenance_file=args.provenance)
    if path is not None:
        print(f"{result.table.num_rows:,} row(s) written to {path}", file=sys.stderr)
    if result.provenance.notice and (path is not None or output_format(
            None, args.format) != "table"):     # a plain CSV on stdout cannot say it
        print(f"catscan: {result.provenance.notice}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, text: str, params: dict[str, str], base=None) -> int:
    from .runner import Session, run_text
    from .safety import query_connection

    if args.limit < 0:
        raise CatscanError(f"--limit must be 0 (no limit) or more, not {args.limit}")
    if args.timeout is not None and args.timeout <= 0:
        raise CatscanError(f"--timeout must be more than 0 seconds, not {args.timeout:g}")
    con = query_connection(args.db)
    try:
        result = run_text(Session(con, base=base), text, params, limit=args.limit or None,
                          timeout=args.timeout)
    finally:
        con.close()
    return _emit(result, args)


def cmd_query(args: argparse.Namespace) -> int:
    return _run(args, args.text, _params(args.param))


def cmd_run(args: argparse.Namespace) -> int:
    from .language.saved import find_saved

    saved = find_saved(args.query)
    # lists a match clause names are read next to the query file
    base = saved.path.parent if saved.path is not None else None
    return _run(args, saved.text, saved.values(_params(args.param)), base)


def cmd_explain(args: argparse.Namespace) -> int:
    from .db import connect
    from .language import Catalog, compile_text
    from .language.explain import explain
    from .runner import Session

    con = connect(args.db)
    try:
        compiled = compile_text(args.text, Catalog.from_connection(con), _params(args.param),
                                con)
        targets = Session(con).targets(compiled.match)[0] if compiled.match else None
        print("\n".join(explain(con, compiled, targets).lines()))
    finally:
        con.close()
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    from .language.saved import shipped

    for name, saved in shipped().items():
        params = " ".join(f"{p.name}={p.default}{p.unit or ''}" for p in saved.params.values())
        print(f"{name:24s} {saved.title}" + (f"  [{params}]" if params else ""))
    print("\nrun one with `catscan run NAME [--param NAME=VALUE]`; `catscan run FILE.catscan` "
          "runs your own")
    return 0


def output_options(params: bool = True) -> argparse.ArgumentParser:
    """The options of commands that return rows: --format, --out, --limit, --timeout (and
    --param for CatScan queries)."""
    output = argparse.ArgumentParser(add_help=False)
    if params:
        output.add_argument("--param", action="append", metavar="NAME=VALUE",
                            help="a $parameter's value (repeatable)")
    output.add_argument("--format", default=None,
                        help="table, csv, ipac, votable, fits, parquet, json or ecsv "
                        "(default: from --out's suffix, else a table)")
    output.add_argument("--out", metavar="FILE", default=None,
                        help="write the result to FILE (with its provenance, except CSV)")
    output.add_argument("--provenance", action="store_true",
                        help=PROVENANCE_HELP)
    output.add_argument("--limit", type=int, default=100_000,
                        help="most rows to return (default 100000; 0: no limit); more is "
                        "announced, never silently cut")
    output.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="interrupt the query after this many seconds")
    return output


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add query, run, explain and queries to the ``catscan`` parser."""
    output = output_options()

    p = sub.add_parser("query", parents=[common, output],
                       help="run a CatScan query (docs/language.md)")
    p.add_argument("text", metavar="TEXT", help="the query, e.g. \"select basic from psc "
                   "within 2arcmin of 10.68 41.27\"")
    p.set_defaults(handler=cmd_query)

    p = sub.add_parser("run", parents=[common, output],
                       help="run a saved query: a .catscan file or a shipped query's name")
    p.add_argument("query", metavar="FILE|NAME")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("explain", parents=[common],
                       help="what a query will do: SQL, HEALPix covers, rows and time, "
                       "before running it")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--param", action="append", metavar="NAME=VALUE")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("queries", parents=[common], help="list the shipped saved queries")
    p.set_defaults(handler=cmd_queries)
