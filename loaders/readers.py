"""Input readers: put one file's rows, typed by the schema, into a staging table.

Release files (IRSA ftp/DVD: ``|``-separated, ``\\N`` nulls, gzipped or plain, optional
trailing ``|``) go through DuckDB's CSV reader, so a 20-million-row file streams in bounded
memory. Gator IPAC tables and VOTables (small imports, tests) go through astropy. Either way
the staging table keeps the file's row order, so its ``rowid`` k is the file's k-th record.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa

from catscan.errors import LoadError

from .schema_info import Column, file_columns, quote, table_columns
from .tables import TableRules

STAGE = "catscan_stage"
_REJECTS, _REJECT_SCANS = "catscan_rejects", "catscan_reject_scans"


@dataclass
class Staged:
    """A file staged for loading."""
    path: Path
    format: str                       # release | ipac | votable
    rows: int
    columns: list[str]                # the file columns present (ours, after aliases)
    ignored: list[str] = field(default_factory=list)  # input columns the table lacks

    @property
    def where(self) -> str:
        """How a record is located in messages: by file line, or by VOTable row."""
        return "row" if self.format == "votable" else "line"

    def locate(self, index: int) -> int:
        """The 1-based file line (or VOTable row) of staged record ``index`` (0-based)."""
        if self.format == "votable":
            return index + 1
        for k, line_no in enumerate(_record_lines(self.path, self.format)):
            if k == index:
                return line_no
        return index + 1


try:    # ISA-L's inflate: the same gzip format in under half of zlib's CPU time
    from isal import igzip as _gzip
    from isal import isal_zlib
    _READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error,
                                                     isal_zlib.error)
except ImportError:         # pragma: no cover - isal is a dependency; plain zlib works too
    _gzip = gzip
    _READ_ERRORS = (OSError, EOFError, zlib.error)


def _open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, uncompressed if it is gzipped (whatever its name says)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return _gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _open_text(path: Path):
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8", errors="replace")


# Release records are short (the widest PSC/XSC field, a designation or a full-precision
# double, takes under 25 bytes): a line longer than this per field, or with more fields than
# a record, is refused before DuckDB's reader sees it, whose reject bookkeeping costs time
# growing with the square of a line's field count (a 100 kB line of "|" took 85 s).
MAX_FIELD_BYTES = 32
_CHUNK = 1 << 22


def check_lines(path: Path, fields: int) -> None:
    """Refuse the first line longer than ``fields × MAX_FIELD_BYTES`` bytes or with more than
    ``fields`` ``|`` separators (a record has ``fields - 1``, and one more when the line ends
    with ``|``), reading the file once in vectorised chunks; a line is refused as soon as it
    is known to be too long, without reading the rest of it."""
    for _ in bounded_chunks(path, fields):
        pass


def bounded_chunks(path: Path, fields: int, count_fields: bool = True) -> Iterator[bytes]:
    """The file's bytes, uncompressed, in chunks, each yielded only after its lines passed
    :func:`check_lines`'s bounds (without ``count_fields``, the length alone: enough for a
    reader that keeps no rejects, whose time grows only linearly with surplus fields)."""
    limit = fields * MAX_FIELD_BYTES
    line, length, bars = 1, 0, 0        # the line being read, and its bytes and | so far
    try:
        with _open_bytes(path) as handle:
            while chunk := handle.read(_CHUNK):
                data = np.frombuffer(chunk, np.uint8)
                ends = np.flatnonzero(data == 0x0A)
                starts, stops = np.r_[0, ends + 1], np.r_[ends, len(data)]
                lengths = stops - starts
                lengths[0] += length
                if count_fields:
                    at = np.flatnonzero(data == 0x7C)
                    counts = np.searchsorted(at, stops) - np.searchsorted(at, starts)
                    counts[0] += bars
                    bad = np.flatnonzero((lengths > limit) | (counts > fields))
                else:
                    counts = np.zeros(1, np.int64)
                    bad = np.flatnonzero(lengths > limit)
                if len(bad):
                    k = int(bad[0])
                    message = (f"line longer than {limit:,} bytes: not a record of {fields} "
                               f"fields (at most {MAX_FIELD_BYTES} bytes each)"
                               if lengths[k] > limit else
                               f"wrong field count: expected {fields} fields ({fields - 1} "
                               f"| separators, {fields} with a trailing |), found "
                               f"{counts[k]:,} separators")
                    raise LoadError(str(path), message, line=line + k)
                line += len(ends)
                length, bars = int(lengths[-1]), int(counts[-1])
                yield chunk
    except _READ_ERRORS as exc:
        raise LoadError(str(path), f"cannot read after line {line - 1}: {exc}") from None


def _record_lines(path: Path, fmt: str) -> Iterator[int]:
    """Line numbers of the data records, in order (only used to report an error)."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if fmt == "ipac" and text[:1] in ("\\", "|"):
                continue
            yield number


def detect_format(path: Path) -> str:
    """release | ipac | votable, from the first bytes (the name may say .gz or nothing)."""
    with _open_text(path) as handle:
        head = handle.read(4096)
    stripped = head.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<VOTABLE"):
        return "votable"
    if stripped[:1] in ("\\", "|"):
        return "ipac"
    return "release"


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, rules: TableRules) -> Staged:
    """Read ``path`` into the temp table ``catscan_stage`` with the table's file columns."""
    fmt = detect_format(path)
    columns = file_columns(con, rules.table)
    # The HEALPix key is computed while the rows stream in, so sorting needs no extra copy.
    extra = ", hpx29(ra, dec) AS hpx29" if any(
        c.name == "hpx29" for c in table_columns(con, rules.table)) else ""
    if fmt == "release":
        return _stage_release(con, path, columns, extra)
    return _stage_astropy(con, path, fmt, columns, rules, extra)


def _first_record(path: Path) -> str:
    with _open_text(path) as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


TAIL = "catscan_tail"  # the empty field after a trailing "|"


@dataclass(frozen=True)
class ReleaseSource:
    """``read_csv(...)`` of one release file, with its rejects kept for the error message.

    A trailing "|" is allowed, file by file as its first line shows; DuckDB's reader then
    sees one more field (``catscan_tail``), which must stay empty.
    """
    path: Path | list[Path]           # one file, or several read as one
    columns: list[Column]
    trailing: bool

    @classmethod
    def of(cls, path: Path, columns: list[Column], check: bool = True) -> ReleaseSource:
        """The source of one file, after :func:`check_lines` has bounded its lines (unless
        the caller bounds them while feeding the reader, ``pipe.stream``)."""
        if check:
            check_lines(path, len(columns))
        return cls(path, columns, _first_record(path).endswith("|"))

    def sql(self, with_filename: bool = False, rejects: bool = True) -> str:
        """The table function; the file name (or list) is the statement's one parameter.
        ``with_filename`` adds DuckDB's ``filename`` column (which file a row came from).
        Without ``rejects`` the first bad line fails the statement: the fast path's way (it
        then rolls back and stages the file, with rejects, to say where)."""
        fields = [(c.name, c.type) for c in self.columns]
        fields += [(TAIL, "VARCHAR")] if self.trailing else []
        spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in fields) + "}"
        keep = (f"store_rejects = true, rejects_table = '{_REJECTS}', "
                f"rejects_scan = '{_REJECT_SCANS}'") if rejects else "store_rejects = false"
        return (f"read_csv(?, columns = {spec}, delim = '|', header = false, quote = '', "
                "escape = '', nullstr = '\\N', auto_detect = false, dateformat = '%Y-%m-%d', "
                + keep + (", filename = true)" if with_filename else ")"))

    def run(self, con: duckdb.DuckDBPyConnection, statement: str, name: str | None = None):
        """Execute ``statement`` (which contains ``self.sql()``) with fresh reject tables;
        ``name`` is where the reader finds the bytes, when not at ``self.path``."""
        con.execute(f"DROP TABLE IF EXISTS {_REJECTS}; DROP TABLE IF EXISTS {_REJECT_SCANS}")
        if name is None:
            name = [str(p) for p in self.path] if isinstance(self.path, list) \
                else str(self.path)
        return con.execute(statement, [name])

    def first_reject(self, con: duckdb.DuckDBPyConnection) -> LoadError | None:
        """The first bad line DuckDB's reader set aside, as an error (None: no rejects)."""
        # one bad line can have several rejects (casts, then the field count): report the
        # line's field count first, since that explains the rest
        reject = con.execute(
            f"SELECT line, column_name, error_type, error_message, "
            f"(SELECT count(DISTINCT line) FROM {_REJECTS}) FROM {_REJECTS} ORDER BY line, "
            f"error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') DESC LIMIT 1").fetchone()
        con.execute(f"DROP TABLE IF EXISTS {_REJECTS}; DROP TABLE IF EXISTS {_REJECT_SCANS}")
        if not reject:
            return None
        line, column, kind, message, count = reject
        more = f" ({count - 1} more bad lines)" if count > 1 else ""
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            column, message = None, _field_count_message(message, len(self.columns),
                                                         self.trailing)
        return LoadError(str(self.path), _tidy(message) + more, line=line, column=column)


def _stage_release(con: duckdb.DuckDBPyConnection, path: Path, columns: list[Column],
                   extra: str) -> Staged:
    source = ReleaseSource.of(path, columns)
    try:
        source.run(con, f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT *{extra} "
                        f"FROM {source.sql()}")
    except duckdb.Error as exc:
        raise LoadError(str(path), f"cannot read as a release file: {_first_line(exc)}") from None
    staged = Staged(path, "release", 0, [c.name for c in columns])
    error = source.first_reject(con)
    if error:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
        raise error
    if source.trailing:
        extra_field = con.execute(f"SELECT min(rowid) FROM {STAGE} WHERE {TAIL} <> ''"
                                  ).fetchone()[0]
        if extra_field is not None:
            raise LoadError(str(path), _field_count_message("", len(columns), True, 1),
                            line=staged.locate(extra_field))
    staged.rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    if staged.rows == 0:
        raise LoadError(str(path), "no records in file")
    return staged


def _field_count_message(duckdb_message: str, expected: int, trailing: bool,
                         surplus: int | None = None) -> str:
    found = re.search(r"Found: (\d+)", duckdb_message)
    if surplus is not None:
        count = f"{expected + surplus}"
    else:
        count = str(int(found.group(1)) - int(trailing)) if found else "another number"
    tail = " and a trailing | (as on the first line)" if trailing else \
        " (no trailing |, as on the first line)"
    return f"wrong field count: expected {expected} fields{tail}, found {count}"


def _tidy(message: str) -> str:
    """DuckDB's cast message without the parts our own prefix already says."""
    message = message.split("\n")[0]
    message = re.sub(r'^Error when converting column "[^"]*"\.\s*', "", message)
    return re.sub(r"^Could not convert string (.*) to '(\w+)'$", r"cannot convert \1 to \2",
                  message)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n")[0]


def _read_astropy(path: Path, fmt: str):
    from astropy.table import Table

    try:
        if fmt == "votable":
            from astropy.io.votable import parse_single_table
            with _open_text(path) as handle:
                text = handle.read()
            if "<TABLEDATA" in text.upper():
                # Read every cell as text and let the schema types convert it, as for release
                # lines: Gator declares ra/dec as 4-byte floats although it prints 6 decimals,
                # and astropy turns an empty integer cell (Gator's null) into an unmasked 0.
                text = re.sub(r"<FIELD\b[^>]*>", _text_field, text)
            table = parse_single_table(io.BytesIO(text.encode("utf-8")))
            return table.to_table(use_names_over_ids=True)
        with _open_text(path) as handle:
            text = _ipac_as_text(handle.read())
        return Table.read(text, format="ipac")
    except Exception as exc:  # astropy raises many types for bad tables
        raise LoadError(str(path), f"cannot read as {fmt} table: {exc}") from None


def _ipac_as_text(text: str) -> str:
    """The IPAC table with every column declared ``char``, so that astropy converts nothing:
    the schema types convert the cells, and a bad cell is reported at its line and column
    (astropy would only name the column). The type row is the second ``|`` header row."""
    lines = text.split("\n")
    bars = []
    for number, line in enumerate(lines):
        if not line.startswith(("\\", "|")):
            break
        if line.startswith("|"):
            bars.append(number)
    if len(bars) >= 2:
        row = lines[bars[1]].rstrip("\r")
        cells = row.split("|")[1:-1] if row.endswith("|") else row.split("|")[1:]
        lines[bars[1]] = "|" + "|".join(
            ("char" if len(c) >= 4 else "c").rjust(len(c)) for c in cells) + "|"
    return "\n".join(lines)


def _text_field(match: re.Match) -> str:
    tag = re.sub(r'\s(datatype|arraysize)="[^"]*"', "", match.group(0))
    return tag.replace("<FIELD", '<FIELD datatype="char" arraysize="*"', 1)


def _arrow_column(column) -> pa.Array:
    values = np.asarray(column)
    mask = np.asarray(getattr(column, "mask", np.zeros(len(values), bool)))
    if values.dtype.kind in ("U", "S", "O"):
        return pa.array([None if m or v == "" else str(v)
                         for v, m in zip(values, mask, strict=True)], type=pa.string())
    return pa.array(values, mask=mask if mask.any() else None)


def _stage_astropy(con: duckdb.DuckDBPyConnection, path: Path, fmt: str,
                   columns: list[Column], rules: TableRules, extra: str) -> Staged:
    table = _read_astropy(path, fmt)
    wanted = {c.name: c for c in columns}
    found: dict[str, pa.Array] = {}
    ignored = []
    for name in table.colnames:
        ours = rules.aliases.get(name.lower(), name.lower())
        if ours in wanted and ours not in found:
            found[ours] = _arrow_column(table[name])
        else:
            ignored.append(name)
    missing = [c for c in ("ra", "dec") if c in wanted and c not in found]
    if missing:
        raise LoadError(str(path), f"table lacks required column(s) {', '.join(missing)}")
    raw = pa.table(found) if found else pa.table({})
    con.register("catscan_raw", raw)
    try:
        select = ", ".join(
            f"TRY_CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}" if c.name in found
            else f"CAST(NULL AS {c.type}) AS {quote(c.name)}" for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT *{extra} FROM "
                    f"(SELECT {select} FROM catscan_raw)")
        staged = Staged(path, fmt, len(table), list(found), ignored)
        _check_casts(con, staged, found, wanted)
    finally:
        con.unregister("catscan_raw")
    return staged


def _check_casts(con, staged: Staged, found: dict[str, pa.Array], wanted: dict[str, Column]):
    """A value that did not convert to the schema type is an error at its row and column."""
    con.execute("CREATE OR REPLACE TEMP TABLE catscan_raw_copy AS "
                "SELECT row_number() OVER () - 1 AS k, * FROM catscan_raw")
    try:
        for name in found:
            hit = con.execute(
                f"SELECT r.k, CAST(r.{quote(name)} AS VARCHAR) FROM catscan_raw_copy r "
                f"WHERE r.{quote(name)} IS NOT NULL AND TRY_CAST(r.{quote(name)} AS "
                f"{wanted[name].type}) IS NULL ORDER BY r.k LIMIT 1").fetchone()
            if hit:
                raise LoadError(str(staged.path),
                                f"cannot convert {hit[1]!r} to {wanted[name].type}",
                                line=staged.locate(hit[0]), column=name, where=staged.where)
    finally:
        con.execute("DROP TABLE IF EXISTS catscan_raw_copy")

