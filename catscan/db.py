"""The one way in to the database: open connections, apply the schema, run transactions.

Every connection gets catscan's UDFs registered (``catscan.udfs.register``). A read-write
connection is the single writer; DuckDB then refuses every other process, which we report
as :class:`DatabaseBusy` rather than a raw lock error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from . import __version__
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


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"database busy: {path} is open for writing by another process "
                "(a load is probably running); retry when it has finished") from None
        raise SchemaError(f"cannot open {path}: {exc}") from None
    if not read_only:
        # no merging of row groups at checkpoints: neighbours in the file are sorted runs
        # from different parts of the sky (loaders/optimize.py, docs/storage.md)
        con.execute(f"SET max_vacuum_tasks = {MAX_VACUUM_TASKS}")
    return con


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
        if read_only and str(db) != ":memory:":
            serve_small_queries(con, db)
        if memory_limit:
            if not MEMORY_SIZE.match(memory_limit):
                raise CatscanError(f"bad memory limit {memory_limit!r}: give a size such as "
                                   "1GB, 1.5GiB or 800MB")
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


def memory_database() -> duckdb.DuckDBPyConnection:
    """An in-memory catscan database with the schema and UDFs: for parsing and tests."""
    from .udfs import register

    con = duckdb.connect(":memory:")
    apply_schema(con, ":memory:")
    register(con)
    return con
