"""Load files into the database, one transaction per file.

Release files take the fast path: in one transaction their rows stream from DuckDB's CSV
reader (fed through a pipe by a thread that decompresses the file once and bounds its lines,
``pipe.py``) straight into the table, in hpx29 order, every row-level check evaluated in the
same statement; the keys are checked after it, and the transaction commits only if every check
passes. On any failure the transaction rolls back and the file is read again through a staging
table, whose row order gives the line and column for the message. Gator tables and VOTables
(small) always go through the staging table. Either way the database is exactly as before a
failed file. A file already loaded (same sha256) is skipped unless ``replace`` is set, in which
case its earlier rows are swapped out in the same transaction. The sky cells a load left out
of hpx29 order are settled once per command (optimize.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from catscan import __version__
from catscan.db import schema_version, transaction
from catscan.errors import LoadError
from catscan.progress import Progress
from catscan.spatial import MATCH_CELL_COLUMN, match_cell_sql

from . import pipe
from .delivery import coadd_key_sql
from .optimize import finish_sorts, mark_appended_in_order, mark_unsorted
from .readers import STAGE, ReleaseSource, detect_format, stage_file
from .schema_info import file_columns, quote, table_columns
from .tables import DERIVED_COLUMNS, RULES, TableRules
from .validate import has_violations, release_violation_sql, validate


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


def as_given(path: str | Path) -> Path:
    """``path`` made absolute as the user named it: symlinks are not resolved, so messages
    and the ``loads`` table name the path given, not its target."""
    return Path(os.path.abspath(path))


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class _Audit:
    """What the ``loads`` row says about the input, written in the load's transaction."""
    path: Path
    sha256: str
    bytes: int
    format: str
    started: datetime


class CheckFailed(Exception):
    """The fast path found bad input: roll back and let the staged path say where."""


def load_file(con: duckdb.DuckDBPyConnection, table: str, path: str | Path, *,
              replace: bool = False, progress: Progress | None = None) -> LoadResult:
    """Load one release file, Gator IPAC table or VOTable into ``table`` atomically."""
    rules = RULES[table]
    progress = progress or Progress(enabled=False)
    path = as_given(path)
    if not path.is_file():
        raise LoadError(str(path), "no such file")
    started = datetime.now(UTC)
    digest, size = sha256_of(path)
    previous = [row[0] for row in con.execute(
        "SELECT load_id FROM loads WHERE kind = ? AND sha256 = ? AND status = 'loaded' "
        "ORDER BY load_id", [table, digest]).fetchall()]
    result = LoadResult(path, table, replaced=previous)
    if previous and not replace:
        result.skipped = True
        return result
    fmt = detect_format(path)
    audit = _Audit(path, digest, size, fmt, started)
    try:
        if fmt == "release":
            try:
                with progress.step(con, f"loading {path.name}"):
                    result.rows, result.load_id = _load_release(con, rules, audit, previous)
            except (duckdb.Error, CheckFailed) as failure:
                with progress.step(con, f"finding the error in {path.name}"):
                    _diagnose(con, rules, path, previous, failure)
        else:
            with progress.step(con, f"reading {path.name}"):
                staged = stage_file(con, path, rules)
                validate(con, rules, staged, previous)
            with progress.step(con, f"writing {staged.rows:,} rows into {table}"), \
                    transaction(con):
                load_id = _begin_load(con, rules, audit, previous)
                _insert_staged(con, table, load_id, rules)
                result.rows, result.load_id = staged.rows, load_id
            result.ignored_columns = staged.ignored
        finished = con.execute("SELECT finished FROM loads WHERE load_id = ?",
                               [result.load_id]).fetchone()[0]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    result.format = fmt
    result.seconds = (finished - started).total_seconds()
    return result


def _begin_load(con: duckdb.DuckDBPyConnection, rules: TableRules, audit: _Audit,
                previous: list[int]) -> int:
    """Inside the load transaction: take a load_id, swap out replaced rows, write the
    audit row (its row count and end time are completed before COMMIT)."""
    load_id = con.execute("SELECT nextval('loads_seq')").fetchone()[0]
    if previous:
        ids = ", ".join(str(int(i)) for i in previous)
        con.execute(f"DELETE FROM {quote(rules.table)} WHERE load_id IN ({ids})")
        con.execute(f"UPDATE loads SET status = 'replaced', replaced_by = ? "
                    f"WHERE load_id IN ({ids})", [load_id])
    con.execute(
        "INSERT INTO loads (load_id, kind, target, path, sha256, bytes, format, rows_accepted, "
        "rejects, catscan_version, schema_version, started, finished) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        [load_id, rules.table, rules.table, str(audit.path), audit.sha256, audit.bytes,
         audit.format, json.dumps([]), __version__, schema_version(), audit.started,
         audit.started])
    return load_id


def _finish_load(con: duckdb.DuckDBPyConnection, rules: TableRules, load_id: int,
                 rows: int) -> None:
    con.execute("UPDATE loads SET rows_accepted = ?, finished = ? WHERE load_id = ?",
                [rows, datetime.now(UTC), load_id])
    if rules.after_insert and any(c.name == "scan_key" for c in file_columns(con, rules.table)):
        con.execute(rules.after_insert.format(table=quote(rules.table), load_id=int(load_id)))


def _insert_columns(con: duckdb.DuckDBPyConnection, table: str, load_id: int,
                    hpx29: str) -> tuple[list[str], list[str]]:
    """Target column names and the SQL for each value, from a source of file columns and
    ``hpx29``, the name of a source column holding the HEALPix index."""
    names, values = [], []
    for col in table_columns(con, table):
        names.append(quote(col.name))
        if col.name == "load_id":
            values.append(str(int(load_id)))
        elif col.name == "hpx29":
            values.append(hpx29)
        elif col.name == MATCH_CELL_COLUMN:
            values.append(match_cell_sql(hpx29))
        elif col.name in DERIVED_COLUMNS:
            values.append(DERIVED_COLUMNS[col.name])
        else:
            values.append(quote(col.name))
    return names, values


def _load_release(con: duckdb.DuckDBPyConnection, rules: TableRules, audit: _Audit,
                  previous: list[int]) -> tuple[int, int]:
    """The fast path: read, insert and check in one transaction. Returns (rows, load_id)."""
    with transaction(con):
        load_id = _begin_load(con, rules, audit, previous)
        rows, columns = insert_release_file(con, rules, audit.path, load_id)
        if has_violations(con, rules, columns, load_id):  # keys: the rows' checks ran already
            raise CheckFailed()
        _finish_load(con, rules, load_id, rows)
    return rows, load_id


def insert_release_file(con: duckdb.DuckDBPyConnection, rules: TableRules, path: Path,
                        load_id: int) -> tuple[int, list[str]]:
    """Stream a release file into its table inside the caller's transaction, with
    ``load_id`` on every row. Returns (rows, file columns). Raises CheckFailed (or a DuckDB
    error) on bad input; the caller checks the keys (``has_violations``) and, after rolling
    back, stages the file to say where the problem is."""
    return insert_release_files(con, rules, [path], load_id)


OWNERS = "catscan_owners"


def insert_release_files(con: duckdb.DuckDBPyConnection, rules: TableRules, paths: list[Path],
                         load_id: int, owners: pa.Table | None = None
                         ) -> tuple[int, list[str]]:
    """Like :func:`insert_release_file` for several files in one statement (one parse of the
    column spec, both cores on the whole set). ``owners`` has one row per file (``o_file``
    and the ``o_scan_key, o_date, o_hemis, o_scan`` its rows must carry): a row of another
    scan (or a ``coadd_key`` other than the delivery format's ``1000 × scan_key + coadd``)
    fails the insert, which the caller then diagnoses file by file.

    Every row-level check runs in the same scan (:func:`release_violation_sql`): a row that
    breaks one gets a NULL ``hpx29``, which the NOT NULL column refuses, as DuckDB itself
    refuses a bad field, a NOT NULL or a CHECK. Rows of big tables are inserted in ``hpx29``
    order (the statement sorts them), so the table stays in order when it was empty or the
    new rows all sort after its rows."""
    table = rules.table
    columns = file_columns(con, table)
    piped = owners is None and len(paths) == 1 and pipe.available()
    sources = [ReleaseSource.of(p, columns, check=not piped) for p in paths]
    if len({s.trailing for s in sources}) > 1:      # files differ: one statement each
        rows = sum(insert_release_files(con, rules, [p], load_id, owners)[0] for p in paths)
        return rows, [c.name for c in columns]
    source = ReleaseSource(paths[0] if len(paths) == 1 else list(paths), columns,
                           sources[0].trailing)
    names = [c.name for c in columns]
    # hpx29 is NOT NULL: a row that breaks a rule below gets NULL and fails the insert
    rules_sql = ["coalesce(catscan_tail, '') = ''"] if source.trailing else []
    violated = release_violation_sql(con, rules, names)
    if violated:
        rules_sql.append(f"NOT coalesce({violated}, false)")
    joined = ""
    if owners is not None:
        rules_sql.append("scan_key = o_scan_key AND date = o_date AND hemis = o_hemis "
                         "AND scan = o_scan AND coadd_key IS NOT DISTINCT FROM "
                         + coadd_key_sql("o_scan_key", "coadd"))
        joined = f" JOIN {OWNERS} ON o_file = filename"
    hpx29 = "hpx29(ra, dec)" if not rules_sql else \
        f"CASE WHEN {' AND '.join(rules_sql)} THEN hpx29(ra, dec) END"
    targets, values = _insert_columns(con, table, load_id, "catscan_hpx29")
    sort = rules.sorted_by_hpx29
    # fetchall: a result left open by fetchone() would refuse the register() below
    old_max = con.execute(f"SELECT max(hpx29) FROM {quote(table)}").fetchall()[0][0] \
        if sort else None
    if not sort:
        con.execute("SET preserve_insertion_order = false")  # parse on every core
    if owners is not None:
        con.register(OWNERS, owners)
    statement = (f"INSERT INTO {quote(table)} ({', '.join(targets)}) "
                 f"SELECT {', '.join(values)} FROM (SELECT *, {hpx29} AS catscan_hpx29 FROM "
                 f"{source.sql(with_filename=owners is not None, rejects=False)}{joined})"
                 + (" ORDER BY catscan_hpx29" if sort else ""))
    try:
        with pipe.stream(paths[0], len(columns)) if piped else nullcontext() as name:
            rows = source.run(con, statement, name).fetchone()[0]
    finally:
        con.execute("RESET preserve_insertion_order")
        if owners is not None:
            con.unregister(OWNERS)
    if rows == 0 and not rules.may_be_empty:
        raise CheckFailed()
    # a release file appended after every row of the table leaves nothing to settle (nights
    # still mark their cells: tests/test_loaders_night_crash.py kills a load in the settle
    # that follows its last night, whose rows sort after the others')
    if sort and owners is None and _in_order(con, table, load_id, old_max):
        mark_appended_in_order(con, table)
        return rows, names
    if rules.sorted_by_hpx29:
        mark_unsorted(con, table, load_id=load_id)
    return rows, names


def _in_order(con: duckdb.DuckDBPyConnection, table: str, load_id: int,
              old_max: int | None) -> bool:
    """After rows were appended in hpx29 order: whether they all sort at or after the rows
    the table held before (largest ``old_max``), so that the table's order holds as it was."""
    new_min = con.execute(f"SELECT min(hpx29) FROM {quote(table)} WHERE load_id = ?",
                          [load_id]).fetchall()[0][0]
    return old_max is None or new_min is None or new_min >= old_max


def _diagnose(con: duckdb.DuckDBPyConnection, rules: TableRules, path: Path,
              previous: list[int], failure: Exception) -> None:
    """After a failed fast load (rolled back): stage the file to name the bad line."""
    staged = stage_file(con, path, rules)
    validate(con, rules, staged, previous)
    detail = str(failure).strip().split("\n")[0] or "the load failed"
    raise LoadError(str(path), detail)


def _insert_staged(con: duckdb.DuckDBPyConnection, table: str, load_id: int,
                   rules: TableRules) -> None:
    """INSERT checked staged rows (hpx29 already computed while staging)."""
    names, values = _insert_columns(con, table, load_id, "hpx29")
    order = " ORDER BY hpx29" if rules.sorted_by_hpx29 else ""
    if rules.sorted_by_hpx29:
        mark_unsorted(con, table, new_rows=STAGE)
    rows = con.execute(f"INSERT INTO {quote(table)} ({', '.join(names)}) "
                       f"SELECT {', '.join(values)} FROM {STAGE}{order}").fetchone()[0]
    _finish_load(con, rules, load_id, rows)


def load_files(con: duckdb.DuckDBPyConnection, table: str, paths: list[str | Path], *,
               replace: bool = False, progress: Progress | None = None,
               on_result=None) -> list[LoadResult]:
    """Load several files, each atomically, then restore the hpx29 order once (of this
    table, and of any other an earlier, interrupted command left unsorted).

    Stops at the first bad file (the files before it stay loaded, each whole).
    """
    results: list[LoadResult] = []
    try:
        for path in paths:
            result = load_file(con, table, path, replace=replace, progress=progress)
            results.append(result)
            if on_result:
                on_result(result)
    except BaseException:
        if any(not r.skipped for r in results):  # sort what this command loaded
            finish_sorts(con, progress=progress)
        raise
    finish_sorts(con, progress=progress)  # also a sort an earlier, killed command left undone
    return results
