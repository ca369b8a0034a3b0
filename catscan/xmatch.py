"""Cross-match a list of positions against the PSC or the XSC, exactly, with LEFT semantics.

The spatial join is a hash equi-join on HEALPix cells (design notes §9): each target is
given its cell at a depth whose cells are larger than the radius, and that cell's 8
neighbours (cdshealpix, so RA 0/360 and the poles need no special case); catalog rows join
on their stored order-11 cell ``hpx11`` for radii up to 41" (a plain column, so DuckDB
pushes the targets' cells into the scan as a filter), else on ``hpx29 >> 2(29 - depth)``,
and the exact distance test keeps the true pairs. The catalog scan is limited to the
targets' HEALPix ranges, so a list in one field reads only that field's row groups, and on
``hpx29 >> shift`` a big list joins slice by slice (``_partitioned_join``). Every target
comes out, matched or not, with the separation in arcsec and the number of catalog rows
within the radius.

Most targets need only their own cell. The depth is 11 (the stored cells of 103", for radii
up to 41") or one whose cells are about 30 times the radius, and a target gets a neighbour
only on a side it is close to: cdshealpix gives its offsets (dx, dy) in [0, 1) inside the
cell, and a point whose offset from the dx = 0 edge is m lies at least 0.67 m cell sizes
from that edge on the sky (measured on 1 M positions per depth, crowded at the poles and the
corners of the base cells; only the poles themselves fall below, and targets near a pole get
all 8 neighbours). With the factor 0.3 for margin, a target within ``radius / (0.3 cell)``
of an edge (in offset units) gets the neighbours across it, and the corner one when two
edges are that close: about 1.3 keys a target instead of 9, which halves the hash join. Why
the 3 x 3 block is enough at all: any point within 0.6 mean cell sizes (58.6 deg / 2^depth)
of a position lies in its cell or a neighbour (measured on 400,000 positions, including the
poles and base-cell corners; 0.7 fails); radii above 0.4 x 58.6 deg use a plain nested loop
instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sqlglot import exp

from .errors import CatscanError
from .parallelism import parallel, rows_in_ranges, table_rows
from .spatial import (
    BASE_CELL_DEG,
    INDEX_DEPTH,
    MATCH_CELL_COLUMN,
    MATCH_DEPTH,
    MAX_DEPTH,
    ranges_condition,
    vincenty,
)

MODES = ("nearest", "all")
SAFE_FRACTION = 0.4                 # of the mean cell size; 0.7 fails, 0.6 measured safe
OFFSET_SCALE = 0.3                  # sky distance / (offset x cell size); 0.67 measured
EDGE_FRACTION = 0.1                 # aim: targets within 10 % of a cell edge need neighbours
MAX_SCAN_RANGES = 64                # catalog ranges the join is restricted to
KEYS_PER_PART = 32_768              # target cells per hash table of the partitioned join
MAX_PARTS = 8                       # 4 parts: 18 % faster at 130 k keys; 32: slower again
CATALOG_KEYS = {"psc": "pts_key", "xsc": "ext_key"}
DEFAULT_COLUMNS = {
    "psc": ("designation", "ra", "dec", "j_m", "j_msigcom", "h_m", "h_msigcom", "k_m",
            "k_msigcom", "ph_qual", "rd_flg", "bl_flg", "cc_flg", "use_src", "date", "hemis",
            "scan", "pts_key"),
    "xsc": ("designation", "ra", "dec", "r_k20fe", "j_m_k20fe", "j_msig_k20fe", "h_m_k20fe",
            "h_msig_k20fe", "k_m_k20fe", "k_msig_k20fe", "k_ba", "k_phi", "cc_flg", "date",
            "hemis", "scan", "ext_key"),
}
SEP_COLUMN, COUNT_COLUMN = "dist", "n_candidates"      # dist in arcsec, as Gator names it


class XmatchError(CatscanError):
    """A cross-match that cannot run as asked."""


@dataclass(frozen=True)
class Plan:
    """How a radius is matched: the cell depth (None: a nested loop), and whether the join
    is on the catalog's stored cell column (``hpx11``) rather than on ``hpx29 >> shift``."""

    depth: int | None
    stored: bool = False

    @classmethod
    def for_radius(cls, radius_deg: float, stored_cells: bool = True) -> Plan:
        """The stored order-11 cells serve every radius their neighbour block holds (41"):
        DuckDB then pushes the targets' cells into the catalog scan (a dynamic filter on the
        column), which halves a 100 k match. Other radii, or tables without the column,
        join on ``hpx29 >> shift`` at a depth whose cells are ~30 times the radius."""
        if radius_deg <= 0 or not math.isfinite(radius_deg):
            raise XmatchError(f"the cross-match radius must be positive, not {radius_deg} deg")
        if stored_cells and radius_deg <= SAFE_FRACTION * BASE_CELL_DEG / 2 ** MATCH_DEPTH:
            return cls(MATCH_DEPTH, stored=True)
        if radius_deg > SAFE_FRACTION * BASE_CELL_DEG:
            return cls(None)
        depth = math.floor(math.log2(OFFSET_SCALE * EDGE_FRACTION * BASE_CELL_DEG
                                     / radius_deg))
        return cls(max(0, min(depth, MAX_DEPTH)))

    @property
    def shift(self) -> int:
        """Bits between an order-29 index and a cell of this plan's depth."""
        return 2 * (INDEX_DEPTH - self.depth)

    def scan_condition(self, ranges: list[tuple[int, int]], index_column: str = "hpx29",
                       table: str | None = None) -> exp.Expression:
        """The catalog rows in order-29 ``ranges`` (unions of cells of this plan's depth or
        coarser), on the stored cells when the join uses them: the scan then decodes that
        one small column to filter, not ``hpx29`` too, and its zone maps prune as well."""
        if not self.stored:
            return ranges_condition(ranges, index_column, table)
        shift = self.shift
        return ranges_condition([(lo >> shift, hi >> shift) for lo, hi in ranges],
                                MATCH_CELL_COLUMN, table)

    def cell_type(self):
        """The numpy type of the cells a probe table carries (the join key's type: a
        cast on the catalog side would stop DuckDB pushing the filter into the scan)."""
        return np.int32 if self.stored else np.int64


def target_cells(ra: np.ndarray, dec: np.ndarray, depth: int, radius_deg: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each target's cell at ``depth``, and (row, cell) pairs for that cell and the
    neighbours across the edges the target is within ``radius_deg`` of (module docstring)."""
    # cdshealpix imports astropy (~1 s of a command's start-up): here, not at import
    import cdshealpix.nested as hp
    from astropy import units as u
    from astropy.coordinates import Latitude, Longitude

    ipix, dx, dy = hp.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), depth,
                                        return_offsets=True)
    ipix = np.asarray(ipix, dtype=np.int64)
    cell = BASE_CELL_DEG / 2 ** depth
    near = radius_deg / (OFFSET_SCALE * cell)               # edge distance, offset units
    polar = np.abs(dec) > 90 - 2 * cell
    side = {-1: (dx < near) | polar, 0: np.ones(len(ra), bool), 1: (dx > 1 - near) | polar}
    updown = {-1: (dy < near) | polar, 0: side[0], 1: (dy > 1 - near) | polar}
    # neighbours come as a 3 x 3 block: index 3 (1 + sy) + (1 + sx), the centre at 4
    need = np.stack([updown[sy] & side[sx] for sy in (-1, 0, 1) for sx in (-1, 0, 1)], axis=1)
    # only targets near an edge need cdshealpix's neighbours (a quarter at the usual depth)
    edge = np.flatnonzero(need.sum(axis=1) > 1)
    block = np.full(need.shape, -1, dtype=np.int64)
    block[:, 4] = ipix
    if len(edge):
        block[edge] = np.asarray(hp.neighbours(ipix[edge].astype(np.uint64), depth),
                                 dtype=np.int64)
    keep = need & (block >= 0)                                # -1: no such neighbour
    rows = np.nonzero(keep)[0]
    return ipix, rows, block[keep]


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def scan_ranges(cells: np.ndarray, depth: int, most: int = MAX_SCAN_RANGES
                ) -> list[tuple[int, int]]:
    """At most ``most`` order-29 ranges holding the given cells and all their neighbours.
    The cells are coarsened while there are many (a neighbour of a cell lies in the 3 x 3
    block of the cell's coarse parent), then the smallest gaps are closed; all vectorised."""
    cells = _distinct_sorted(np.sort(np.asarray(cells, dtype=np.int64)))
    while depth > 0 and len(cells) > 16 * most:
        cells, depth = _distinct_sorted(cells >> 2), depth - 1     # shifts keep the order
    if len(cells) == 0:
        return []
    import cdshealpix.nested as hp

    block = np.asarray(hp.neighbours(cells.astype(np.uint64), depth), dtype=np.int64).ravel()
    cells = _distinct_sorted(np.sort(block[block >= 0]))
    shift = 2 * (INDEX_DEPTH - depth)
    lo, hi = cells << shift, (cells + 1) << shift
    starts = np.concatenate([[True], lo[1:] != hi[:-1]])    # merge touching cells
    lo, hi = lo[starts], hi[np.concatenate([starts[1:], [True]])]
    if len(lo) > most:                                        # close all but the widest gaps
        keep = np.sort(np.argsort(lo[1:] - hi[:-1], kind="stable")[len(lo) - most:])
        lo = lo[np.concatenate([[0], keep + 1])]
        hi = hi[np.concatenate([keep, [len(hi) - 1]])]
    return list(zip(lo.tolist(), hi.tolist(), strict=True))


def list_cover(targets: pa.Table, radius_deg: float, ra_column: str = "ra",
               dec_column: str = "dec") -> list[tuple[int, int]] | None:
    """The order-29 ranges a cross-match of ``targets`` reads (None: the whole catalog, for
    radii matched by a nested loop); for ``catscan explain``."""
    ra, dec, usable = positions(targets, ra_column, dec_column)
    plan = Plan.for_radius(radius_deg)
    if plan.depth is None:
        return None
    centres, _, _ = target_cells(ra[usable], dec[usable], plan.depth, radius_deg)
    return scan_ranges(centres, plan.depth)


def catalog_columns(con, catalog: str, columns: Sequence[str] | None) -> list[str]:
    """The catalog columns to return, checked against the table."""
    if catalog not in CATALOG_KEYS:
        raise XmatchError(f"unknown catalog {catalog!r}: choose psc or xsc")
    present = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [catalog]).fetchall()]
    if not present:
        raise XmatchError(f"the database has no {catalog} table: run `catscan init` first")
    if columns is None:
        return [c for c in DEFAULT_COLUMNS[catalog] if c in present]
    if list(columns) == ["*"]:
        return [c for c in present if c != "hpx29"]
    unknown = [c for c in columns if c not in present]
    if unknown:
        raise XmatchError(f"{catalog} has no column {', '.join(map(repr, unknown))}")
    return list(columns)


def positions(targets: pa.Table, ra_column: str, dec_column: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RA, Dec and a 'usable' mask (rows with missing or impossible positions never match)."""
    values = []
    for name in (ra_column, dec_column):
        if name not in targets.column_names:
            raise XmatchError(f"the targets have no {name!r} column")
        try:
            column = targets.column(name).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise XmatchError(f"the targets' {name!r} column is not numeric degrees") from None
        values.append(np.asarray(column.fill_null(np.nan).to_numpy(zero_copy_only=False),
                                 dtype=float))
    ra, dec = values
    usable = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    return np.where(usable, ra % 360.0, 0.0), np.where(usable, dec, 0.0), usable


def dist_name(target_names: Sequence[str], catalog: str) -> str:
    """``dist``, or ``dist_psc``/``dist_xsc`` when the list has a ``dist`` of its own (a
    Gator cone result has one): the suffix rule of the catalog columns."""
    return f"{SEP_COLUMN}_{catalog}" if SEP_COLUMN in target_names else SEP_COLUMN


def _output_names(target_names: Sequence[str], cat_cols: Sequence[str], catalog: str
                  ) -> list[str]:
    """Catalog column names, suffixed with the catalog's name where a target column has it."""
    clash = [c for c in (COUNT_COLUMN, dist_name(target_names, catalog)) if c in target_names]
    if clash:
        raise XmatchError(f"the list already has column(s) {', '.join(clash)} (is it a "
                          "cross-match result?): rename or drop them first")
    taken = set(target_names)
    names = [f"{c}_{catalog}" if c in taken else c for c in cat_cols]
    clash = sorted(set(names) & taken)
    if clash:
        raise XmatchError(f"the list already has column(s) {', '.join(clash)}: rename them "
                          "or choose other catalog columns")
    return names


def xmatch(con, targets, radius_deg: float, *, catalog: str = "psc", mode: str = "nearest",
           columns: Sequence[str] | None = None, ra_column: str = "ra",
           dec_column: str = "dec") -> pa.Table:
    """Match ``targets`` (a pyarrow or astropy table with ``ra``, ``dec`` in degrees; other
    columns are kept) against ``catalog`` within ``radius_deg``.

    ``mode="nearest"``: one row per target, its nearest catalog row (ties: smallest key).
    ``mode="all"``: one row per pair, nearest first, plus one row for each unmatched target.
    Every target appears, in input order; unmatched ones have nulls in the catalog columns.
    Columns: the targets', the catalog's, then ``dist`` (arcsec) and ``n_candidates``
    (catalog rows within the radius).
    Catalog columns whose name a target column already has get the suffix ``_<catalog>``.
    Units and descriptions are in the fields' metadata (see catscan.tablefile).
    """
    targets = _as_arrow(targets)
    cat_cols = catalog_columns(con, catalog, columns)
    relation = exp.select(*[exp.column(c, table="c", quoted=True) for c in cat_cols]) \
        .from_(exp.Table(this=exp.to_identifier(catalog, quoted=True),
                         alias=exp.TableAlias(this=exp.to_identifier("c"))))
    relation = with_match_keys(relation, catalog, "c")
    result, sources = match_relation(
        lambda sql: con.sql(sql).to_arrow_table(), con, targets, radius_deg, relation,
        catalog=catalog, mode=mode, index_table="c", ra_column=ra_column,
        dec_column=dec_column)
    return with_metadata(con, result, targets, catalog, sources)


def with_match_keys(relation: exp.Select, catalog: str, table: str) -> exp.Select:
    """``relation`` (a SELECT over ``catalog`` aliased ``table``) with the columns
    :func:`match_relation` joins on appended: HEALPix index, stored cell, position, key."""
    if catalog not in CATALOG_KEYS:
        raise XmatchError(f"unknown catalog {catalog!r}: choose psc or xsc")
    keys = {"xm_hpx": "hpx29", "xm_cell": MATCH_CELL_COLUMN, "xm_ra": "ra", "xm_dec": "dec",
            "xm_key": CATALOG_KEYS[catalog]}
    return relation.select(*[exp.alias_(exp.column(c, table=table, quoted=True), k)
                             for k, c in keys.items()], copy=False)


MATCH_KEYS = 5          # the columns with_match_keys appends


def match_relation(run, con, targets: pa.Table, radius_deg: float, relation: exp.Select, *,
                   catalog: str, mode: str = "nearest", index_table: str | None = None,
                   ra_column: str = "ra", dec_column: str = "dec"
                   ) -> tuple[pa.Table, dict[str, str]]:
    """Cross-match ``targets`` against the rows of ``relation``: any SELECT over a catalog
    (its WHERE filters the catalog before matching) whose columns are the output columns
    followed by those of :func:`with_match_keys`. ``run(sql)`` returns an Arrow table (the
    caller's timeout and safety rules apply there). Returns the result and, for each output
    catalog column, the relation column it came from (names clashing with the targets'
    get the suffix ``_<catalog>``)."""
    if mode not in MODES:
        raise XmatchError(f"unknown mode {mode!r}: choose nearest or all")
    out_cols = [s.alias_or_name for s in relation.expressions][:-MATCH_KEYS]
    names = _output_names(targets.column_names, out_cols, catalog)
    ra, dec, usable = positions(targets, ra_column, dec_column)
    plan = Plan.for_radius(radius_deg)
    rows = np.flatnonzero(usable)
    relation = relation.copy()
    carried = "".join(f", c.{_quote(c)} AS c_{i}" for i, c in enumerate(out_cols))
    select = f"SELECT p.row AS xm_row, c.xm_ra, c.xm_dec, c.xm_key{carried}"
    scanned = None                                    # the hpx29 ranges read (None: all)
    if plan.depth is None:
        probe = pa.table({"row": rows, "t_ra": ra[rows], "t_dec": dec[rows]})
        sql = (f"{select} FROM xm_probe p CROSS JOIN ({relation.sql(dialect='duckdb')}) c "
               f"WHERE ang_sep(p.t_ra, p.t_dec, c.xm_ra, c.xm_dec) <= {float(radius_deg)!r}")
    else:
        centres, cell_rows, cells = target_cells(ra[rows], dec[rows], plan.depth, radius_deg)
        # the ranges go inside, on the table's own column, so DuckDB prunes row groups
        scanned = scan_ranges(centres, plan.depth)
        relation = relation.where(plan.scan_condition(scanned, table=index_table), copy=False)
        probe, sql = _partitioned_join(select, relation, rows[cell_rows],
                                       cells.astype(plan.cell_type()), plan, index_table)
        # the exact distance is cheaper in numpy (below)
    con.register("xm_probe", probe)
    try:
        with parallel(con, rows_in_ranges(table_rows(con, catalog), scanned)):
            pairs = run(sql)
    finally:
        con.unregister("xm_probe")
    row = pairs.column("xm_row").to_numpy()
    sep = vincenty(ra[row], dec[row], pairs.column("xm_ra").to_numpy(),
                   pairs.column("xm_dec").to_numpy())
    inside = sep <= math.radians(radius_deg)
    pairs = pairs.filter(pa.array(inside)).append_column(
        "xm_sep", pa.array(np.degrees(sep[inside])))
    return _assemble(targets, pairs, mode, names, catalog), dict(zip(names, out_cols, strict=True))


def _partitioned_join(select: str, relation: exp.Select, rows: np.ndarray, cells: np.ndarray,
                      plan: Plan, index_table: str | None) -> tuple[pa.Table, str]:
    """The cell join as a UNION ALL of joins over slices of the target cells: each slice's
    hash table stays small enough for the CPU caches (12-18 % faster at 130 k keys), and its
    catalog side is limited to the slice's own ``hpx29`` range, so each row group is probed
    by one slice only. A join on the stored cells is one slice: DuckDB filters the scan by
    the targets' cells, and the few rows left probe one table (faster than slices, measured
    at 100 k and 1 M targets). Returns the probe table (``row``, ``cell``, ``part``) and the
    SQL."""
    shift = plan.shift
    key = "c.xm_cell" if plan.stored else f"c.xm_hpx >> {shift}"
    if len(cells) == 0:                   # no usable target: an empty join of the right shape
        probe = pa.table({"row": rows, "cell": cells, "part": np.zeros(0, dtype=np.int32)})
        return probe, (f"{select} FROM xm_probe p JOIN ({relation.sql(dialect='duckdb')}) c "
                       f"ON {key} = p.cell")
    # a join on the stored cells reads only rows in a target cell: one hash table is best
    parts = 1 if plan.stored else max(1, min(MAX_PARTS, -(-len(cells) // KEYS_PER_PART)))
    # slices by quantile (no sort): part i holds the cells in [limits[i], limits[i + 1])
    inner = np.quantile(cells, np.linspace(0, 1, parts + 1)[1:-1], method="higher")
    limits = np.unique(np.concatenate([[cells.min()], inner.astype(np.int64),
                                       [cells.max() + 1]]))
    part = (np.searchsorted(limits, cells, side="right") - 1).astype(np.int32)
    branches = []
    for i in range(len(limits) - 1):
        span = (int(limits[i]) << shift, int(limits[i + 1]) << shift)
        branch = relation.where(plan.scan_condition([span], table=index_table))
        branches.append(f"{select} FROM (SELECT row, cell FROM xm_probe WHERE part = {i}) p "
                        f"JOIN ({branch.sql(dialect='duckdb')}) c ON {key} = p.cell")
    return pa.table({"row": rows, "cell": cells, "part": part}), " UNION ALL ".join(branches)


def _ranked(row: np.ndarray, sep: np.ndarray, key: np.ndarray, counts: np.ndarray
            ) -> np.ndarray:
    """``np.lexsort((key, sep, row))`` in linear time for the targets with one pair (most of
    them): a pair's place is its target's offset; only targets with several pairs are sorted."""
    offsets = np.cumsum(counts) - counts
    place = offsets[row]
    multi = np.flatnonzero(counts[row] > 1)
    if len(multi):
        multi = multi[np.lexsort((key[multi], sep[multi], row[multi]))]
        grouped = row[multi]
        starts = np.flatnonzero(np.concatenate([[True], grouped[1:] != grouped[:-1]]))
        sizes = np.diff(np.append(starts, len(multi)))
        place[multi] = offsets[grouped] + np.arange(len(multi)) - np.repeat(starts, sizes)
    order = np.empty(len(row), dtype=np.int64)
    order[place] = np.arange(len(row))
    return order


def _assemble(targets: pa.Table, pairs: pa.Table, mode: str, names: list[str],
              catalog: str) -> pa.Table:
    """The output rows from the pairs: ranked (separation, then key) and counted per target,
    one row per target (nearest) or per pair (all), unmatched targets with nulls."""
    n = targets.num_rows
    row = pairs.column("xm_row").to_numpy()
    sep = pairs.column("xm_sep").to_numpy()
    key = pairs.column("xm_key").fill_null(0).to_numpy()
    counts = np.bincount(row, minlength=n)
    order = _ranked(row, sep, key, counts)               # by target, nearest first
    row_sorted = row[order]
    if mode == "nearest":
        first = np.ones(len(order), dtype=bool)
        first[1:] = row_sorted[1:] != row_sorted[:-1]
        target_index = np.arange(n)
        pair_index = np.full(n, -1, dtype=np.int64)
        pair_index[row_sorted[first]] = order[first]
        out = targets
    else:
        # a slot per pair, or one for an unmatched target, in input order: no sort needed
        slots = np.maximum(counts, 1)
        target_index = np.repeat(np.arange(n), slots)
        pair_index = np.full(len(target_index), -1, dtype=np.int64)
        rank = np.arange(len(order)) - (np.cumsum(counts) - counts)[row_sorted]
        pair_index[(np.cumsum(slots) - slots)[row_sorted] + rank] = order
        out = targets.take(pa.array(target_index))
    take = pa.array(pair_index, mask=pair_index < 0)
    import pyarrow.compute as pc  # ~0.1 s to import: not at every command's start

    # the list's columns, the match's, then dist and the count (Gator's and TOPCAT's order)
    for i, name in enumerate(names):
        out = out.append_column(name, pairs.column(f"c_{i}").take(take))
    sep = pc.multiply(pairs.column("xm_sep").take(take), 3600.0)
    out = out.append_column(dist_name(targets.column_names, catalog), sep)
    return out.append_column(COUNT_COLUMN, pa.array(counts[target_index], type=pa.int64()))


def with_metadata(con, result: pa.Table, targets: pa.Table, catalog: str,
                   catalog_names: dict[str, str]) -> pa.Table:
    """Units and descriptions: the targets' own, the schema's for catalog columns (and
    their fixed text widths, catscan.votable_types)."""
    from .loaders.schema_info import column_comments
    from .tablefile import field_metadata
    from .votable_types import width_metadata

    comments = column_comments(con, catalog)
    fields = []
    for field in result.schema:
        if field.name in targets.column_names:
            meta = targets.schema.field(field.name).metadata
        elif field.name == dist_name(targets.column_names, catalog):
            meta = field_metadata("arcsec", "distance from the target to the catalog source",
                                  "pos.angDistance")
        elif field.name == COUNT_COLUMN:
            meta = field_metadata(None, f"number of {catalog} sources within the radius")
        else:
            unit, text = comments.get(catalog_names[field.name], ("", ""))
            meta = field_metadata(unit, f"{catalog}.{catalog_names[field.name]}: {text}")
            meta = {**(meta or {}), **width_metadata(catalog, catalog_names[field.name])}
        fields.append(field.with_metadata(meta))
    return result.cast(pa.schema(fields))


def _quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _as_arrow(targets) -> pa.Table:
    if isinstance(targets, pa.Table):
        return targets
    from .tablefile import astropy_to_arrow

    return astropy_to_arrow(targets)
