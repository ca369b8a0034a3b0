"""Read a table's shape from the database catalog: the loaders' view of ``schema/*.sql``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from .tables import DERIVED_COLUMNS


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[Column]:
    """All columns of a main-schema table, in order."""
    rows = con.execute(
        "SELECT column_name, data_type, NOT is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? ORDER BY column_index", [table]).fetchall()
    return [Column(*row) for row in rows]


def file_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[Column]:
    """The columns an input file carries: all but those the loader derives."""
    return [c for c in table_columns(con, table) if c.name not in DERIVED_COLUMNS]


def check_constraints(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, SQL expression) of each single-column CHECK constraint of a table."""
    rows = con.execute(
        "SELECT constraint_column_names, constraint_text FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? AND constraint_type = 'CHECK'", [table]).fetchall()
    checks = []
    for columns, text in rows:
        match = re.fullmatch(r"CHECK\((.*)\)", text.strip(), flags=re.S)
        if match and len(set(columns)) == 1:
            checks.append((columns[0], match.group(1)))
    return checks


def sql_string(text: str | object) -> str:
    """``text`` (e.g. a path) as an SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def column_comments(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, tuple[str, str]]:
    """(unit, description) of each commented column, from ``COMMENT ON COLUMN`` texts
    written as ``'[unit] description'`` (``[]`` for no unit)."""
    rows = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? AND comment IS NOT NULL", [table]).fetchall()
    out = {}
    for name, text in rows:
        match = re.fullmatch(r"\[([^\]]*)\]\s*(.*)", text.strip(), flags=re.S)
        out[name] = (match.group(1), match.group(2)) if match else ("", text.strip())
    return out
