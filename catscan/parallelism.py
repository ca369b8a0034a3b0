"""DuckDB's worker threads for big reads only: small queries run on the caller's thread.

DuckDB hands every query to its worker threads and waits for them, even a one-task lookup:
a 1' cone pays 0.1-0.2 ms of its ~1 ms for the hand-over (docs/performance.md). PostgreSQL
starts parallel workers only for scans above ``min_parallel_table_scan_size``; DuckDB has no
such threshold, and its ``threads`` setting belongs to the database instance, not to a
query. So catscan opens a database read-only at one thread -- each caller's queries run on
the caller's own thread, so concurrent callers (the server's request workers) still use
every core -- and a read expected to touch more than :data:`PARALLEL_MIN_ROWS` rows runs
inside :func:`parallel`, which gives DuckDB its own thread count back while any such read
is running. Read-write databases (loads, sorts) keep DuckDB's default throughout. A query
connection (catscan.safety) locks the configuration, thread count included: the server's
stay at one thread, the CLI's get all of DuckDB's (:func:`use_all_threads`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

PARALLEL_MIN_ROWS = 1_000_000     # ~8 row groups: below this one thread answers sooner
SKY_INDEX_LENGTH = 12 << 58       # order-29 HEALPix indices (hpx29) on the whole sky


@dataclass
class _Database:
    threads: int                  # DuckDB's own thread count, given back by parallel()
    active: int = 0               # parallel() blocks running
    locked: bool = False          # SET refused (lock_configuration): nothing to switch


_LOCK = threading.Lock()
_DATABASES: dict[str, _Database] = {}      # by real path of the database file


def _set_threads(con: duckdb.DuckDBPyConnection, threads: int) -> bool:
    """``SET threads`` on a cursor of its own, so that a result the caller is still reading
    on ``con`` stays valid. False when the configuration is locked."""
    cur = con.cursor()
    try:
        cur.execute(f"SET threads = {int(threads)}")
        return True
    except duckdb.Error:
        return False
    finally:
        cur.close()


def serve_small_queries(con: duckdb.DuckDBPyConnection, path: str | os.PathLike) -> None:
    """Put a read-only database at one thread (unless a :func:`parallel` read is running on
    it), remembering DuckDB's own thread count for :func:`parallel`. A database whose
    configuration is locked keeps the thread count it was locked with."""
    key = os.path.realpath(path)
    with _LOCK:
        [(threads, locked)] = con.execute("SELECT current_setting('threads'), "
                                          "current_setting('lock_configuration')").fetchall()
        threads = int(threads)
        db = _DATABASES.setdefault(key, _Database(max(threads, 1)))
        db.locked = bool(locked)
        if threads > 1 and not db.locked:       # a newly opened instance: DuckDB's default
            db.threads = threads
            if db.active == 0:
                _set_threads(con, 1)


def use_all_threads(con: duckdb.DuckDBPyConnection) -> None:
    """Give a read-only database DuckDB's own thread count back for good: for a process
    that runs one query (the CLI), where a big read should use every core and a small one's
    0.1 ms does not matter, before its configuration is locked."""
    db = _database(con)
    if db is not None and not db.locked:
        with _LOCK:
            _set_threads(con, db.threads)


def _database(con: duckdb.DuckDBPyConnection) -> _Database | None:
    if not _DATABASES:                          # no read-only database open in this process
        return None
    cur = con.cursor()
    try:
        [(path,)] = cur.execute("SELECT path FROM duckdb_databases() "
                                "WHERE database_name = current_database()").fetchall()
    finally:
        cur.close()
    return _DATABASES.get(os.path.realpath(path)) if path else None


@contextmanager
def parallel(con: duckdb.DuckDBPyConnection, rows: float | None = None) -> Iterator[None]:
    """Run the block with DuckDB's own thread count, for a read of about ``rows`` rows
    (``None``: unknown, taken as big). Below :data:`PARALLEL_MIN_ROWS`, and on a database
    catscan did not put at one thread, this changes nothing. Safe from several threads: the
    database goes back to one thread when the last block ends."""
    db = None if rows is not None and rows <= PARALLEL_MIN_ROWS else _database(con)
    if db is None or db.locked:
        yield
        return
    with _LOCK:
        db.active += 1
        if db.active == 1 and not _set_threads(con, db.threads):
            db.locked = True
    try:
        yield
    finally:
        with _LOCK:
            db.active -= 1
            if db.active == 0 and not db.locked:
                _set_threads(con, 1)


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """DuckDB's row count of a table of the main schema (from its metadata: no scan)."""
    found = con.execute("SELECT estimated_size FROM duckdb_tables() WHERE database_name = "
                        "current_database() AND schema_name = 'main' AND table_name = ?",
                        [table]).fetchall()
    return int(found[0][0]) if found else 0


def rows_in_ranges(rows: int, ranges: Sequence[tuple[int, int]] | None) -> float:
    """Rows a read of ``hpx29`` ranges touches in a table of ``rows`` rows spread over the
    sky (``None``: no ranges, the whole table)."""
    if ranges is None:
        return float(rows)
    return rows * sum(hi - lo for lo, hi in ranges) / SKY_INDEX_LENGTH
