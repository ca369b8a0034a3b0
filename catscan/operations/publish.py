"""The public copy: the released nights in a database file of their own.

Visitors without the team password query ``<db>.public.duckdb`` (next to the team's file),
which holds the rows of released nights and nothing else: the server opens it for them, so
what a visitor's query can reach is decided by what DuckDB can bind in that file, not by
the names in the query's text. There is no unreleased row in it to find, whatever the SQL.

The team's ``nights.released`` flag says what should be public; :func:`publish` makes the
copy follow it, night by night (a night is copied again when its load changed, e.g. a
reprocessing), in one transaction on the copy. Rows go from the team's connection to one on
the copy as Arrow batches: the server holds both files as instances of their own
(docs/serving.md), and the copy's keeps DuckDB's file access off, so it cannot attach.
Withdrawing deletes from the copy before the flag changes, so a crash between the two
leaves less public, never more. The tile grid (the coverage map) and the facilities are
public as a whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..config import public_db_path
from ..db import connect, init_database, transaction

ALIAS = "catscan_public_rows"
BATCH_ROWS = 100_000
BY_SCAN = ("psc", "xsc", "atlas_images")                 # rows of a night's scans
BY_NIGHT = ("night_qa", "processing_history", "scans", "nights")
WHOLE = ("facilities", "tiles")
SORTED = {"psc": "hpx29", "xsc": "hpx29", "atlas_images": "hpx29"}

Night = tuple  # (date, hemis)


@dataclass
class Published:
    """What :func:`publish` changed in the public copy."""

    path: Path | None
    added: list[Night] = field(default_factory=list)
    removed: list[Night] = field(default_factory=list)
    public: int = 0                       # nights in the copy afterwards

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def released_nights(con: duckdb.DuckDBPyConnection) -> list[Night]:
    """(date, hemis) of every night in a database's ``nights`` table that is released, in
    date order (in the public copy: every night it holds)."""
    return con.execute("SELECT date, hemis FROM nights WHERE released "
                       "ORDER BY date, hemis").fetchall()


def publish(con: duckdb.DuckDBPyConnection, db: str | os.PathLike, *,
            withhold: list[Night] = (), refresh: bool = False) -> Published:
    """Make the public copy of ``db`` hold exactly its released nights (less ``withhold``).

    ``con`` is the team database's writable connection (its transaction must be closed).
    ``refresh`` copies every released night again (after release files changed rows of
    released nights' scans). Does nothing, and creates no file, while nothing is released
    and no copy exists."""
    path = public_db_path(db)
    wanted = {(d, h): load for d, h, load in con.execute(
        "SELECT date, hemis, load_id FROM nights WHERE released").fetchall()
        if (d, h) not in set(withhold)}
    if path is None or (not wanted and not path.exists()):
        return Published(None)
    init_database(path)                                 # creates or upgrades the copy
    copy = connect(path, read_only=False)
    try:
        have = {(d, h): load for d, h, load in copy.execute(
            "SELECT date, hemis, load_id FROM nights").fetchall()}
        stale = {n for n in have if refresh or n not in wanted or have[n] != wanted[n]}
        missing = sorted(n for n in wanted if n in stale or n not in have)
        with transaction(copy):
            for night in sorted(stale):
                _remove(copy, night)
            for night in missing:
                _copy(con, copy, night)
            if stale or missing or not have:
                for table in WHOLE:
                    copy.execute(f"DELETE FROM {table}")
                    _rows(con, copy, table, f"SELECT * FROM {table}", [])
        public = copy.execute("SELECT count(*) FROM nights").fetchone()[0]
    finally:
        copy.close()
    return Published(path, added=missing, removed=sorted(stale - set(missing)), public=public)


def _remove(copy: duckdb.DuckDBPyConnection, night: Night) -> None:
    scans = "SELECT scan_key FROM scans WHERE date = $1 AND hemis = $2"
    for table in BY_SCAN:
        copy.execute(f"DELETE FROM {table} WHERE scan_key IN ({scans})", list(night))
    for table in BY_NIGHT:
        copy.execute(f"DELETE FROM {table} WHERE date = $1 AND hemis = $2", list(night))


def _copy(con: duckdb.DuckDBPyConnection, copy: duckdb.DuckDBPyConnection,
          night: Night) -> None:
    for table in reversed(BY_NIGHT):
        _rows(con, copy, table, f"SELECT * FROM {table} WHERE date = $1 AND hemis = $2",
              list(night))
    scans = "SELECT scan_key FROM scans WHERE date = $1 AND hemis = $2"
    for table in BY_SCAN:
        order = f" ORDER BY {SORTED[table]}" if table in SORTED else ""
        _rows(con, copy, table, f"SELECT * FROM {table} WHERE scan_key IN ({scans}){order}",
              list(night))


def _rows(con: duckdb.DuckDBPyConnection, copy: duckdb.DuckDBPyConnection, table: str,
          select: str, params: list) -> None:
    """INSERT the rows of ``select`` on ``con`` into ``table`` of ``copy``, in batches."""
    reader = con.sql(select, params=params).to_arrow_reader(BATCH_ROWS)
    copy.register(ALIAS, reader)
    try:
        copy.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {ALIAS}")
    finally:
        copy.unregister(ALIAS)
