"""Query results as terminal tables and files that say how they were made.

``write_result`` is the one way a result leaves catscan (``catscan query/run/sql``, the
Python API, the web server): a text table on the terminal, or CSV, IPAC, VOTable, FITS,
Parquet, JSON or ECSV. Every file carries its ``Provenance`` (query, parameters, compiled
SQL, catscan and database content versions, rows, time) so that it can be reproduced, and
a truncated result says so in every format: never a silent truncation.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from rich.console import Console

from . import __version__
from . import budget as budgets
from .content import content_version
from .errors import CatscanError
from .render import pager_command, print_text_table, text_table
from .tablefile import (
    DESCRIPTION_KEY,
    FORMATS,
    UCD_KEY,
    UNIT_KEY,
    arrow_to_astropy,
    fits_ascii,
    table_to_fits,
)

if TYPE_CHECKING:    # astropy is imported by the formats that need it (~1 s of start-up)
    from astropy.io.votable.tree import Info
    from astropy.table import Table

OUTPUT_FORMATS = ("table", "csv", "ipac", "votable", "fits", "parquet", "json", "ecsv")
_ASTROPY_NAMES = {"ascii.csv": "csv", "ascii.ipac": "ipac", "votable": "votable",
                  "fits": "fits", "ascii.ecsv": "ecsv"}
SUFFIXES = {suffix: _ASTROPY_NAMES[fmt] for suffix, fmt in FORMATS.items()
            if fmt in _ASTROPY_NAMES} | {".parquet": "parquet", ".pq": "parquet",
                                         ".json": "json", ".txt": "table"}
BINARY_FORMATS = ("fits", "parquet")
PROVENANCE_SUFFIX = ".provenance.json"
PARQUET_KEY = b"catscan.provenance"
FITS_PREFIX = "CATSCAN"
FITS_KEYS = {"status": ("STATUS", "QUERY_STATUS: OK or OVERFLOW"),
             "notice": ("NOTICE", ""), "query": ("QUERY", ""), "sql": ("SQL", ""),
             "row_count": ("ROWS", "rows in this table"), "limit": ("LIMIT", "row limit"),
             "truncated": ("TRUNCATED", "more rows than the limit"),
             "catscan_version": ("VERSION", "catscan version"),
             "content_version": ("CONTENT", "database content version"),
             "elapsed_s": ("ELAPSED", "[s] query run time"),
             "timestamp": ("DATE", "UTC time of the query")}


class ResultError(CatscanError):
    """A result that cannot be written: unknown format, binary output to a terminal..."""


def overflow_notice(limit: int) -> str:
    return f"result truncated at {limit} rows; use --limit"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """How a result was made: enough to run it again and to tell whether the database has
    changed since."""

    sql: str
    row_count: int
    query: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    catscan_version: str = __version__
    content_version: str = ""
    elapsed_s: float = 0.0
    timestamp: str = field(default_factory=_now)     # UTC, ISO 8601
    truncated: bool = False
    limit: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)   # files read: path -> checksum

    @classmethod
    def record(cls, con: duckdb.DuckDBPyConnection, *, sql: str, row_count: int,
               elapsed_s: float, query: str | None = None,
               parameters: dict[str, Any] | None = None, truncated: bool = False,
               limit: int | None = None) -> Provenance:
        """The provenance of a query just run on ``con`` (reads its content version)."""
        return cls(sql=sql, row_count=row_count, query=query,
                   parameters={k: str(v) for k, v in (parameters or {}).items()},
                   content_version=content_version(con), elapsed_s=elapsed_s,
                   truncated=truncated, limit=limit)

    @property
    def status(self) -> str:
        """The DALI/TAP QUERY_STATUS of the result."""
        return "OVERFLOW" if self.truncated else "OK"

    @property
    def notice(self) -> str | None:
        if not self.truncated:
            return None
        return overflow_notice(self.limit if self.limit is not None else self.row_count)

    def as_dict(self) -> dict[str, Any]:
        """Typed values, for JSON, ECSV and Parquet."""
        return {"status": self.status, "notice": self.notice, "query": self.query,
                "parameters": dict(self.parameters), "inputs": dict(self.inputs),
                "sql": self.sql,
                "row_count": self.row_count, "limit": self.limit, "truncated": self.truncated,
                "catscan_version": self.catscan_version,
                "content_version": self.content_version,
                "elapsed_s": round(self.elapsed_s, 6), "timestamp": self.timestamp}

    def items(self) -> list[tuple[str, str]]:
        """(key, text) pairs in a fixed order; absent items (no query, no limit) left out."""
        out = [("status", self.status)]
        out += [("notice", self.notice)] if self.truncated else []
        out += [("query", self.query)] if self.query is not None else []
        out += [(f"parameter.{k}", v) for k, v in self.parameters.items()]
        out += [(f"input.{i}", f"{path}: {checksum}")           # paths are no keys
                for i, (path, checksum) in enumerate(self.inputs.items(), start=1)]
        out += [("sql", self.sql), ("row_count", str(self.row_count))]
        out += [("limit", str(self.limit))] if self.limit is not None else []
        out += [("truncated", "true" if self.truncated else "false"),
                ("catscan_version", self.catscan_version),
                ("content_version", self.content_version),
                ("elapsed_s", f"{self.elapsed_s:.3f}"), ("timestamp", self.timestamp)]
        return out

    def lines(self) -> list[str]:
        """``key: value`` lines for text formats; a value's further lines follow as
        ``  | line`` (see ``parse_lines``)."""
        out = []
        for key, value in self.items():
            first, *rest = value.replace("\r\n", "\n").split("\n")
            out.append(f"{key}: {first}")
            out += [f"  | {line}" for line in rest]
        return out


def parse_lines(lines: list[str]) -> dict[str, str]:
    """The items back from ``Provenance.lines()`` (comment markers already stripped;
    leading blanks may be lost, as IPAC readers do)."""
    out: dict[str, str] = {}
    key = None
    for raw in lines:
        text = raw.strip()
        if text.startswith("|") and key is not None:
            out[key] += "\n" + text[1:].removeprefix(" ")
        elif ": " in text or text.endswith(":"):
            key, _, value = text.partition(":")
            out[key] = value.removeprefix(" ")
    return out


def cap_rows(table: pa.Table, limit: int | None) -> tuple[pa.Table, bool]:
    """Run a query with ``LIMIT limit + 1``, then cut here: (the first ``limit`` rows,
    whether there were more)."""
    if limit is None or table.num_rows <= limit:
        return table, False
    return table.slice(0, limit), True


def as_astropy(table: pa.Table, provenance: Provenance | None = None) -> Table:
    """The result for Python users: nulls masked, units and descriptions on the columns,
    the provenance under ``meta["provenance"]``."""
    out = arrow_to_astropy(table)
    if provenance is not None:
        out.meta["provenance"] = provenance.as_dict()
    return out


def output_format(destination: str | Path | None, format: str | None) -> str:
    """The format asked for, else the one the file suffix names, else the terminal table."""
    if format is not None:
        if format not in OUTPUT_FORMATS:
            raise ResultError(f"unknown output format {format!r}: choose one of "
                              f"{', '.join(OUTPUT_FORMATS)}")
        return format
    if destination is None:
        return "table"
    suffix = Path(destination).suffix.lower()
    if suffix not in SUFFIXES:
        raise ResultError(f"{destination}: cannot tell the format from the suffix; use one of "
                          f"{', '.join(sorted(SUFFIXES))} or --format")
    return SUFFIXES[suffix]


def write_result(table: pa.Table, destination: str | Path | None = None, *,
                 format: str | None = None, provenance: Provenance | None = None,
                 stream: IO[Any] | None = None, console: Console | None = None,
                 pager: str | None = "auto", provenance_file: bool = False) -> Path | None:
    """Write ``table`` to the file ``destination`` (returned) or, without one, to ``stream``
    (stdout; a ``console`` replaces it for the terminal table). ``pager``: a command for
    terminal tables longer than the screen, "auto" for ``$PAGER`` or ``less -FRX``, None
    to show the first screenful instead. ``provenance_file``: also write the provenance
    and the columns' units and descriptions beside the file, as
    ``FILE.provenance.json`` (:func:`provenance_json`; CSV has no place for them)."""
    fmt = output_format(destination, format)
    stream = stream if stream is not None else sys.stdout
    if provenance_file:
        if destination is None:
            raise ResultError("a provenance file goes beside the result's file: give --out")
        _write_file(Path(str(destination) + PROVENANCE_SUFFIX),
                    provenance_json(table, provenance))
    if destination is None:
        if fmt == "table":
            console = console or Console(file=stream)
            _write_terminal(table, provenance, console,
                            pager_command() if pager == "auto" else pager)
            return None
        _to_stream(stream, _encode(table, fmt, provenance), fmt)
        return None
    return _write_file(Path(destination), _encode(table, fmt, provenance))


def _write_file(path: Path, data: bytes) -> Path:
    part = path.with_name(path.name + ".part")
    try:
        if path.exists() and not path.is_file():         # /dev/stdout, a named pipe
            path.write_bytes(data)
        else:                                            # never a half-written file
            part.write_bytes(data)
            os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ResultError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    return path


def provenance_json(table: pa.Table, provenance: Provenance | None) -> bytes:
    """The provenance (:meth:`Provenance.as_dict`) and each column's unit, UCD and
    description as JSON: what a CSV file cannot hold, in a file of its own."""
    columns = {}
    for f in table.schema:
        meta = f.metadata or {}
        columns[f.name] = {key: meta.get(k, b"").decode() or None for key, k in
                           (("unit", UNIT_KEY), ("ucd", UCD_KEY),
                            ("description", DESCRIPTION_KEY))}
    document = {"provenance": provenance.as_dict() if provenance is not None else None,
                "columns": columns}
    return (json.dumps(document, indent=1, default=_json_value) + "\n").encode()


def _to_stream(stream: IO[Any], data: bytes, fmt: str) -> None:
    """Text formats to text streams as text; bytes to binary streams or a text stream's
    buffer (stdout), never to a terminal."""
    binary = fmt in BINARY_FORMATS
    if binary and stream.isatty():
        raise ResultError(f"{fmt} is a binary format: write it with --out FILE")
    if not hasattr(stream, "encoding"):                   # a binary stream
        stream.write(data)
    elif not binary:
        stream.write(data.decode())
    elif hasattr(stream, "buffer"):                       # stdout into a pipe or file
        stream.flush()
        stream.buffer.write(data)
    else:
        raise ResultError(f"{fmt} is a binary format: it cannot go to a text stream")
    stream.flush()


def _write_terminal(table: pa.Table, provenance: Provenance | None, console: Console,
                    pager: str | None) -> None:
    print_text_table(table, console=console, pager=pager)
    if provenance is not None:
        console.print(f"{table.num_rows:,} row{'s' if table.num_rows != 1 else ''} in "
                      f"{provenance.elapsed_s:.2f} s", style="dim", highlight=False)
        if provenance.notice:
            console.print(provenance.notice, style="bold yellow", markup=False,
                          highlight=False)


MEDIA_TYPES = {"table": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
               "ipac": "text/plain; charset=utf-8", "votable": "application/x-votable+xml",
               "fits": "application/fits", "parquet": "application/vnd.apache.parquet",
               "json": "application/json", "ecsv": "text/plain; charset=utf-8"}
FILE_SUFFIXES = {"table": ".txt", "csv": ".csv", "ipac": ".tbl", "votable": ".xml",
                 "fits": ".fits", "parquet": ".parquet", "json": ".json", "ecsv": ".ecsv"}


def encode_result(table: pa.Table, fmt: str, provenance: Provenance | None = None) -> bytes:
    """The bytes of a result file in ``fmt`` (one of OUTPUT_FORMATS), e.g. for HTTP."""
    return _encode(table, fmt, provenance)


# values (rows x columns) written between two checks of the running budget: ~0.2 s of
# VOTable writing, so that a server request stops close to its deadline
CHUNK_VALUES = 20_000


def encode_chunks(table: pa.Table, fmt: str, provenance: Provenance | None = None
                  ) -> Iterator[bytes]:
    """The bytes of :func:`encode_result` in pieces: VOTable, CSV and JSON a chunk of rows
    at a time, checking the running budget (catscan.budget) between chunks, so that a
    server can send an answer as it is written and stop writing it at its deadline; the
    other formats in one piece."""
    try:
        if fmt in CHUNKED:
            yield from CHUNKED[fmt](table, provenance)
        else:
            yield ENCODERS[fmt](table, provenance)
    except (ValueError, pa.ArrowException) as exc:
        raise ResultError(f"cannot write the result as {fmt}: {exc}") from None


def _encode(table: pa.Table, fmt: str, provenance: Provenance | None) -> bytes:
    """The whole output in memory, so that a failure writes nothing."""
    if fmt not in ENCODERS:
        raise ResultError(f"unknown output format {fmt!r}")
    return b"".join(encode_chunks(table, fmt, provenance))


def chunk_rows(columns: int, faster: int = 1) -> int:
    """Rows in a chunk of CHUNK_VALUES values (``faster`` times more for a format that
    writes a value that many times faster than astropy's VOTable writer)."""
    return max(1, CHUNK_VALUES * faster // max(1, columns))


def column_lines(table: pa.Table) -> list[str]:
    """``column.NAME: [unit] description`` for formats without their own place for them."""
    out = []
    for f in table.schema:
        meta = f.metadata or {}
        unit = meta.get(UNIT_KEY, b"").decode()
        text = " ".join(filter(None, [f"[{unit}]" if unit else "",
                                      meta.get(DESCRIPTION_KEY, b"").decode()]))
        out += [f"column.{f.name}: {text}"] if text else []
    return out


def _comment_lines(table: pa.Table, provenance: Provenance | None, marker: str) -> str:
    lines = (provenance.lines() if provenance is not None else []) + column_lines(table)
    return "".join(f"{marker}{line}\n" for line in lines)


def _astropy_text(table: pa.Table, fmt: str, meta: dict) -> str:
    out = arrow_to_astropy(table)
    out.meta.update(meta)
    text = io.StringIO()
    out.write(text, format=fmt)
    return text.getvalue()


def _csv(table: pa.Table, provenance: Provenance | None) -> Iterator[bytes]:
    """Plain CSV (RFC 4180 as every reader takes it: a header line, then the rows, nothing
    else; nulls empty); the header once, the rows a chunk at a time. The provenance goes
    into a file of its own when asked for (:func:`provenance_json`)."""
    step = chunk_rows(table.num_columns, 10)           # ~10x faster a value than VOTable
    for start in range(0, max(table.num_rows, 1), step):
        text = _astropy_text(table.slice(start, step), "ascii.csv", {})
        if start:
            budgets.check()
            text = text.split("\n", 1)[1]
        yield text.encode()


def _ecsv(table: pa.Table, provenance: Provenance | None) -> bytes:
    """The provenance as a typed mapping in the YAML header (``meta: provenance:``), query
    and SQL as lists of lines: astropy's ECSV reader drops the blank lines YAML uses for
    line breaks inside strings."""
    meta = {}
    if provenance is not None:
        meta["provenance"] = provenance.as_dict()
        for key in ("query", "sql"):
            if meta["provenance"][key] is not None:
                meta["provenance"][key] = meta["provenance"][key].split("\n")
    return _astropy_text(table, "ascii.ecsv", meta).encode()


def _ipac(table: pa.Table, provenance: Provenance | None) -> bytes:
    r"""``\ key: value`` comments (provenance, column descriptions), and Gator's keywords
    for the status and row count."""
    meta: dict[str, Any] = {"comments": column_lines(table)}
    if provenance is not None:
        meta = {"comments": provenance.lines() + meta["comments"],
                "keywords": {"QUERY_STATUS": {"value": provenance.status},
                             "RowsRetrieved": {"value": provenance.row_count}}}
    return _astropy_text(table, "ascii.ipac", meta).encode()


def votable_chunks(table: pa.Table, provenance: Provenance | None) -> Iterator[bytes]:
    """A TAP-style results RESOURCE: QUERY_STATUS OK and an INFO per item before the TABLE,
    and when truncated QUERY_STATUS OVERFLOW after it (DALI/TAP 1.x). Multi-line values are
    also the INFO's content, since XML turns newlines in attributes into blanks. The FIELDs
    are typed from the columns, never from the rows (catscan.votable_types), so that an
    empty result declares what a full one does."""
    from astropy.io.votable.tree import Resource, VOTableFile

    from .votable_types import votable_table

    document = VOTableFile(version="1.4")
    resource = Resource()
    resource.type = "results"
    document.resources.append(resource)
    if provenance is not None:
        resource.infos.append(_info("QUERY_STATUS", "OK"))
        resource.infos.extend(_info(key, value) for key, value in provenance.items()
                              if key != "status")
    element = votable_table(document, table)
    resource.tables.append(element)
    notice = provenance.notice if provenance is not None and provenance.truncated else None
    yield from votable_pieces(document, element, notice)


def votable_pieces(document, element, overflow: str | None) -> Iterator[bytes]:
    """A VOTable document with one table (``element``), written a chunk of rows at a time:
    every piece comes from astropy's writer (the document written with a slice of the rows;
    its TABLEDATA rows are the piece), so that the pieces joined are the document written
    whole. ``overflow``: the OVERFLOW notice after the table, when truncated. When the
    running budget runs out between chunks, the document ends there with QUERY_STATUS
    ERROR after the table (DALI) instead of the rest of the rows."""
    rows = element.array
    step = chunk_rows(len(element.fields))
    tail = None
    try:
        for start in range(0, len(rows), step):
            if start:
                try:
                    budgets.check()
                except budgets.OutOfTime as exc:
                    yield _after_table(tail, "ERROR", f"{exc}: the rows above are the "
                                       f"first {start} of {len(rows)}")
                    return
            element.array = rows[start:start + step]
            xml = _xml(document)
            end = xml.rindex(b"</TR>") + len(b"</TR>")
            if tail is None:
                tail = xml[end:]
                yield xml[:end]
            else:
                yield xml[xml.index(b"<TABLEDATA>") + len(b"<TABLEDATA>"):end]
    finally:
        element.array = rows
    if tail is None:                     # no rows: astropy writes no DATA, STILTS needs one
        tail = _with_empty_data(_xml(document))
    yield _after_table(tail, "OVERFLOW", overflow) if overflow is not None else tail


def _with_empty_data(xml: bytes) -> bytes:
    """A VOTable of one TABLE without rows, with an empty TABLEDATA: STILTS reads a TABLE
    without DATA as no table at all ("No TABLE element found")."""
    end = xml.rindex(b"</TABLE>")
    line = xml.rindex(b"\n", 0, end) + 1
    indent = xml[line:end]
    return (xml[:line] + indent + b" <DATA>\n" + indent + b"  <TABLEDATA>\n" + indent +
            b"  </TABLEDATA>\n" + indent + b" </DATA>\n" + xml[line:])


def _xml(document) -> bytes:
    out = io.BytesIO()
    document.to_xml(out)
    return out.getvalue()


def with_overflow(xml: bytes, notice: str | None) -> bytes:
    """A VOTable with ``QUERY_STATUS`` ``OVERFLOW`` after its table (DALI)."""
    return _after_table(xml, "OVERFLOW", notice)


def _after_table(xml: bytes, status: str, notice: str | None) -> bytes:
    """``xml`` (a VOTable, or its end from the table's end on) with a QUERY_STATUS INFO
    after the table."""
    from astropy.utils.xml.writer import XMLWriter

    end = xml.rindex(b"</TABLE>") + len(b"</TABLE>")
    element = info("QUERY_STATUS", status)
    element.content = notice
    text = io.StringIO()
    element.to_xml(XMLWriter(text))
    return xml[:end] + b"\n  " + text.getvalue().strip().encode() + xml[end:]


def info(name: str, value: str) -> Info:
    """A VOTable INFO (multi-line values also as its content: XML flattens attributes)."""
    return _info(name, value)


def _info(name: str, value: str) -> Info:
    from astropy.io.votable.tree import Info

    info = Info(name=name, value=value.replace("\n", " "))
    info.ID = None                                 # names repeat; IDs must not
    if "\n" in value:
        info.content = value
    return info


def _fits(table: pa.Table, provenance: Provenance | None) -> bytes:
    """HIERARCH CATSCAN keywords in the table header: one per item, the query and SQL one
    keyword per line (QUERY 1, QUERY 2...; long lines continue over CONTINUE cards), and a
    COMMENT when truncated. Non-ASCII characters become backslash escapes."""
    from astropy.io import fits

    hdu = table_to_fits(arrow_to_astropy(table))
    if provenance is not None:
        header = hdu.header
        for key, value in provenance.items():
            if key.startswith("input."):
                header[f"HIERARCH {FITS_PREFIX} INPUT {key.partition('.')[2]}"] = \
                    fits_ascii(value)
                continue
            name, comment = FITS_KEYS.get(key, (f"PARAM {key.partition('.')[2]}", "parameter"))
            if key in ("query", "sql"):
                for n, line in enumerate(value.split("\n"), start=1):
                    header[f"HIERARCH {FITS_PREFIX} {name} {n}"] = fits_ascii(line)
                continue
            typed = {"row_count": provenance.row_count, "limit": provenance.limit,
                     "truncated": provenance.truncated,
                     "elapsed_s": round(provenance.elapsed_s, 6)}.get(key, fits_ascii(value))
            keyword = f"HIERARCH {FITS_PREFIX} {name}"
            if len(f"{keyword} = '{typed}' / {comment}") > fits.Card.length:
                comment = ""                                 # no room on the card
            header.append(fits.Card(keyword, typed, comment))
        if provenance.truncated:
            header.add_comment(provenance.notice)
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(out)
    return out.getvalue()


def _parquet(table: pa.Table, provenance: Provenance | None) -> bytes:
    """Arrow types as they are; units and descriptions stay in the field metadata, the
    provenance is JSON under the schema metadata key ``catscan.provenance``."""
    import pyarrow.parquet as pq

    if provenance is not None:
        meta = dict(table.schema.metadata or {})
        meta[PARQUET_KEY] = json.dumps(provenance.as_dict()).encode()
        table = table.replace_schema_metadata(meta)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def _json(table: pa.Table, provenance: Provenance | None) -> Iterator[bytes]:
    """``{"provenance": {...} | null, "columns": [{name, datatype, unit, description}],
    "rows": [[...], ...]}``, one row a line; NaN and infinities are null (JSON has none)."""
    columns = []
    for f in table.schema:
        meta = f.metadata or {}
        columns.append({"name": f.name, "datatype": str(f.type),
                        "unit": meta.get(UNIT_KEY, b"").decode() or None,
                        "description": meta.get(DESCRIPTION_KEY, b"").decode() or None})
    head = json.dumps(provenance.as_dict() if provenance is not None else None)
    yield f'{{"provenance": {head},\n"columns": {json.dumps(columns)},\n"rows": [\n'.encode()
    step = chunk_rows(table.num_columns, 5)
    for start in range(0, table.num_rows, step):
        if start:
            budgets.check()
        chunk = table.slice(start, step)
        data = [[_json_value(v) for v in chunk.column(i).to_pylist()]
                for i in range(chunk.num_columns)]
        rows = ",\n".join(json.dumps(list(row), ensure_ascii=False, allow_nan=False)
                          for row in zip(*data, strict=True))
        yield ((",\n" if start else "") + rows).encode()
    yield b"\n]}\n"


def _text(table: pa.Table, provenance: Provenance | None) -> bytes:
    """The terminal table into a file: every row and column, ``# `` provenance lines first."""
    header, rows, _ = text_table(table)
    return (_comment_lines(table, provenance, "# ") + "\n".join(header + rows) + "\n").encode()


CHUNKED = {"csv": _csv, "votable": votable_chunks, "json": _json}
ENCODERS = {"table": _text, "ipac": _ipac, "fits": _fits, "parquet": _parquet, "ecsv": _ecsv,
            **{fmt: lambda table, p, chunks=chunks: b"".join(chunks(table, p))
               for fmt, chunks in CHUNKED.items()}}
