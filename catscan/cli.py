"""The ``catscan`` command. Exit codes: 0 ok, 1 user error (one message, no traceback),
2 usage error. Every subcommand takes ``--db PATH`` (else $CATSCAN_DB, else ./catscan.duckdb).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from . import __version__
from .config import ENV_DB, resolve_db_path
from .errors import CatscanError

Handler = Callable[[argparse.Namespace], int]


def _db_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--db", metavar="PATH", default=default,
                        help=f"database file (default: ${ENV_DB}, else ./catscan.duckdb)")


def cmd_init(args: argparse.Namespace) -> int:
    from .db import init_database, schema_version

    path, applied = init_database(args.db)
    if applied:
        print(f"{path}: applied {', '.join(applied)} (schema version {schema_version()})")
    else:
        print(f"{path}: already a catscan database at schema version {schema_version()}; "
              "nothing to do")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .db import connect
    from .info import database_info
    from .render import print_info

    path = resolve_db_path(args.db)
    con = connect(path)
    try:
        info = database_info(con, str(path), path.stat().st_size)
    finally:
        con.close()
    print_info(info)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from .db import connect
    from .loaders import load_files
    from .progress import Progress

    con = connect(args.db, read_only=False, memory_limit=args.memory_limit)
    total = 0
    try:
        with Progress() as progress:
            results = load_files(con, args.table, args.files, replace=args.replace,
                                 progress=progress,
                                 on_result=lambda r: print(r.summary(), flush=True))
        total = sum(r.rows for r in results if not r.skipped)
        skipped = sum(r.skipped for r in results)
        print(f"{len(results) - skipped} file(s) loaded, {skipped} skipped, "
              f"{total:,} rows into {args.table}")
    finally:
        con.close()
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from .db import connect
    from .loaders import RULES, optimize
    from .progress import Progress

    sortable = [t for t, r in RULES.items() if r.sorted_by_hpx29]
    tables = args.tables or sortable
    unknown = sorted(set(tables) - set(sortable))
    if unknown:
        raise CatscanError(f"cannot optimize {', '.join(unknown)}: choose from "
                           f"{', '.join(sortable)}")
    con = connect(args.db, read_only=False, memory_limit=args.memory_limit)
    try:
        with Progress() as progress:
            for table in tables:
                done = optimize(con, table, force=args.force, progress=progress)
                state = "rewritten in hpx29 order" if done else "already in hpx29 order"
                print(f"{table}: {state}")
    finally:
        con.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.db, rows=args.rows, workdir=args.workdir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _db_option(common, default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="catscan", description="The 2MASS data-access system: tiles, nights, scans, "
        "point and extended source catalogs and Atlas Images in one DuckDB file.")
    parser.add_argument("--version", action="version", version=f"catscan {__version__}")
    _db_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", parents=[common], help="create the database or upgrade its schema")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("info", parents=[common], help="what the database holds")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("load", parents=[common], help="load release files (psc, xsc, scans)")
    p.add_argument("table", choices=["psc", "xsc", "scans"])
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="release file (.gz or plain), Gator IPAC table or VOTable")
    p.add_argument("--replace", action="store_true", help="reload files loaded before")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    p.set_defaults(handler=cmd_load)

    p = sub.add_parser("optimize", parents=[common],
                       help="re-sort big tables by hpx29 (runs automatically after loads)")
    p.add_argument("tables", nargs="*", metavar="TABLE", help="psc and/or xsc (default both)")
    p.add_argument("--force", action="store_true", help="rewrite even if already in order")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    p.set_defaults(handler=cmd_optimize)

    p = sub.add_parser("demo", parents=[common],
                       help="build a sample survey in the database and run example queries")
    p.add_argument("--rows", type=int, default=30000, help="point sources per field")
    p.add_argument("--workdir", default=None,
                   help="where to write the sample release files (default: next to the db)")
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CatscanError as exc:
        print(f"catscan: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("catscan: interrupted; nothing of the unfinished step was written",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
