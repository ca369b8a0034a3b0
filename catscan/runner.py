"""Run CatScan queries: compile, check the SQL (catscan.safety), run it read-only with a row
cap and a timeout, and keep the provenance that goes into every output (catscan.results).
The CLI, the Python API (:func:`query`) and the web server all come through here."""

from __future__ import annotations

import difflib
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa

from .errors import CatscanError
from .language import Catalog, Compiled, QueryError, compile_text
from .language.compiler import MatchPlan
from .parallelism import parallel, rows_in_ranges, table_rows
from .results import Provenance, as_astropy, cap_rows, content_version
from .safety import (
    QueryTimeout,
    allowed_tables,
    query_connection,
    run_readonly,
    validate_tree,
)
from .tablefile import Targets, astropy_to_arrow, read_targets
from .xmatch import SEP_COLUMN, XmatchError, match_relation, with_metadata

DEFAULT_LIMIT = 100_000
PREPARED_CACHE = 256                 # compiled queries kept per session
DIST_TEXT = "distance from the cone's centre (Vincenty)"
DIST_UCD = "pos.angDistance"


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
    read-only, and DuckDB lets no other process write the file while it is open.

    The lists a ``match`` clause names are read from files relative to ``base`` (the
    current directory by default), or taken from ``lists`` (name -> table with ``ra`` and
    ``dec`` in degrees, e.g. uploads). A server passes ``read_files=False`` so that a query
    cannot read the server's files."""

    def __init__(self, con, *, lists: dict[str, object] | None = None, read_files: bool = True,
                 base: str | Path | None = None) -> None:
        self.con = con
        self.lists = dict(lists or {})
        self.read_files = read_files
        self.base = Path(base) if base is not None else None

    def targets(self, plan: MatchPlan) -> tuple[Targets, str]:
        """The list a match clause names, and its checksum for the provenance."""
        if plan.path in self.lists:
            table = self.lists[plan.path]
            targets = Targets(table if isinstance(table, pa.Table) else astropy_to_arrow(table),
                              "ra", "dec", Path(plan.path))
            return targets, "uploaded"
        if not self.read_files:
            raise _at(plan.pos, f"no list named {plan.path!r} was uploaded (this server "
                      "does not read files)")
        path = Path(plan.path)
        if not path.is_absolute() and self.base is not None:
            path = self.base / path
        try:
            targets = read_targets(path)
        except CatscanError as exc:
            raise _at(plan.pos, str(exc)) from None
        return targets, "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog.from_connection(self.con)

    @cached_property
    def tables(self) -> set[str]:
        return allowed_tables(self.con)

    @property
    def content_version(self) -> str:
        """Read again after any commit in this process (a server's session outlives the
        writes its process makes; catscan.content.generation)."""
        from .content import generation

        seen = self.__dict__.get("_version")
        if seen is None or seen[0] != generation():
            seen = self.__dict__["_version"] = (generation(), content_version(self.con))
        return seen[1]

    def prepared(self, text: str, params: dict[str, str] | None) -> tuple[Compiled, str]:
        """The compiled query and its checked SQL, kept per (text, parameters) like a
        prepared statement: a server answering the same query again skips the compiler.
        The SQL of the survey words holds the sky of their scans as ``scans`` has it now
        (catscan.language.sky), one more reason a session must not outlive a load."""
        key = (text, tuple(sorted((params or {}).items())))
        cache: OrderedDict = self.__dict__.setdefault("_prepared", OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        compiled = compile_text(text, self.catalog, params, self.con)
        cache[key] = (compiled, validate_tree(compiled.expression, self.tables,
                                              sql=compiled.sql))
        if len(cache) > PREPARED_CACHE:
            cache.popitem(last=False)
        return cache[key]

    def read_rows(self, compiled: Compiled) -> float:
        """About how many rows the query reads: its source table's, narrowed by the HEALPix
        cover of each region it is limited to (a query's regions are AND-ed)."""
        from .language.catalog import SOURCES

        table = SOURCES[compiled.source].table
        counts = self.__dict__.setdefault("_rows", {})
        if table not in counts:
            counts[table] = table_rows(self.con, table)
        if any(r.empty for r in compiled.regions):
            return 0.0
        covers = [r.ranges for r in compiled.regions if r.ranges]
        return min((rows_in_ranges(counts[table], c) for c in covers),
                   default=float(counts[table]))

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
    sql = checked_sql or validate_tree(compiled.expression, ses.tables, sql=compiled.sql)
    started = time.perf_counter()
    inputs: dict[str, str] = {}
    if compiled.match is None:
        with parallel(ses.con, ses.read_rows(compiled)):
            table, truncated = run_readonly(ses.con, sql, timeout=timeout, limit=limit)
        table = describe(ses, table, compiled)
    else:
        table, inputs = run_match(ses, compiled, timeout)
        table, truncated = cap_rows(table, limit)
    provenance = Provenance(sql=compiled.sql, row_count=table.num_rows, query=text,
                            parameters=dict(compiled.parameters),
                            content_version=ses.content_version,
                            elapsed_s=round(time.perf_counter() - started, 6),
                            truncated=truncated, limit=limit, inputs=inputs)
    return QueryResult(table, compiled, provenance)


def run_match(ses: Session, compiled: Compiled, timeout: float | None
               ) -> tuple[pa.Table, dict[str, str]]:
    """A query with a match clause: its checked SQL selects the catalog rows, the list is
    cross-matched against them (catscan.xmatch; every target is kept), then the output is
    ordered and limited. The timeout covers the whole query."""
    plan = compiled.match
    targets, checksum = ses.targets(plan)
    deadline = None if timeout is None else time.monotonic() + timeout

    def run(candidates: str) -> pa.Table:
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        try:
            return run_readonly(ses.con, candidates, timeout=left)[0]
        except QueryTimeout:
            raise QueryTimeout(f"query interrupted after {timeout:g} s") from None

    try:
        table, sources = match_relation(run, ses.con, targets.table, plan.radius_deg,
                                        compiled.expression, catalog=plan.catalog,
                                        mode=plan.mode, index_table=compiled.source,
                                        ra_column=targets.ra, dec_column=targets.dec)
    except XmatchError as exc:
        raise _at(plan.pos, str(exc)) from None
    table = with_metadata(ses.con, table, targets.table, plan.catalog, sources)
    if plan.order_by:
        keys = []
        for name, descending, pos in plan.order_by:
            if name not in table.column_names:
                raise _at(pos, f"the matched output has no column {name!r}",
                          _close(name, table.column_names))
            keys.append((name, "descending" if descending else "ascending"))
        import pyarrow.compute as pc  # ~0.1 s to import: only for a sorted match

        table = table.take(pc.sort_indices(table, sort_keys=keys))   # nulls last
    if plan.limit is not None:
        table = table.slice(0, plan.limit)
    return table, {str(targets.path): f"{checksum}, {targets.table.num_rows} rows"}


def _at(pos: tuple[int, int], message: str, hint: str | None = None) -> QueryError:
    return QueryError(message, line=pos[0], column=pos[1], hint=hint)


def _close(name: str, names) -> str | None:
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    return "did you mean " + " or ".join(close) + "?" if close else None


def describe(ses: Session, table: pa.Table, compiled: Compiled) -> pa.Table:
    """Units and descriptions (from the schema's column comments) on the result columns that
    are columns of the source, or survey terms from its scans; the fixed width of a text
    column of the source (VOTable FIELDs, catscan.votable_types)."""
    from .language.catalog import SOURCES, SURVEY_TERMS
    from .tablefile import field_metadata
    from .votable_types import width_metadata

    cache = ses.__dict__.setdefault("_described", {})
    key = (compiled.source, compiled.dist, table.schema)
    if key not in cache:                  # a server answers the same shapes again and again
        own = ses.comments(SOURCES[compiled.source].table)
        scans = ses.comments("scans") if SOURCES[compiled.source].scan_key else {}
        fields = []
        for field in table.schema:
            unit, text = own.get(field.name) or scans.get(SURVEY_TERMS.get(field.name, ""),
                                                          ("", ""))
            meta = (field_metadata(unit, text) or {}) if (unit or text) else {}
            if compiled.dist and field.name == SEP_COLUMN:
                meta = field_metadata("arcsec", DIST_TEXT, DIST_UCD)
            meta |= width_metadata(SOURCES[compiled.source].table, field.name)
            fields.append(field.with_metadata(meta) if meta else field)
        if len(cache) > PREPARED_CACHE:
            cache.clear()
        cache[key] = pa.schema(fields)
    # the same columns under the described schema (Table.cast would import pyarrow.compute,
    # ~0.1 s of a command's start-up, to change no type)
    return pa.Table.from_arrays(table.columns, schema=cache[key])


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
