"""Keep big tables clustered by hpx29 so that DuckDB's zone maps prune spatial queries, at a
cost that follows what a load changed, not the size of the catalogue.

DuckDB skips a row group when its zone map (the min and max of ``hpx29`` its rows were
written with) misses every range of a query. A zone map never narrows: deleting rows leaves
it as it was. So the layout keeps one invariant: **the zone maps of the live row groups are
disjoint** (as in a freshly sorted copy, whatever their order in the file). The row groups a
settle writes are recorded as *blocks* (``storage_blocks``: each one's hpx29 extent and rows).

A load appends its rows (in its own transaction) and records the storage cells (HEALPix
NESTED order :data:`STORAGE_CELL_ORDER`) they fall in (``storage_dirty``); a deletion records
the cells of the rows it removes. :func:`finish_sorts` then *settles* them: each contiguous
range of dirty cells is widened to the blocks it overlaps (a block is rewritten whole or not
at all, so no old row group keeps a zone map over the new rows) and, if it holds fewer rows
than a row group, to its neighbouring blocks, since DuckDB appends less than a row group into
the table's last row group instead of new ones (``LocalStorage::Flush``, its
``MERGE_THRESHOLD``). The range's rows are then appended again in hpx29 order, as whole row
groups, and their old copies deleted, in one transaction per range. The cost is the night's
rows plus the blocks at its edges, whatever the size of the catalogue.

Two marks in ``storage_marks`` cover what the blocks cannot know: ``tail``, after an append
of less than a row group (it went into the last row group, of the last block written, whose
zone map now spans the new rows too: that block is settled with the rest); and ``survey``,
after a whole-table rewrite, an append in sky order or a ``catscan compact``, whose row
groups are read once from DuckDB (``pragma_storage_info``) instead.

Only when the ranges hold more than :data:`FULL_REWRITE_SHARE` of the table (a whole-sky
release file) is the whole table rewritten instead. A ``catalog_state.sorted = false`` mark
(an append in no known order) asks for that too.

DuckDB's checkpoint would otherwise *vacuum* row groups with deletions by merging physical
neighbours, which here are blocks from different parts of the sky; :func:`catscan.db.connect`
turns that off (``max_vacuum_tasks = 0``) for writers (docs/storage.md).

All marks are committed with the load, so a command killed before it settles leaves them:
every later load command (even one that loads nothing) and ``catscan optimize`` finish them,
and ``catscan info`` reports them (:func:`pending_sorts`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import duckdb

from catscan.db import transaction
from catscan.spatial import coalesce, ranges_sql

from .schema_info import quote

STORAGE_CELL_ORDER = 6            # 49,152 cells of ~0.84 deg²; one contiguous hpx29 range each
CELL_SHIFT = 2 * (29 - STORAGE_CELL_ORDER)
FULL_REWRITE_SHARE = 0.5          # settle by one whole-table rewrite above this share
ROW_GROUP_ROWS = 122_880          # DuckDB's row group, and its MERGE_THRESHOLD for appends
SKY_END = 12 << 58                # one past the largest hpx29
SMALL_BLOCK = ROW_GROUP_ROWS // 4  # a settle takes such a neighbour along (cheap, and fewer
                                   # row groups for cones to open)


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


def _mark(con: duckdb.DuckDBPyConnection, table: str, mark: str) -> None:
    con.execute("INSERT OR IGNORE INTO storage_marks VALUES (?, ?)", [table, mark])


def _marks(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT mark FROM storage_marks WHERE table_name = ?",
                                      [table]).fetchall()}


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


def _count(con: duckdb.DuckDBPyConnection, rows_sql: str, params: list | None = None) -> int:
    return con.execute(f"SELECT count(*) {rows_sql}", params or []).fetchall()[0][0]


def mark_unsorted(con: duckdb.DuckDBPyConnection, table: str,
                  new_rows: str | None = None, load_id: int | None = None) -> None:
    """Inside a load transaction: record what the load's appended rows leave to settle.

    ``new_rows`` names a relation about to be appended in hpx29 order; if its rows all sort
    after the table's (an empty table, or a catalogue loaded in sky order) nothing needs
    moving, only the new row groups' extents reading (``survey``). Otherwise the cells of
    the new rows are marked dirty: those of ``new_rows``, or of the table's rows carrying
    ``load_id`` (already appended). With neither, the whole table is marked unsorted. An
    append of less than a row group also marks the ``tail`` block.
    """
    if new_rows is not None:
        old_max = con.execute(f"SELECT max(hpx29) FROM {quote(table)}").fetchall()[0][0]
        new_min = con.execute(f"SELECT min(hpx29) FROM {new_rows}").fetchall()[0][0]
        if new_min is None:
            return
        if old_max is None or new_min >= old_max:
            _mark(con, table, "survey")
            return
        mark_dirty(con, table, f"FROM {new_rows}")
        added, before = _count(con, f"FROM {new_rows}"), old_max is not None
    elif load_id is not None:
        rows = f"FROM {quote(table)} WHERE load_id = ?"
        mark_dirty(con, table, rows, [load_id])
        added = _count(con, rows, [load_id])
        before = con.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)} WHERE load_id "
                             "IS DISTINCT FROM ?)", [load_id]).fetchall()[0][0]
    else:
        _set_state(con, table, False)
        return
    if before and 0 < added < ROW_GROUP_ROWS:
        _mark(con, table, "tail")


def mark_appended_in_order(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Inside a load transaction, after rows were appended in hpx29 order after all of the
    table's: their row groups' extents are read at the next settle."""
    _mark(con, table, "survey")


def dirty_cells(con: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    return [r[0] for r in con.execute(
        "SELECT cell FROM storage_dirty WHERE table_name = ? ORDER BY cell", [table]).fetchall()]


def is_sorted(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when no rewrite is pending for ``table`` (every row sits in a settled block)."""
    return _state(con, table) and not dirty_cells(con, table) and \
        "tail" not in _marks(con, table)


def pending_sorts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables a load left with rows to settle (or a whole re-sort) that has not run yet."""
    return [row[0] for row in con.execute(
        "SELECT table_name FROM catalog_state WHERE NOT sorted UNION "
        "SELECT DISTINCT table_name FROM storage_dirty UNION "
        "SELECT table_name FROM storage_marks WHERE mark = 'tail' ORDER BY table_name"
    ).fetchall()]


def finish_sorts(con: duckdb.DuckDBPyConnection, *, progress=None) -> list[str]:
    """Settle every table with pending work (by this command or an interrupted earlier one),
    and read the row groups of those marked for a survey; returns the settled tables."""
    tables = pending_sorts(con)
    for table in tables:
        optimize(con, table, progress=progress)
    for (table,) in con.execute("SELECT DISTINCT table_name FROM storage_marks "
                                "WHERE mark = 'survey' ORDER BY 1").fetchall():
        survey_blocks(con, table)
    return tables


def cell_ranges(cells: list[int]) -> list[tuple[int, int]]:
    """Half-open hpx29 ranges covering the storage cells, merged where adjacent."""
    return coalesce([(c << CELL_SHIFT, (c + 1) << CELL_SHIFT) for c in cells])


# -- blocks ---------------------------------------------------------------------------------

def blocks(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[int, int, int, int]]:
    """The table's blocks as (half-open hpx29 range start, end, rows, seq), by range."""
    return [(lo, hi + 1, n, seq) for lo, hi, n, seq in con.execute(
        "SELECT lo, hi, n, seq FROM storage_blocks WHERE table_name = ? ORDER BY lo, seq",
        [table]).fetchall()]


def row_group_extents(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[int, int, int]]:
    """(row group, min hpx29, max hpx29) of every row group holding rows, from DuckDB's own
    storage information: exact, but it lists every segment of every column (~0.5 s per 20 M
    rows of the PSC), so it is read only after a rewrite, never per night."""
    return [(g, lo, hi) for g, lo, hi, _ in _row_groups(con, table)]


def _row_groups(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[int, int, int, int]]:
    """(row group, min hpx29, max hpx29, rows written) of every row group holding rows."""
    rows = con.execute(f"SELECT row_group_id, stats, count FROM pragma_storage_info("
                       f"{_literal(table)}) WHERE column_name = 'hpx29' AND "
                       "segment_type = 'BIGINT'").fetchall()
    out: dict[int, list[int]] = {}
    for group, stats, count in rows:
        lo, hi = stats.get("min"), stats.get("max")
        if lo is None or hi is None:
            continue
        extent = out.setdefault(group, [int(lo), int(hi), 0])
        extent[0], extent[1] = min(extent[0], int(lo)), max(extent[1], int(hi))
        extent[2] += count
    return [(g, lo, hi, n) for g, (lo, hi, n) in sorted(out.items())]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def survey_blocks(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Record the table's row groups as its blocks, read from DuckDB after a checkpoint (so
    that emptied row groups are gone); checkpoints again after."""
    con.execute("CHECKPOINT")
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND "
                         "schema_name = 'main' AND database_name = current_database()",
                         [table]).fetchall()[0][0]
    groups = _row_groups(con, table) if exists else []
    with transaction(con):
        con.execute("DELETE FROM storage_blocks WHERE table_name = ?", [table])
        if groups:
            con.executemany("INSERT INTO storage_blocks VALUES (?, ?, ?, ?, ?)",
                            [[table, *group] for group in groups])
        con.execute("DELETE FROM storage_marks WHERE table_name = ? AND mark = 'survey'",
                    [table])
    con.execute("CHECKPOINT")     # as every settle ends: the next writer finds nothing to do


def _needs_survey(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    if "survey" in _marks(con, table):
        return True
    known = con.execute("SELECT count(*) FROM storage_blocks WHERE table_name = ?",
                        [table]).fetchall()[0][0]
    return not known and bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})"
                                          ).fetchall()[0][0])


def _rows_in(con: duckdb.DuckDBPyConnection, table: str, lo: int, hi: int) -> int:
    return con.execute(f"SELECT count(*) FROM {quote(table)} WHERE {ranges_sql([(lo, hi)])}"
                       ).fetchall()[0][0]


def _absorb(ranges: list[tuple[int, int]], known: list[tuple[int, int, int, int]]
            ) -> list[tuple[int, int]]:
    """``ranges`` widened to the whole of every block they overlap, until none straddles,
    and to the small blocks (less than :data:`SMALL_BLOCK` rows, the partial last row groups
    of earlier settles) next to them, which then merge into full row groups."""
    while True:
        touching = [b for b in known if any(b[0] < hi and lo < b[1] for lo, hi in ranges)]
        ends = {lo for lo, _ in ranges} | {hi for _, hi in ranges}
        ordered = sorted(known)
        for i, b in enumerate(ordered):
            if b[2] >= SMALL_BLOCK:
                continue
            after = ordered[i + 1][0] if i + 1 < len(ordered) else SKY_END
            before = ordered[i - 1][1] if i else 0
            if any(before <= e <= b[0] or b[1] <= e <= after for e in ends):
                touching.append(b)
        grown = coalesce(ranges + [(lo, hi) for lo, hi, _, _ in touching])
        if grown == ranges:
            return ranges
        ranges = grown


def settle_ranges(con: duckdb.DuckDBPyConnection, table: str, cells: list[int],
                  tail: bool = False) -> list[tuple[int, tuple[int, int]]]:
    """The contiguous hpx29 ranges a settle moves, each as (rows, range).

    The dirty cells' ranges (and, with ``tail``, the last block written), each widened to
    the blocks it overlaps; then, while a range holds fewer rows than a row group, to the
    nearer-sized of its neighbouring blocks, so that every range is appended as whole row
    groups. The counts read only the row groups of those ranges."""
    known = blocks(con, table)
    ranges = coalesce(cell_ranges(cells))
    if tail and known:
        last = max(known, key=lambda b: b[3])
        ranges = coalesce(ranges + [(last[0], last[1])])
    ranges = _absorb(ranges, known)
    counts: dict[tuple[int, int], int] = {}
    while True:
        for r in ranges:
            if r not in counts:
                counts[r] = _rows_in(con, table, *r)
        small = [r for r in ranges if counts[r] < ROW_GROUP_ROWS]
        grown = False
        for lo, hi in small:
            below = [b for b in known if b[1] <= lo]
            above = [b for b in known if b[0] >= hi]
            sides = ([max(below, key=lambda b: b[1])] if below else []) + \
                    ([min(above, key=lambda b: b[0])] if above else [])
            if sides:
                pick = min(sides, key=lambda b: b[2] or ROW_GROUP_ROWS)
                ranges = ranges + [(min(lo, pick[0]), max(hi, pick[1]))]
                grown = True
        if not grown:
            return [(counts[r], r) for r in ranges]
        ranges = _absorb(coalesce(ranges), known)


def optimize(con: duckdb.DuckDBPyConnection, table: str, *, force: bool = False,
             progress=None) -> bool:
    """Settle ``table``'s pending cells, or rewrite it whole when it is marked unsorted, most
    of it is dirty, or ``force``. Returns True if rows moved.

    Each range moves in its own transaction (see :func:`settle_ranges`): readers see either
    the old or the new layout of the same rows, never a half-moved range. A command killed
    in between leaves the marks of the ranges not yet moved; the next one moves them.
    """
    if _needs_survey(con, table):
        survey_blocks(con, table)
    cells = dirty_cells(con, table)
    tail = "tail" in _marks(con, table)
    whole = force or not _state(con, table)
    if not whole and not cells and not tail:
        return False
    ranges: list[tuple[int, int]] = []
    if not whole:
        total = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchall()[0][0]
        counted = settle_ranges(con, table, cells, tail)
        ranges = [r for _, r in counted]
        whole = sum(n for n, _ in counted) > FULL_REWRITE_SHARE * total
    label = f"sorting {table} by hpx29" if whole else \
        f"settling {len(ranges)} sky range{'s' if len(ranges) != 1 else ''} of {table}"
    step = progress.step(con, label) if progress else nullcontext()
    with step:
        if whole:
            with transaction(con):
                _rewrite_sorted(con, table)
                _settled(con, table, whole=True)
                _mark(con, table, "survey")
        else:
            for cell_range in ranges:
                with transaction(con):
                    _rewrite_range(con, table, cell_range)
            with transaction(con):
                _settled(con, table, whole=False)
    if whole:
        survey_blocks(con, table)     # checkpoints first
    else:
        con.execute("CHECKPOINT")
    return True


def _settled(con: duckdb.DuckDBPyConnection, table: str, *, whole: bool) -> None:
    con.execute("DELETE FROM storage_dirty WHERE table_name = ?", [table])
    con.execute("DELETE FROM storage_marks WHERE table_name = ? AND mark = 'tail'", [table])
    _set_state(con, table, True, optimized=whole)


def _rewrite_range(con: duckdb.DuckDBPyConnection, table: str,
                   cell_range: tuple[int, int]) -> None:
    """Append the rows of ``[lo, hi)`` again in hpx29 order, delete their old copies, and
    record the new row groups as the range's blocks, replacing those it absorbed.

    The copies are told apart by rowid: rows appended in this transaction carry rowids
    above every committed row's (DuckDB numbers transaction-local rows from its MAX_ROW_ID,
    36,028,797,018,960,000, just below 2^55), in the order they were appended, and DuckDB
    cuts them into row groups of :data:`ROW_GROUP_ROWS` in that order (checked against
    ``pragma_storage_info`` by tests/test_loaders_optimize.py)."""
    lo, hi = cell_range
    where = ranges_sql([cell_range])
    last = con.execute(f"SELECT max(rowid) FROM {quote(table)}").fetchall()[0][0]
    con.execute("DELETE FROM storage_blocks WHERE table_name = ? AND lo < ? AND hi >= ?",
                [table, hi, lo])
    con.execute("DELETE FROM storage_dirty WHERE table_name = ? AND cell >= ? AND cell < ?",
                [table, lo >> CELL_SHIFT, -(-hi >> CELL_SHIFT)])
    if last is None:
        return
    con.execute(f"INSERT INTO {quote(table)} SELECT * FROM {quote(table)} WHERE {where} "
                "ORDER BY hpx29")
    con.execute(f"DELETE FROM {quote(table)} WHERE {where} AND rowid <= {int(last)}")
    seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM storage_blocks WHERE "
                      "table_name = ?", [table]).fetchall()[0][0]
    con.execute(
        "INSERT INTO storage_blocks SELECT ?, ? + g, min(hpx29), max(hpx29), count(*) FROM "
        f"(SELECT hpx29, (rowid - min(rowid) OVER ()) // {ROW_GROUP_ROWS} AS g FROM "
        f"{quote(table)} WHERE {where} AND rowid > {int(last)}) GROUP BY g",
        [table, seq])


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
