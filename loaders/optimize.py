"""Keep big tables in hpx29 order so that DuckDB's zone maps prune spatial queries.

Each load inserts its rows sorted; the table stays sorted as long as every load's rows start
at or after the previous maximum. ``catalog_state.sorted`` records that, so the (costly)
full re-sort runs only when a load broke the order, once at the end of a load command. The
mark is committed with the load and cleared with the sorted table, so a command killed in
between leaves it set: every later load command (even one that loads nothing) and
``catscan optimize`` finish such a pending sort (:func:`finish_sorts`), and ``catscan info``
reports it (:func:`pending_sorts`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import duckdb

from catscan.db import transaction

from .schema_info import quote


def _state(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute("SELECT sorted FROM catalog_state WHERE table_name = ?",
                      [table]).fetchone()
    return True if row is None else bool(row[0])


def mark_unsorted(con: duckdb.DuckDBPyConnection, table: str,
                  new_rows: str | None = None) -> None:
    """Inside a load transaction, before rows are appended: record whether the table stays
    in hpx29 order. ``new_rows`` names a relation that is appended in hpx29 order; without
    it the rows are appended in no particular order."""
    if new_rows is None:
        still = False
    else:
        old_max = con.execute(f"SELECT max(hpx29) FROM {quote(table)}").fetchone()[0]
        new_min = con.execute(f"SELECT min(hpx29) FROM {new_rows}").fetchone()[0]
        still = _state(con, table) and (old_max is None or new_min is None
                                        or new_min >= old_max)
    con.execute("INSERT OR REPLACE INTO catalog_state (table_name, sorted) VALUES (?, ?)",
                [table, still])


def is_sorted(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return _state(con, table)


def pending_sorts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables a load left out of hpx29 order whose re-sort has not run (or was killed)."""
    return [row[0] for row in con.execute(
        "SELECT table_name FROM catalog_state WHERE NOT sorted ORDER BY table_name").fetchall()]


def finish_sorts(con: duckdb.DuckDBPyConnection, *, progress=None) -> list[str]:
    """Re-sort every table marked unsorted (by this command or an interrupted earlier one);
    returns their names."""
    tables = pending_sorts(con)
    for table in tables:
        optimize(con, table, progress=progress)
    return tables


def optimize(con: duckdb.DuckDBPyConnection, table: str, *, force: bool = False,
             progress=None) -> bool:
    """Rewrite ``table`` in hpx29 order if a load left it unsorted. Returns True if rewritten.

    The sorted copy is built as a new table (the table's own DDL, constraints included),
    which then replaces the old one, all in one transaction: readers see either the old or
    the new order, never a half-written table. Column comments and indexes are carried over;
    views bind by name and keep working. This is about twice as fast as re-inserting into
    the same table.
    """
    if not force and _state(con, table):
        return False
    step = progress.step(con, f"sorting {table} by hpx29") if progress else nullcontext()
    with step, transaction(con):
        _rewrite_sorted(con, table)
        con.execute("INSERT OR REPLACE INTO catalog_state (table_name, sorted, optimized_at) "
                    "VALUES (?, true, current_timestamp)", [table])
    con.execute("CHECKPOINT")
    return True


def _rewrite_sorted(con: duckdb.DuckDBPyConnection, table: str) -> None:
    where = ("WHERE database_name = current_database() AND schema_name = 'main' "
             "AND table_name = ?")
    ddl = con.execute(f"SELECT sql FROM duckdb_tables() {where}", [table]).fetchone()[0]
    comments = con.execute(f"SELECT column_name, comment FROM duckdb_columns() {where} "
                           "AND comment IS NOT NULL", [table]).fetchall()
    indexes = [r[0] for r in con.execute(f"SELECT sql FROM duckdb_indexes() {where}",
                                         [table]).fetchall()]
    scratch = f"{table}__sorted"
    con.execute(f"DROP TABLE IF EXISTS {quote(scratch)}")
    create, count = re.subn(rf'^CREATE TABLE "?{re.escape(table)}"?\(',
                            f"CREATE TABLE {quote(scratch)}(", ddl.strip(), count=1)
    if count != 1:
        raise RuntimeError(f"unexpected DDL for {table}: {ddl[:80]}")
    con.execute(create)
    con.execute(f"INSERT INTO {quote(scratch)} SELECT * FROM {quote(table)} ORDER BY hpx29")
    con.execute(f"DROP TABLE {quote(table)}")
    con.execute(f"ALTER TABLE {quote(scratch)} RENAME TO {quote(table)}")
    for column, comment in comments:
        con.execute(f"COMMENT ON COLUMN {quote(table)}.{quote(column)} IS "
                    f"'{comment.replace(chr(39), chr(39) * 2)}'")
    for sql in indexes:
        con.execute(sql)
