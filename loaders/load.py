"""Load files into the database, one transaction per file.

A file is read and checked in a staging table first; only then, in one transaction, are its
rows inserted (in hpx29 order) together with its ``loads`` audit row. Any error rolls the
transaction back, so the database is exactly as before. A file already loaded (same sha256)
is skipped unless ``replace`` is set, in which case its earlier rows are swapped out in the
same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from catscan import __version__
from catscan.db import schema_version, transaction
from catscan.errors import LoadError
from catscan.progress import Progress

from .optimize import mark_insert, optimize
from .readers import STAGE, stage_file
from .schema_info import quote, table_columns
from .tables import DERIVED_COLUMNS, RULES
from .validate import validate


@dataclass
class LoadResult:
    path: Path
    table: str
    rows: int = 0
    load_id: int | None = None
    format: str = ""
    skipped: bool = False
    replaced: list[int] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.skipped:
            return (f"{self.path}: already loaded into {self.table} (same sha256); "
                    "skipped (use --replace to reload)")
        verb = "reloaded" if self.replaced else "loaded"
        extra = f"; ignored columns: {', '.join(self.ignored_columns)}" \
            if self.ignored_columns else ""
        return (f"{self.path}: {verb} {self.rows:,} rows into {self.table} "
                f"({self.format}, load {self.load_id}, {self.seconds:.1f} s){extra}")


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def load_file(con: duckdb.DuckDBPyConnection, table: str, path: str | Path, *,
              replace: bool = False, progress: Progress | None = None) -> LoadResult:
    """Load one release file, Gator IPAC table or VOTable into ``table`` atomically."""
    rules = RULES[table]
    progress = progress or Progress(enabled=False)
    path = Path(path).resolve()
    if not path.is_file():
        raise LoadError(str(path), "no such file")
    started = datetime.now(UTC)
    digest, size = sha256_of(path)
    previous = [row[0] for row in con.execute(
        "SELECT load_id FROM loads WHERE kind = ? AND sha256 = ? AND status = 'loaded' "
        "ORDER BY load_id", [table, digest]).fetchall()]
    result = LoadResult(path, table)
    if previous and not replace:
        result.skipped = True
        return result
    try:
        with progress.step(con, f"reading {path.name}"):
            staged = stage_file(con, path, rules)
        with progress.step(con, f"checking {path.name}"):
            validate(con, rules, staged, previous)
        with progress.step(con, f"writing {staged.rows:,} rows into {table}"):
            with transaction(con):
                load_id = con.execute("SELECT nextval('loads_seq')").fetchone()[0]
                if previous:
                    ids = ", ".join(str(i) for i in previous)
                    con.execute(f"DELETE FROM {quote(table)} WHERE load_id IN ({ids})")
                    con.execute(f"UPDATE loads SET status = 'replaced', replaced_by = ? "
                                f"WHERE load_id IN ({ids})", [load_id])
                _insert(con, table, load_id, rules.sorted_by_hpx29)
                if rules.after_insert and "scan_key" in staged.columns:
                    con.execute(rules.after_insert)
                finished = datetime.now(UTC)
                con.execute(
                    "INSERT INTO loads (load_id, kind, target, path, sha256, bytes, format, "
                    "rows_accepted, rows_rejected, rejects, catscan_version, schema_version, "
                    "started, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                    [load_id, table, table, str(path), digest, size, staged.format,
                     staged.rows, json.dumps([]), __version__, schema_version(), started,
                     finished])
    finally:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    result.rows, result.load_id, result.format = staged.rows, load_id, staged.format
    result.replaced, result.ignored_columns = previous, staged.ignored
    result.seconds = (finished - started).total_seconds()
    return result


def _insert(con: duckdb.DuckDBPyConnection, table: str, load_id: int, sort: bool) -> None:
    """INSERT the staged rows with the derived columns, in hpx29 order for big tables."""
    names, values = [], []
    for col in table_columns(con, table):
        names.append(quote(col.name))
        if col.name == "load_id":
            values.append(str(int(load_id)))
        elif col.name in DERIVED_COLUMNS:
            values.append(DERIVED_COLUMNS[col.name])
        else:
            values.append(quote(col.name))
    order = " ORDER BY hpx29" if sort else ""
    if sort:
        mark_insert(con, table, STAGE)
    con.execute(f"INSERT INTO {quote(table)} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM {STAGE}{order}")


def load_files(con: duckdb.DuckDBPyConnection, table: str, paths: list[str | Path], *,
               replace: bool = False, progress: Progress | None = None,
               on_result=None) -> list[LoadResult]:
    """Load several files, each atomically, then restore the table's hpx29 order once.

    Stops at the first bad file (the files before it stay loaded, each whole).
    """
    results = []
    try:
        for path in paths:
            result = load_file(con, table, path, replace=replace, progress=progress)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        if RULES[table].sorted_by_hpx29:  # also finishes a sort an earlier kill interrupted
            optimize(con, table, progress=progress)
    return results
