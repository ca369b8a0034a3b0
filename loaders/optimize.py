"""Keep big tables clustered by hpx29 so that DuckDB's zone maps prune spatial queries, at a
cost that follows what a load changed, not the size of the catalogue.

The unit of work is a *storage cell*: a HEALPix NESTED cell of order
:data:`STORAGE_CELL_ORDER`, which is one contiguous hpx29 range. A load appends its rows (in
its own transaction) and records the cells they fall in (``storage_dirty``); a deletion
records the cells of the rows it removes. :func:`finish_sorts` then *settles* those cells in
one more transaction: the rows of the dirty cells are read (the read prunes to those cells),
appended again in hpx29 order, and their old copies deleted. The table becomes a sequence of
sorted runs, each a union of whole cells, so every row group spans a narrow hpx29 range
wherever it sits in the file; the old copies' row groups empty out and DuckDB drops them at
the next checkpoint. Only when the dirty cells hold more than
:data:`FULL_REWRITE_SHARE` of the table (a whole-sky release file) is the whole table
rewritten instead, which costs the same and leaves one sorted run.

DuckDB's checkpoint would otherwise *vacuum* row groups with deletions by merging physical
neighbours, which here are runs from different parts of the sky (measured: merged row groups
spanning the whole sky, 6x more row groups read per cone); :func:`catscan.db.connect` turns
that off (``max_vacuum_tasks = 0``) for writers, and ``catscan compact`` reclaims the space
that partly deleted row groups keep (docs/storage.md).

A ``catalog_state.sorted = false`` mark (an append in no known order, or a database from
before storage cells) asks for the whole-table rewrite. Both marks are committed with the
load, so a command killed before it settles leaves them: every later load command (even one
that loads nothing) and ``catscan optimize`` finish them, and ``catscan info`` reports them
(:func:`pending_sorts`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import duckdb

from catscan.db import transaction
from catscan.spatial import coalesce, ranges_sql

from .schema_info import quote

STORAGE_CELL_ORDER = 3            # 768 cells of ~54 deg²; one contiguous hpx29 range each
CELL_SHIFT = 2 * (29 - STORAGE_CELL_ORDER)
FULL_REWRITE_SHARE = 0.5          # settle by one whole-table rewrite above this share
MIN_RUN_ROWS = 122_880            # a settled run holds at least a row group (if it can)


def _state(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute("SELECT sorted FROM catalog_state WHERE table_name = ?",
                      [table]).fetchall()
    return True if not row else bool(row[0][0])


def _set_state(con: duckdb.DuckDBPyConnection, table: str, sorted_: bool,
               optimized: bool = False) -> None:
    stamp = "now()" if optimized else "NULL"
    update = ", optimized_at = excluded.optimized_at" if optimized else ""
    con.execute("INSERT INTO catalog_state (table_name, sorted, optimized_at) "
                f"VALUES (?, ?, {stamp}) ON CONFLICT (table_name) DO UPDATE SET "
                f"sorted = excluded.sorted{update}", [table, sorted_])


def cell_of(hpx29_sql: str = "hpx29") -> str:
    """SQL for the storage cell of an hpx29 value."""
    return f"({hpx29_sql} >> {CELL_SHIFT})"


def mark_dirty(con: duckdb.DuckDBPyConnection, table: str, rows_sql: str,
               params: list | None = None) -> None:
    """Record the storage cells of the rows ``rows_sql`` selects (a ``FROM ... WHERE ...``
    clause yielding an ``hpx29`` column), inside the caller's transaction."""
    con.execute(f"INSERT OR IGNORE INTO storage_dirty (table_name, cell) "
                f"SELECT DISTINCT ?, {cell_of()}::INTEGER {rows_sql}",
                [table, *(params or [])])


def mark_unsorted(con: duckdb.DuckDBPyConnection, table: str,
                  new_rows: str | None = None, load_id: int | None = None) -> None:
    """Inside a load transaction: record what the load's appended rows leave to settle.

    ``new_rows`` names a relation appended in hpx29 order; if its rows all sort after the
    table's (an empty table, or a catalogue loaded in sky order) nothing needs settling.
    Otherwise the cells of the new rows are marked dirty: those of ``new_rows``, or of the
    table's rows carrying ``load_id``. With neither, the whole table is marked unsorted.
    """
    if new_rows is not None:
        old_max = con.execute(f"SELECT max(hpx29) FROM {quote(table)}").fetchall()[0][0]
        new_min = con.execute(f"SELECT min(hpx29) FROM {new_rows}").fetchall()[0][0]
        if old_max is None or new_min is None or new_min >= old_max:
            return
        mark_dirty(con, table, f"FROM {new_rows}")
    elif load_id is not None:
        mark_dirty(con, table, f"FROM {quote(table)} WHERE load_id = ?", [load_id])
    else:
        _set_state(con, table, False)


def dirty_cells(con: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    return [r[0] for r in con.execute(
        "SELECT cell FROM storage_dirty WHERE table_name = ? ORDER BY cell", [table]).fetchall()]


def is_sorted(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when no rewrite is pending for ``table`` (every row sits in a sorted run)."""
    return _state(con, table) and not dirty_cells(con, table)


def pending_sorts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables a load left with rows to settle (or a whole re-sort) that has not run yet."""
    return [row[0] for row in con.execute(
        "SELECT table_name FROM catalog_state WHERE NOT sorted UNION "
        "SELECT DISTINCT table_name FROM storage_dirty ORDER BY table_name").fetchall()]


def finish_sorts(con: duckdb.DuckDBPyConnection, *, progress=None) -> list[str]:
    """Settle every table with pending work (by this command or an interrupted earlier one);
    returns their names."""
    tables = pending_sorts(con)
    for table in tables:
        optimize(con, table, progress=progress)
    return tables


def cell_ranges(cells: list[int], order: int = STORAGE_CELL_ORDER) -> list[tuple[int, int]]:
    """Half-open hpx29 ranges covering the storage cells (given at STORAGE_CELL_ORDER),
    widened to cells of ``order`` and merged where adjacent."""
    shift = 2 * (29 - order)
    coarse = {c >> (2 * (STORAGE_CELL_ORDER - order)) for c in cells}
    return coalesce([(c << shift, (c + 1) << shift) for c in coarse])


def _rows_in(con: duckdb.DuckDBPyConnection, table: str, lo: int, hi: int) -> int:
    return con.execute(f"SELECT count(*) FROM {quote(table)} WHERE {ranges_sql([(lo, hi)])}"
                       ).fetchall()[0][0]


def _parent(lo: int, hi: int) -> tuple[int, int] | None:
    """``[lo, hi)`` widened to whole cells one order coarser than the coarsest order its
    ends align to (None for whole base cells)."""
    aligned = STORAGE_CELL_ORDER
    while aligned > 0 and not (lo | hi) % (1 << (2 * (29 - aligned + 1))):
        aligned -= 1
    if aligned == 0:
        return None
    shift = 2 * (29 - aligned + 1)
    return (lo >> shift) << shift, (((hi - 1) >> shift) + 1) << shift


def settle_ranges(con: duckdb.DuckDBPyConnection, table: str,
                  cells: list[int]) -> list[tuple[int, tuple[int, int]]]:
    """The contiguous hpx29 ranges a settle moves, each as (rows, range).

    Each range becomes its own sorted run. A run shorter than a row group shares one with
    the next run, whose sky may be far away, and that row group's zone map then spans both;
    so a range holding fewer than :data:`MIN_RUN_ROWS` rows is widened to its parent cell
    (one order coarser), until it holds enough or is a base cell. The counts read only the
    row groups of those ranges."""
    ranges = cell_ranges(cells)
    counts: dict[tuple[int, int], int] = {}
    while True:
        for r in ranges:
            if r not in counts:
                counts[r] = _rows_in(con, table, *r)
        small = {r for r in ranges if counts[r] < MIN_RUN_ROWS and _parent(*r) is not None}
        if not small:
            return [(counts[r], r) for r in ranges]
        ranges = coalesce([r for r in ranges if r not in small] + [_parent(*r) for r in small])


def optimize(con: duckdb.DuckDBPyConnection, table: str, *, force: bool = False,
             progress=None) -> bool:
    """Settle ``table``'s pending cells, or rewrite it whole when it is marked unsorted, most
    of it is dirty, or ``force``. Returns True if rows moved.

    Each contiguous range of cells moves in its own transaction (its own sorted run, see
    :func:`settle_ranges`): readers see either the old or the new layout of the same rows,
    never a half-moved range. A command killed in between leaves the marks; the next one
    moves the ranges again.
    """
    cells = dirty_cells(con, table)
    whole = force or not _state(con, table)
    if not whole and not cells:
        return False
    ranges: list[tuple[int, int]] = []
    if not whole:
        total = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchall()[0][0]
        counted = settle_ranges(con, table, cells)
        ranges = [r for n, r in counted if n]
        whole = sum(n for n, _ in counted) > FULL_REWRITE_SHARE * total
    label = f"sorting {table} by hpx29" if whole else \
        f"settling {len(ranges)} sky range{'s' if len(ranges) != 1 else ''} of {table}"
    step = progress.step(con, label) if progress else nullcontext()
    with step:
        if whole:
            with transaction(con):
                _rewrite_sorted(con, table)
                _settled(con, table, whole=True)
        else:
            for cell_range in ranges:
                with transaction(con):
                    _rewrite_cells(con, table, ranges_sql([cell_range]))
            with transaction(con):
                _settled(con, table, whole=False)
    if ranges or whole:
        con.execute("CHECKPOINT")
    return True


def _settled(con: duckdb.DuckDBPyConnection, table: str, *, whole: bool) -> None:
    con.execute("DELETE FROM storage_dirty WHERE table_name = ?", [table])
    _set_state(con, table, True, optimized=whole)


def _rewrite_cells(con: duckdb.DuckDBPyConnection, table: str, where: str) -> None:
    """Append the rows of the cells again in hpx29 order, then delete their old copies.

    The copies are told apart by rowid: rows appended in this transaction carry rowids
    above every committed row's (DuckDB numbers transaction-local rows from its MAX_ROW_ID,
    36,028,797,018,960,000, just below 2^55)."""
    last = con.execute(f"SELECT max(rowid) FROM {quote(table)}").fetchall()[0][0]
    if last is None:
        return
    con.execute(f"INSERT INTO {quote(table)} SELECT * FROM {quote(table)} WHERE {where} "
                "ORDER BY hpx29")
    con.execute(f"DELETE FROM {quote(table)} WHERE {where} AND rowid <= {int(last)}")


def _rewrite_sorted(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The whole table again in hpx29 order, as a new table with the same DDL, constraints,
    comments and indexes that replaces the old one (about twice as fast as re-inserting
    into the same table); views bind by name and keep working."""
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
