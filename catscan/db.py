"""The one way in to the database: open connections, apply the schema, run transactions.

Every connection gets catscan's UDFs registered (``catscan.udfs.register``). A read-write
connection is the single writer; DuckDB then refuses every other process, which we report
as :class:`DatabaseBusy` naming the process that holds the file (catscan.holders). A
writer waits for the file up to :func:`waiting_for_lock`'s seconds first.

A process serving a file (``catscan serve``, docs/serving.md) holds it as one read-write
DuckDB instance and registers it with :func:`serve_file`: every open of that file in the
process is then a cursor of that instance (DuckDB refuses a second instance of a file).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from . import __version__, content
from .config import resolve_db_path
from .errors import CatscanError, DatabaseBusy, SchemaError
from .parallelism import serve_small_queries

_SCHEMA_FILE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
MAX_VACUUM_TASKS = 0
MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B$", re.IGNORECASE)


@dataclass(frozen=True)
class SchemaFile:
    version: int
    name: str
    sql: str


def schema_files() -> list[SchemaFile]:
    """The schema migration steps shipped with this catscan, in order."""
    root = resources.files("catscan.schema")
    files = []
    for entry in root.iterdir():
        match = _SCHEMA_FILE.match(entry.name)
        if match:
            files.append(SchemaFile(int(match.group(1)), entry.name, entry.read_text()))
    return sorted(files, key=lambda f: f.version)


def schema_version() -> int:
    """The schema version this catscan expects: the number of its last schema file."""
    return schema_files()[-1].version


DEFAULT_WAIT_S = 60.0             # a writer waits this long for the file (--wait)
_WAIT = threading.local()
_SERVED: dict[str, Callable[[], duckdb.DuckDBPyConnection]] = {}   # real path: cursor maker
_SERVED_LOCK = threading.Lock()


@contextmanager
def waiting_for_lock(seconds: float | None) -> Iterator[None]:
    """Read-write opens in this thread wait up to ``seconds`` for a file another process
    holds (0: fail at once), saying once on stderr what they wait for."""
    before = getattr(_WAIT, "seconds", None)
    _WAIT.seconds = seconds
    try:
        yield
    finally:
        _WAIT.seconds = before


def serve_file(path: str | os.PathLike, cursor: Callable[[], duckdb.DuckDBPyConnection]
               ) -> None:
    """Opens of ``path`` in this process become ``cursor()`` (the server's instance)."""
    with _SERVED_LOCK:
        _SERVED[os.path.realpath(path)] = cursor


def stop_serving_file(path: str | os.PathLike) -> None:
    with _SERVED_LOCK:
        _SERVED.pop(os.path.realpath(path), None)


def served(path: str | os.PathLike) -> bool:
    """Whether this process serves ``path`` (its opens are cursors of one instance)."""
    return str(path) != ":memory:" and os.path.realpath(path) in _SERVED


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if str(path) != ":memory:":
        with _SERVED_LOCK:
            cursor = _SERVED.get(os.path.realpath(path))
        if cursor is not None:
            return cursor()
    wait = getattr(_WAIT, "seconds", None) if not read_only else None
    deadline = time.monotonic() + (wait or 0)
    said = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SchemaError(f"cannot open {path}: {exc}") from None
            message = busy_message(path, str(exc), read_only)
            if time.monotonic() >= deadline:
                raise DatabaseBusy(message + (f" (waited {wait:g} s)" if wait else "")
                                   ) from None
            if not said:
                print(f"catscan: {message}; waiting up to {wait:g} s (--wait)",
                      file=sys.stderr, flush=True)
                said = True
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
    if not read_only:
        # no merging of row groups at checkpoints: neighbours in the file are sorted runs
        # from different parts of the sky (loaders/optimize.py, docs/storage.md)
        con.execute(f"SET max_vacuum_tasks = {MAX_VACUUM_TASKS}")
    return con


def busy_message(path: Path, duckdb_message: str, read_only: bool) -> str:
    """What holds ``path``, from DuckDB's lock error: the server (query it there), a reader
    or a writer, with its PID and command line."""
    from .channel import live_server
    from .holders import holder_of

    holder = holder_of(path, duckdb_message)
    server = live_server(path)
    if server is not None and (holder.pid is None or holder.pid == server.pid):
        return (f"database busy: {path} is held by `catscan serve` (PID {server.pid}, "
                f"{server.url}); query it through the server, or run writing commands "
                "with the server running: they go through it")
    if holder.mode == "read-only":
        return (f"database busy: {path} is open read-only by {holder.describe()}; a write "
                "needs it closed (close that connection, or wait for it to end)")
    if holder.mode == "read-write" or read_only:
        return (f"database busy: {path} is open for writing by {holder.describe()}; "
                "retry when it has finished")
    return f"database busy: {path} is held by {holder.describe()}"


def _applied_version(con: duckdb.DuckDBPyConnection) -> int | None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_version'").fetchall()[0][0]
    if not exists:
        return None
    # fetchall: a fetchone leaves the result open, and a following con.sql() fails
    return con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]


def _check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    found, wanted = _applied_version(con), schema_version()
    if found is None:
        raise SchemaError(f"{path} is not a catscan database (no schema_version table); "
                          "run `catscan init` on a new file")
    if found > wanted:
        raise SchemaError(f"{path} has schema version {found}, newer than this catscan "
                          f"({__version__}, schema {wanted}); upgrade catscan")
    if found < wanted:
        raise SchemaError(f"{path} has schema version {found}, older than this catscan's "
                          f"{wanted}; run `catscan init --db {path}` to upgrade it")
    missing = _missing_steps(con)
    if missing:
        raise SchemaError(f"{path} lacks schema step(s) {', '.join(m.name for m in missing)}; "
                          f"run `catscan init --db {path}` to apply them")


def connect(path: str | os.PathLike | None = None, read_only: bool = True,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the catscan database with catscan's UDFs registered.

    ``path`` defaults to ``$CATSCAN_DB``, else ``./catscan.duckdb``. The file must exist and
    hold the schema version of this catscan (``catscan init`` creates or upgrades it).
    Read-only, the database runs queries on the caller's thread; catscan's big reads take
    DuckDB's worker threads with :func:`catscan.parallelism.parallel` (wrap your own).
    Close the connection when done (DuckDB warns about leaked UDFs otherwise).
    """
    from .udfs import register

    db = resolve_db_path(path)
    if str(db) != ":memory:" and not db.exists():
        raise SchemaError(f"no catscan database at {db}; create it with `catscan init --db {db}`")
    con = _open(db, read_only)
    try:
        _check_version(con, db)
        if read_only and str(db) != ":memory:" and not served(db):
            serve_small_queries(con, db)
        if memory_limit:
            if not MEMORY_SIZE.match(memory_limit):
                raise CatscanError(f"bad memory limit {memory_limit!r}: give a size such as "
                                   "1GB, 1.5GiB or 800MB")
            if not served(db):                 # a served file keeps the server's limit
                con.execute(f"SET memory_limit = '{memory_limit}'")
        register(con)
    except BaseException:
        con.close()
        raise
    return con


def init_database(path: str | os.PathLike | None = None) -> tuple[Path, list[str]]:
    """Create the database, or bring an older one up to date. Returns the files applied.

    Each schema file is applied in its own transaction with its ``schema_version`` row, so a
    failure leaves the database at the previous version.
    """
    db = resolve_db_path(path)
    if str(db) != ":memory:":
        db.parent.mkdir(parents=True, exist_ok=True)
    con = _open(db, read_only=False)
    try:
        return db, apply_schema(con, db)
    finally:
        con.close()


def _missing_steps(con: duckdb.DuckDBPyConnection) -> list[SchemaFile]:
    """The shipped schema files the database has not recorded, in order (a step numbered
    below the latest one applied can arrive later, when work merges in another order)."""
    if _applied_version(con) is None:
        return schema_files()
    done = {v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    return [step for step in schema_files() if step.version not in done]


def apply_schema(con: duckdb.DuckDBPyConnection, where: Path | str = "database") -> list[str]:
    """Apply the schema files a connection lacks; refuse a database newer than this code."""
    found = _applied_version(con) or 0
    if found > schema_version():
        raise SchemaError(f"{where} has schema version {found}, newer than this catscan's "
                          f"{schema_version()}; upgrade catscan")
    applied = []
    for step in _missing_steps(con):
        with transaction(con):
            con.execute(step.sql)
            con.execute("INSERT INTO schema_version (version, name, catscan_version) "
                        "VALUES (?, ?, ?)", [step.version, step.name, __version__])
        applied.append(step.name)
    return applied


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, with ROLLBACK on any error.

    DuckDB silently rolls back a COMMIT issued after a failed statement, so the failure must
    be re-raised rather than committed (design notes §1.3).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    content.committed()


def memory_database() -> duckdb.DuckDBPyConnection:
    """An in-memory catscan database with the schema and UDFs: for parsing and tests."""
    from .udfs import register

    con = duckdb.connect(":memory:")
    apply_schema(con, ":memory:")
    register(con)
    return con
