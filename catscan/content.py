"""The database's content version, and answers cached by it (docs/operations.md).

The version is derived from what every write already changes, read in a few milliseconds
from small tables and DuckDB's table cardinalities, so no writer has to remember to bump
anything (DuckDB has no triggers that could bump a counter for them):

- ``schema_version``: ``catscan init`` and its upgrades;
- ``loads``: every load (a night, release files, scans, ``--replace``) writes its audit row
  in the same transaction as its rows (a replacing load too: it adds a row);
- ``nights.released``: ``catscan release`` and its withdrawals;
- every table's size as DuckDB's catalog keeps it (``duckdb_tables().estimated_size``, no
  scan; it counts inserts, not deletes): a catch-all for any other insert, e.g. the tile
  grid ``init`` fills.

Not in it, on purpose: the team password (not content) and the physical order of rows
(``optimize``, ``compact``: the same answers).

:func:`cached` keeps an answer per (database file, name) with the version it was computed
at and checks the version on every call, so a server's caches follow a write made by any
connection of its process, or by another process, without a hook. Answers that are costly
*and* small (numbers, short rows) can also be kept in ``<db>.cache.json`` next to the
database, for the next process (``catscan info``, ``catscan coverage``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")
CACHE_SUFFIX = ".cache.json"

_VERSION_SQL = """
SELECT (SELECT max(version) FROM schema_version), l.*, n.*
FROM (SELECT count(*), max(load_id), arg_max(sha256, load_id) FROM loads) l,
     (SELECT count(*) FILTER (WHERE released),
             coalesce(sum(hash(date, hemis)) FILTER (WHERE released), 0) FROM nights) n
"""
_SIZES_SQL = ("SELECT table_name, estimated_size FROM duckdb_tables() "
              "WHERE database_name = current_database() AND NOT temporary "
              "ORDER BY schema_name, table_name")


def content_version(con: duckdb.DuckDBPyConnection) -> str:
    """What the database holds, as a string: equal strings mean the same rows. It starts
    with the schema, the loads and the released nights for people ("schema 140, 6 loads,
    last load 6, 0 released") and ends with a digest of the rest (the last load's checksum,
    which nights are released, every table's size). About 2 ms."""
    [(schema, count, last, last_sha, released, released_hash)] = con.execute(
        _VERSION_SQL).fetchall()
    sizes = con.execute(_SIZES_SQL).fetchall()
    state = repr((last_sha, released_hash, sizes))
    digest = hashlib.sha256(state.encode()).hexdigest()[:8]     # the same in every process
    loads = f"{count} load{'s' if count > 1 else ''}, last load {last}" if count else "no loads"
    return f"schema {schema}, {loads}, {released} released, state {digest}"


def database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the connection's database; None in memory."""
    [(path,)] = con.execute("SELECT path FROM duckdb_databases() "
                            "WHERE database_name = current_database()").fetchall()
    return Path(path).resolve() if path else None


_entries: dict[tuple[Path, str], tuple[str, Any]] = {}
_lock = threading.Lock()
_generation = [0]


def generation() -> int:
    """A number that changes whenever this process commits a write through
    :func:`catscan.db.transaction` (or :func:`clear` is called). It lets a per-query reader
    of the version (a server session's provenance) keep it between writes instead of
    paying :func:`content_version`'s ~2 ms on every query; :func:`cached` does not rely on
    it. A read-only process cannot see another process's writes while it is open (DuckDB
    locks the file), so its own commits are the ones that matter."""
    return _generation[0]


def committed() -> None:
    """Called by :func:`catscan.db.transaction` after each COMMIT."""
    with _lock:
        _generation[0] += 1


def cached(con: duckdb.DuckDBPyConnection, name: str, compute: Callable[[], T], *,
           persist: bool = False) -> T:
    """``compute()``, or the answer it gave for ``name`` on this database at the current
    content version. An answer is kept only when the version did not change while it was
    computed (a write committed meanwhile may have given it a mix of both states).
    ``persist``: also keep it in ``<db>.cache.json`` (JSON values only) for other
    processes; the file is skipped where it cannot be read or written."""
    db = database_file(con)
    if db is None:
        return compute()
    before = content_version(con)
    key = (db, name)
    with _lock:
        hit = _entries.get(key)
    if hit is not None and hit[0] == before:
        return hit[1]
    if persist:
        stored = _read_file(db).get(name)
        if stored is not None and stored.get("version") == before:
            with _lock:
                _entries[key] = (before, stored["value"])
            return stored["value"]
    value = compute()
    if content_version(con) == before:
        with _lock:
            _entries[key] = (before, value)
        if persist:
            _write_file(db, name, before, value)
    return value


def clear() -> None:
    """Forget every answer kept in this process (the files stay: they carry their version).
    Nothing needs it for correctness (every answer is checked against the version); a
    server may call it after a write job to free the memory of answers it will not use."""
    with _lock:
        _entries.clear()
        _generation[0] += 1


def cache_file(db: Path) -> Path:
    return db.with_name(db.name + CACHE_SUFFIX)


def _read_file(db: Path) -> dict:
    try:
        data = json.loads(cache_file(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_file(db: Path, name: str, version: str, value: Any) -> None:
    """Atomically (a new file renamed over the old), so a reader never sees half of it."""
    path = cache_file(db)
    data = _read_file(db)
    data[name] = {"version": version, "value": value}
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        scratch.write_text(json.dumps(data), encoding="utf-8")
        os.replace(scratch, path)
    except (OSError, TypeError, ValueError):
        scratch.unlink(missing_ok=True)
