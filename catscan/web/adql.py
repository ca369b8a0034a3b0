"""ADQL to DuckDB SQL, with sqlglot.

ADQL 2.0 reads with sqlglot's T-SQL reader (TOP, CONTAINS, delimited identifiers; POINT,
CIRCLE... arrive as plain function calls), then pure rewrites turn it into DuckDB SQL:

- ``CONTAINS(POINT(ra, dec), CIRCLE|BOX|POLYGON(...)) = 1`` becomes catscan.spatial's
  condition: the HEALPix ranges of the table's ``hpx29`` (so DuckDB skips the row groups
  outside), then the exact test. ``DISTANCE(POINT, POINT)`` is ``ang_sep``, and
  ``DISTANCE(...) < r`` with one constant point is a cone with its ranges.
- A join of an uploaded table with a catalog, ``CONTAINS(POINT(p.ra, p.dec), CIRCLE(u.ra,
  u.dec, r)) = 1`` (or ``DISTANCE(...) < r``), becomes catscan.xmatch's plan: each upload row
  is repeated for its HEALPix cell and the neighbours it needs (computed here), so the join
  is a hash equi-join on ``hpx29 >> shift``, restricted to the upload's ranges, then the
  exact distance. Where that rewrite would be wrong (outer joins, the predicate under OR)
  the ranges and the exact test stay in place: slower, still right.
- Tables: survey tables of ``main``, ``TAP_SCHEMA.*`` (registered Arrow tables, see
  tap_schema.py) and ``TAP_UPLOAD.*``; anything else, ``private`` included, is unknown.
- Functions: the ADQL ones only; unsupported ADQL (INTERSECTS, REGION, AREA...) is refused
  naming the function and where it is.
- Columns: every reference is checked against the tables it can read (an unknown one is
  refused where it is written, with the closest names); ADQL names that differ from the
  database's (``xdate`` for ``date``, tap_schema.py) are mapped back, and ``*`` is spelled
  out as the TAP columns, so that internal columns (``hpx29``, ``load_id``) never appear.

The result is checked by catscan.safety.validate_tree like every user query.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..designation_match import compare_trimmed
from ..errors import CatscanError
from ..polygon import PolygonError
from ..safety import UnsafeQuery, validate_tree
from ..spatial import (
    MATCH_CELL_COLUMN,
    box_condition,
    cone_condition,
    cone_ranges,
    merge_ranges,
    polygon_condition,
    ranges_condition,
)
from ..tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY
from ..votable_types import XTYPE_KEY
from ..xmatch import Plan, scan_ranges, target_cells
from .tap_schema import SCHEMA, TAP_SCHEMA, ColumnInfo, TableInfo, TapCatalog

TAP_UPLOAD = "TAP_UPLOAD"
UPLOAD_PREFIX, XMATCH_PREFIX = "tap_upload__", "tap_xmatch__"
ROW_COLUMN = "__row"                  # an upload row's number, hidden from SELECT *
UPLOAD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
COORDINATE_SYSTEMS = ("", "ICRS", "J2000", "FK5", "UNKNOWN")    # ICRS data; no transforms

# ADQL's functions by the sqlglot class its T-SQL reader gives them
ALLOWED_FUNCTIONS = tuple(getattr(exp, name) for name in (
    "Abs", "Acos", "Asin", "Atan", "Atan2", "Ceil", "Cos", "Cot", "Degrees", "Exp", "Floor",
    "Ln", "Log", "Mod", "Pi", "Pow", "Radians", "Rand", "Round", "Sign", "Sin", "Sqrt", "Tan",
    "Trunc", "Lower", "Upper", "Coalesce", "Cast", "Count", "Sum", "Avg", "Min", "Max", "Case",
    "Contains", "Exists", "Connector") if hasattr(exp, name))
GEOMETRY = ("POINT", "CIRCLE", "BOX", "POLYGON", "DISTANCE", "COORD1", "COORD2")
MAX_DEPTH = 500          # levels of the parsed tree (check_depth)
NUMBER_DEPTH = 100       # levels of a constant expression _number evaluates
MAX_NESTING = 30          # levels of nesting (check_nesting); sqlglot needs ~25 frames each
_OPENING = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE,
                      TokenType.CASE})
_CLOSING = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE,
                      TokenType.END})
_PREFIX = frozenset({TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE})
UNSUPPORTED = {
    "INTERSECTS": "use CONTAINS(POINT(...), CIRCLE|BOX|POLYGON(...)) = 1",
    "REGION": "use CIRCLE, BOX or POLYGON", "AREA": None, "CENTROID": None,
    "COORDSYS": "positions are ICRS", "IN_UNIT": None,
}
SUPPORTED_TEXT = ("supported: ABS ACOS ASIN ATAN ATAN2 CEILING COS COT DEGREES EXP FLOOR LOG "
                  "LOG10 MOD PI POWER RADIANS RAND ROUND SIN SQRT TAN TRUNCATE LOWER UPPER "
                  "COALESCE CAST COUNT SUM AVG MIN MAX, and CONTAINS POINT CIRCLE BOX POLYGON "
                  "DISTANCE COORD1 COORD2")


class AdqlError(CatscanError):
    """A query that is not ADQL this service can run: what, and where when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.reason, self.line, self.column = message, line, column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"ADQL error{where}: {message}")


class Adql(TSQL):
    """The reader: T-SQL's grammar (TOP, CONTAINS, "delimited" identifiers), DuckDB's null
    order so that no NULLS FIRST/LAST is added to ORDER BY."""

    NULL_ORDERING = "nulls_are_last"


@dataclass
class Source:
    """A table a SELECT reads: a catalog table, an upload, or a subquery/CTE (info None)."""

    alias: str
    node: exp.Expression
    info: TableInfo | None = None
    upload: str | None = None           # TAP_UPLOAD name

    def columns(self, uploads: dict[str, pa.Table]) -> list[str] | None:
        """The names a query may use for its columns (ADQL names, and the database's where
        they differ: a quoted "date" still reads xdate); None when unknown (a subquery)."""
        if self.info is not None:
            return self.info.names
        if self.upload is not None:
            return [c for c in uploads[self.upload].column_names if c != ROW_COLUMN]
        return None

    def has(self, name: str, uploads: dict[str, pa.Table]) -> bool | None:
        """Whether the source has a column ``name`` (None: cannot tell, a subquery)."""
        if self.info is not None:
            return name.lower() in self.info.lookup
        known = self.columns(uploads)
        return None if known is None else name.lower() in {k.lower() for k in known}

    def info_of(self, name: str) -> ColumnInfo | None:
        """The catalog column a reference ``name`` reads (by ADQL, then database name)."""
        return self.info.lookup.get(name.lower()) if self.info is not None else None


@dataclass
class Translation:
    """The DuckDB query for an ADQL text, and what it needs: Arrow tables to register for
    this query (uploads and their cross-match expansions), and the metadata (unit, UCD,
    description) of output columns that are table columns."""

    adql: str
    sql: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)   # names in scope: SQL -> ADQL

    def failure(self, message: str) -> AdqlError:
        """DuckDB's refusal of the SQL (a type error, an ambiguous or unknown name in a
        subquery...) in ADQL's words: the names as the query writes them, where the first
        one is in the text, the closest column names; never DuckDB's own text."""
        return failure(self.adql, message, self.names)


def translate(adql: str, catalog: TapCatalog, uploads: dict[str, pa.Table] | None = None,
              *, row_cap: int | None = None) -> Translation:
    """The checked DuckDB SQL for ``adql``, or :class:`AdqlError`. ``uploads``: TAP_UPLOAD
    tables by name; ``row_cap``: at most this many rows (a LIMIT DuckDB can plan with, e.g.
    MAXREC + 1 to detect an overflow)."""
    try:
        return _Translator(adql, catalog, dict(uploads or {})).run(row_cap)
    except RecursionError:     # the last resort: check_nesting bounds what recurses
        raise AdqlError("the query nests too deeply for this service", 1, 1) from None


class _Translator:
    def __init__(self, adql: str, catalog: TapCatalog, uploads: dict[str, pa.Table]):
        self.adql, self.catalog = adql, catalog
        self.uploads = {name.lower(): table for name, table in uploads.items()}
        self.registered: dict[str, pa.Table] = {}
        self.sources: dict[int, list[Source]] = {}       # id(select) -> its sources
        self.numbered: dict[int, str] = {}               # id(upload node) -> with ROW_COLUMN
        self.probed: dict[int, _Probe] = {}              # id(catalog node) -> its probe

    # ---- the pipeline ---------------------------------------------------------------------

    def run(self, row_cap: int | None = None) -> Translation:
        tree = self.parse()
        self.check_functions(tree)
        self.name_outputs(tree)
        self.resolve_tables(tree)
        self.check_columns(tree)
        columns = self.output_columns(tree)
        self.bind_columns(tree)
        tree = self.rewrite_geometry(tree)
        for select in list(tree.find_all(exp.Select)):
            self.expand_stars(select)       # after the rewrites: a probe adds a column
        self.rename_tables(tree)
        compare_trimmed(tree)               # designations match with or without the blank
        if row_cap is not None:
            tree = _capped(tree, row_cap)
        allowed = {t.sql_name for t in self.catalog.tables} | set(self.registered)
        try:
            sql = validate_tree(tree, allowed)
        except UnsafeQuery as exc:
            raise AdqlError(f"query refused: {exc.reason}") from None
        names = {c.lower(): c for ss in self.sources.values() for source in ss
                 for c in (source.columns(self.uploads) or [])}
        for ss in self.sources.values():
            for source in ss:
                for info in source.info.columns if source.info is not None else ():
                    names[info.sql_name.lower()] = info.name
        return Translation(self.adql, sql, dict(self.registered), columns, names)

    def parse(self) -> exp.Query:
        if not self.adql.strip():
            raise AdqlError("QUERY is empty", 1, 1)
        dialect = Adql()
        tokenizer = dialect.tokenizer()
        try:
            tokens = tokenizer.tokenize(self.adql)
        except TokenError:
            raise AdqlError("syntax error: a string, a quoted name or a comment is not closed, "
                            "or a character cannot start a token",
                            *self.offset_position(self.after(tokenizer.tokens))) from None
        self.check_nesting(tokens)
        try:
            trees = [t for t in dialect.parser().parse(tokens, self.adql) if t is not None]
        except ParseError as err:
            first = err.errors[0] if err.errors else {}
            raise AdqlError(_syntax_message(first), *self.line_col(first)) from None
        except TokenError:
            raise AdqlError("syntax error", 1, 1) from None
        if not trees:
            raise AdqlError("QUERY holds no statement", 1, 1)
        if len(trees) > 1:
            raise AdqlError(f"one query only, not {len(trees)}", *self.where(trees[1]))
        tree = trees[0]
        if not isinstance(tree, exp.Query) or isinstance(tree, exp.Values):
            raise AdqlError(f"only SELECT queries are ADQL, not {type(tree).__name__.upper()}",
                            *self.where(tree))
        self.check_depth(tree)
        return tree

    def check_depth(self, tree: exp.Expression) -> None:
        """Refuse a tree deeper than MAX_DEPTH (without recursing): chains, which sqlglot
        reads without recursing, are as deep as they are long, and DuckDB refuses
        expressions 1000 levels deep."""
        stack = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise AdqlError(f"the query is more than {MAX_DEPTH} levels deep here (each "
                                "operator of a chain such as a + b + c or a OR b OR c is a "
                                "level; write long lists as x IN (a, b, c))",
                                *self.where(node))
            stack.extend((child, depth + 1) for child in node.iter_expressions())

    def after(self, tokens: list[Token]) -> int:
        """The offset of the first character after the last token read: where reading
        stopped."""
        end = tokens[-1].end + 1 if tokens else 0
        while end < len(self.adql) and self.adql[end].isspace():
            end += 1
        return end

    def check_nesting(self, tokens: list[Token]) -> None:
        """Refuse more than MAX_NESTING levels, at the token that passes it, before sqlglot's
        parser (which recurses some 20 frames per level) and the rewrites see the text: a
        level is an open parenthesis (function calls and subqueries too), a CASE, or a sign
        or NOT in a row (``- - x``, ``NOT NOT x``). Chains (``a AND b AND c``) are not levels:
        sqlglot reads and writes them without recursing."""
        depth = run = 0
        for token in tokens:
            kind = token.token_type
            if kind in _OPENING:
                depth += 1
            elif kind in _CLOSING:
                depth = max(depth - 1, 0)
            run = run + 1 if kind in _PREFIX else 0
            if depth + run > MAX_NESTING:
                raise AdqlError(f"the query nests more than {MAX_NESTING} levels deep here "
                                "(parentheses, function calls, subqueries, CASE, signs and "
                                "NOT in a row)", *self.offset_position(token.start))

    def offset_position(self, offset: int) -> tuple[int, int]:
        """(line, column) from 1 of a character offset in the text."""
        return self.adql.count("\n", 0, offset) + 1, offset - self.adql.rfind("\n", 0, offset)

    def check_functions(self, tree: exp.Expression) -> None:
        for node in tree.walk():
            if isinstance(node, exp.Select) and not node.expressions:
                raise AdqlError("SELECT needs a list of columns, or *", *self.where(node))
            if isinstance(node, exp.Join) and node.args.get("method") == "NATURAL" and (
                    node.args.get("on") or node.args.get("using")):
                raise AdqlError("a NATURAL JOIN takes no ON or USING", *self.where(node))
            if isinstance(node, exp.Anonymous):
                name = node.name.upper()
                if name in GEOMETRY:
                    continue
                if name in UNSUPPORTED:
                    hint = UNSUPPORTED[name]
                    raise AdqlError(f"{name} is not supported by this service"
                                    + (f": {hint}" if hint else ""), *self.where(node))
                raise AdqlError(f"unsupported function {node.name} ({SUPPORTED_TEXT})",
                                *self.where(node))
            if isinstance(node, exp.If) and isinstance(node.parent, exp.Case):
                continue                                  # CASE WHEN ... THEN
            if isinstance(node, exp.Func) and not isinstance(node, ALLOWED_FUNCTIONS):
                raise AdqlError(f"unsupported function {self.written_name(node)} "
                                f"({SUPPORTED_TEXT})", *self.where(node))

    # ---- tables ---------------------------------------------------------------------------

    def resolve_tables(self, tree: exp.Expression) -> None:
        """Every table a query names is a catalog table, a TAP_SCHEMA table, an upload or a
        CTE; each SELECT's sources by alias."""
        for select in tree.find_all(exp.Select):
            sources = []
            for node in _from_items(select):
                alias = node.alias_or_name
                if isinstance(node, exp.Table):
                    sources.append(self.table_source(node, alias))
                else:
                    sources.append(Source(alias, node))
            self.sources[id(select)] = sources
        for table in tree.find_all(exp.Table):     # tables outside FROM/JOIN lists
            if not any(s.node is table for ss in self.sources.values() for s in ss):
                self.table_source(table, table.alias_or_name)

    def table_source(self, node: exp.Table, alias: str) -> Source:
        if isinstance(node.this, exp.Func) or not isinstance(node.this, exp.Identifier):
            raise AdqlError(f"{node.this.sql(dialect=Adql)} cannot be read as a table",
                            *self.where(node))
        catalog, schema, name = node.catalog, node.db, node.name
        if catalog:
            raise AdqlError(f"unknown table {node.sql(dialect=Adql)}", *self.where(node))
        if not schema and name.lower() in _cte_names(node):
            return Source(alias, node)
        if schema.upper() == TAP_UPLOAD:
            if name.lower() not in self.uploads:
                sent = ", ".join(sorted(self.uploads)) or "none"
                raise AdqlError(f"no table {TAP_UPLOAD}.{name} was uploaded (uploaded: "
                                f"{sent}); send it with UPLOAD={name},param:...",
                                *self.where(node))
            return Source(alias, node, upload=name.lower())
        info = self.catalog.table(schema or None, name) \
            if schema.lower() in ("", SCHEMA, TAP_SCHEMA.lower()) else None
        if info is None:
            known = ", ".join(t.name for t in self.catalog.tables)
            raise AdqlError(f"unknown table {node.sql(dialect=Adql)} (tables: {known}; "
                            f"uploads: {TAP_UPLOAD}.name)", *self.where(node))
        return Source(alias, node, info=info)

    def rename_tables(self, tree: exp.Expression) -> None:
        """The names the SQL reads: registered TAP_SCHEMA, upload and cross-match tables;
        atlas_images without its pixels; no schema qualifiers."""
        for node in list(tree.find_all(exp.Table)):
            source = self.source_of_table(node)
            if source is None or (source.info is None and source.upload is None):
                continue
            alias = node.alias or source.alias
            if source.upload is not None:
                target = self.numbered.get(id(node))
                if target is None:
                    target = UPLOAD_PREFIX + source.upload
                    self.registered[target] = self.uploads[source.upload]
                node.replace(_table(target, alias))
            elif id(node) in self.probed or source.info.withheld:
                info = source.info
                readable = [c.sql_name for c in info.columns] + [
                    h for h in info.hidden if h not in info.withheld]
                columns = [exp.column(c, table="xm_c", quoted=True) for c in readable] \
                    if info.withheld else \
                    [exp.Column(this=exp.Star(), table=exp.to_identifier("xm_c"))]
                kept = exp.select(*columns).from_(_table(source.info.sql_name, "xm_c"))
                if id(node) in self.probed:
                    kept = self.probed[id(node)].read(kept)
                node.replace(exp.Subquery(this=kept, alias=exp.TableAlias(
                    this=exp.to_identifier(alias, quoted=True))))
            else:
                node.replace(_table(source.info.sql_name, alias if alias.lower() !=
                                    source.info.sql_name.lower() else None))
        for column in tree.find_all(exp.Column):
            for part in ("db", "catalog"):
                if column.args.get(part) is not None:
                    column.set(part, None)

    def source_of_table(self, node: exp.Table) -> Source | None:
        for sources in self.sources.values():
            for source in sources:
                if source.node is node:
                    return source
        return None

    # ---- columns --------------------------------------------------------------------------

    def check_columns(self, tree: exp.Expression) -> None:
        """Every column reference names a column of a table it can read (or an output
        name): else an error where it is written, with the closest names."""
        for column in tree.find_all(exp.Column):
            if not isinstance(column.this, exp.Star):
                self.check_column(column)

    def check_column(self, column: exp.Column) -> None:
        name, qualifier = column.name, column.table
        candidates: list[str] = []
        selects = list(_enclosing_selects(column))
        if qualifier:
            for select in selects:
                found = [s for s in self.sources.get(id(select), [])
                         if s.alias.lower() == qualifier.lower()]
                if not found:
                    continue
                if found[0].has(name, self.uploads) is not False:
                    return
                self.check_internal(column, [found[0]])
                shown = _shown(found[0], self.uploads)
                raise AdqlError(f"{_label(found[0])} has no column {name}"
                                + _suggestion(name, shown), *self.where(column))
            aliases = sorted({s.alias for select in selects
                              for s in self.sources.get(id(select), [])})
            raise AdqlError(f"{qualifier}.{name}: no table or alias {qualifier} in this "
                            f"query (tables here: {', '.join(aliases) or 'none'})",
                            *self.where(column))
        for select in selects:
            sources = self.sources.get(id(select), [])
            outputs = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
            if name.lower() in outputs:
                return
            for source in sources:
                if source.has(name, self.uploads) is not False:
                    return
                candidates += _shown(source, self.uploads)
        if not selects or not any(self.sources.get(id(s)) for s in selects):
            return                         # no table to check against (SELECT 1 AS x ...)
        self.check_internal(column, [s for select in selects
                                     for s in self.sources.get(id(select), [])])
        raise AdqlError(f"unknown column {name}" + _suggestion(name, candidates),
                        *self.where(column))

    def check_internal(self, column: exp.Column, sources: list[Source]) -> None:
        """Refuse a column TAP does not show, saying so."""
        table = next((s.info.name for s in sources if s.info is not None
                      and column.name.lower() in s.info.hidden), None)
        if table is not None:
            hint = _INTERNAL_HINTS.get(column.name.lower())
            raise AdqlError(f"{column.name} is an internal column of {table}, not offered by "
                            f"this service" + (f" ({hint})" if hint else ""),
                            *self.where(column))

    def bind_columns(self, tree: exp.Expression) -> None:
        """Columns as the database names them: ADQL names that differ become the stored
        names (output columns keep the ADQL name as an alias). ``*`` is :meth:`expand_stars`'s,
        after the rewrites."""
        for column in list(tree.find_all(exp.Column)):
            if column.name.lower() not in self.catalog.renamed:
                continue                                    # the usual case: nothing to do
            source = self.source_of_column(column)
            info = source.info_of(column.name) if source is not None else None
            if info is None or info.sql_name == column.name:
                continue
            stored = exp.Column(this=exp.to_identifier(info.sql_name, quoted=True),
                                table=column.args.get("table"))
            if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
                stored = exp.alias_(stored, column.name, quoted=True)
            column.replace(stored)
        for join in list(tree.find_all(exp.Join)):
            for name in join.args.get("using") or []:
                if name.name.lower() not in self.catalog.renamed:
                    continue
                stored = {c.info_of(name.name).sql_name for c in self.sources_of(join)
                          if c.info_of(name.name) is not None}
                if len(stored) == 1 and (only := stored.pop()) != name.name:
                    name.replace(exp.to_identifier(only, quoted=True))

    def expand_stars(self, select: exp.Select) -> None:
        """``*`` over catalog tables and uploads as their TAP columns: a table's own star
        without its internal columns and with the ADQL names (DuckDB's EXCLUDE and RENAME),
        an upload's columns one by one."""
        sources = self.sources.get(id(select), [])
        if not any(s.info is not None or s.upload is not None for s in sources) or any(
                not s.alias for s in sources):
            return                  # nothing to spell out, or a subquery without a name
        items: list[exp.Expression] = []
        for item in select.expressions:
            star = isinstance(item, exp.Star) or (isinstance(item, exp.Column)
                                                   and isinstance(item.this, exp.Star))
            if not star:
                items.append(item)
                continue
            qualifier = item.table.lower() if isinstance(item, exp.Column) else ""
            shared = _shared_columns(select, sources) if not qualifier else {}
            for source in sources:
                if qualifier and source.alias.lower() != qualifier:
                    continue
                items += self.spelled_out(source, shared.get(id(source.node), set()))
        select.set("expressions", items)

    def spelled_out(self, source: Source, skip: set[str]) -> list[exp.Expression]:
        """``source.*`` as its columns (``skip``: names a USING or NATURAL join shows once,
        from an earlier table)."""
        if source.upload is None:          # a table: * without what TAP does not show
            star = exp.Star()
            info = source.info
            if info is not None:
                drop = [h for h in info.hidden if h not in info.withheld]
                drop += [ROW_COLUMN] if id(source.node) in self.probed else []
                drop += [c.sql_name for c in info.columns if c.name.lower() in skip]
                renames = [exp.alias_(exp.column(c.sql_name, quoted=True), c.name, quoted=True)
                           for c in info.columns
                           if c.sql_name != c.name and c.name.lower() not in skip]
                if drop:
                    star.set("except_", [exp.column(n, quoted=True) for n in drop])
                if renames:
                    star.set("rename", renames)
            return [exp.Column(this=star, table=exp.to_identifier(source.alias, quoted=True))]
        out: list[exp.Expression] = []
        for info in self.infos(source):
            if info.name.lower() in skip:
                continue
            column = exp.column(info.sql_name, table=source.alias, quoted=True)
            out.append(column if info.sql_name == info.name else
                       exp.alias_(column, info.name, quoted=True))
        return out

    # ---- output columns -------------------------------------------------------------------

    def name_outputs(self, tree: exp.Query) -> None:
        """Computed output columns get ADQL names (count, distance, col3...), unique."""
        select = _first_select(tree)
        if select is None:
            return
        taken = {e.alias_or_name.lower() for e in select.expressions
                 if isinstance(e, (exp.Alias, exp.Column))}
        for i, item in enumerate(list(select.expressions), start=1):
            if isinstance(item, (exp.Alias, exp.Column, exp.Star)):
                continue
            base = (item.name if isinstance(item, exp.Anonymous) else
                    self.written_name(item) if isinstance(item, exp.Func) else f"col{i}")
            base = re.sub(r"\W+", "_", base).strip("_").lower() or f"col{i}"
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
            item.replace(exp.alias_(item.copy(), name, quoted=True))

    def output_columns(self, tree: exp.Query) -> dict[str, ColumnInfo]:
        """Metadata of output columns that are plain table columns, by output name."""
        select = _first_select(tree)
        out: dict[str, ColumnInfo] = {}
        if select is None:
            return out
        for item in select.expressions:
            target = item.this if isinstance(item, exp.Alias) else item
            if isinstance(target, exp.Star) or (isinstance(target, exp.Column)
                                                and isinstance(target.this, exp.Star)):
                qualifier = target.table if isinstance(target, exp.Column) else ""
                for source in self.sources.get(id(select), []):
                    if not qualifier or source.alias.lower() == qualifier.lower():
                        for info in self.infos(source):
                            out.setdefault(info.name, info)
            elif isinstance(target, exp.Column):
                source = self.source_of_column(target)
                info = next((c for c in self.infos(source) if c.name.lower()
                             == target.name.lower()), None) if source else None
                if info is not None:
                    out.setdefault(item.alias_or_name, info)
        return out

    def infos(self, source: Source) -> list[ColumnInfo]:
        if source.info is not None:
            return list(source.info.columns)
        if source.upload is not None:
            return [_upload_column(f) for f in self.uploads[source.upload].schema]
        return []

    def source_of_column(self, column: exp.Column) -> Source | None:
        """The source a column reference reads, from the innermost SELECT outwards."""
        qualifier = column.table.lower()
        for select in _enclosing_selects(column):
            sources = self.sources.get(id(select), [])
            if qualifier:
                found = [s for s in sources if s.alias.lower() == qualifier]
            else:
                found = [s for s in sources if s.has(column.name, self.uploads)]
            if len(found) == 1:
                return found[0]
            if found or (not qualifier and any(s.has(column.name, self.uploads) is None
                                               for s in sources)):
                return None                       # ambiguous, or maybe from a subquery
        return None

    # ---- geometry -------------------------------------------------------------------------

    def rewrite_geometry(self, tree: exp.Query) -> exp.Query:
        for node in list(tree.find_all(exp.EQ, exp.NEQ)):
            side = _contains_compared(node)
            if side is not None:
                contains, value = side
                condition = self.contains(contains, node)
                wanted = value == 1 if isinstance(node, exp.EQ) else value != 1
                node.replace(condition if wanted else exp.Not(this=exp.paren(condition)))
        for node in list(tree.find_all(exp.LT, exp.LTE, exp.GT, exp.GTE)):
            found = _distance_compared(node)
            if found is not None:
                node.replace(self.distance_within(node, *found))
        for node in list(tree.find_all(exp.Contains)):
            node.replace(exp.Case(ifs=[exp.If(this=self.contains(node, None),
                                              true=exp.Literal.number(1))],
                                  default=exp.Literal.number(0)))
        for node in list(tree.find_all(exp.Anonymous)):
            name = node.name.upper()
            if name == "DISTANCE":
                a, b = self.distance_points(node)
                node.replace(_ang_sep(a, b))
            elif name in ("COORD1", "COORD2"):
                if len(node.expressions) != 1:
                    raise AdqlError(f"{name} takes one POINT", *self.where(node))
                point = self.point(node.expressions[0])
                node.replace((point.x if name == "COORD1" else point.y).copy())
        for node in tree.find_all(exp.Anonymous):
            if node.name.upper() not in GEOMETRY:
                continue                          # ang_sep, sky_polygon_contains: ours
            raise AdqlError(f"{node.name.upper()} can only be used inside CONTAINS or "
                            "DISTANCE", *self.where(node))
        return tree

    def contains(self, node: exp.Contains, compared: exp.Expression | None) -> exp.Expression:
        """The condition for CONTAINS(POINT, shape)."""
        point = self.point(node.this, "CONTAINS needs a POINT as its first argument")
        shape = node.expression
        kind = shape.name.upper() if isinstance(shape, exp.Anonymous) else ""
        if kind == "CIRCLE":
            cx, cy, radius = self.circle(shape)
            return self.within(point, _Point(cx, cy, shape), radius, "<=", compared, shape)
        if kind == "BOX":
            cx, cy, width, height = self.box(shape)
            return self.region(point, lambda **cols: box_condition(cx, cy, width, height,
                                                                    **cols))
        if kind == "POLYGON":
            vertices = self.polygon(shape)
            return self.region(point, lambda **cols: polygon_condition(vertices, **cols))
        raise AdqlError("CONTAINS needs a CIRCLE, BOX or POLYGON as its second argument",
                        *self.where(shape))

    def distance_within(self, node: exp.Expression, distance: exp.Anonymous,
                        radius: exp.Expression, op: str) -> exp.Expression:
        """DISTANCE(P, Q) < r (or <=, or r > DISTANCE...)."""
        a, b = self.distance_points(distance)
        exact = _compare(_ang_sep(a, b), radius.copy(), op)
        r = _number(radius)
        if op not in ("<", "<=") or r is None:
            return exact
        for point, centre in ((a, b), (b, a)):
            if centre.constant is not None:
                ra, dec = centre.constant
                self.check_circle(ra, dec, r, distance)
                indexed = self.indexed(point)
                if indexed is None:
                    return exact
                alias, (_, _, index) = indexed
                cover = ranges_condition(merge_ranges(cone_ranges(ra % 360.0, dec, r)),
                                         index, alias)
                return exp.and_(cover, exact, copy=False)
        return self.within(a, b, radius, op, node, distance)

    def within(self, point: _Point, centre: _Point, radius: exp.Expression, op: str,
               compared: exp.Expression | None, where: exp.Expression) -> exp.Expression:
        """``point`` within ``radius`` of ``centre``: a cone when either is constant, a
        cross-match plan when one is an upload's position and the other a catalog's."""
        r = _number(radius)
        for inside, fixed in ((point, centre), (centre, point)):
            if fixed.constant is not None and r is not None and (
                    inside is point or self.indexed(inside) is not None):
                ra, dec = fixed.constant
                self.check_circle(ra, dec, r, where)
                return self.region(inside, functools.partial(cone_condition, ra % 360.0,
                                                             dec, r))
        exact = _compare(_ang_sep(point, centre), radius.copy(), op)
        if r is None:
            return exact
        for a, b in ((point, centre), (centre, point)):
            indexed, upload = self.indexed(a), self.upload_position(b)
            if indexed is not None and upload is not None:
                return self.cross_match(indexed, upload, a, b, r, op, compared, exact)
        return exact

    def region(self, point: _Point, build: Callable[..., exp.Expression]) -> exp.Expression:
        """A spatial condition on ``point``: with the HEALPix ranges when the point is a
        table's indexed position, else the exact test alone on the point's expressions."""
        try:
            indexed = self.indexed(point)
            if indexed is not None:
                alias, (ra, dec, index) = indexed
                return build(ra_column=ra, dec_column=dec, index_column=index, table=alias)
            condition = build(ra_column=_PX, dec_column=_PY, index_column=_PI, table=None)
        except (ValueError, PolygonError) as exc:
            raise AdqlError(str(exc), *self.where(point.node)) from None
        parts = list(condition.flatten(unnest=False)) if isinstance(condition, exp.And) \
            else [condition]
        exact = [p for p in parts if not any(c.name == _PI for c in p.find_all(exp.Column))]

        def substitute(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.name in (_PX, _PY):
                return exp.paren((point.x if node.name == _PX else point.y).copy())
            return node

        return exp.and_(*exact, copy=False).transform(substitute, copy=False) if exact \
            else exp.true()

    def cross_match(self, indexed: tuple[str, tuple[str, str, str]], upload: tuple[Source,
                    str, str], point: _Point, centre: _Point, radius: float, op: str,
                    compared: exp.Expression | None, exact: exp.Expression) -> exp.Expression:
        """Catalog rows within ``radius`` of an upload's rows (module docstring). The
        catalog is read through a probe of (upload row, HEALPix cell) pairs: a hash join on
        the cell, restricted to the upload's ranges, gives each row the upload rows it may
        match, and the predicate becomes ``row = upload row AND exact distance``."""
        alias, (_, _, index) = indexed
        source, ra_name, dec_name = upload
        catalog = next(s for s in self.sources_of(compared or point.node)
                       if s.alias == alias) if compared is not None else None
        stored = catalog is not None and catalog.info is not None and (
            MATCH_CELL_COLUMN in catalog.info.hidden
            or catalog.info.by_sql_name(MATCH_CELL_COLUMN) is not None)
        plan = Plan.for_radius(radius, stored_cells=stored) if radius > 0 else None
        if plan is None or plan.depth is None:
            return exact
        table = self.uploads[source.upload]
        if ROW_COLUMN in table.column_names:        # the probe's own name: no probe then
            catalog = None
        ra, dec, usable = _positions(table, ra_name, dec_name)
        rows = np.flatnonzero(usable)
        centres, cell_rows, cells = target_cells(ra[rows], dec[rows], plan.depth, radius)
        cover = scan_ranges(centres, plan.depth)
        if (catalog is None or id(catalog.node) in self.probed
                or id(source.node) in self.numbered
                or not _can_probe(compared, catalog.node, source.node)):
            return exp.and_(ranges_condition(cover, index, alias), exact, copy=False)
        n = len(self.probed) + 1
        numbered, probe = f"{XMATCH_PREFIX}{n}_rows", f"{XMATCH_PREFIX}{n}_probe"
        self.registered[numbered] = table.append_column(
            ROW_COLUMN, pa.array(np.arange(table.num_rows), type=pa.int64()))
        self.registered[probe] = pa.table({"row": pa.array(rows[cell_rows], type=pa.int64()),
                                           "cell": cells.astype(plan.cell_type())})
        self.numbered[id(source.node)] = numbered
        self.probed[id(catalog.node)] = _Probe(probe, plan, cover, index)
        key = exp.EQ(this=exp.column(ROW_COLUMN, table=alias, quoted=True),
                     expression=exp.column(ROW_COLUMN, table=source.alias, quoted=True))
        return exp.and_(key, exact, copy=False)

    def sources_of(self, node: exp.Expression) -> list[Source]:
        for select in _enclosing_selects(node):
            return self.sources.get(id(select), [])
        return []

    def indexed(self, point: _Point) -> tuple[str, tuple[str, str, str]] | None:
        """(table alias, (ra, dec, index)) when the point is a table's indexed position."""
        if not (isinstance(point.x, exp.Column) and isinstance(point.y, exp.Column)):
            return None
        a, b = self.source_of_column(point.x), self.source_of_column(point.y)
        if a is None or a is not b or a.info is None or a.info.position is None:
            return None
        ra, dec, _ = a.info.position
        if (point.x.name.lower(), point.y.name.lower()) != (ra, dec):
            return None
        return a.alias, a.info.position

    def upload_position(self, point: _Point) -> tuple[Source, str, str] | None:
        """(source, ra column, dec column) when the point is an upload's two columns."""
        if not (isinstance(point.x, exp.Column) and isinstance(point.y, exp.Column)):
            return None
        a, b = self.source_of_column(point.x), self.source_of_column(point.y)
        if a is None or a is not b or a.upload is None:
            return None
        names = {c.lower(): c for c in self.uploads[a.upload].column_names}
        return a, names[point.x.name.lower()], names[point.y.name.lower()]

    # ---- shapes ---------------------------------------------------------------------------

    def point(self, node: exp.Expression, message: str | None = None) -> _Point:
        if not (isinstance(node, exp.Anonymous) and node.name.upper() == "POINT"):
            raise AdqlError(message or "a POINT is needed here", *self.where(node))
        args = self.without_system(node)
        if len(args) != 2:
            raise AdqlError("POINT takes a coordinate system and two coordinates: "
                            "POINT('ICRS', ra, dec)", *self.where(node))
        return _Point(args[0], args[1], node)

    def circle(self, node: exp.Anonymous) -> tuple[exp.Expression, exp.Expression,
                                                   exp.Expression]:
        args = self.without_system(node)
        if len(args) == 2 and _is_point(args[0]):
            centre = self.point(args[0])
            return centre.x, centre.y, args[1]
        if len(args) != 3:
            raise AdqlError("CIRCLE takes a coordinate system, a centre and a radius: "
                            "CIRCLE('ICRS', ra, dec, radius)", *self.where(node))
        return args[0], args[1], args[2]

    def box(self, node: exp.Anonymous) -> tuple[float, float, float, float]:
        args = self.without_system(node)
        if len(args) == 3 and _is_point(args[0]):
            centre = self.point(args[0])
            args = [centre.x, centre.y, *args[1:]]
        numbers = [_number(a) for a in args]
        if len(args) != 4 or None in numbers:
            raise AdqlError("BOX takes a coordinate system and four numbers: BOX('ICRS', "
                            "ra, dec, width, height), in degrees", *self.where(node))
        self.check_finite(numbers, node)
        ra, dec, width, height = numbers
        if not (0 < width < 180 and 0 < height < 180):
            raise AdqlError("BOX sides must be between 0 and 180 degrees", *self.where(node))
        if not -90 <= dec <= 90:
            raise AdqlError(f"BOX centre Dec {dec:g} is outside [-90, 90]", *self.where(node))
        return ra % 360.0, dec, width, height

    def polygon(self, node: exp.Anonymous) -> list[tuple[float, float]]:
        args = self.without_system(node)
        if args and all(_is_point(a) for a in args):
            args = [c for a in args for c in (self.point(a).x, self.point(a).y)]
        numbers = [_number(a) for a in args]
        if None in numbers or len(numbers) < 6 or len(numbers) % 2:
            raise AdqlError("POLYGON takes a coordinate system and at least three vertices "
                            "as constant numbers: POLYGON('ICRS', ra1, dec1, ra2, dec2, ra3, "
                            "dec3)", *self.where(node))
        self.check_finite(numbers, node)
        return [(numbers[i] % 360.0, numbers[i + 1]) for i in range(0, len(numbers), 2)]

    def check_circle(self, ra: float, dec: float, radius: float, node: exp.Expression) -> None:
        self.check_finite([ra, dec, radius], node)
        if not 0 <= radius <= 180:
            raise AdqlError(f"a radius must be between 0 and 180 degrees, not {radius:g}",
                            *self.where(node))
        if not -90 <= dec <= 90:
            raise AdqlError(f"Dec {dec:g} is outside [-90, 90]", *self.where(node))

    def check_finite(self, numbers: list[float], node: exp.Expression) -> None:
        """1e400 reads as infinity: no position, radius or side is."""
        if not all(math.isfinite(n) for n in numbers):
            raise AdqlError(f"{node.sql(dialect=Adql)[:60]}: a number here is not finite "
                            "(a DOUBLE holds up to about 1.8e308)", *self.where(node))

    def without_system(self, node: exp.Anonymous) -> list[exp.Expression]:
        """The arguments after the optional coordinate system, which must be ICRS (or an
        alias of it): the positions are ICRS and nothing is transformed."""
        args = list(node.expressions)
        if args and isinstance(args[0], exp.Literal) and args[0].is_string:
            words = args[0].this.upper().split()
            if (words[0] if words else "") not in COORDINATE_SYSTEMS:
                raise AdqlError(f"coordinate system {args[0].this!r} is not supported: "
                                "positions are ICRS", *self.where(args[0]))
            args = args[1:]
        return args

    def distance_points(self, node: exp.Anonymous) -> tuple[_Point, _Point]:
        args = node.expressions
        if len(args) == 2:
            return self.point(args[0]), self.point(args[1])
        if len(args) == 4:
            return _Point(args[0], args[1], node), _Point(args[2], args[3], node)
        raise AdqlError("DISTANCE takes two POINTs", *self.where(node))

    # ---- positions in the text ------------------------------------------------------------

    def where(self, node: exp.Expression) -> tuple[int, int]:
        """(line, column) where ``node`` starts in the text; for a node sqlglot kept no
        position of (one a rewrite made), where its query does, else the text's start."""
        while node is not None:
            starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
            if starts:
                return self.offset_position(min(starts))
            node = node.parent
        return 1, 1

    def line_col(self, error: dict) -> tuple[int | None, int | None]:
        line, col = error.get("line"), error.get("col")
        if line is None:
            return None, None
        token = error.get("highlight") or ""
        return line, max(1, col - len(token) + 1) if col is not None else None

    def written_name(self, node: exp.Expression) -> str:
        start, end = node.meta.get("start"), node.meta.get("end")
        if start is not None and end is not None:
            return self.adql[start:end + 1]
        return node.sql_name() if isinstance(node, exp.Func) else type(node).__name__


_INTERNAL_HINTS = {
    **dict.fromkeys(("hpx29", "hpx11"), "CONTAINS and DISTANCE use the HEALPix index "
                                        "themselves"),
    "fits": "the pixels come from /sia, /soda and /atlas"}


# ---- DuckDB's refusals in ADQL's words ----------------------------------------------------

_FAILURES: tuple[tuple[re.Pattern, Callable[..., str]], ...] = (
    (re.compile(r'Referenced column "([^"]+)" not found'),
     lambda m, name, near: f"unknown column {name}{near}"),
    (re.compile(r'Values list "([^"]+)" does not have a column named "([^"]+)"'),
     lambda m, name, near: f"{m.group(1)} has no column {name}{near}"),
    (re.compile(r'Ambiguous reference to column name "([^"]+)" \(use: (.*)\)'),
     lambda m, name, near: f"column {name} is in more than one table: write "
                           f"{m.group(2).replace(chr(39), '')}"),
    (re.compile(r'column "([^"]+)" must appear in the GROUP BY clause'),
     lambda m, name, near: f"{name} must be in the GROUP BY list or inside an aggregate "
                           "(COUNT, SUM, AVG, MIN, MAX)"),
    (re.compile(r"No function matches the given name and argument types '(\w+)\((.*?)\)'"),
     lambda m, name, near: f"{m.group(1).upper()} does not take ({m.group(2)}): CAST the "
                           "argument to the type it needs"),
    (re.compile(r"Cannot compare values of type (\w+) and type (\w+)"),
     lambda m, name, near: f"cannot compare {_kind(m.group(1))} with {_kind(m.group(2))}: "
                           "CAST one side"),
)
_TYPES = {"VARCHAR": "text", "INTEGER_LITERAL": "a number", "DATE": "a date",
          "DOUBLE": "a number", "BIGINT": "a number", "INTEGER": "a number",
          "SMALLINT": "a number", "BOOLEAN": "a boolean", "TIMESTAMP": "a timestamp"}


def _kind(duck_type: str) -> str:
    return _TYPES.get(duck_type.upper(), duck_type.lower())


def failure(adql: str, message: str, names: dict[str, str]) -> AdqlError:
    """An :class:`AdqlError` for DuckDB's ``message`` about the SQL translated from
    ``adql``; ``names``: the column names in scope (SQL name, lower case -> ADQL name)."""
    text = message.removeprefix("query failed: ").split("\n")[0].strip()
    text = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", text)
    for pattern, explain in _FAILURES:
        match = pattern.search(text)
        if match is None:
            continue
        qualified = pattern is _FAILURES[1][0]
        written = match.group(2) if qualified else match.group(1)
        name = names.get(written.lower(), written)
        others = [v for v in names.values() if v.lower() != name.lower()]
        near = _suggestion(name, others) if others else ""
        where = _position(adql, f"{match.group(1)}.{name}") if qualified else (None, None)
        return AdqlError(explain(match, name, near),
                         *(where if where[0] is not None else _position(adql, name)))
    quoted = re.findall(r'"([^"]+)"', text)
    for sql_name in quoted:
        text = text.replace(f'"{sql_name}"', names.get(sql_name.lower(), sql_name))
    text = re.sub(r"\btap_schema__(\w+)", rf"{TAP_SCHEMA}.\1", text)
    text = re.sub(r"\btap_upload__(\w+)", rf"{TAP_UPLOAD}.\1", text)
    position = _position(adql, names.get(quoted[0].lower(), quoted[0])) if quoted else \
        (None, None)
    return AdqlError(text.rstrip(".") or "the query could not be run", *position)


def _position(adql: str, name: str) -> tuple[int | None, int | None]:
    """(line, column) of the first place ``name`` is written in the text as a word."""
    match = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", adql, flags=re.I) or \
        re.search(rf"(?<!\w){re.escape(name)}(?!\w)", adql, flags=re.I)
    if match is None:
        return None, None
    start = match.start()
    return adql.count("\n", 0, start) + 1, start - adql.rfind("\n", 0, start)


# ---- helpers ---------------------------------------------------------------------------

def _suggestion(name: str, candidates: list[str]) -> str:
    """``; did you mean ...?`` from the closest names (difflib), else the names there are."""
    known = list(dict.fromkeys(candidates))
    lower = {c.lower(): c for c in known}
    close = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), n=3,
                                                         cutoff=0.6)]
    if close:
        return f"; did you mean {' or '.join(close)}?"
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"; columns here: {listed}" if listed else ""


def _shown(source: Source, uploads: dict[str, pa.Table]) -> list[str]:
    """The names of a source's columns to suggest: ADQL names only (not ``date``)."""
    if source.info is not None:
        return [c.name for c in source.info.columns]
    return source.columns(uploads) or []


def _label(source: Source) -> str:
    """How an error names a table: ``psc``, ``p (psc)``, ``TAP_UPLOAD.t``."""
    table = source.info.name if source.info is not None else \
        f"{TAP_UPLOAD}.{source.upload}" if source.upload is not None else None
    if table is None or source.alias.lower() == table.rpartition(".")[2].lower():
        return table or source.alias
    return f"{source.alias} ({table})"


def _shared_columns(select: exp.Select, sources: list[Source]) -> dict[int, set[str]]:
    """Per source node, the names ``*`` leaves out because a USING or NATURAL join shows
    them once (from the table before)."""
    out: dict[int, set[str]] = {}
    for join in select.args.get("joins") or []:
        using = join.args.get("using") or []
        names = {u.name.lower() for u in using}
        if join.args.get("method") == "NATURAL" or (join.args.get("kind") or "") == "NATURAL":
            names = set()
            target = next((s for s in sources if s.node is join.this), None)
            mine = {c.lower() for c in (target.columns({}) if target and target.info
                                        else [])}
            for other in sources:
                if other.node is join.this:
                    break
                theirs = other.columns({}) if other.info else None
                names |= mine & {c.lower() for c in theirs or []}
        if names:
            out[id(join.this)] = names
    return out


_PX, _PY, _PI = "__adql_ra", "__adql_dec", "__adql_index"      # placeholder columns


@dataclass
class _Point:
    x: exp.Expression
    y: exp.Expression
    node: exp.Expression

    @property
    def constant(self) -> tuple[float, float] | None:
        x, y = _number(self.x), _number(self.y)
        return None if x is None or y is None else (x, y)


_CLAUSES = {"Where": "WHERE needs a condition", "Limit": "TOP needs a number of rows",
            "Having": "HAVING needs a condition", "Join": "JOIN needs a table",
            "And": "AND needs a condition on both sides",
            "Or": "OR needs a condition on both sides",
            **dict.fromkeys(("EQ", "NEQ", "GT", "GTE", "LT", "LTE"),
                            "a comparison needs a value on both sides")}


def _syntax_message(error: dict) -> str:
    """sqlglot's parse error in ADQL's words: what is wrong near which token."""
    text = str(error.get("description") or "")
    token = str(error.get("highlight") or "").strip()
    near = f" near '{token}'" if token and error.get("end_context", "").strip() else \
        f" after '{token}' (the query ends there)" if token else ""
    missing = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*\.(\w+)'>", text)
    if missing:
        kind = missing.group(1)
        what = _CLAUSES.get(kind, f"incomplete {kind.upper() if len(kind) <= 3 else kind}"
                                  f" expression")
        return f"syntax error: {what}{near}"
    text = re.sub(r"but got <Token token_type: TokenType.SENTINEL.*", "but the query ends",
                  text)
    if text.startswith("Expecting"):
        return f"syntax error: {text.removeprefix('Expecting ')} expected{near}"
    if "Unexpected token" in text or "Invalid expression" in text:
        return f"syntax error: unexpected '{token}'" if token else "syntax error"
    return f"syntax error: {text}{near}"


def _capped(tree: exp.Query, cap: int) -> exp.Query:
    """The query with at most ``cap`` rows (its own TOP when smaller)."""
    if isinstance(tree, exp.Select):
        current = tree.args.get("limit")
        top = _number(current.expression) if isinstance(current, exp.Limit) else None
        if top is None or top > cap:
            tree.limit(cap, copy=False)
        return tree
    return exp.select("*").from_(tree.subquery("q", copy=False)).limit(cap)


def _is_point(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.upper() == "POINT"


def _number(node: exp.Expression, depth: int = 0) -> float | None:
    """The value of a constant numeric expression (literals and arithmetic), else None (also
    past NUMBER_DEPTH levels: a chain ``1 + 1 + ...`` is as deep as it is long)."""
    if depth > NUMBER_DEPTH:
        return None
    if isinstance(node, exp.Paren):
        return _number(node.this, depth + 1)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    if isinstance(node, exp.Neg):
        value = _number(node.this, depth + 1)
        return None if value is None else -value
    if isinstance(node, exp.Pi):
        return math.pi
    operations = {exp.Add: lambda a, b: a + b, exp.Sub: lambda a, b: a - b,
                  exp.Mul: lambda a, b: a * b,
                  exp.Div: lambda a, b: a / b if b else math.nan}
    for kind, apply in operations.items():
        if type(node) is kind:
            a, b = _number(node.this, depth + 1), _number(node.expression, depth + 1)
            if a is None or b is None:
                return None
            value = apply(a, b)
            return value if math.isfinite(value) else None
    return None


def _ang_sep(a: _Point, b: _Point) -> exp.Expression:
    return exp.Anonymous(this="ang_sep", expressions=[a.x.copy(), a.y.copy(), b.x.copy(),
                                                      b.y.copy()])


def _compare(left: exp.Expression, right: exp.Expression, op: str) -> exp.Expression:
    kind = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[op]
    return kind(this=left, expression=right)


def _contains_compared(node: exp.Expression) -> tuple[exp.Contains, float] | None:
    """(CONTAINS node, the 0 or 1 it is compared with) for ``CONTAINS(...) = 1`` and
    ``1 = CONTAINS(...)``."""
    for a, b in ((node.this, node.expression), (node.expression, node.this)):
        if isinstance(a, exp.Contains):
            value = _number(b)
            if value in (0.0, 1.0):
                return a, value
    return None


def _distance_compared(node: exp.Expression
                       ) -> tuple[exp.Anonymous, exp.Expression, str] | None:
    """(DISTANCE node, radius, operator as DISTANCE op radius) for a comparison."""
    ops = {exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
    op = ops[type(node)]
    if _is_distance(node.this):
        return node.this, node.expression, op
    if _is_distance(node.expression):
        return node.expression, node.this, flipped[op]
    return None


def _is_distance(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.upper() == "DISTANCE"


def _from_items(select: exp.Select) -> list[exp.Expression]:
    items = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None:
        items.append(from_.this)
    items += [join.this for join in select.args.get("joins") or []]
    return items


def _first_select(tree: exp.Expression) -> exp.Select | None:
    while isinstance(tree, (exp.Union, exp.Except, exp.Intersect, exp.Subquery)):
        tree = tree.this
    return tree if isinstance(tree, exp.Select) else None


def _enclosing_selects(node: exp.Expression):
    while node is not None:
        if isinstance(node, exp.Select):
            yield node
        node = node.parent


def _cte_names(node: exp.Expression) -> set[str]:
    names: set[str] = set()
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with") \
            if isinstance(node, exp.Query) else None
        if with_ is not None:
            names.update(cte.alias_or_name.lower() for cte in with_.expressions)
        node = node.parent
    return names


def _can_probe(compared: exp.Expression, catalog: exp.Expression,
               upload: exp.Expression) -> bool:
    """Whether a cross-match predicate may read the catalog through a probe: it is a
    top-level conjunct of a WHERE, or of the ON of an inner join or of an outer join whose
    preserved side is the upload's, and the SELECT reads both tables directly. (Through
    the probe a catalog row appears once per upload row it may match; only the predicate's
    row equality, applied to every pair, makes that right.)"""
    node = compared
    while isinstance(node.parent, (exp.And, exp.Paren)):
        node = node.parent
    holder = node.parent
    if isinstance(holder, exp.Where):
        select = holder.parent
    elif isinstance(holder, exp.Join) and node.arg_key == "on":
        select = holder.parent
        side = (holder.args.get("side") or "").upper()
        if side == "FULL" or (side == "LEFT" and holder.this is not catalog) or (
                side == "RIGHT" and holder.this is not upload):
            return False
    else:
        return False
    if not isinstance(select, exp.Select):
        return False
    items = _from_items(select)
    return any(i is catalog for i in items) and any(i is upload for i in items)


@dataclass
class _Probe:
    """A catalog table read through a cross-match probe table (rows, cells)."""

    table: str
    plan: Plan
    cover: list[tuple[int, int]]
    index: str

    def read(self, columns: exp.Select) -> exp.Select:
        """``columns`` (a SELECT over the catalog aliased xm_c) joined to the probe."""
        cell = exp.column(MATCH_CELL_COLUMN, table="xm_c", quoted=True) if self.plan.stored \
            else exp.BitwiseRightShift(this=exp.column(self.index, table="xm_c", quoted=True),
                                       expression=exp.Literal.number(self.plan.shift))
        on = exp.EQ(this=cell, expression=exp.column("cell", table="xm_p", quoted=True))
        return columns.select(exp.alias_(exp.column("row", table="xm_p", quoted=True),
                                         ROW_COLUMN, quoted=True), copy=False) \
            .join(_table(self.table, "xm_p"), on=on, copy=False) \
            .where(self.plan.scan_condition(self.cover, self.index, "xm_c"), copy=False)


def _table(name: str, alias: str | None) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True))
                     if alias else None)


def _positions(table: pa.Table, ra: str, dec: str) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """RA, Dec of an upload's rows (degrees) and which rows can match at all."""
    from ..xmatch import XmatchError, positions

    try:
        return positions(table, ra, dec)
    except XmatchError as exc:
        raise AdqlError(f"the upload: {exc}") from None


def _upload_column(field: pa.Field) -> ColumnInfo:
    meta = field.metadata or {}

    def text(key: bytes) -> str | None:
        return meta.get(key, b"").decode() or None

    return ColumnInfo(field.name, field.type, text(DESCRIPTION_KEY), text(UNIT_KEY),
                      text(UCD_KEY), xtype=text(XTYPE_KEY))
