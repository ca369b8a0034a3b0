"""Run CatScan queries: compile, check the SQL (catscan.safety), run it read-only with a row
cap and a timeout, and keep the provenance that goes into every output (catscan.results).
The CLI, the Python API (:func:`query`) and the web server all come through here."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa

from .language import Catalog, Compiled, compile_text
from .results import Provenance, as_astropy, content_version
from .safety import allowed_tables, query_connection, run_readonly, validate_tree

DEFAULT_LIMIT = 100_000
PREPARED_CACHE = 256                 # compiled queries kept per session


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table
    compiled: Compiled
    provenance: Provenance

    @property
    def truncated(self) -> bool:
        return self.provenance.truncated


class Session:
    """What a query connection's queries share: the catalog, the tables a query may read,
    the column comments and the content version. Read once: a query connection is
    read-only, and DuckDB lets no other process write the file while it is open."""

    def __init__(self, con) -> None:
        self.con = con

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog.from_connection(self.con)

    @cached_property
    def tables(self) -> set[str]:
        return allowed_tables(self.con)

    @cached_property
    def content_version(self) -> str:
        return content_version(self.con)

    def prepared(self, text: str, params: dict[str, str] | None) -> tuple[Compiled, str]:
        """The compiled query and its checked SQL, kept per (text, parameters) like a
        prepared statement: a server answering the same query again skips the compiler."""
        key = (text, tuple(sorted((params or {}).items())))
        cache: OrderedDict = self.__dict__.setdefault("_prepared", OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        compiled = compile_text(text, self.catalog, params)
        cache[key] = (compiled, validate_tree(compiled.expression, self.tables))
        if len(cache) > PREPARED_CACHE:
            cache.popitem(last=False)
        return cache[key]

    def comments(self, table: str) -> dict[str, tuple[str, str]]:
        from .loaders.schema_info import column_comments

        cache = self.__dict__.setdefault("_comments", {})
        if table not in cache:
            cache[table] = column_comments(self.con, table)
        return cache[table]


def session(con_or_session) -> Session:
    return con_or_session if isinstance(con_or_session, Session) else Session(con_or_session)


def run_compiled(con, compiled: Compiled, *, text: str | None, limit: int | None,
                 timeout: float | None, checked_sql: str | None = None) -> QueryResult:
    """Check and run compiled SQL on a query connection (or a :class:`Session` of one)."""
    ses = session(con)
    sql = checked_sql or validate_tree(compiled.expression, ses.tables)
    started = time.perf_counter()
    table, truncated = run_readonly(ses.con, sql, timeout=timeout, limit=limit)
    table = describe(ses, table, compiled)
    provenance = Provenance(sql=compiled.sql, row_count=table.num_rows, query=text,
                            parameters=dict(compiled.parameters),
                            content_version=ses.content_version,
                            elapsed_s=round(time.perf_counter() - started, 6),
                            truncated=truncated, limit=limit)
    return QueryResult(table, compiled, provenance)


def describe(ses: Session, table: pa.Table, compiled: Compiled) -> pa.Table:
    """Units and descriptions (from the schema's column comments) on the result columns that
    are columns of the source, or survey terms from its scans."""
    from .language.catalog import SOURCES, SURVEY_TERMS
    from .tablefile import field_metadata

    own = ses.comments(SOURCES[compiled.source].table)
    scans = ses.comments("scans") if SOURCES[compiled.source].scan_key else {}
    fields = []
    for field in table.schema:
        unit, text = own.get(field.name) or scans.get(SURVEY_TERMS.get(field.name, ""), ("", ""))
        meta = field_metadata(unit, text) if (unit or text) else None
        fields.append(field.with_metadata(meta) if meta else field)
    return table.cast(pa.schema(fields))


def run_text(con, text: str, params: dict[str, str] | None = None, *,
             limit: int | None = DEFAULT_LIMIT, timeout: float | None = None) -> QueryResult:
    """Compile a CatScan query against the connection's catalog and run it. Pass a
    :class:`Session` to run many queries on one connection without re-reading the catalog."""
    ses = session(con)
    compiled, sql = ses.prepared(text, params)
    return run_compiled(ses, compiled, text=text, limit=limit, timeout=timeout,
                        checked_sql=sql)


def query(text: str, db=None, *, limit: int | None = DEFAULT_LIMIT,
          timeout: float | None = None, **params):
    """Run a CatScan query and return an astropy Table (``.to_pandas()`` works when pandas
    is installed); the provenance is in ``table.meta``.

        >>> import catscan
        >>> t = catscan.query("select designation, j_m from psc within $r of 10.68 41.27",
        ...                   r="2arcmin")
    """
    con = query_connection(db)
    try:
        result = run_text(con, text, {k: str(v) for k, v in params.items()}, limit=limit,
                          timeout=timeout)
    finally:
        con.close()
    return as_astropy(result.table, result.provenance)
