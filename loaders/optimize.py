"""Keep big tables in hpx29 order so that DuckDB's zone maps prune spatial queries.

Each load inserts its rows sorted; the table stays sorted as long as every load's rows start
at or after the previous maximum. ``catalog_state.sorted`` records that, so the (costly)
full re-sort runs only when a load broke the order, once at the end of a load command.
"""

from __future__ import annotations

import duckdb

from catscan.db import transaction

from .schema_info import quote


def _state(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute("SELECT sorted FROM catalog_state WHERE table_name = ?",
                      [table]).fetchone()
    return True if row is None else bool(row[0])


def mark_insert(con: duckdb.DuckDBPyConnection, table: str, new_rows: str) -> None:
    """Inside the load transaction: record whether appending ``new_rows`` keeps the order."""
    old_max = con.execute(f"SELECT max(hpx29) FROM {quote(table)}").fetchone()[0]
    new_min = con.execute(f"SELECT min(hpx29) FROM {new_rows}").fetchone()[0]
    still = _state(con, table) and (old_max is None or new_min is None or new_min >= old_max)
    con.execute("INSERT OR REPLACE INTO catalog_state (table_name, sorted) VALUES (?, ?)",
                [table, still])


def is_sorted(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return _state(con, table)


def optimize(con: duckdb.DuckDBPyConnection, table: str, *, force: bool = False,
             progress=None) -> bool:
    """Rewrite ``table`` in hpx29 order if a load left it unsorted. Returns True if rewritten.

    One transaction: readers see either the old or the new order, never a half-written table.
    """
    if not force and _state(con, table):
        return False
    step = progress.step(con, f"sorting {table} by hpx29") if progress else None
    if step:
        step.__enter__()
    try:
        with transaction(con):
            con.execute(f"CREATE TEMP TABLE catscan_sorted AS "
                        f"SELECT * FROM {quote(table)} ORDER BY hpx29")
            con.execute(f"DELETE FROM {quote(table)}")
            con.execute(f"INSERT INTO {quote(table)} SELECT * FROM catscan_sorted")
            con.execute("DROP TABLE catscan_sorted")
            con.execute("INSERT OR REPLACE INTO catalog_state (table_name, sorted, optimized_at) "
                        "VALUES (?, true, current_timestamp)", [table])
        con.execute("CHECKPOINT")
    finally:
        if step:
            step.__exit__(None, None, None)
    return True
