"""TAP 1.1 synchronous queries: ``/tap/sync`` (GET or POST; REQUEST=doQuery, LANG=ADQL,
QUERY, RESPONSEFORMAT or FORMAT, MAXREC, UPLOAD=name,param:part or name,URL), with the
VOSI endpoints of vosi.py under ``/tap``; ``/tap/async`` (UWS jobs) is uws.py, which runs
its jobs through the functions here (checked_query, run_query, encode, failure): one query
path for both.

A query is ADQL translated by adql.py, checked by catscan.safety and run read-only with a
row cap of MAXREC (default 100,000, at most 1,000,000: limits.py); a truncated result says
so (QUERY_STATUS OVERFLOW in VOTables). The whole request, writing and sending the answer
included, has the server's timeout (catscan.web.bounds, stream.py). Results are VOTables
whose FIELD types are those of TAP_SCHEMA (catscan.votable_types), or CSV, TSV, FITS,
Parquet, JSON. Errors are VOTables with QUERY_STATUS ERROR and a message naming what is
wrong: HTTP 400 for the client's mistakes and for a query that ran longer than the timeout,
413 for a request over the server's limits, 503 when the server is stopping or failed, 401
without the team password. Never a stack trace, never 500.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv
from astropy.io import votable as vo
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import budget as budgets
from ..budget import WorkStopped
from ..errors import CatscanError
from ..results import Provenance, chunk_rows, encode_chunks
from ..safety import QueryFailed, QueryTimeout, run_readonly
from ..tablefile import astropy_to_arrow
from ..votable_types import XTYPE_KEY, dali_times
from . import vosi
from .adql import UPLOAD_NAME, AdqlError, translate
from .errors import VOTABLE
from .errors import vo_error as error_response
from .fetch import FetchError, fetch_async, is_url
from .guard import pool_for, team_or_released
from .limits import Limits, RequestTooLarge
from .scs import whole_number
from .stream import begin, stream
from .tabledata import results_votable
from .tap_schema import ColumnInfo, TapCatalog
from .vosi import tap_catalog
from .votable import declared

log = logging.getLogger("catscan.web.tap")

LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")
SINGLE = ("REQUEST", "LANG", "QUERY", "FORMAT", "RESPONSEFORMAT", "MAXREC")
# RESPONSEFORMAT values (DALI short forms and media types) -> (format, media type)
FORMATS = {
    "votable": ("votable", VOTABLE), "application/x-votable+xml": ("votable", VOTABLE),
    "text/xml": ("votable", "text/xml"), "votable/td": ("votable", VOTABLE),
    "application/x-votable+xml;serialization=tabledata": ("votable", VOTABLE),
    "csv": ("csv", "text/csv;header=present"), "text/csv": ("csv", "text/csv;header=present"),
    "text/csv;header=present": ("csv", "text/csv;header=present"),
    "tsv": ("tsv", "text/tab-separated-values"),
    "text/tab-separated-values": ("tsv", "text/tab-separated-values"),
    "fits": ("fits", "application/fits"), "application/fits": ("fits", "application/fits"),
    "parquet": ("parquet", "application/vnd.apache.parquet"),
    "application/vnd.apache.parquet": ("parquet", "application/vnd.apache.parquet"),
    "json": ("json", "application/json"), "application/json": ("json", "application/json"),
}


class TapError(CatscanError):
    """A request this service cannot answer; ``status`` is the HTTP status to send."""

    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class TapQuery:
    query: str
    maxrec: int
    format: str
    media_type: str
    uploads: dict[str, bytes] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TapProvenance(Provenance):
    """The provenance, with the overflow notice in TAP's words."""

    @property
    def notice(self) -> str | None:
        if not self.truncated:
            return None
        return (f"result truncated at MAXREC={self.limit} rows" if self.limit else
                "MAXREC=0: the result's columns only")


# ---- the request ---------------------------------------------------------------------------

async def read_params(request: Request) -> dict[str, list]:
    """The parameters of a request (query string and form), by upper-case name (TAP 1.1
    names are case-insensitive): values are text or uploaded files."""
    limits: Limits = request.app.state.limits
    items: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
    if request.method == "POST":
        try:
            # a field (not a file) stops being read past what a query text may need
            form = await request.form(max_files=limits.max_uploads,
                                      max_fields=limits.max_params,
                                      max_part_size=limits.max_field_bytes)
        except Exception as exc:               # malformed multipart, too many parts...
            if "exceeded maximum size" in str(exc):
                raise TapError(str(limits.field_too_large()), 413) from None
            raise TapError(f"cannot read the request body: {exc}") from None
        items += list(form.multi_items())
    params: dict[str, list] = {}
    for name, value in items:
        params.setdefault(name.upper(), []).append(value)
    return params


def checked_query(params: dict[str, list], limits: Limits) -> TapQuery:
    """The query the parameters ask for, checked, without its uploads' bytes (which
    :func:`read_uploads` reads): sync requests and async jobs (uws.py) alike."""
    for name in SINGLE:
        values = params.get(name, [])
        if len(values) > 1:
            raise TapError(f"{name} was given {len(values)} times; it takes one value")
        if values and not isinstance(values[0], str):
            raise TapError(f"{name} must be a value, not a file")
    text = {name: params[name][0] for name in SINGLE if name in params}
    if text.get("REQUEST", "doQuery").lower() != "doquery":
        raise TapError(f"REQUEST={text['REQUEST']} is not supported: only doQuery")
    lang = text.get("LANG")
    if lang is None:
        raise TapError("LANG is required: LANG=ADQL")
    if lang.upper() not in LANGUAGES:
        raise TapError(f"unknown query language LANG={lang}: this service runs ADQL")
    query = text.get("QUERY")
    if query is None or not query.strip():
        raise TapError("QUERY is required: an ADQL query")
    limits.check_query(query, "QUERY")
    try:
        maxrec = whole_number(text.get("MAXREC", str(limits.default_rows)), "MAXREC",
                              limits.max_rows)
    except CatscanError as exc:
        raise TapError(str(exc)) from None
    wanted = text.get("RESPONSEFORMAT") or text.get("FORMAT") or "votable"
    key = wanted.strip().lower().replace(" ", "")
    if key not in FORMATS:
        choices = ", ".join(sorted({k for k in FORMATS if "/" not in k}))
        raise TapError(f"RESPONSEFORMAT={wanted} is not supported: use one of {choices} "
                       "or their media types")
    fmt, media = FORMATS[key]
    return TapQuery(query, maxrec, fmt, media, {},
                    {"LANG": lang, "MAXREC": str(maxrec), "RESPONSEFORMAT": fmt,
                     **({"UPLOAD": ";".join(v for v in params["UPLOAD"] if isinstance(v, str))}
                        if "UPLOAD" in params else {})})


async def read_request(request: Request) -> TapQuery:
    """The parameters of a sync request, checked, with its uploads."""
    limits: Limits = request.app.state.limits
    params = await read_params(request)
    tap = checked_query(params, limits)
    uploads = await read_uploads(params, limits, upload_fetcher(request))
    return TapQuery(tap.query, tap.maxrec, tap.format, tap.media_type, uploads, tap.parameters)


def upload_fetcher(request: Request):
    """Fetch an upload's URL for this request: a visitor's only from public addresses or
    this server (fetch.py)."""
    limits: Limits = request.app.state.limits
    private_ok = not getattr(request.state, "public", True)
    own = str(request.base_url)

    async def get(url: str) -> bytes:
        return await fetch_async(url, limits.max_upload_bytes, limits.timeout_s,
                                 private_ok=private_ok, own_base=own)
    return get


async def read_uploads(params: dict[str, list], limits: Limits,
                       fetch=None) -> dict[str, bytes]:
    """The tables the UPLOAD parameters name: table name (lower case) -> VOTable bytes;
    ``fetch`` reads those given by URL (upload_fetcher)."""
    return await _uploads(params.get("UPLOAD", []), params, limits, fetch)


async def _uploads(values: list, params: dict[str, list], limits: Limits,
                   fetch=None) -> dict[str, bytes]:
    """UPLOAD=name,param:part or name,URL pairs (';'-separated, as pyvo sends them) -> file
    bytes; ``fetch`` reads a URL (TAPRegExt upload-http, upload-https)."""
    out: dict[str, bytes] = {}
    files = {name.lower(): v[0] for name, v in params.items()
             if v and isinstance(v[0], UploadFile)}
    for value in values:
        if not isinstance(value, str):
            raise TapError("UPLOAD must be name,param:part, not a file")
        for pair in filter(None, (p.strip() for p in value.split(";"))):
            name, _, uri = pair.partition(",")
            name, uri = name.strip(), uri.strip()
            if not UPLOAD_NAME.match(name):
                raise TapError(f"UPLOAD name {name!r} must start with a letter and hold only "
                               "letters, digits and _")
            if name.lower() in out:
                raise TapError(f"UPLOAD {name} was given twice")
            if is_url(uri) and fetch is not None:
                try:
                    out[name.lower()] = await fetch(uri)
                except FetchError as exc:
                    raise TapError(f"UPLOAD {name}: {exc}", exc.status) from None
                continue
            if not uri.lower().startswith("param:"):
                raise TapError(f"UPLOAD {name}: {uri!r} is neither param:part (a multipart "
                               "file) nor an http or https URL")
            part = uri[len("param:"):]
            upload = files.get(part.upper()) or files.get(part.lower())
            if upload is None:
                raise TapError(f"UPLOAD {name}: the request has no file part named {part!r}")
            data = await upload.read(limits.max_upload_bytes + 1)
            if len(data) > limits.max_upload_bytes:
                raise TapError(f"UPLOAD {name} is larger than this service's limit of "
                               f"{limits.max_upload_bytes:,} bytes (max_upload_bytes)", 413)
            out[name.lower()] = data
    if len(out) > limits.max_uploads:
        raise TapError(f"at most {limits.max_uploads} tables can be uploaded at once "
                       "(max_uploads)")
    return out


def read_upload(name: str, data: bytes, max_rows: int = Limits.max_upload_rows) -> pa.Table:
    """An uploaded VOTable as Arrow (units, descriptions and UCDs kept)."""
    try:
        table = vo.parse(io.BytesIO(data), verify="ignore").get_first_table() \
            .to_table(use_names_over_ids=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TapError(f"UPLOAD {name} is not a readable VOTable: {first}") from None
    if len(table) > max_rows:
        raise TapError(f"UPLOAD {name} has {len(table)} rows; at most {max_rows} are "
                       "accepted (max_upload_rows)")
    arrow = astropy_to_arrow(table)
    fields = []                  # text with an xtype (timestamp) keeps it in the results
    for f in arrow.schema:
        xtype = table[f.name].meta.get("xtype") if f.name in table.colnames else None
        if xtype and pa.types.is_string(f.type):
            f = f.with_metadata({**(f.metadata or {}), XTYPE_KEY: str(xtype).encode()})
        fields.append(f)
    return arrow.cast(pa.schema(fields, metadata=arrow.schema.metadata))


# ---- running -------------------------------------------------------------------------------

def run_query(ses, catalog: TapCatalog, tap: TapQuery, timeout: float | None,
              max_upload_rows: int = Limits.max_upload_rows) -> tuple[pa.Table, TapProvenance]:
    """Translate, check and run one TAP query on a pooled session (in a worker thread):
    the result and its provenance, for :func:`encode`."""
    started = time.perf_counter()
    if ses.__dict__.get("_tap_catalog") is not catalog:
        catalog.register(ses.con)
        ses.__dict__["_tap_catalog"] = catalog
    uploads = {name: read_upload(name, data, max_upload_rows)
               for name, data in tap.uploads.items()}
    translation = translate(tap.query, catalog, uploads, row_cap=tap.maxrec + 1)
    budgets.check()                      # translating a long query takes its time
    for name, table in translation.tables.items():
        ses.con.register(name, table)
    try:
        table, truncated = run_readonly(ses.con, translation.sql, timeout=timeout,
                                        limit=tap.maxrec)
    except QueryTimeout:
        raise
    except QueryFailed as exc:
        if str(exc) == "query interrupted":
            raise
        raise translation.failure(str(exc)) from None
    finally:
        for name in translation.tables:
            ses.con.unregister(name)
    table = described(table, translation.columns)
    inputs = {f"TAP_UPLOAD.{name}": f"{uploads[name].num_rows} rows, sha256:"
              f"{hashlib.sha256(data).hexdigest()}" for name, data in tap.uploads.items()}
    provenance = TapProvenance(
        sql=translation.sql, row_count=table.num_rows, query=tap.query,
        parameters=tap.parameters, content_version=ses.content_version,
        elapsed_s=round(time.perf_counter() - started, 6),
        truncated=truncated or tap.maxrec == 0, limit=tap.maxrec, inputs=inputs)
    return table, provenance


def described(table: pa.Table, columns: dict[str, ColumnInfo]) -> pa.Table:
    """Unique column names (a join's ``date`` and ``date`` become ``date``, ``date_2``) with
    the unit, description and UCD of the table columns they are."""
    names: list[str] = []
    seen: set[str] = set()
    for name in table.column_names:
        unique, n = name, 1
        while unique.lower() in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique.lower())
        names.append(unique)
    fields = []
    for name, f in zip(names, table.schema, strict=True):
        info = columns.get(f.name) if name == f.name else None
        fields.append(pa.field(name, f.type, metadata=declared(info) or None if info else None))
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields))


def encode(table: pa.Table, fmt: str, provenance: TapProvenance) -> Iterator[bytes]:
    """The answer in pieces (a chunk of rows each, checking the request's budget between
    them: stream.py sends them as they come); joined, the whole file."""
    if fmt == "votable":
        return results_votable(table, provenance)
    if fmt in ("csv", "tsv"):
        return delimited(table, "," if fmt == "csv" else "\t")
    return encode_chunks(table, fmt, provenance)


def delimited(table: pa.Table, delimiter: str) -> Iterator[bytes]:
    """Plain CSV or TSV: a header line of column names, then the rows (no comments: TAP
    clients read these with any CSV reader); dates as ISO 8601."""
    yield (delimiter.join(table.column_names) + "\n").encode()
    options = pacsv.WriteOptions(include_header=False, delimiter=delimiter,
                                 quoting_style="needed" if delimiter == "," else "none")
    step = chunk_rows(table.num_columns, 20)
    for start in range(0, table.num_rows, step):
        if start:
            budgets.check()
        chunk = table.slice(start, step)
        columns = [_text_dates(chunk.column(i)) for i in range(chunk.num_columns)]
        out = io.BytesIO()
        try:
            pacsv.write_csv(pa.table(columns, names=chunk.column_names), out, options)
        except pa.ArrowInvalid as exc:
            raise TapError(f"cannot write the result as TSV: {exc}") from None
        yield out.getvalue()


def _text_dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pa.chunked_array([pa.array(dali_times(column), type=pa.string())])
    return column


# ---- the endpoints -------------------------------------------------------------------------

def failure(exc: Exception, timeout: float, what: str = "the query") -> tuple[str, int]:
    """(message, HTTP status) of an error in answering a TAP query (sync, or an async job
    run with ``timeout`` seconds): a DALI error's text, never a stack trace."""
    if isinstance(exc, RequestTooLarge):
        return str(exc), 413
    if isinstance(exc, TapError):
        return str(exc), exc.status
    if isinstance(exc, AdqlError):
        return str(exc), 400
    if isinstance(exc, QueryTimeout):
        return (f"{what} ran longer than this service's limit of {timeout:g} s and was "
                "stopped (executionDuration in /tap/capabilities): constrain it, e.g. with "
                "CONTAINS or TOP", 400)
    if isinstance(exc, WorkStopped):               # the server is stopping, the client gone
        return str(exc), 503
    if isinstance(exc, QueryFailed):
        return f"the query failed: {_plain(str(exc))}", 400
    if isinstance(exc, CatscanError):
        return str(exc), 400
    log.error("TAP query failed", exc_info=exc)
    return ("internal error: the query could not be completed; the server log has the "
            "details", 503)


@team_or_released
async def sync(request: Request) -> Response:
    limits: Limits = request.app.state.limits
    try:
        tap = await read_request(request)
        catalog = await tap_catalog(request)
        timeout = limits.timeout_s

        def work(ses):
            table, provenance = run_query(ses, catalog, tap, timeout, limits.max_upload_rows)
            limits.check_values(table.num_rows, table.num_columns, tap.format)
            return begin(encode(table, tap.format, provenance),
                         table.num_rows * table.num_columns)

        return await stream(request, await pool_for(request).run(work), tap.media_type)
    except Exception as exc:
        return error_response(*failure(exc, request.app.state.timeout))


def _plain(message: str) -> str:
    return message.removeprefix("query failed: ").strip()


async def root(request: Request) -> Response:
    """TAP 1.1 asks for a human-readable page at the service root."""
    base = str(request.url_for("tap_root")).rstrip("/")
    links = "".join(f'<li><a href="{base}/{p}">{base}/{p}</a>: {what}</li>' for p, what in (
        ("sync", "synchronous ADQL queries (team password)"),
        ("async", "asynchronous ADQL queries: UWS 1.1 jobs (team password)"),
        ("capabilities", "VOSI capabilities"), ("availability", "VOSI availability"),
        ("tables", "VOSI tables: the tables and columns")))
    return HTMLResponse(f"<!doctype html><title>catscan TAP</title><h1>catscan TAP 1.1</h1>"
                        f"<p>ADQL over the 2MASS survey database. Point pyvo, astroquery or "
                        f"TOPCAT at <code>{base}</code>; see docs/vo.md.</p><ul>{links}</ul>")


ROUTES = [
    Route("/tap", root, methods=["GET"], name="tap_root"),
    Route("/tap/sync", sync, methods=["GET", "POST"], name="tap_sync"),
    Route("/tap/capabilities", vosi.capabilities, methods=["GET"], name="tap_capabilities"),
    Route("/tap/availability", vosi.availability, methods=["GET"], name="tap_availability"),
    Route("/tap/tables", vosi.tables, methods=["GET"], name="tap_tables"),
    Route("/tap/tables/{name:path}", vosi.table, methods=["GET"], name="tap_table"),
]
