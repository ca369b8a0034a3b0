"""A database file the server holds: one read-write DuckDB instance (DuckDB lets one
process hold a file read-write, and then no other process at all), whose cursors serve the
readers (each request a snapshot, catscan.web.pool) and the one write job at a time
(catscan.web.writer). While it is open, every open of the file in this process is a
cursor of it (catscan.db.serve_file)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from ..db import serve_file, stop_serving_file
from ..safety import serving_connection

log = logging.getLogger("catscan.web")
CHECKPOINT_WAIT_S = 120.0       # a reader's snapshot lasts at most its request's timeout


_INSTANCES: dict[str, list] = {}        # real path: [instance, servers using it]
_INSTANCES_LOCK = threading.Lock()


class ServedDatabase:
    """One file held read-write; ``files``: DuckDB may read files (the team's file).
    Servers in one process (tests) share the file's instance."""

    def __init__(self, path: str | os.PathLike, *, files: bool,
                 memory_limit: str | None = None) -> None:
        self.path = Path(os.path.abspath(path))   # absolute: a job changes the directory
        self.files, self.memory_limit = files, memory_limit
        self.on_cursor: Callable[[duckdb.DuckDBPyConnection], None] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        key = os.path.realpath(self.path)
        with _INSTANCES_LOCK:
            held = _INSTANCES.get(key)
            if held is None:
                held = _INSTANCES[key] = [serving_connection(
                    self.path, self.memory_limit, files=self.files), 0]
                serve_file(self.path, lambda: WriterCursor(held[0].cursor()))
            held[1] += 1
            self._con = held[0]

    @property
    def is_open(self) -> bool:
        return self._con is not None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the instance (its own transactions and temp tables)."""
        with self._lock:
            if self._con is None:
                raise duckdb.ConnectionException(f"{self.path} is closed for a write job")
            cur = self._con.cursor()
        if self.on_cursor is not None:
            self.on_cursor(cur)
        return cur

    def wal_bytes(self) -> int:
        try:
            return os.path.getsize(f"{self.path}.wal")
        except OSError:
            return 0

    def checkpoint(self) -> bool:
        """Write the WAL into the file; False when DuckDB refused (retry later)."""
        cur = self.cursor()
        try:
            cur.execute("CHECKPOINT")
            return True
        except duckdb.Error as exc:
            log.info("checkpoint of %s deferred: %s", self.path, str(exc).splitlines()[0])
            return False
        finally:
            cur.close()

    def close(self) -> None:
        with self._lock:
            con, self._con = self._con, None
        if con is None:
            return
        key = os.path.realpath(self.path)
        with _INSTANCES_LOCK:
            held = _INSTANCES[key]
            held[1] -= 1
            if held[1] == 0:
                del _INSTANCES[key]
                stop_serving_file(self.path)
                con.close()


class WriterCursor:
    """A cursor as a write job's code gets it (``connect()`` of the served file): DuckDB
    refuses a CHECKPOINT while a reader's snapshot predates the job's last commit (a
    request that began before it), so a CHECKPOINT here waits for those to end (they are
    bounded by the request timeout) instead of failing the job."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self._cur = cur

    def execute(self, sql, *args, **kwargs):
        if not (isinstance(sql, str) and sql.strip().rstrip(";").strip().upper()
                == "CHECKPOINT"):
            return self._cur.execute(sql, *args, **kwargs)
        deadline = time.monotonic() + CHECKPOINT_WAIT_S
        while True:
            try:
                return self._cur.execute(sql, *args, **kwargs)
            except duckdb.TransactionException as exc:
                if "Cannot CHECKPOINT" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def cursor(self) -> WriterCursor:
        return WriterCursor(self._cur.cursor())

    def __getattr__(self, name: str):
        return getattr(self._cur, name)
