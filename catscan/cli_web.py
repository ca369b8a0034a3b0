"""``catscan serve`` and ``catscan passwd`` (docs/web.md)."""

from __future__ import annotations

import argparse
import getpass
import sys

from .errors import CatscanError


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from .web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(args.db, workers=args.workers, timeout=args.timeout)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def read_password(stdin=None) -> str:
    """From the terminal (asked twice, not echoed), else the first line of standard input."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("new team password: ")
        if getpass.getpass("again: ") != first:
            raise CatscanError("the two passwords differ; nothing changed")
        return first
    return stdin.readline().rstrip("\r\n")


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


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common],
                       help="the web pages and IVOA endpoints (docs/web.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="queries run at once (default 2)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds a query may run (default 30)")
    p.set_defaults(handler=cmd_serve)
    p = sub.add_parser("passwd", parents=[common],
                       help="set the team password (from the terminal, or the first line "
                            "of standard input)")
    p.set_defaults(handler=cmd_passwd)
