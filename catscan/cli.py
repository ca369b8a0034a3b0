"""The ``catscan`` command. Exit codes: 0 ok, 1 user error (one message, no traceback),
2 usage error. Every subcommand takes ``--db PATH`` (else $CATSCAN_DB, else ./catscan.duckdb).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
from collections.abc import Callable

from . import __version__
from .config import ENV_DB, resolve_db_path
from .errors import CatscanError

Handler = Callable[[argparse.Namespace], int]


def _db_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--db", metavar="PATH", default=default,
                        help=f"database file (default: ${ENV_DB}, else ./catscan.duckdb)")


def cmd_init(args: argparse.Namespace) -> int:
    from .db import connect, init_database, schema_version
    from .loaders.tile_states import ensure_tiles

    path, applied = init_database(args.db)
    con = connect(path, read_only=False)
    try:
        ensure_tiles(con)          # the whole-sky tile grid, all "planned"
        if applied:
            _publish(con, path)    # an upgrade reaches the public copy of released nights
    finally:
        con.close()
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

    if args.table == "night":
        return _load_nights(args)
    night_only = [flag for flag, given in (("--min-score", args.min_score is not None),
                                           ("--skip-bad-scans", args.skip_bad_scans),
                                           ("--force", args.force)) if given]
    if night_only:
        raise CatscanError(f"{', '.join(night_only)}: only for `catscan load night`")
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
        _publish(con, args.db)
    finally:
        con.close()
    return 0


def _load_nights(args: argparse.Namespace) -> int:
    from .db import connect
    from .loaders.night import load_nights
    from .loaders.qa_gate import DEFAULT_MIN_SCORE
    from .progress import Progress

    if args.replace:
        raise CatscanError("--replace is for release files; a newer delivery of a night "
                           "replaces the older one by itself (--force for the same or an "
                           "older 2MAPPS version)")
    con = connect(args.db, read_only=False, memory_limit=args.memory_limit)
    try:
        with Progress() as progress:
            results = load_nights(
                con, args.files, skip_bad_scans=args.skip_bad_scans, force=args.force,
                min_score=DEFAULT_MIN_SCORE if args.min_score is None else args.min_score,
                progress=progress, on_result=lambda r: _print_night(r))
        _publish(con, args.db)
    finally:
        con.close()
    changed = [r for r in results if r.outcome != "unchanged"]
    print(f"{len(changed)} night(s) loaded, {len(results) - len(changed)} unchanged; "
          f"{sum(len(r.loaded_scans) for r in changed)} scans passed Quality Review, "
          f"{sum(r.psc_rows for r in changed):,} point sources")
    return 0


def _publish(con, db) -> None:
    """Bring the public copy of released nights up to date after a load (a released night
    reprocessed; catscan.operations.publish)."""
    from .config import resolve_db_path
    from .operations.publish import publish

    done = publish(con, resolve_db_path(db))
    if done.changed:
        print(f"public copy: {len(done.added)} released night(s) copied again, "
              f"{done.public} public", flush=True)


def _print_night(result) -> None:
    print(result.summary(), flush=True)
    if result.outcome == "unchanged":
        return
    for scan in result.scans:
        if not scan.loaded:
            print(f"  scan {scan.scan:3d} (tile {scan.tile}): not loaded: {scan.reason}",
                  flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from .survey.generate import generate

    if args.rows is not None and args.scale != "bench":
        raise CatscanError("--rows sets the size of --scale bench")
    if args.workers is not None and args.workers < 1:
        raise CatscanError(f"--workers must be at least 1, not {args.workers}")
    result = generate(args.outdir, scale=args.scale, rows=args.rows, seed=args.seed,
                      image_scans=args.image_scans, workers=args.workers,
                      on_night=lambda path: print(f"  {path}", flush=True))
    print(result.summary())
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


def cmd_compact(args: argparse.Namespace) -> int:
    from .config import resolve_db_path
    from .loaders.compact import compact
    from .progress import Progress

    with Progress() as progress:
        result = compact(resolve_db_path(args.db), progress=progress)
    print(result.summary())
    return 0


def cmd_xmatch(args: argparse.Namespace) -> int:
    import numpy as np
    from astropy import units as u

    from .db import connect
    from .positions import parse_angle
    from .tablefile import arrow_to_astropy, read_targets, write_table
    from .xmatch import xmatch

    radius = parse_angle(args.radius, unit=u.arcsec)
    targets = read_targets(args.list, ra_column=args.ra_column, dec_column=args.dec_column,
                           frame=args.frame)
    columns = None if args.columns is None else \
        [c.strip() for c in args.columns.split(",") if c.strip()]
    con = connect(args.db)
    try:
        result = xmatch(con, targets.table, radius, catalog=args.catalog,
                        mode="all" if args.all else "nearest", columns=columns,
                        ra_column=targets.ra, dec_column=targets.dec)
    finally:
        con.close()
    if args.out:
        path = write_table(arrow_to_astropy(result), args.out)
    else:
        from .render import print_rows
        from .xmatch import dist_name

        # as --out: the list's columns, the match's (as many as fit), then dist
        print_rows(result, last=(dist_name(targets.table.column_names, args.catalog),))
    # in --all mode a target with n candidates has n rows: each row counts 1/n
    counts = result.column("n_candidates").to_numpy().astype(float)
    per_row = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0) \
        if args.all else (counts > 0).astype(float)
    matched = round(float(per_row.sum()))
    several = round(float(per_row[counts > 1].sum()))
    where = f", written to {path}" if args.out else ""
    print(f"{targets.table.num_rows:,} target(s) from {targets.path}: {matched:,} matched "
          f"within {radius * 3600:g}\" in {args.catalog} ({several:,} with more than one "
          f"candidate); {result.num_rows:,} row(s){where}")
    return 0


def cmd_findtile(args: argparse.Namespace) -> int:
    from .db import connect
    from .findtile import find_tiles, parse_positions, tile_count, write_rows

    positions = parse_positions(args.positions, args.file, args.frame)
    con = connect(args.db)
    try:
        results = find_tiles(con, positions)
        grid_tiles = tile_count(con)
    finally:
        con.close()
    if args.format == "text":
        from .render import print_findtile

        print_findtile(results, grid_tiles)
    else:
        write_rows(results, args.format, sys.stdout)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import time

    from .results import Provenance, output_format, write_result
    from .safety import (
        allowed_functions,
        allowed_tables,
        query_connection,
        run_readonly,
        validate_sql,
    )

    if args.limit < 0:
        raise CatscanError("--limit: give a number of rows, or 0 for no cap")
    if args.timeout is not None and args.timeout <= 0:
        raise CatscanError("--timeout: give a number of seconds above 0")
    fmt = output_format(args.out, args.format)            # refuse a bad --out before running
    limit = args.limit or None
    con = query_connection(args.db)
    try:
        sql = validate_sql(args.query, allowed_tables(con), allowed_functions(con))
        start = time.perf_counter()
        table, truncated = run_readonly(con, sql, timeout=args.timeout, limit=limit)
        provenance = Provenance.record(con, sql=sql, row_count=table.num_rows,
                                       elapsed_s=time.perf_counter() - start, query=args.query,
                                       truncated=truncated, limit=limit)
    finally:
        con.close()
    path = write_result(table, args.out, format=args.format, provenance=provenance,
                        provenance_file=args.provenance)
    if path is not None:
        print(f"{table.num_rows:,} row(s) written to {path}")
    if truncated and (path is not None or fmt != "table"):   # the terminal table says it
        print(f"catscan: {provenance.notice}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.db, image_scans=args.image_scans, workdir=args.workdir)
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

    p = sub.add_parser("load", parents=[common],
                       help="load release files (psc, xsc, scans) or night deliveries (night)")
    p.add_argument("table", choices=["psc", "xsc", "scans", "night"])
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="release file (.gz or plain), Gator IPAC table or VOTable; for "
                   "night: a delivery directory (e.g. 980416n/) or a directory holding them")
    p.add_argument("--replace", action="store_true", help="reload files loaded before")
    p.add_argument("--min-score", type=float, default=None,
                   help="night: load scans with a QA score above this (default 3)")
    p.add_argument("--skip-bad-scans", action="store_true",
                   help="night: load the good scans of a night that has bad ones")
    p.add_argument("--force", action="store_true",
                   help="night: replace a night even with the same or an older 2MAPPS version")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    p.set_defaults(handler=cmd_load)

    p = sub.add_parser("generate", parents=[common],
                       help="write a sample survey as nightly deliveries")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--scale", choices=["demo", "bench"], default="demo",
                   help="demo: six nights at famous places; bench: nights until --rows")
    p.add_argument("--rows", type=int, default=None,
                   help="bench: about this many point sources (default 20,000,000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--image-scans", type=int, default=None,
                   help="scans that get Atlas Images (default: 1 for demo, 0 for bench)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes writing nights side by side (default: one per core; "
                        "the files are the same for any number)")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("optimize", parents=[common],
                       help="re-sort big tables by hpx29 (runs automatically after loads)")
    p.add_argument("tables", nargs="*", metavar="TABLE", help="psc and/or xsc (default both)")
    p.add_argument("--force", action="store_true", help="rewrite even if already in order")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    p.set_defaults(handler=cmd_optimize)

    p = sub.add_parser("compact", parents=[common],
                       help="write a fresh copy of the database and swap it in (gives "
                            "back the space of deleted rows)")
    p.set_defaults(handler=cmd_compact)

    p = sub.add_parser("findtile", parents=[common],
                       help="the tiles holding a position: state, quality and scans")
    # RA DEC pairs; an argument holding a blank or a comma is a whole position. Negative
    # sexagesimal Decs (-16:18:16, -16d18m16s) are positions here, not unknown options.
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.add_argument("positions", nargs="*", metavar="RA DEC",
                   help="positions: RA DEC pairs (10.68479 +41.26906, 00:42:44.3 +41:16:09, "
                   "00h42m44.3s +41d16m09s) or one quoted argument each")
    p.add_argument("--file", metavar="FILE", default=None,
                   help="a text file of positions, one a line (# comments); - for stdin")
    p.add_argument("--frame", choices=["icrs", "galactic"], default="icrs",
                   help="the positions are ICRS RA Dec (default) or Galactic l b")
    p.add_argument("--format", choices=["text", "csv", "json"], default="text",
                   help="text (default), or csv / json: one row per position x tile x scan")
    p.set_defaults(handler=cmd_findtile)

    p = sub.add_parser("xmatch", parents=[common],
                       help="cross-match a list of positions with the PSC or the XSC")
    p.add_argument("list", metavar="LIST",
                   help="CSV, IPAC (.tbl), VOTable (.xml/.vot) or FITS table with positions")
    p.add_argument("--radius", required=True,
                   help="match radius with a unit (2arcsec, 2\", 0.1arcmin); a bare number "
                   "is arcsec")
    p.add_argument("--catalog", choices=["psc", "xsc"], default="psc",
                   help="catalog to match (default psc)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--nearest", action="store_true",
                      help="one row per target: its nearest source (default)")
    mode.add_argument("--all", action="store_true",
                      help="one row per target and source within the radius")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write every row to FILE (.csv, .tbl, .xml/.vot, .fits, .ecsv); "
                   "else print the first rows")
    p.add_argument("--columns", default=None,
                   help="catalog columns, comma-separated, or '*' for all (default: "
                   "designation, position, photometry, flags, date/scan, key)")
    p.add_argument("--ra-column", default=None, help="the list's RA (or l) column, if not "
                   "found from its UCD or name")
    p.add_argument("--dec-column", default=None, help="the list's Dec (or b) column")
    p.add_argument("--frame", choices=["icrs", "galactic"], default="icrs",
                   help="the list's positions are ICRS (default) or Galactic")
    p.set_defaults(handler=cmd_xmatch)

    from .cli_query import output_options

    p = sub.add_parser("sql", parents=[common, output_options(params=False)],
                       help="run one read-only SQL query (for experts; docs/sql.md)")
    p.add_argument("query", metavar="SQL", help="one SELECT (or WITH ... SELECT, UNION)")
    p.set_defaults(handler=cmd_sql)

    from .cli_query import add_parsers as add_query_parsers

    add_query_parsers(sub, common)

    from .cli_images import add_parsers as add_image_parsers
    from .cli_operations import add_parsers as add_operation_parsers

    add_image_parsers(sub, common)
    add_operation_parsers(sub, common)

    from .cli_web import add_parsers as add_web_parsers

    add_web_parsers(sub, common)

    p = sub.add_parser("demo", parents=[common],
                       help="build a sample survey in the database and run example queries")
    p.add_argument("--image-scans", type=int, default=1,
                   help="scans that get Atlas Images (default 1)")
    p.add_argument("--workdir", default=None,
                   help="where to write the nightly deliveries (default: next to the db)")
    p.set_defaults(handler=cmd_demo)

    from .writes import add_wait_options

    add_wait_options(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command. A writing command (catscan.writes) goes through the server holding its
    database when one is live, else runs here, waiting ``--wait`` seconds for the file."""
    from .db import waiting_for_lock
    from .writes import forward

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not _JOB.inside:
            code = forward(args, argv)
            if code is not None:
                return code
        with waiting_for_lock(getattr(args, "wait", None)):
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


class _Job(threading.local):
    inside = False               # this thread runs a server's write job


_JOB = _Job()


def run_job(argv: list[str]) -> int:
    """A writing command's job, run by the server holding the database (catscan.web.writer):
    :func:`main` without forwarding; any other exit the way Python would show it alone."""
    _JOB.inside = True
    try:
        return main(argv)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    finally:
        _JOB.inside = False


if __name__ == "__main__":
    sys.exit(main())
