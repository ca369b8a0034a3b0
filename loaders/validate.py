"""Checks on a staged file before anything is written: the first failure is an error that
names the file, the line and the column.

The checks come from the schema (NOT NULL and CHECK constraints), from the release format
(columns never null in release files; finite numbers; what each text column may hold; no
control characters in any text) and from the catalogue (designation consistent with ra/dec;
record keys unique in the file and in the table).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from catscan.designation import designation_matches_sql
from catscan.errors import LoadError

from .readers import STAGE, Staged
from .schema_info import check_constraints, file_columns, quote
from .tables import TableRules

# ASCII control characters (NUL, tab, ESC, DEL, ...): never part of a catalogue text value.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"


@dataclass(frozen=True)
class Check:
    column: str
    violated: str     # SQL that is true on a bad row
    message: str
    kind: str = "row"  # or "schema": a NOT NULL or CHECK of the table (the INSERT enforces it)



def checks_for(con: duckdb.DuckDBPyConnection, rules: TableRules, fmt: str,
               columns: list[str]) -> list[Check]:
    """Every row-level check that applies to this table, input format and file columns."""
    present = set(columns)
    checks: list[Check] = []
    for col in file_columns(con, rules.table):
        q = quote(col.name)
        required = col.not_null or (fmt == "release" and col.name in rules.release_required)
        if required:
            checks.append(Check(col.name, f"{q} IS NULL",
                                "missing value (null not allowed)" if col.name in present
                                else "column missing from the file",
                                "schema" if col.not_null else "row"))
        if col.type in ("DOUBLE", "FLOAT") and col.name in present:
            checks.append(Check(col.name, f"NOT isfinite({q})", "not a finite number"))
        if col.type == "VARCHAR" and col.name in present and col.name not in rules.alphabets:
            checks.append(Check(col.name, f"regexp_matches({q}, '{CONTROL_CHARACTERS}')",
                                "control character in a text value"))
    for column, expression in check_constraints(con, rules.table):
        if column in present:
            checks.append(Check(column, f"NOT coalesce(({expression}), true)",
                                f"value out of range: must satisfy {expression}", "schema"))
    if rules.check_designation and {"designation", "ra", "dec"} <= present:
        checks.append(Check(
            "designation", f"NOT {designation_matches_sql('designation', 'ra', 'dec')}",
            "designation does not match ra/dec (truncated hhmmssss+ddmmsss rule)"))
    for column, (pattern, meaning) in rules.alphabets.items():
        if column in present:
            checks.append(Check(column, f"NOT regexp_full_match({quote(column)}, '{pattern}')",
                                f"not a valid {column}: must be {meaning}"))
    return checks


def release_violation_sql(con: duckdb.DuckDBPyConnection, rules: TableRules,
                          columns: list[str]) -> str | None:
    """The checks of :func:`checks_for` on release rows as one SQL condition over the reader's
    columns, true on a row that breaks any (None: no checks). The fast path evaluates it in the
    scan that inserts the rows, so no check reads them again. It leaves out what the INSERT
    enforces itself (the table's NOT NULL and CHECK constraints). The staged path
    (:func:`validate`) runs the same checks one by one to say which failed where."""
    parts = [c.violated for c in checks_for(con, rules, "release", columns)
             if c.kind != "schema"]
    return " OR ".join(f"({p})" for p in parts) if parts else None


def validate(con: duckdb.DuckDBPyConnection, rules: TableRules, staged: Staged,
             replacing: list[int]) -> None:
    """Raise LoadError at the first bad record; ``replacing`` are load_ids being replaced."""
    checks = checks_for(con, rules, staged.format, staged.columns)
    if checks:
        firsts = ", ".join(f"min(CASE WHEN {c.violated} THEN rowid END)" for c in checks)
        found = con.execute(f"SELECT {firsts} FROM {STAGE}").fetchone()
        bad = [(row, i) for i, row in enumerate(found) if row is not None]
        if bad:
            row, i = min(bad)
            value = con.execute(f"SELECT CAST({quote(checks[i].column)} AS VARCHAR) "
                                f"FROM {STAGE} WHERE rowid = ?", [row]).fetchone()[0]
            shown = "" if value is None else f" ({value!r})"
            raise LoadError(str(staged.path), checks[i].message + shown,
                            line=staged.locate(row), column=checks[i].column,
                            where=staged.where)
    _check_keys(con, rules, staged, replacing)


def has_violations(con: duckdb.DuckDBPyConnection, rules: TableRules, columns: list[str],
                   load_id: int, sky: str | None = None) -> bool:
    """The check the fast path cannot make row by row while inserting (the rows' own checks
    ran in the INSERT, :func:`release_violation_sql`): whether a record key of the rows
    inserted with ``load_id`` repeats, among them or in the table. Only whether; the staged
    path then says where. Reads the new rows' keys once; the table's other rows only in the
    new keys' range, and joins them only if some lie there. ``sky`` (an SQL predicate on
    hpx29 covering the new rows) limits the table's rows to that part of it: a night's check
    then reads the row groups of its own sky, not the whole catalogue."""
    if rules.key not in columns:
        return False
    table, key = quote(rules.table), quote(rules.key)
    repeats, low, high = con.execute(
        f"SELECT count({key}) - count(DISTINCT {key}), min({key}), max({key}) FROM {table} "
        f"WHERE load_id = ?", [load_id]).fetchone()
    if repeats or low is None:
        return bool(repeats)
    others = f"FROM {table} WHERE load_id <> ? AND {key} BETWEEN ? AND ?" \
        + (f" AND {sky}" if sky else "")
    if not con.execute(f"SELECT count(*) {others}", [load_id, low, high]).fetchone()[0]:
        return False
    return con.execute(
        f"SELECT count(*) {others} AND {key} IN (SELECT {key} FROM {table} WHERE load_id = ?)",
        [load_id, low, high, load_id]).fetchone()[0] > 0


def check_unique(con: duckdb.DuckDBPyConnection, staged: Staged, column: str) -> None:
    """Refuse the first staged record whose ``column`` repeats an earlier record's value, at
    the repeat's line, naming the line of the first."""
    q = quote(column)
    found = con.execute(
        f"SELECT rowid, {q}, first FROM (SELECT rowid, {q}, row_number() OVER w AS k, "
        f"min(rowid) OVER w AS first FROM {STAGE} WHERE {q} IS NOT NULL "
        f"WINDOW w AS (PARTITION BY {q} ORDER BY rowid)) WHERE k = 2 "
        f"ORDER BY rowid LIMIT 1").fetchall()
    if found:
        row, value, first = found[0]
        raise LoadError(str(staged.path), f"duplicate {column} {value}: already on "
                        f"{staged.where} {staged.locate(first)} of this file",
                        line=staged.locate(row), column=column, where=staged.where)


def _check_keys(con, rules: TableRules, staged: Staged, replacing: list[int]) -> None:
    if rules.key not in staged.columns:
        return
    key = quote(rules.key)
    check_unique(con, staged, rules.key)
    kept = (f"t.load_id NOT IN ({', '.join(str(int(i)) for i in replacing)})"
            if replacing else "true")
    clash = con.execute(
        f"SELECT s.rowid, s.{key}, l.path FROM {STAGE} s "
        f"JOIN {quote(rules.table)} t ON t.{key} = s.{key} "
        f"LEFT JOIN loads l ON l.load_id = t.load_id "
        f"WHERE {kept} "
        f"ORDER BY s.rowid LIMIT 1").fetchone()
    if clash:
        origin = f" (loaded from {clash[2]})" if clash[2] else ""
        raise LoadError(str(staged.path),
                        f"{rules.key} {clash[1]} is already in table {rules.table}{origin}",
                        line=staged.locate(clash[0]), column=rules.key, where=staged.where)
