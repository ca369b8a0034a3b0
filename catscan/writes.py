"""Which commands write the database, and where they run: through the server holding the
database when one is live (catscan.channel), else here, waiting ``--wait`` seconds for a
file another process holds (docs/serving.md).

A command's job is its own argv: the server runs the same ``catscan`` code on its writer
thread, in the command's directory and environment, so the output, the messages and the
exit code are those of the command run alone."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .db import DEFAULT_WAIT_S


@dataclass(frozen=True)
class Write:
    """How a writing command runs through a server. ``exclusive``: it needs the file to
    itself (the server closes its instance for it, e.g. a compaction that swaps files).
    ``stdin``: what the command reads from standard input, read here and sent along
    (a ``module:function`` returning the text)."""

    exclusive: bool = False
    stdin: str | None = None


WRITES: dict[str, Write] = {
    "init": Write(),
    "load": Write(),
    "optimize": Write(),
    "release": Write(),
    "passwd": Write(stdin="catscan.cli_web:password_line"),
    "demo": Write(),
    "compact": Write(exclusive=True),
}
# what a job takes of the command's environment (the server's own is left alone otherwise)
JOB_ENV = ("CATSCAN_DB", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM")


def add_wait_options(sub: argparse._SubParsersAction) -> None:
    """``--wait SECONDS`` on every writing command (and ``serve``, which holds the file)."""
    for name, parser in sub.choices.items():
        if name in WRITES or name == "serve":
            parser.add_argument(
                "--wait", type=float, default=DEFAULT_WAIT_S, metavar="SECONDS",
                help="wait this long for a database another process holds (default "
                f"{DEFAULT_WAIT_S:g}; 0: do not wait)")


def forward(args: argparse.Namespace, argv: list[str]) -> int | None:
    """Run a writing command through the live server holding its database: its exit code,
    or None when no server holds it (the command then runs here)."""
    from .channel import live_server, submit
    from .config import resolve_db_path

    write = WRITES.get(args.command)
    if write is None:
        return None
    state = live_server(resolve_db_path(getattr(args, "db", None)))
    if state is None:
        return None
    request = {"argv": argv, "cwd": os.getcwd(),
               "env": {k: os.environ[k] for k in JOB_ENV if k in os.environ},
               "tty": {"stdout": sys.stdout.isatty(), "stderr": sys.stderr.isatty()},
               "stdin": _stdin(write)}
    return submit(state, request)


def _stdin(write: Write) -> str | None:
    if write.stdin is None:
        return None
    module, name = write.stdin.split(":")
    import importlib

    read: Callable[[], str] = getattr(importlib.import_module(module), name)
    return read()


def command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (past the top-level ``--db PATH``)."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None
