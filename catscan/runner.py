"""Run CatScan queries: compile, check the SQL (catscan.safety), run it read-only with a row
cap and a timeout, and keep the provenance that goes into every output (catscan.results).
The CLI, the Python API (:func:`query`) and the web server all come through here."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa

from .language import Catalog, Compiled, compile_text
from .language.saved import SavedQuery
from .results import Provenance, as_astropy
from .safety import allowed_tables, query_connection, run_readonly, validate_sql

DEFAULT_LIMIT = 100_000


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table
    compiled: Compiled
    provenance: Provenance

    @property
    def truncated(self) -> bool:
        return self.provenance.truncated


def run_compiled(con, compiled: Compiled, *, text: str | None, limit: int | None,
                 timeout: float | None) -> QueryResult:
    """Check and run compiled SQL on a query connection."""
    sql = validate_sql(compiled.sql, allowed_tables(con))
    started = time.perf_counter()
    table, truncated = run_readonly(con, sql, timeout=timeout, limit=limit)
    table = describe(con, table, compiled)
    provenance = Provenance.record(con, sql=compiled.sql, row_count=table.num_rows,
                                   elapsed_s=time.perf_counter() - started, query=text,
                                   parameters=compiled.parameters, truncated=truncated,
                                   limit=limit)
    return QueryResult(table, compiled, provenance)


def describe(con, table: pa.Table, compiled: Compiled) -> pa.Table:
    """Units and descriptions (from the schema's column comments) on the result columns that
    are columns of the source, or survey terms from its scans."""
    from .language.catalog import SOURCES, SURVEY_TERMS
    from .loaders.schema_info import column_comments
    from .tablefile import field_metadata

    own = column_comments(con, SOURCES[compiled.source].table)
    scans = column_comments(con, "scans") if SOURCES[compiled.source].scan_key else {}
    fields = []
    for field in table.schema:
        unit, text = own.get(field.name) or scans.get(SURVEY_TERMS.get(field.name, ""), ("", ""))
        meta = field_metadata(unit, text) if (unit or text) else None
        fields.append(field.with_metadata(meta) if meta else field)
    return table.cast(pa.schema(fields))


def run_text(con, text: str, params: dict[str, str] | None = None, *,
             limit: int | None = DEFAULT_LIMIT, timeout: float | None = None) -> QueryResult:
    """Compile a CatScan query against the connection's catalog and run it."""
    compiled = compile_text(text, Catalog.from_connection(con), params)
    return run_compiled(con, compiled, text=text, limit=limit, timeout=timeout)


def run_saved(con, saved: SavedQuery, params: dict[str, str] | None = None, *,
              limit: int | None = DEFAULT_LIMIT, timeout: float | None = None) -> QueryResult:
    """A saved query with its defaults, overridden by ``params``."""
    return run_text(con, saved.text, saved.values(params), limit=limit, timeout=timeout)


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
