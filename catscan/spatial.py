"""Spatial SQL: a region becomes HEALPix ranges DuckDB can prune on, then the exact test.

Big tables are sorted by ``hpx29`` (cdshealpix NESTED order 29), so a predicate
``hpx29 BETWEEN a AND b OR ...`` lets DuckDB's zone maps skip every row group outside
the region; the exact great-circle test then runs on the few rows left (design notes §4, §8:
1.1-1.7 ms for 1'-60' cones at 10 M rows, against 612 ms for a full scan). Covers come from
cdshealpix, the library that computed ``hpx29``, at a depth chosen for the region's size,
padded by 1 mas so that rounding can never drop a row on a cell boundary.

Each region has a ``*_sql`` function giving a WHERE-clause fragment and a ``*_condition``
function giving the same as a sqlglot expression for the query language. The text is built
directly from numbers this module formats itself (``repr`` of floats and ints; no user text),
because at small-query scale DuckDB's planning and sqlglot's rendering cost more than the
scan: a 1' cone runs in under 1 ms on 20 M rows (docs/performance.md). Nearby ranges are
merged (at most 4x the covered index length), because one range prunes as well as several
and an OR of ranges is slower to evaluate; exact tests use constants computed here
(haversine for cones, unit-vector half-spaces for polygons).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .polygon import SphericalPolygon, remember

if TYPE_CHECKING:
    from sqlglot import exp

INDEX_DEPTH = 29
SKY_DEG2 = 4 * math.pi * (180 / math.pi) ** 2    # 41,252.96 deg²
PAD_DEG = 1e-3 / 3600.0          # 1 mas: covers stay supersets despite rounding
MAX_DEPTH = 16                    # cells of ~3": finer covers only add ranges
BASE_CELL_DEG = 58.6              # order-0 cell size (design notes §8)
# The catalogs' stored cross-match cell (schema/140_match_cells.sql): order-11 cells of 1.7'
MATCH_DEPTH = 11
MATCH_CELL_COLUMN = "hpx11"


def match_cell_sql(hpx29: str) -> str:
    """SQL for the stored cross-match cell of the order-29 index ``hpx29`` (SQL)."""
    return f"({hpx29} >> {2 * (INDEX_DEPTH - MATCH_DEPTH)})::INTEGER"


def cover_depth(radius_deg: float) -> int:
    """The cover depth for a cone: cells about the size of the cone, which gives 2-5 ranges
    for 2-3 times the cone's area (design notes §8)."""
    if radius_deg <= 1e-6:                  # far below a MAX_DEPTH cell (and no overflow)
        return MAX_DEPTH
    depth = math.floor(math.log2(BASE_CELL_DEG * 4 / (2 * radius_deg)))
    return max(0, min(MAX_DEPTH, depth))


def cells_to_ranges(ipix: np.ndarray, depth: np.ndarray) -> list[tuple[int, int]]:
    """Multi-order cells as coalesced half-open ranges ``[lo, hi)`` of order-29 indices.
    Plain Python integers: a cover has tens of cells, for which numpy's per-call cost is
    more than the work (~20 us of a cone's ~1 ms)."""
    cells = zip(np.asarray(ipix).tolist(), np.asarray(depth).tolist(), strict=True)
    return coalesce((p << 2 * (INDEX_DEPTH - d), (p + 1) << 2 * (INDEX_DEPTH - d))
                    for p, d in cells)


def coalesce(ranges) -> list[tuple[int, int]]:
    """Half-open ranges sorted, with overlapping and touching ones merged."""
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def cone_ranges(ra: float, dec: float, radius_deg: float) -> list[tuple[int, int]]:
    """Order-29 ranges covering the cone of ``radius_deg`` around (ra, dec)."""
    if not 0 <= radius_deg <= 180:
        raise ValueError(f"cone radius must be between 0 and 180 degrees, not {radius_deg}")
    if radius_deg + PAD_DEG >= 90:          # most of the sky: no pruning worth doing
        return [(0, 12 << (2 * INDEX_DEPTH))]
    if not -90 <= dec <= 90:
        raise ValueError(f"Dec must be between -90 and 90 degrees, not {dec}")
    ipix, depth, _ = _cone_cells(ra % 360.0, dec, radius_deg + PAD_DEG, cover_depth(radius_deg))
    return cells_to_ranges(ipix, depth)


@functools.cache
def _nested() -> ModuleType:
    """cdshealpix's public API (``cdshealpix.nested``): importing it imports astropy's units
    and coordinates, about 1 s, so it is imported when a search first needs it."""
    import cdshealpix.nested

    return cdshealpix.nested


@functools.cache
def _compiled() -> ModuleType:
    """cdshealpix's compiled module, the one its public API wraps. The package's
    ``__init__`` imports astropy (about 1 s of every command's start-up), the compiled
    module does not, so it is loaded from its file without the package when the package is
    not imported yet; anything unexpected gives the package's own copy (docs/performance.md,
    "Start-up")."""
    if "cdshealpix.cdshealpix" not in sys.modules:
        try:
            spec = importlib.util.find_spec("cdshealpix")
            places = spec.submodule_search_locations if spec else None
            for path in sorted(Path(places[0]).glob("cdshealpix.*")) if places else ():
                if path.suffix in (".so", ".pyd"):
                    loader = importlib.machinery.ExtensionFileLoader(
                        "cdshealpix.cdshealpix", str(path))
                    spec = importlib.util.spec_from_loader(loader.name, loader)
                    module = importlib.util.module_from_spec(spec)
                    loader.exec_module(module)
                    return module
        except (ImportError, OSError, AttributeError, TypeError):
            pass
    from cdshealpix import cdshealpix

    return cdshealpix


def _cone_cells(ra: float, dec: float, radius_deg: float, depth: int):
    """cdshealpix's cone search. Its public wrapper builds astropy Longitude, Latitude and
    Quantity objects, which cost ~0.4 ms per call when caches are cold (most of a small
    cone's time); the compiled function it wraps takes plain radians. The public API is the
    fallback should that function change."""
    try:
        return _compiled().cone_search(np.uint8(depth), np.uint8(2), np.float64(math.radians(ra)),
                          np.float64(math.radians(dec)), np.float64(math.radians(radius_deg)),
                          False)
    except (TypeError, AttributeError):
        from astropy import units as u
        from astropy.coordinates import Latitude, Longitude

        return _nested().cone_search(Longitude(ra, u.deg), Latitude(dec, u.deg),
                                     radius_deg * u.deg, depth=depth)

MERGE_GROWTH = 4.0                # merged ranges may cover up to 4x the cover's index length
DEG = math.pi / 180.0


def merge_ranges(ranges: list[tuple[int, int]], growth: float = MERGE_GROWTH,
                 most: int | None = None) -> list[tuple[int, int]]:
    """Fewer ranges holding the given (sorted, disjoint) ones: the smallest gaps are closed
    while the total length stays within ``growth`` times the original, and then, if more
    than ``most`` ranges are left, the next smallest until ``most`` are (closing the
    smallest gaps adds the least length for a given count)."""
    if len(ranges) <= 1:
        return list(ranges)
    lengths = sum(b - a for a, b in ranges)
    gaps = [(ranges[i + 1][0] - ranges[i][1], i) for i in range(len(ranges) - 1)]
    budget = (growth - 1.0) * lengths
    closed = set()
    for gap, i in sorted(gaps):
        if gap > budget and (most is None or len(ranges) - len(closed) <= most):
            break
        budget -= gap
        closed.add(i)
    out = [list(ranges[0])]
    for i in range(1, len(ranges)):
        if i - 1 in closed:
            out[-1][1] = ranges[i][1]
        else:
            out.append(list(ranges[i]))
    return [(a, b) for a, b in out]


def quote(name: str, table: str | None = None) -> str:
    """A (qualified) quoted SQL identifier."""
    ident = '"' + name.replace('"', '""') + '"'
    return ident if table is None else quote(table) + "." + ident


def _n(value: float) -> str:
    """A float literal (repr round-trips exactly)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return repr(value)


def ranges_sql(ranges: list[tuple[int, int]], column: str = "hpx29",
               table: str | None = None) -> str:
    """``(col BETWEEN lo AND hi - 1 OR ...)`` for half-open ranges ``[lo, hi)`` (FALSE for
    none). DuckDB plans a BETWEEN ~0.05 ms faster than the pair of comparisons it equals."""
    if not ranges:
        return "FALSE"
    col = quote(column, table)
    return "(" + " OR ".join(f"{col} BETWEEN {int(lo)} AND {int(hi) - 1}"
                             for lo, hi in ranges) + ")"


def ranges_condition(ranges: list[tuple[int, int]], column: str = "hpx29",
                     table: str | None = None) -> exp.Expression:
    """:func:`ranges_sql` as a sqlglot expression (built, not parsed)."""
    from sqlglot import exp

    if not ranges:
        return exp.false()
    terms = [exp.Between(this=exp.column(column, table=table, quoted=True),
                         low=exp.Literal.number(int(lo)), high=exp.Literal.number(int(hi) - 1))
             for lo, hi in ranges]
    return exp.paren(exp.or_(*terms, copy=False) if len(terms) > 1 else terms[0], copy=False)


def _parse(text: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(text, dialect="duckdb")


def _columns(ra_column: str = "ra", dec_column: str = "dec", index_column: str = "hpx29",
             table: str | None = None) -> tuple[str, str, tuple[str, str | None]]:
    return quote(ra_column, table), quote(dec_column, table), (index_column, table)


def cone_sql(ra: float, dec: float, radius_deg: float, **columns) -> str:
    """Rows within ``radius_deg`` of (ra, dec): the HEALPix ranges, then the exact test,
    the haversine with the centre's terms precomputed (for radii up to 90 deg; beyond, the
    ``ang_sep`` macro, Vincenty, which stays accurate near the antipode)."""
    col_ra, col_dec, index = _columns(**columns)
    cover = ranges_sql(merge_ranges(cone_ranges(ra, dec, radius_deg)), *index)
    if radius_deg > 90:
        exact = f"ang_sep({col_ra}, {col_dec}, {_n(ra)}, {_n(dec)}) <= {_n(radius_deg)}"
    else:
        half = DEG / 2
        exact = (f"sin(({col_dec} - {_n(dec)}) * {_n(half)}) ** 2 + "
                 f"{_n(math.cos(math.radians(dec)))} * cos({col_dec} * {_n(DEG)}) * "
                 f"sin(({col_ra} - {_n(ra)}) * {_n(half)}) ** 2 <= "
                 f"{_n(math.sin(math.radians(radius_deg) / 2) ** 2)}")
    return f"{cover} AND {exact}"


def cone_condition(ra: float, dec: float, radius_deg: float, *, ra_column: str = "ra",
                   dec_column: str = "dec", index_column: str = "hpx29",
                   table: str | None = None) -> exp.Expression:
    """:func:`cone_sql` as a sqlglot expression, built node by node (parsing the text back
    cost 2 ms; this is the query language's hot path). A test checks both render alike."""
    from sqlglot import exp

    if radius_deg > 90:
        return _parse(cone_sql(ra, dec, radius_deg, ra_column=ra_column, dec_column=dec_column,
                               index_column=index_column, table=table))
    cover = merge_ranges(cone_ranges(ra, dec, radius_deg))
    col_ra = exp.column(ra_column, table=table, quoted=True)
    col_dec = exp.column(dec_column, table=table, quoted=True)

    def num(value: float) -> exp.Expression:
        return exp.Literal.number(_n(value))

    def sin2(col, centre):
        inner = exp.Mul(this=exp.paren(exp.Sub(this=col, expression=num(centre)), copy=False),
                        expression=num(DEG / 2))
        return exp.Pow(this=exp.Sin(this=inner), expression=exp.Literal.number(2))

    hav = exp.Add(this=sin2(col_dec.copy(), dec), expression=exp.Mul(
        this=exp.Mul(this=num(math.cos(math.radians(dec))),
                     expression=exp.Cos(this=exp.Mul(this=col_dec, expression=num(DEG)))),
        expression=sin2(col_ra, ra)))
    exact = exp.LTE(this=hav, expression=num(math.sin(math.radians(radius_deg) / 2) ** 2))
    return exp.and_(ranges_condition(cover, index_column, table), exact, copy=False)


def _search(con, cover: list[tuple[int, int]], inside, *, table: str,
            columns: Sequence[str] | None, ra_column: str, dec_column: str,
            index_column: str) -> pa.Table:
    """Rows of ``table`` in the cover whose position passes ``inside(ra, dec)`` (numpy), in
    table (hpx29) order, as an Arrow table of ``columns`` (default: all)."""
    wanted = list(columns) if columns is not None else [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [table]
    ).fetchall()]
    extra = [c for c in (ra_column, dec_column) if c not in wanted]
    select = ", ".join(quote(c) for c in wanted + extra)
    where = ranges_sql(merge_ranges(cover), index_column)
    rows = con.execute(f"SELECT {select} FROM {quote(table)} WHERE {where}").fetchnumpy()
    keep = inside(np.asarray(rows[ra_column], float), np.asarray(rows[dec_column], float))
    return pa.table({name: _arrow(rows[name][keep]) for name in wanted})


def cone_search(con, ra: float, dec: float, radius_deg: float, *, table: str = "psc",
                columns: Sequence[str] | None = None, ra_column: str = "ra",
                dec_column: str = "dec", index_column: str = "hpx29") -> pa.Table:
    """Rows of ``table`` within the cone, in table (hpx29) order, as an Arrow table: the
    HEALPix ranges in SQL, the exact test (the same haversine as :func:`cone_sql`, or
    Vincenty above 90 deg) in numpy. For a small cone most of a query's time is DuckDB
    planning the exact test, so this is ~25 % faster than the SQL fragment; the Simple Cone
    Search and list tools use it."""
    def inside(r: np.ndarray, d: np.ndarray) -> np.ndarray:
        if radius_deg > 90:
            return vincenty(r, d, ra, dec) <= math.radians(radius_deg)
        return (np.sin((d - dec) * (DEG / 2)) ** 2 + math.cos(math.radians(dec))
                * np.cos(d * DEG) * np.sin((r - ra) * (DEG / 2)) ** 2
                <= math.sin(math.radians(radius_deg) / 2) ** 2)

    return _search(con, cone_ranges(ra, dec, radius_deg), inside, table=table,
                   columns=columns, ra_column=ra_column, dec_column=dec_column,
                   index_column=index_column)


def box_search(con, ra: float, dec: float, width_deg: float, height_deg: float, *,
               table: str = "psc", columns: Sequence[str] | None = None,
               ra_column: str = "ra", dec_column: str = "dec",
               index_column: str = "hpx29") -> pa.Table:
    """:func:`box_sql`'s rows as :func:`cone_search` does it: the ranges in SQL, the
    gnomonic rectangle in numpy."""
    _check_box(width_deg, height_deg)
    d0 = math.radians(dec)
    tx, ty = math.tan(math.radians(width_deg / 2)), math.tan(math.radians(height_deg / 2))

    def inside(r: np.ndarray, d: np.ndarray) -> np.ndarray:
        dra, dd = (r - ra) * DEG, d * DEG
        cosc = math.sin(d0) * np.sin(dd) + math.cos(d0) * np.cos(dd) * np.cos(dra)
        xi = np.cos(dd) * np.sin(dra)
        eta = math.cos(d0) * np.sin(dd) - math.sin(d0) * np.cos(dd) * np.cos(dra)
        return (cosc > 0) & (np.abs(xi) <= tx * cosc) & (np.abs(eta) <= ty * cosc)

    cover = cone_ranges(ra, dec, box_half_diagonal(width_deg, height_deg))
    return _search(con, cover, inside, table=table, columns=columns, ra_column=ra_column,
                   dec_column=dec_column, index_column=index_column)


def polygon_search(con, vertices, *, table: str = "psc", columns: Sequence[str] | None = None,
                   ra_column: str = "ra", dec_column: str = "dec",
                   index_column: str = "hpx29") -> pa.Table:
    """:func:`polygon_sql`'s rows as :func:`cone_search` does it: the ranges in SQL, the
    convex pieces' half-spaces in numpy (no UDF call per vector)."""
    poly = vertices if isinstance(vertices, SphericalPolygon) else \
        SphericalPolygon.from_vertices(vertices)
    return _search(con, polygon_cover(poly), poly.contains, table=table, columns=columns,
                   ra_column=ra_column, dec_column=dec_column, index_column=index_column)


def _arrow(values) -> pa.Array:
    """A numpy (masked) array from fetchnumpy as Arrow, masked values as nulls."""
    if isinstance(values, np.ma.MaskedArray):
        return pa.array(values.data, mask=np.ma.getmaskarray(values))
    return pa.array(values)


def vincenty(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Angular distance in radians between positions in degrees (numpy, broadcasting),
    Vincenty's formula as the ``ang_sep`` macro. The RA difference is taken in degrees, as
    the macro does: converting each RA first loses ~1e-8 of a sub-arcsecond separation near
    RA 360 to cancellation."""
    b1, b2 = np.radians(dec1), np.radians(dec2)
    dl = np.radians(np.subtract(ra2, ra1))
    cos_b1, sin_b1, cos_b2, sin_b2 = np.cos(b1), np.sin(b1), np.cos(b2), np.sin(b2)
    cos_dl = np.cos(dl)
    num = np.hypot(cos_b2 * np.sin(dl), cos_b1 * sin_b2 - sin_b1 * cos_b2 * cos_dl)
    return np.arctan2(num, sin_b1 * sin_b2 + cos_b1 * cos_b2 * cos_dl)


def box_half_diagonal(width_deg: float, height_deg: float) -> float:
    """Angular distance from a box's centre to its corners (degrees)."""
    tx, ty = math.tan(math.radians(width_deg / 2)), math.tan(math.radians(height_deg / 2))
    return math.degrees(math.atan(math.hypot(tx, ty)))


def _check_box(width_deg: float, height_deg: float) -> None:
    if not (0 < width_deg < 180 and 0 < height_deg < 180):
        raise ValueError("box sides must be between 0 and 180 degrees")


def box_sql(ra: float, dec: float, width_deg: float, height_deg: float, **columns) -> str:
    """Rows in the box of ``width_deg`` x ``height_deg`` centred on (ra, dec), sides along
    and across the centre's meridian, measured on the sky: its edges are great circles, so
    it is the rectangle |xi| <= tan(w/2), |eta| <= tan(h/2) of the gnomonic projection at
    the centre, and it stays a box on the sky near the poles. Cover: the circumscribed cone.
    """
    _check_box(width_deg, height_deg)
    col_ra, col_dec, index = _columns(**columns)
    d0 = math.radians(dec)
    cos_d, sin_d = f"cos({col_dec} * {_n(DEG)})", f"sin({col_dec} * {_n(DEG)})"
    dra = f"({col_ra} - {_n(ra)}) * {_n(DEG)}"
    cosc = f"({_n(math.sin(d0))} * {sin_d} + {_n(math.cos(d0))} * {cos_d} * cos({dra}))"
    xi = f"{cos_d} * sin({dra})"
    eta = f"({_n(math.cos(d0))} * {sin_d} - {_n(math.sin(d0))} * {cos_d} * cos({dra}))"
    tx, ty = math.tan(math.radians(width_deg / 2)), math.tan(math.radians(height_deg / 2))
    # |xi / cosc| <= tx with cosc > 0, written without the division
    exact = (f"{cosc} > 0 AND abs({xi}) <= {_n(tx)} * {cosc} AND "
             f"abs({eta}) <= {_n(ty)} * {cosc}")
    cover = cone_ranges(ra, dec, box_half_diagonal(width_deg, height_deg))
    return f"{ranges_sql(merge_ranges(cover), *index)} AND {exact}"


def box_condition(ra: float, dec: float, width_deg: float, height_deg: float, *,
                  ra_column: str = "ra", dec_column: str = "dec", index_column: str = "hpx29",
                  table: str | None = None) -> exp.Expression:
    """:func:`box_sql` as a sqlglot expression, built node by node like
    :func:`cone_condition` (a test checks both render alike)."""
    from sqlglot import exp

    _check_box(width_deg, height_deg)
    d0 = math.radians(dec)

    def col(name: str) -> exp.Expression:
        return exp.column(name, table=table, quoted=True)

    def num(value: float) -> exp.Expression:
        return exp.Literal.number(_n(value))

    def times(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        return exp.Mul(this=a, expression=b)

    def dec_rad() -> exp.Expression:
        return times(col(dec_column), num(DEG))

    def dra() -> exp.Expression:
        return times(exp.paren(exp.Sub(this=col(ra_column), expression=num(ra)), copy=False),
                     num(DEG))

    def cos_d() -> exp.Expression:
        return exp.Cos(this=dec_rad())

    def cosc() -> exp.Expression:
        return exp.paren(exp.Add(this=times(num(math.sin(d0)), exp.Sin(this=dec_rad())),
                                 expression=times(times(num(math.cos(d0)), cos_d()),
                                                  exp.Cos(this=dra()))), copy=False)

    xi = times(cos_d(), exp.Sin(this=dra()))
    eta = exp.paren(exp.Sub(this=times(num(math.cos(d0)), exp.Sin(this=dec_rad())),
                            expression=times(times(num(math.sin(d0)), cos_d()),
                                             exp.Cos(this=dra()))), copy=False)
    tx, ty = math.tan(math.radians(width_deg / 2)), math.tan(math.radians(height_deg / 2))
    cover = merge_ranges(cone_ranges(ra, dec, box_half_diagonal(width_deg, height_deg)))
    return exp.and_(
        ranges_condition(cover, index_column, table),
        exp.GT(this=cosc(), expression=exp.Literal.number(0)),
        exp.LTE(this=exp.Abs(this=xi), expression=times(num(tx), cosc())),
        exp.LTE(this=exp.Abs(this=eta), expression=times(num(ty), cosc())), copy=False)


MAX_COVER_RANGES = 64             # past this a coarser cover is cheaper to test


def _padded_cover(search, size_deg: float) -> list[tuple[int, int]]:
    """Ranges of a cdshealpix region search (``search(depth)`` -> ipix, depth, full),
    with every partly covered cell's neighbours added, so the cover holds the region even
    where the search rounds at a cell edge. The depth starts at cells ~1/4 of ``size_deg``
    and gets coarser until the cover has at most MAX_COVER_RANGES ranges."""
    depth = min(MAX_DEPTH, cover_depth(size_deg / 8))
    while True:
        ranges = cells_to_ranges(*_with_border_ring(*search(depth), depth))
        if len(ranges) <= MAX_COVER_RANGES or depth == 0:
            return ranges
        depth -= 1


def _with_border_ring(ipix, depths, full, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """A search's cells (``ipix`` at ``depths``) plus the neighbours at ``depth`` of each
    partly covered one: the padding that makes a cover hold its region at cell edges."""
    border = np.unique(np.asarray(ipix, np.int64)[~np.asarray(full, bool)]).astype(np.uint64)
    cells, levels = [np.asarray(ipix, np.int64)], [np.asarray(depths, np.int64)]
    if len(border):
        ring = np.asarray(_nested().neighbours(border, depth), np.int64).ravel()
        ring = np.unique(ring[ring >= 0])
        cells.append(ring)
        levels.append(np.full(len(ring), depth, np.int64))
    return np.concatenate(cells), np.concatenate(levels)


# Footprints (scans, tiles): the sky of the survey words of the query language
FOOTPRINT_DEPTH = 9               # one footprint: cells of 6.9' beside a scan's 8.5' width
FOOTPRINT_MIN_DEPTH = 4           # thousands of scans: cells of 3.7 deg
FOOTPRINT_RANGES = 8              # most ranges of a footprint cover, however many scans:
# DuckDB tests every row of each row group it reads against every range of the OR, so each
# range costs time on every row read (docs/performance.md, "Region words")


def footprint_depth(count: int) -> int:
    """The cover depth for ``count`` footprints: one level coarser for each 4x more, so
    that the cells searched stay about as many as for one footprint at FOOTPRINT_DEPTH
    (~140 cells a 6 deg scan; a night of 42 scans at depth 7, ~24 each)."""
    steps = int(math.log(max(count, 1), 4))
    return max(FOOTPRINT_MIN_DEPTH, FOOTPRINT_DEPTH - steps)


def footprint_cover(corners: np.ndarray, most: int = FOOTPRINT_RANGES
                    ) -> list[tuple[int, int]]:
    """Order-29 ranges covering the union of footprints: ``corners`` is (n, k, 2), each
    footprint's (ra, dec) vertices in degrees in order around it (a scan's corners 1, 2,
    4, 3), great-circle edges. Each is cdshealpix's polygon search at
    :func:`footprint_depth` with the partly covered cells' neighbours added (as
    :func:`polygon_cover`); the union is then cut to at most ``most`` ranges by closing
    the smallest gaps (:func:`merge_ranges`: the least sky for that many ranges)."""
    corners = np.asarray(corners, float)
    if corners.size == 0:
        return []
    _check_convex(corners)
    depth = footprint_depth(len(corners))
    lon, lat = np.radians(corners[..., 0] % 360.0), np.radians(corners[..., 1])
    found = [_polygon_cells(depth, lon[i], lat[i]) for i in range(len(corners))]
    ipix = np.concatenate([np.asarray(f[0], np.int64) for f in found])
    full = np.concatenate([np.asarray(f[2], bool) for f in found])
    cells = np.unique(_with_border_ring(ipix, np.full(len(ipix), depth), full, depth)[0])
    return merge_ranges(cells_to_ranges(cells, np.full(len(cells), depth)), 1.0, most)


def _check_convex(corners: np.ndarray) -> None:
    """ValueError unless each footprint is a convex polygon with its vertices in order, all
    finite, Dec within +-90 (a bad row of the scans table must not give a cover that misses
    its rows: cdshealpix would search a self-crossing or flat polygon without complaint)."""
    ra, dec = corners[..., 0], corners[..., 1]
    if not (np.isfinite(corners).all() and (np.abs(dec) <= 90).all()):
        raise ValueError("a footprint corner is not a position")
    v = np.stack([np.cos(np.radians(dec)) * np.cos(np.radians(ra)),
                  np.cos(np.radians(dec)) * np.sin(np.radians(ra)), np.sin(np.radians(dec))],
                 axis=-1)                                          # (n, k, 3)
    k = v.shape[1]
    for j in range(k):
        normal = np.cross(v[:, j], v[:, (j + 1) % k])              # edge j's great circle
        others = [m for m in range(k) if m not in (j, (j + 1) % k)]
        side = np.einsum("nj,nmj->nm", normal, v[:, others])
        if j == 0:
            sense = np.sign(side[:, 0])
        if not (side * sense[:, None] > 0).all():
            raise ValueError("a footprint is not a convex polygon with its corners in order")


def _polygon_cells(depth: int, lon: np.ndarray, lat: np.ndarray):
    """cdshealpix's polygon search (vertices in radians) at one depth (flat), calling its
    compiled function as :func:`_cone_cells` does: the public wrapper's astropy objects
    cost more than the search of a small polygon; the public API is the fallback."""
    try:
        return _compiled().polygon_search(np.uint8(depth), np.ascontiguousarray(lon, np.float64),
                             np.ascontiguousarray(lat, np.float64), True)
    except (TypeError, AttributeError):
        from astropy import units as u
        from astropy.coordinates import Latitude, Longitude

        return _nested().polygon_search(Longitude(lon, u.rad), Latitude(lat, u.rad), depth,
                                        flat=True)


def polygon_sql(vertices, **columns) -> str:
    """Rows inside the spherical polygon with these (ra, dec) vertices (great-circle edges,
    convex or concave, smaller than a hemisphere, boundary included; see catscan.polygon).
    Cover: cdshealpix's polygon search plus a ring of neighbour cells. Exact test: the
    ``sky_polygon_contains`` UDF (udfs/regions.py), on the rows the ranges let through."""
    poly = remember(vertices if isinstance(vertices, SphericalPolygon) else
                    SphericalPolygon.from_vertices(vertices))
    col_ra, col_dec, index = _columns(**columns)
    cover = polygon_cover(poly)
    return (f"{ranges_sql(merge_ranges(cover), *index)} AND "
            f"sky_polygon_contains({col_ra}, {col_dec}, '{poly.spec}')")


def polygon_cover(poly: SphericalPolygon) -> list[tuple[int, int]]:
    """cdshealpix's polygon search, padded by a ring of neighbour cells."""
    from astropy import units as u
    from astropy.coordinates import Latitude, Longitude

    lon = Longitude(np.array(poly.ra), u.deg)
    lat = Latitude(np.array(poly.dec), u.deg)
    return _padded_cover(lambda depth: _nested().polygon_search(lon, lat, depth),
                         2 * poly.centre()[2])


def polygon_condition(vertices, **columns) -> exp.Expression:
    """:func:`polygon_sql` as a sqlglot expression."""
    return _parse(polygon_sql(vertices, **columns))


def range_sql(ra_min: float, ra_max: float, dec_min: float, dec_max: float, **columns) -> str:
    """Rows with ``ra_min <= ra <= ra_max`` and ``dec_min <= dec <= dec_max``: a plain
    coordinate range, whose RA sides are meridians and Dec sides small circles (unlike
    :func:`box_sql`). ``ra_min > ra_max`` wraps through RA 0, e.g. 350 .. 10."""
    if not -90 <= dec_min <= dec_max <= 90:
        raise ValueError(f"need -90 <= dec_min <= dec_max <= 90, not {dec_min} .. {dec_max}")
    for value in (ra_min, ra_max):
        if not 0 <= value <= 360:
            raise ValueError(f"RA limits must be between 0 and 360 degrees, not {value}")
    col_ra, col_dec, index = _columns(**columns)
    in_dec = f"{col_dec} BETWEEN {_n(dec_min)} AND {_n(dec_max)}"
    wraps = ra_min > ra_max
    if wraps:
        in_ra = f"({col_ra} >= {_n(ra_min)} OR {col_ra} <= {_n(ra_max)})"
        spans = [(ra_min, 360.0), (0.0, ra_max)]
    else:
        in_ra = f"{col_ra} BETWEEN {_n(ra_min)} AND {_n(ra_max)}"
        spans = [(ra_min, ra_max)]
    if (ra_min == 0 and ra_max == 360) or (dec_max - dec_min >= 90 and not wraps
                                            and ra_max - ra_min >= 180):
        return f"{in_ra} AND {in_dec}"             # a large part of the sky: no cover
    ranges = coalesce(r for lo, hi in spans for r in _zone_cover(lo, hi, dec_min, dec_max))
    return f"{ranges_sql(merge_ranges(ranges), *index)} AND {in_ra} AND {in_dec}"


def range_condition(ra_min: float, ra_max: float, dec_min: float, dec_max: float, **columns
                    ) -> exp.Expression:
    """:func:`range_sql` as a sqlglot expression."""
    return _parse(range_sql(ra_min, ra_max, dec_min, dec_max, **columns))


def _zone_cover(ra_lo: float, ra_hi: float, dec_lo: float, dec_hi: float
                ) -> list[tuple[int, int]]:
    """Ranges covering an RA/Dec zone (``ra_lo <= ra_hi``), as the union of the
    circumscribed cones of up to 16 x 16 patches. (cdshealpix 0.9's zone_search misses
    cells near the poles.) A patch's farthest point from its centre is a corner: along a
    parallel or a meridian the distance to a point grows monotonically away from its minimum.
    """
    widest = math.cos(math.radians(0.0 if dec_lo <= 0 <= dec_hi
                                   else min(abs(dec_lo), abs(dec_hi))))
    sides = ((ra_hi - ra_lo) * widest, dec_hi - dec_lo)
    step = max(min(sides), max(sides) / 16, 1e-9)
    n_ra = max(1, min(16, math.ceil(sides[0] / step)))
    n_dec = max(1, min(16, math.ceil(sides[1] / step)))
    ra_edges = np.linspace(ra_lo, ra_hi, n_ra + 1)
    dec_edges = np.linspace(dec_lo, dec_hi, n_dec + 1)
    ranges: list[tuple[int, int]] = []
    for i in range(n_ra):
        for j in range(n_dec):
            ra_c = (ra_edges[i] + ra_edges[i + 1]) / 2
            dec_c = (dec_edges[j] + dec_edges[j + 1]) / 2
            corners = [(ra_edges[i + a], dec_edges[j + b]) for a in (0, 1) for b in (0, 1)]
            radius = max(_separation(ra_c, dec_c, r, d) for r, d in corners)
            ranges += cone_ranges(ra_c, dec_c, min(radius, 180.0))
    return ranges


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance in degrees (Vincenty, as the ang_sep macro)."""
    return math.degrees(float(vincenty(np.array([ra1]), np.array([dec1]), ra2, dec2)[0]))


def tiles_containing(con, ra: float, dec: float) -> list[int]:
    """Every tile whose footprint (great circles through its corners) holds the position;
    tiles overlap, so there can be several. Calibration fields count as tiles too."""
    from .geometry.footprint import unit_vectors

    # a tile spans at most 6.15 deg in Dec: only tiles whose centre is that close can hold it
    rows = con.execute(
        "SELECT tile, ra_1, dec_1, ra_2, dec_2, ra_3, dec_3, ra_4, dec_4 FROM tiles "
        "WHERE abs(dec - ?) <= 3.2 AND ra_1 IS NOT NULL ORDER BY tile",
        [float(dec)]).fetchnumpy()
    if len(rows["tile"]) == 0:
        return []
    corners = np.stack([unit_vectors(rows[f"ra_{i}"], rows[f"dec_{i}"]) for i in range(1, 5)],
                       axis=1)                                     # (tiles, 4, 3)
    centre = corners.sum(axis=1)
    point = unit_vectors([ra], [dec])[0]
    inside = np.ones(len(rows["tile"]), bool)
    for a, b in ((0, 1), (2, 3), (0, 2), (1, 3)):                 # start, end, east, west
        normal = np.cross(corners[:, a], corners[:, b])
        sign = np.sign(np.einsum("ij,ij->i", normal, centre))
        inside &= sign * (normal @ point) >= 0
    return [int(t) for t in np.asarray(rows["tile"])[inside]]


def in_tile(con, ra: float, dec: float, tile: int) -> bool:
    """Whether the position lies in ``tile``'s footprint."""
    return tile in tiles_containing(con, ra, dec)
