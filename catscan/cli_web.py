"""``catscan serve`` and ``catscan passwd`` (docs/web.md)."""

from __future__ import annotations

import argparse
import getpass
import sys

from .errors import CatscanError


def cmd_serve(args: argparse.Namespace) -> int:
    import logging
    from dataclasses import fields

    import uvicorn

    from .web import create_app, uvicorn_options
    from .web.bounds import Server
    from .web.limits import Limits, bound_malloc_arenas

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    limits = Limits(**{f.name: getattr(args, f.name) for f in fields(Limits)})
    bound_malloc_arenas(limits.malloc_arenas)          # before DuckDB starts its threads
    from .cli import run_job
    from .db import waiting_for_lock

    with waiting_for_lock(args.wait):        # a load running: the server waits for it
        app = create_app(args.db, workers=args.workers, limits=limits, jobs=run_job,
                         url=f"http://{args.host}:{args.port}/")
    print("\n".join(startup_lines(app)), flush=True)     # before the first request
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", access_log=False,
        timeout_graceful_shutdown=limits.shutdown_grace_s + limits.slack_s,
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=max(16 * 1024, limits.max_url_bytes + 8 * 1024),
        **uvicorn_options(args.behind_proxy))
    Server(config, app.state.running, limits.shutdown_grace_s).run()
    return 0


def startup_lines(app) -> list[str]:
    """What ``catscan serve`` says at start: where it listens, which database, whether a
    team password is set (and how to set or use one), the released nights (docs/web.md)."""
    from .operations.publish import released_nights
    from .operations.status import night_name

    db = app.state.db
    cur = app.state.served.cursor()
    try:
        nights = released_nights(cur)
    finally:
        cur.close()
    passwd = f"catscan passwd --db {db}"
    if app.state.access.open:
        team = (f"team password: not set: every page and endpoint is open to anyone who "
                f"reaches the server; set one with `{passwd}`")
    else:
        team = (f"team password: set (browsers log in at {app.state.url}login, VO clients "
                f"send HTTP Basic with the user 'team'; change it with `{passwd}`)")
    if nights:
        span = night_name(*nights[0]) + ("" if len(nights) == 1
                                         else f" to {night_name(*nights[-1])}")
        public = f"released nights: {len(nights)} ({span}), public to visitors"
    else:
        public = "released nights: none"
        if not app.state.access.open:
            public += (" (visitors without the password see the home page and the sky map; "
                       "`catscan release NIGHT` makes a night public)")
    return [f"catscan serve: {app.state.url}", f"database: {db}", team, public]


def read_password(stdin=None) -> str:
    """From the terminal (asked twice, not echoed), else the first line of standard input."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("new team password: ")
        if getpass.getpass("again: ") != first:
            raise CatscanError("the two passwords differ; nothing changed")
        return first
    return stdin.readline().rstrip("\r\n")


def password_line() -> str:
    """The new password as a line of standard input: what a server's passwd job reads."""
    return read_password() + "\n"


def cmd_passwd(args: argparse.Namespace) -> int:
    from .db import connect
    from .web.access import set_password

    password = read_password()
    con = connect(args.db, read_only=False)
    try:
        set_password(con, password)
    finally:
        con.close()
    print("team password set; browsers must log in again", file=sys.stderr)
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Mark nights released (their data public on the server) or withdraw them. The public
    copy (catscan.operations.publish) follows: a withdrawn night leaves it before its flag
    changes, a released one enters it after."""
    from .config import resolve_db_path
    from .db import connect, transaction
    from .operations.publish import publish
    from .operations.status import night_name, resolve_night

    if not args.nights and not args.refresh:
        raise CatscanError("name the night(s) to release, e.g. `catscan release 1998-04-16n`")
    db = resolve_db_path(args.db)
    con = connect(db, read_only=False)
    try:
        nights = [resolve_night(con, text) for text in args.nights]
        if args.withdraw:
            publish(con, db, withhold=nights)
        with transaction(con):
            for date, hemis in nights:
                con.execute("UPDATE nights SET released = ? WHERE date = ? AND hemis = ?",
                            [not args.withdraw, date, hemis])
        published = publish(con, db, refresh=args.refresh)
    finally:
        con.close()
    verb = "withdrawn" if args.withdraw else "released"
    what = f"{', '.join(night_name(d, h) for d, h in nights)} {verb}" if nights else \
        "public copy refreshed"
    print(f"{what}; {published.public} night(s) public")
    return 0


def _limit_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for each of the server's limits (catscan.web.limits, docs/web.md)."""
    from dataclasses import fields

    from .web.limits import Limits

    group = parser.add_argument_group("limits", "bounds on every request (docs/web.md)")
    for f in fields(Limits):
        group.add_argument(f.metadata["flag"], dest=f.name, type=type(f.default),
                           default=f.default, metavar=f.metadata["metavar"],
                           help=f"{f.metadata['help']} (default {f.default})")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common],
                       help="the web pages and IVOA endpoints (docs/web.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="queries run at once (default 2)")
    p.add_argument("--behind-proxy", nargs="?", const="127.0.0.1", default=None,
                   metavar="ADDRESSES", help="trust X-Forwarded-For from the reverse proxy at "
                   "these addresses (comma-separated; default 127.0.0.1); without it a "
                   "client is the connection's address")
    _limit_flags(p)
    p.set_defaults(handler=cmd_serve)
    p = sub.add_parser("passwd", parents=[common],
                       help="set the team password (from the terminal, or the first line "
                            "of standard input)")
    p.set_defaults(handler=cmd_passwd)
    p = sub.add_parser("release", parents=[common],
                       help="make nights' data public on the server (docs/web.md)")
    p.add_argument("nights", nargs="*", metavar="NIGHT", help="e.g. 1998-04-16n or 980416n")
    p.add_argument("--withdraw", action="store_true", help="make them team-only again")
    p.add_argument("--refresh", action="store_true", help="copy every released night into "
                   "the public copy again (after release files changed their rows)")
    p.set_defaults(handler=cmd_release)
