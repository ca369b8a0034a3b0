"""``catscan compact``: write a fresh copy of the database and swap it in.

DuckDB reuses freed blocks but never shrinks a file, and (with vacuum off, see
:mod:`loaders.optimize`) keeps the deleted rows of partly rewritten row groups. A fresh copy
holds only live rows, the big tables in one hpx29-sorted run. The copy is written beside the
file (``<db>.compact``), checkpointed and fsynced, then renamed over the database in one
``os.replace``: a kill at any moment leaves either the old file or the new one, whole, plus
at most a stale ``.compact`` file that the next compact removes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from catscan.db import connect, schema_version
from catscan.errors import CatscanError

from .optimize import finish_sorts
from .schema_info import quote, sql_string
from .tables import RULES

SUFFIX = ".compact"


@dataclass
class CompactResult:
    path: Path
    bytes_before: int
    bytes_after: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.path}: compacted from {self.bytes_before / 2**20:,.1f} MiB to "
                f"{self.bytes_after / 2**20:,.1f} MiB ({self.seconds:.1f} s)")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    """(schema, table) of every table of ``database``, in every schema."""
    return [(r[0], r[1]) for r in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "AND NOT temporary ORDER BY 1, 2", [database]).fetchall()]


def compact(path: str | os.PathLike, *, progress=None) -> CompactResult:
    """Compact the database file at ``path``, which no other connection may hold open."""
    db = Path(path)
    if not db.is_file():
        raise CatscanError(f"no catscan database at {db}")
    started = time.perf_counter()
    tmp = db.with_name(db.name + SUFFIX)
    for stale in (tmp, Path(str(tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    con = connect(db, read_only=False)
    try:
        finish_sorts(con, progress=progress)
        con.execute("CHECKPOINT")
        before = db.stat().st_size
        source = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {sql_string(tmp)} AS catscan_compact")
        try:
            con.execute(f"COPY FROM DATABASE {quote(source)} TO catscan_compact (SCHEMA)")
            for schema, table in _tables(con, source):
                rules = RULES.get(table) if schema == "main" else None
                order = " ORDER BY hpx29" if rules is not None and rules.sorted_by_hpx29 else ""
                name = f"{quote(schema)}.{quote(table)}"
                con.execute(f"INSERT INTO catscan_compact.{name} "
                            f"SELECT * FROM {quote(source)}.{name}{order}")
            con.execute("UPDATE catscan_compact.catalog_state SET sorted = true, "
                        "optimized_at = current_timestamp")
            _check_same(con, source)
            _new_blocks(con, source)
            con.execute("CHECKPOINT catscan_compact")
        finally:
            con.execute("DETACH catscan_compact")
    finally:
        con.close()
    if Path(str(db) + ".wal").exists():   # never put a new file under an old WAL
        tmp.unlink(missing_ok=True)
        raise CatscanError(f"compact: {db}.wal remained after the checkpoint; the database "
                           "was left as it was")
    _fsync(tmp)
    os.replace(tmp, db)
    _fsync(db.parent)
    after = db.stat().st_size
    con = connect(db, read_only=False)
    try:
        con.execute("INSERT INTO storage_compacted VALUES (now(), ?, ?)",
                    [after, big_rows(con)])
        finish_sorts(con)                  # reads the new row groups' extents
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return CompactResult(db, before, db.stat().st_size, time.perf_counter() - started)


BIG_TABLES = ("psc", "xsc", "atlas_images")
COMPACT_HINT = 1.3          # `catscan info` suggests a compact above this file/fresh ratio


def big_rows(con: duckdb.DuckDBPyConnection) -> int:
    return sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in BIG_TABLES)


def fresh_size_estimate(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes a fresh copy of the database would take: the last compaction's bytes per row
    of the big tables times today's rows, or (never compacted) the blocks in use."""
    last = con.execute("SELECT file_bytes, big_rows FROM storage_compacted "
                       "ORDER BY compacted_at DESC LIMIT 1").fetchall()
    if last and last[0][1]:
        return int(last[0][0] * big_rows(con) / last[0][1])
    block, used = con.execute("SELECT block_size, used_blocks FROM pragma_database_size()"
                              ).fetchall()[0]
    return int(block * used)


def _new_blocks(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """The copy's row groups are not the original's: its blocks are read from the copy
    itself once it is in place (loaders/optimize.py, ``survey``)."""
    con.execute("DELETE FROM catscan_compact.storage_blocks")
    for schema, table in _tables(con, source):
        rules = RULES.get(table) if schema == "main" else None
        if rules is not None and rules.sorted_by_hpx29:
            con.execute("INSERT OR IGNORE INTO catscan_compact.storage_marks "
                        "VALUES (?, 'survey')", [table])


def _check_same(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Every table of the copy holds as many rows as the original, and the copy's schema
    version is this catscan's: checked before the swap, never after."""
    for schema, table in _tables(con, source):
        name = f"{quote(schema)}.{quote(table)}"
        a = con.execute(f"SELECT count(*) FROM {quote(source)}.{name}").fetchall()
        b = con.execute(f"SELECT count(*) FROM catscan_compact.{name}").fetchall()
        if a != b:
            raise CatscanError(f"compact: the copy of {table} has {b[0][0]} rows, not "
                               f"{a[0][0]}; the database was left as it was")
    version = con.execute("SELECT max(version) FROM catscan_compact.schema_version"
                          ).fetchall()[0][0]
    if version != schema_version():
        raise CatscanError(f"compact: the copy has schema version {version}, not "
                           f"{schema_version()}; the database was left as it was")
