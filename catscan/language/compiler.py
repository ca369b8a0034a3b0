"""IR -> sqlglot -> DuckDB SQL. User text never reaches the SQL as text: names are checked
against the catalog and quoted, values become literals, regions come from catscan.spatial.

The compiler also reports what it did (the HEALPix ranges and sky area of each region), for
``catscan explain``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass, field

from sqlglot import exp

from .. import spatial
from ..designation_match import compare_trimmed
from ..polygon import PolygonError, SphericalPolygon
from ..positions import PositionError, parse_angle, parse_position
from ..xmatch import CATALOG_KEYS, SEP_COLUMN, with_match_keys
from . import ir, sky
from .catalog import (
    AGGREGATES,
    ARITY,
    BANDS,
    FUNCTIONS,
    QUALITY_ORDER,
    SOURCES,
    SURVEY_TERMS,
    Catalog,
    Source,
)
from .errors import QueryError, shown

SCANS_ALIAS = "s"
CLEAN_CC_FLG = {"psc": "000", "xsc": "0"}           # no artifact or confusion in any band
BINARY = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod,
          "||": exp.DPipe, "and": exp.And, "or": exp.Or, "=": exp.EQ, "!=": exp.NEQ,
          "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}


@dataclass
class RegionInfo:
    """What explain shows about a region: its kind, SQL cover and sky area."""

    kind: str
    description: str
    ranges: list[tuple[int, int]] = field(default_factory=list)   # the HEALPix cover
    area_deg2: float | None = None
    empty: bool = False             # the region can hold no row: nothing is read


@dataclass(frozen=True)
class MatchPlan:
    """A ``match`` clause: the compiled SELECT is then the catalog side of a cross-match
    (its WHERE filters the catalog first; catscan.xmatch), and ordering and the row limit
    apply to the matched output, whose columns only exist after the match."""

    path: str
    radius_deg: float
    mode: str
    catalog: str
    pos: tuple[int, int]
    order_by: tuple[tuple[str, bool, tuple[int, int]], ...] = ()   # (name, descending, pos)
    limit: int | None = None


@dataclass
class Compiled:
    sql: str
    expression: exp.Select
    source: str
    regions: list[RegionInfo] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    match: MatchPlan | None = None
    dist: bool = False              # the rows carry ``dist``: arcsec from the cone's centre


def compile_query(query: ir.Query, catalog: Catalog, params: dict[str, str] | None = None,
                  con=None) -> Compiled:
    """The DuckDB SQL of a parsed query (raises QueryError with the node's position).
    ``con``: the database the query will run on; with it the survey words (``in scan``,
    ``on night``, ``in tile``, ``observed between``) look up their scans and add the
    ``hpx29`` ranges of that sky (catscan.language.sky), so the SQL depends on the
    ``scans`` table as it is now. Without it they compile to their plain filters."""
    return _Compiler(query, catalog, dict(params or {}), con).run()


class _Compiler:
    def __init__(self, query: ir.Query, catalog: Catalog, params: dict[str, str],
                 con=None) -> None:
        self.query, self.catalog, self.params, self.con = query, catalog, params, con
        if query.source not in SOURCES:
            raise _error(f"unknown source {query.source!r}", query.source_pos,
                         _suggest(query.source, SOURCES, "sources"))
        self.source: Source = SOURCES[query.source]
        self.alias = query.source
        self.columns = self.catalog.of(self.source)
        self.needs_scans = False
        self.regions: list[RegionInfo] = []
        self.used_params: dict[str, str] = {}
        self.centre = self._cone_centre()

    # -- the statement
    def run(self) -> Compiled:
        q = self.query
        select = exp.Select().from_(exp.Table(
            this=exp.to_identifier(self.source.table, quoted=True),
            alias=exp.TableAlias(this=exp.to_identifier(self.alias, quoted=True))), copy=False)
        select = select.select(*self._select_list(), copy=False)
        matches = [r for r in q.regions if isinstance(r, ir.Match)]
        dist = self._adds_dist(bool(matches))
        if dist:
            select = select.select(exp.alias_(self._dist(), SEP_COLUMN, quoted=True),
                                   copy=False)
        conditions = [self._region(r) for r in q.regions if not isinstance(r, ir.Match)]
        if q.where is not None:
            conditions.append(self._expr(q.where))
        if conditions:
            select = select.where(exp.and_(*[exp.paren(c, copy=False) if isinstance(c, exp.Or)
                                             else c for c in conditions], copy=False),
                                  copy=False)
        match = self._match(matches) if matches else None
        if match:
            select = with_match_keys(select, self.source.table, self.alias)
        if q.group_by:
            select = select.group_by(*[self._tail(e) for e in q.group_by], copy=False)
        if q.order_by and not match:
            select = select.order_by(*[exp.Ordered(this=self._tail(o.expr), desc=o.descending)
                                       for o in q.order_by], copy=False)
        if q.limit is not None and not match:
            select = select.limit(self._integer(q.limit, "limit"), copy=False)
        if self.needs_scans:                 # built as a node: .join() parses its arguments
            key = self.source.scan_key
            select.append("joins", exp.Join(
                this=exp.Table(this=exp.to_identifier("scans", quoted=True),
                               alias=exp.TableAlias(this=exp.to_identifier(SCANS_ALIAS))),
                on=exp.EQ(this=exp.column("scan_key", table=SCANS_ALIAS),
                          expression=exp.column(key, table=self.alias, quoted=True)),
                side="LEFT"))
        compare_trimmed(select)             # designations match with or without the blank
        # copy=False: the generator would copy the whole tree first
        return Compiled(select.sql(dialect="duckdb", copy=False), select, self.query.source,
                        self.regions, self.used_params, match, dist)

    # -- dist: a catalog cone's rows carry their distance from the centre (as Gator's do)
    def _cone_centre(self) -> tuple[float, float] | None:
        """The centre of the query's one cone on psc or xsc (None: no such cone)."""
        cones = [r for r in self.query.regions if isinstance(r, ir.Cone)]
        if len(cones) != 1 or self.source.table not in CATALOG_KEYS:
            return None
        return self._position(cones[0].centre)

    def _dist(self) -> exp.Expression:
        """Arcsec from the cone's centre (``ang_sep``, Vincenty, the cone's own test)."""
        ra, dec = self.centre
        sep = exp.Anonymous(this="ang_sep", expressions=[
            self._column_ref(self.source.ra), self._column_ref(self.source.dec),
            exp.Literal.number(repr(ra)), exp.Literal.number(repr(dec))])
        return exp.paren(exp.Mul(this=sep, expression=exp.Literal.number(3600)), copy=False)

    def _adds_dist(self, matched: bool) -> bool:
        """Row queries with a cone get ``dist`` last unless they select it themselves;
        aggregates, groups and matches (which have their own ``dist``) do not."""
        q = self.query
        if self.centre is None or matched or q.group_by:
            return False
        items = q.select or ()
        if any(_aggregate_in(i.expr) is not None for i in items):
            return False
        return not any(i.alias == SEP_COLUMN or (isinstance(i.expr, ir.Column) and i.alias
                       is None and i.expr.name == SEP_COLUMN) for i in items)

    def _match(self, matches: list[ir.Match]) -> MatchPlan:
        """Check a match clause and plan it (the cross-match itself runs in catscan.runner)."""
        node, q = matches[0], self.query
        if len(matches) > 1:
            raise _error("one match clause per query", matches[1].pos)
        if self.source.table not in CATALOG_KEYS:
            raise _error(f"match cross-matches a list with psc or xsc, not {q.source}",
                         node.pos)
        if q.group_by:
            raise _error("group by cannot be combined with match: the output has one row "
                         "per target (or pair); aggregate the result instead", node.pos)
        for item in q.select or ():
            call = _aggregate_in(item.expr)
            if call is not None:
                raise _error(f"{call.name}() aggregates rows, which match cannot combine "
                             "with one row per target", call.pos)
        order = []
        for o in q.order_by:
            if not isinstance(o.expr, ir.Column):
                raise _error("with match, order by names output columns (a selected name, "
                             "a column of the list, dist or n_candidates)", o.expr.pos)
            order.append((o.expr.name, o.descending, o.expr.pos))
        radius = self._angle(node.radius)
        if not 0 < radius <= 180:
            raise _error("a match radius must be above 0 and at most 180 deg", node.radius.pos)
        path = self._value(node.path)
        self.regions.append(RegionInfo("match", f"cross-match of {path!r} within "
                                       f"{radius * 3600:g}\" ({node.mode})"))
        limit = None if q.limit is None else self._integer(q.limit, "limit")
        return MatchPlan(path, radius, node.mode, self.source.table, node.pos,
                         tuple(order), limit)

    def _tail(self, node) -> exp.Expression:
        """An order-by or group-by term: a select alias, else an expression."""
        aliases = {i.alias for i in self.query.select or () if i.alias}
        if isinstance(node, ir.Column) and node.name in aliases and node.name not in \
                self.columns:
            return exp.column(node.name, quoted=True)
        return self._expr(node)

    def _select_list(self) -> list[exp.Expression]:
        if self.query.select is None:
            return [self._column_ref(c) for c in self.columns if c not in self.source.hidden]
        out = []
        for item in self.query.select:
            expr = item.expr
            if (isinstance(expr, ir.Column) and item.alias is None
                    and expr.name in self.source.presets and expr.name not in self.columns):
                out += [self._named(c, ir.Column(c, pos=expr.pos))
                        for c in self.source.presets[expr.name] if self._known(c)]
                continue
            compiled = self._expr(expr)
            if item.alias:
                compiled = exp.alias_(compiled, item.alias, quoted=True, copy=False)
            elif isinstance(expr, ir.Column) and not (
                    isinstance(compiled, exp.Column) and compiled.table == self.alias):
                compiled = exp.alias_(compiled, expr.name, quoted=True, copy=False)   # survey terms
            out.append(compiled)
        return out

    def _named(self, name: str, node: ir.Column) -> exp.Expression:
        compiled = self._expr(node)
        if isinstance(compiled, exp.Column) and compiled.table == self.alias:
            return compiled
        return exp.alias_(compiled, name, quoted=True, copy=False)

    # -- names
    def _known(self, name: str) -> bool:
        return name in self.columns or (self.source.scan_key is not None
                                        and name in SURVEY_TERMS)

    def _column_ref(self, name: str) -> exp.Column:
        return exp.column(name, table=self.alias, quoted=True)

    def _resolve(self, node: ir.Column) -> exp.Expression:
        name = node.name
        if name in self.columns:
            return self._column_ref(name)
        if name == "clean":
            return self._clean(node)
        if name == SEP_COLUMN and self.centre is not None:
            return self._dist()
        if self.source.scan_key is not None and name in SURVEY_TERMS:
            self.needs_scans = True
            if name == "night":
                return exp.DPipe(
                    this=exp.func("strftime", exp.column("date", table=SCANS_ALIAS),
                                  exp.Literal.string("%Y-%m-%d")),
                    expression=exp.column("hemis", table=SCANS_ALIAS))
            return exp.column(SURVEY_TERMS[name], table=SCANS_ALIAS)
        names = list(self.columns) + (list(SURVEY_TERMS) if self.source.scan_key else []) + \
            list(self.source.presets)
        raise _error(f"{self.query.source} has no column {name!r}", node.pos,
                     _suggest(name, names, "columns"))

    # -- expressions
    def _expr(self, node) -> exp.Expression:
        if isinstance(node, ir.Column):
            return self._resolve(node)
        if isinstance(node, ir.Literal):
            return _literal(node.value)
        if isinstance(node, ir.Param):
            return self._param_literal(node)
        if isinstance(node, ir.Unary):
            operand = self._expr(node.operand)
            return exp.Not(this=operand) if node.op == "not" else exp.Neg(this=operand)
        if isinstance(node, ir.Binary):
            if node.op in ("=", "!=", "<", "<=", ">", ">=") and _is_call(node.left, "quality"):
                return self._quality(node.left, node.op, node.right, node.pos)
            return exp.paren(BINARY[node.op](this=self._expr(node.left),
                                             expression=self._expr(node.right)), copy=False)
        if isinstance(node, ir.Between):
            out = exp.Between(this=self._expr(node.operand), low=self._expr(node.low),
                              high=self._expr(node.high))
            return exp.Not(this=out) if node.negated else out
        if isinstance(node, ir.InList):
            out = exp.In(this=self._expr(node.operand),
                         expressions=[self._expr(i) for i in node.items])
            return exp.Not(this=out) if node.negated else out
        if isinstance(node, ir.Like):
            out = exp.Like(this=self._expr(node.operand), expression=self._expr(node.pattern))
            return exp.Not(this=out) if node.negated else out
        if isinstance(node, ir.IsNull):
            out = exp.Is(this=self._expr(node.operand), expression=exp.Null())
            return exp.Not(this=out) if node.negated else out
        if isinstance(node, ir.Call):
            return self._call(node)
        raise _error(f"cannot compile {type(node).__name__}", getattr(node, "pos", (0, 0)))

    def _call(self, node: ir.Call) -> exp.Expression:
        if node.name == "detected":
            return self._detected(node)
        if node.name == "quality":
            raise _error("quality(...) must be compared with a grade, e.g. "
                         "quality(j, h, k) >= 'B'", node.pos)
        if node.name not in FUNCTIONS:
            raise _error(f"unknown function {node.name!r}", node.pos,
                         _suggest(node.name, sorted(FUNCTIONS | {"quality", "detected"}),
                                  "functions"))
        if node.star:
            if node.name != "count":
                raise _error(f"{node.name}(*) is not a function; did you mean count(*)?",
                             node.pos)
            return exp.Count(this=exp.Star())
        fewest, most = ARITY[node.name]
        if not fewest <= len(node.args) <= (len(node.args) if most is None else most):
            count = f"{fewest}" if fewest == most else f"at least {fewest}" if most is None \
                else f"{fewest} or {most}" if most == fewest + 1 else f"{fewest} to {most}"
            noun = "argument" if count in ("1", "at least 1") else "arguments"
            raise _error(f"{node.name}() takes {count} {noun}, not {len(node.args)}", node.pos)
        args = [self._expr(a) for a in node.args]
        try:
            return exp.func(node.name, *args, dialect="duckdb")
        except ValueError as exc:           # an arity sqlglot knows better: still the call's
            raise _error(f"{node.name}(): {exc}", node.pos) from None

    # -- 2MASS flags
    def _flag_char(self, column: str, band_node, pos) -> exp.Expression:
        if not isinstance(band_node, ir.Column) or band_node.name not in BANDS:
            raise _error("name a band: j, h or k", getattr(band_node, "pos", pos))
        if column not in self.columns:
            raise _error(f"{self.query.source} has no {column} column", pos)
        return exp.Substring(this=self._column_ref(column),
                             start=exp.Literal.number(BANDS[band_node.name]),
                             length=exp.Literal.number(1))

    def _quality(self, call: ir.Call, op: str, grade_node, pos) -> exp.Expression:
        grade = self._text_value(grade_node)
        if not (isinstance(grade, str) and len(grade) == 1 and grade.upper() in QUALITY_ORDER):
            raise _error(f"a photometric quality grade is one of {', '.join(QUALITY_ORDER)} "
                         "(A best)", getattr(grade_node, "pos", pos))
        rank = QUALITY_ORDER.index(grade.upper())
        # better grades come first in QUALITY_ORDER: ">= 'B'" means A or B
        keep = {">=": QUALITY_ORDER[:rank + 1], ">": QUALITY_ORDER[:rank],
                "<=": QUALITY_ORDER[rank:], "<": QUALITY_ORDER[rank + 1:],
                "=": QUALITY_ORDER[rank], "!=": QUALITY_ORDER.replace(QUALITY_ORDER[rank], "")}
        grades = [exp.Literal.string(g) for g in keep[op]]
        if not call.args:
            raise _error("quality() needs at least one band: quality(j, h, k)", call.pos)
        tests = [exp.In(this=self._flag_char("ph_qual", band, call.pos), expressions=grades)
                 if grades else exp.false() for band in call.args]
        return exp.paren(exp.and_(*tests, copy=False), copy=False)

    def _detected(self, call: ir.Call) -> exp.Expression:
        if not call.args:
            raise _error("detected() needs a band: detected(k)", call.pos)
        tests = [exp.In(this=self._flag_char("rd_flg", band, call.pos),
                        expressions=[exp.Literal.string(c) for c in "1234"])
                 for band in call.args]
        return exp.paren(exp.and_(*tests, copy=False), copy=False)

    def _clean(self, node: ir.Column) -> exp.Expression:
        """use_src = 1 and cc_flg all zeros, and for psc every blend flag 0 or 1."""
        if self.source.table not in CLEAN_CC_FLG:
            raise _error("clean applies to psc and xsc rows", node.pos)
        tests = [exp.EQ(this=self._column_ref("use_src"), expression=exp.Literal.number(1)),
                 exp.EQ(this=self._column_ref("cc_flg"),
                        expression=exp.Literal.string(CLEAN_CC_FLG[self.source.table]))]
        if self.source.table == "psc":
            tests.append(exp.RegexpFullMatch(this=self._column_ref("bl_flg"),
                                             expression=exp.Literal.string("[01]{3}")))
        return exp.paren(exp.and_(*tests, copy=False), copy=False)

    # -- parameters and values
    def _param(self, node: ir.Param) -> str:
        if node.name not in self.params:
            raise _error(f"no value for the parameter ${node.name}", node.pos,
                         f"give it with --param {node.name}=VALUE")
        value = str(self.params[node.name])
        self.used_params[node.name] = value
        return value

    def _param_literal(self, node: ir.Param) -> exp.Expression:
        value = self._param(node)
        try:
            number = ir.number_value(value)
        except ValueError:
            return exp.Literal.string(value)
        if not math.isfinite(number):
            raise _error(f"${node.name} = {shown(value)} is not a finite number", node.pos)
        return _literal(number)

    def _text_value(self, node) -> object:
        if isinstance(node, ir.Literal):
            return node.value
        if isinstance(node, ir.Param):
            return self._param(node)
        return None

    def _value(self, value) -> str:
        return self._param(value) if isinstance(value, ir.Param) else str(value)

    def _integer(self, node: ir.Integer, what: str) -> int:
        value = self._value(node.value)
        digits = value.strip().lstrip("+-")
        if not digits.isdigit():
            raise _error(f"{what} must be a whole number, not {shown(repr(value))}", node.pos)
        if value.strip().startswith("-"):
            raise _error(f"{what} must not be negative", node.pos)
        if len(digits) > len(str(ir.MAX_INTEGER)) or int(digits) > ir.MAX_INTEGER:
            raise _error(f"{what} must be at most {ir.MAX_INTEGER}", node.pos)
        return int(digits)

    def _angle(self, node: ir.Angle) -> float:
        text = self._value(node.text)
        try:
            return parse_angle(text, unit="deg")
        except PositionError as exc:
            raise _error(str(exc), node.pos) from None

    def _position(self, node: ir.Position) -> tuple[float, float]:
        lon = self._value(node.lon)
        lat = None if node.lat is None else self._value(node.lat)
        try:
            return parse_position(lon, lat, node.frame)
        except PositionError as exc:
            raise _error(str(exc), node.pos) from None

    def _day(self, node: ir.Date) -> dt.date:
        text = self._value(node.text)
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            raise _error(f"not a date: {text!r} (write 1998-04-16)", node.pos) from None

    def _date(self, node: ir.Date) -> exp.Expression:
        return exp.Cast(this=exp.Literal.string(self._day(node).isoformat()),
                        to=exp.DataType(this=exp.DataType.Type.DATE))

    # -- regions
    def _positional(self, node) -> dict:
        if self.source.ra is None:
            raise _error(f"{self.query.source} rows have no position", node.pos)
        return {"ra_column": self.source.ra, "dec_column": self.source.dec,
                "index_column": self.source.index, "table": self.alias}

    def _region(self, node) -> exp.Expression:
        if isinstance(node, ir.Cone):
            cols = self._positional(node)
            ra, dec = self._position(node.centre)
            radius = self._angle(node.radius)
            if radius <= 0 or radius > 180:
                raise _error("a cone radius must be above 0 and at most 180 deg",
                             node.radius.pos)
            area = 2 * math.pi * (1 - math.cos(math.radians(radius))) * (180 / math.pi) ** 2
            if self.source.footprint:
                return self._footprint_cone(ra, dec, radius, cols, area)
            ranges = spatial.merge_ranges(spatial.cone_ranges(ra, dec, radius))
            self.regions.append(RegionInfo("cone", f"within {radius * 3600:g}\" of "
                                           f"({ra:.6f}, {dec:+.6f})", ranges, area))
            return spatial.cone_condition(ra, dec, radius, **cols)
        if isinstance(node, ir.Box):
            cols = self._positional(node)
            ra, dec = self._position(node.centre)
            width, height = self._angle(node.width), self._angle(node.height)
            try:
                condition = spatial.box_condition(ra, dec, width, height, **cols)
            except ValueError as exc:
                raise _error(str(exc), node.pos) from None
            cover = spatial.merge_ranges(spatial.cone_ranges(
                ra, dec, spatial.box_half_diagonal(width, height)))
            self.regions.append(RegionInfo("box", f"{width:g} x {height:g} deg at "
                                           f"({ra:.6f}, {dec:+.6f})", cover,
                                           _box_area(width, height)))
            return condition
        if isinstance(node, ir.Polygon):
            cols = self._positional(node)
            vertices = [self._position(v) for v in node.vertices]
            try:
                polygon = SphericalPolygon.from_vertices(vertices)
            except PolygonError as exc:
                raise _error(str(exc), node.pos) from None
            self.regions.append(RegionInfo(
                "polygon", f"{len(polygon.ra)} vertices, {len(polygon.pieces)} convex "
                "piece(s)", spatial.merge_ranges(spatial.polygon_cover(polygon)),
                polygon.area_deg2()))
            return spatial.polygon_condition(polygon, **cols)
        if isinstance(node, ir.InTile):
            column = self._resolve(ir.Column("tile", pos=node.pos))
            tile = self._integer(node.tile, "a tile")
            exact = column.eq(exp.Literal.number(tile))
            return self._scan_sky("tile", f"{tile}", exact, sky.tile_sky, tile)
        if isinstance(node, ir.InScan):
            scan = self._integer(node.scan, "a scan number")
            day = self._day(node.date)
            exact = exp.and_(self._night(node.date, node.hemis, node.pos),
                             self._resolve(ir.Column("scan", pos=node.pos)).eq(
                                 exp.Literal.number(scan)), copy=False)
            return self._scan_sky("scan", f"{scan} of night {day}{node.hemis}", exact,
                                  sky.scan_sky, day, node.hemis, scan)
        if isinstance(node, ir.OnNight):
            day = self._day(node.date)
            exact = self._night(node.date, node.hemis, node.pos)
            return self._scan_sky("night", f"{day}{node.hemis}", exact, sky.night_sky,
                                  day, node.hemis)
        if isinstance(node, ir.ObservedBetween):
            exact = exp.Between(this=self._resolve(ir.Column("date", pos=node.pos)),
                                low=self._date(node.start), high=self._date(node.end))
            start, end = self._day(node.start), self._day(node.end)
            return self._scan_sky("observed", f"between {start} and {end}", exact,
                                  sky.dates_sky, start, end)
        if isinstance(node, ir.Hemisphere):
            return self._resolve(ir.Column("hemis", pos=node.pos)).eq(
                exp.Literal.string(node.hemis))
        raise _error(f"cannot compile {type(node).__name__}", node.pos)

    def _footprint_cone(self, ra: float, dec: float, radius: float, cols: dict,
                        area: float) -> exp.Expression:
        """Rows whose footprint comes within ``radius`` of the position (Atlas Images:
        the test of the SQL macro images_near, atlas_edge_distance >= -radius), after a
        cone on their centres widened by how far a footprint reaches."""
        wide = min(180.0, radius + self.source.reach_deg)
        ranges = spatial.merge_ranges(spatial.cone_ranges(ra, dec, wide))
        self.regions.append(RegionInfo("cone", f"footprints within {radius * 3600:g}\" of "
                                       f"({ra:.6f}, {dec:+.6f})", ranges, area))
        corners = [self._column_ref(c) for c in self.source.footprint]
        distance = exp.func("atlas_edge_distance", *corners, _literal(ra), _literal(dec))
        return exp.and_(spatial.cone_condition(ra, dec, wide, **cols),
                        exp.GTE(this=distance, expression=_literal(-radius)), copy=False)

    def _scan_sky(self, kind: str, description: str, exact: exp.Expression, lookup,
                  *values) -> exp.Expression:
        """A survey word's filter, after the hpx29 ranges of its scans' sky when the source
        is a catalog kept in hpx29 order and the query compiles against a database."""
        if self.con is None or not self.source.scan_sky:
            self.regions.append(RegionInfo(kind, description))
            return exact
        found = lookup(self.con, *values)
        if found.ranges is None:
            self.regions.append(RegionInfo(kind, f"{description}: {found.describe()}"))
            return exact
        self.regions.append(RegionInfo(kind, f"{description}: {found.describe()}",
                                       found.ranges, empty=not found.ranges))
        cover = spatial.ranges_condition(found.ranges, self.source.index, self.alias)
        return exp.and_(cover, exact, copy=False)

    def _night(self, date: ir.Date, hemis: str, pos) -> exp.Expression:
        return exp.and_(self._resolve(ir.Column("date", pos=pos)).eq(self._date(date)),
                        self._resolve(ir.Column("hemis", pos=pos)).eq(
                            exp.Literal.string(hemis)), copy=False)


def _box_area(width: float, height: float) -> float:
    """Area of a great-circle box (a spherical rectangle), deg^2."""
    a, b = math.tan(math.radians(width / 2)), math.tan(math.radians(height / 2))
    return 4 * math.asin(a * b / math.sqrt((1 + a * a) * (1 + b * b))) * (180 / math.pi) ** 2


def _literal(value) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(repr(value) if isinstance(value, float) else value)
    return exp.Literal.string(str(value))


def _aggregate_in(node) -> ir.Call | None:
    """The first aggregate call in an expression, if any."""
    if isinstance(node, ir.Call) and node.name in AGGREGATES:
        return node
    for child in vars(node).values() if hasattr(node, "__dataclass_fields__") else ():
        for item in child if isinstance(child, tuple) else (child,):
            if isinstance(item, ir.Node):
                found = _aggregate_in(item)
                if found is not None:
                    return found
    return None


def _is_call(node, name: str) -> bool:
    return isinstance(node, ir.Call) and node.name == name


def _suggest(name: str, names, what: str) -> str | None:
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return None


def _error(message: str, pos, hint: str | None = None) -> QueryError:
    line, column = pos if pos else (0, 0)
    return QueryError(message, line=line, column=column, hint=hint)
