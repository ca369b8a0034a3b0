"""Cross-match a list of positions against the PSC or the XSC, exactly, with LEFT semantics.

The spatial join is a hash equi-join on HEALPix cells (design notes §9): each target is given
its cell at a depth whose cells are larger than the radius, and that cell's 8 neighbours
(cdshealpix, so RA 0/360 and the poles need no special case); catalog rows join on
``hpx29 >> 2(29 - depth)`` and the exact ``ang_sep <= radius`` test keeps the true pairs.
The catalog scan is limited to the targets' HEALPix ranges, so a list in one field reads only
that field's row groups. Every target comes out, matched or not, with the separation in
arcsec and the number of catalog rows within the radius.

Why the 3 x 3 block is enough: any point within 0.6 mean cell sizes (58.6 deg / 2^depth) of a
position lies in its cell or a neighbour (measured on 400,000 positions, including the poles
and the corners of the base cells, where cells are most squeezed; 0.7 fails); the depth is
chosen with a factor 0.4 for margin. Radii above 0.4 x 58.6 deg use a plain nested loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cdshealpix.nested as hp
import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from sqlglot import exp

from .errors import CatscanError
from .spatial import BASE_CELL_DEG, INDEX_DEPTH, MAX_DEPTH, ranges_sql

MODES = ("nearest", "all")
SAFE_FRACTION = 0.4                 # of the mean cell size; 0.7 fails, 0.6 measured safe
MAX_SCAN_RANGES = 64                # catalog ranges the join is restricted to
CATALOG_KEYS = {"psc": "pts_key", "xsc": "ext_key"}
DEFAULT_COLUMNS = {
    "psc": ("designation", "ra", "dec", "j_m", "j_msigcom", "h_m", "h_msigcom", "k_m",
            "k_msigcom", "ph_qual", "rd_flg", "bl_flg", "cc_flg", "use_src", "date", "hemis",
            "scan", "pts_key"),
    "xsc": ("designation", "ra", "dec", "r_k20fe", "j_m_k20fe", "j_msig_k20fe", "h_m_k20fe",
            "h_msig_k20fe", "k_m_k20fe", "k_msig_k20fe", "k_ba", "k_phi", "cc_flg", "date",
            "hemis", "scan", "ext_key"),
}
SEP_COLUMN, COUNT_COLUMN = "sep_arcsec", "n_candidates"
ROW = "__xmatch_row"


class XmatchError(CatscanError):
    """A cross-match that cannot run as asked."""


@dataclass(frozen=True)
class Plan:
    """How a radius is matched: the cell depth, or None for a nested loop."""

    depth: int | None

    @classmethod
    def for_radius(cls, radius_deg: float) -> Plan:
        if radius_deg <= 0 or not math.isfinite(radius_deg):
            raise XmatchError(f"the cross-match radius must be positive, not {radius_deg} deg")
        if radius_deg > SAFE_FRACTION * BASE_CELL_DEG:
            return cls(None)
        depth = math.floor(math.log2(SAFE_FRACTION * BASE_CELL_DEG / radius_deg))
        return cls(min(depth, MAX_DEPTH))


def target_cells(ra: np.ndarray, dec: np.ndarray, depth: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each target's cell at ``depth``, and (row, cell) pairs for that cell and its
    neighbours."""
    ipix = np.asarray(hp.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), depth),
                      dtype=np.int64)
    block = np.asarray(hp.neighbours(ipix.astype(np.uint64), depth), dtype=np.int64)
    rows = np.repeat(np.arange(len(ra), dtype=np.int64), block.shape[1])
    cells = block.ravel()
    keep = cells >= 0                                   # -1: no such neighbour
    return ipix, rows[keep], cells[keep]


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


def _positions(targets: pa.Table, ra_column: str, dec_column: str
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


def _output_names(target_names: Sequence[str], cat_cols: Sequence[str], catalog: str
                  ) -> list[str]:
    """Catalog column names, suffixed with the catalog's name where a target column has it."""
    clash = [c for c in (SEP_COLUMN, COUNT_COLUMN) if c in target_names]
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
    Added columns: ``sep_arcsec`` and ``n_candidates`` (catalog rows within the radius).
    Catalog columns whose name a target column already has get the suffix ``_<catalog>``.
    Units and descriptions are in the fields' metadata (see catscan.tablefile).
    """
    if mode not in MODES:
        raise XmatchError(f"unknown mode {mode!r}: choose nearest or all")
    targets = _as_arrow(targets)
    if ROW in targets.column_names:
        raise XmatchError(f"the targets may not have a column named {ROW!r}")
    cat_cols = catalog_columns(con, catalog, columns)
    ra, dec, usable = _positions(targets, ra_column, dec_column)
    plan = Plan.for_radius(radius_deg)
    key = CATALOG_KEYS[catalog]
    rows = np.flatnonzero(usable)
    if plan.depth is None:
        probe = pa.table({"row": rows, "t_ra": ra[rows], "t_dec": dec[rows]})
        join, where = "xm_probe p CROSS JOIN", "TRUE"
    else:
        centres, cell_rows, cells = target_cells(ra[rows], dec[rows], plan.depth)
        picked = rows[cell_rows]
        probe = pa.table({"row": picked, "t_ra": ra[picked], "t_dec": dec[picked],
                          "cell": cells})
        join = "xm_probe p JOIN"
        scan = scan_ranges(centres, plan.depth)
        where = ranges_sql(scan, "hpx29", "c")
    shift = 2 * (INDEX_DEPTH - plan.depth) if plan.depth is not None else 0
    on = f"ON c.hpx29 >> {shift} = p.cell" if plan.depth is not None else ""
    q = _quote
    names = _output_names(targets.column_names, cat_cols, catalog)
    carried = ", ".join(f"c.{q(c)} AS {q('c_' + c)}" for c in cat_cols)
    shown = ", ".join(f"m.{q('c_' + c)} AS {q(n)}" for c, n in zip(cat_cols, names, strict=True))
    keep = "WHERE rk = 1" if mode == "nearest" else ""
    sql = f"""
        WITH pairs AS (
            SELECT p.row, ang_sep(p.t_ra, p.t_dec, c.ra, c.dec) AS sep, c.{q(key)} AS xm_key,
                   {carried}
            FROM {join} {q(catalog)} c {on}
            WHERE {where} AND ang_sep(p.t_ra, p.t_dec, c.ra, c.dec) <= {float(radius_deg)!r}),
        ranked AS (
            SELECT *, count(*) OVER (PARTITION BY row) AS n,
                   row_number() OVER (PARTITION BY row ORDER BY sep, xm_key) AS rk
            FROM pairs)
        SELECT t.* EXCLUDE ({q(ROW)}), m.sep * 3600 AS {q(SEP_COLUMN)},
               coalesce(m.n, 0) AS {q(COUNT_COLUMN)}, {shown}
        FROM xm_targets t LEFT JOIN (SELECT * FROM ranked {keep}) m ON m.row = t.{q(ROW)}
        ORDER BY t.{q(ROW)}, m.rk"""
    con.register("xm_targets", targets.append_column(ROW, pa.array(np.arange(len(targets)))))
    con.register("xm_probe", probe)
    try:
        result = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("xm_targets")
        con.unregister("xm_probe")
    return _with_metadata(con, result, targets, catalog, dict(zip(names, cat_cols,
                                                                  strict=True)))


def _with_metadata(con, result: pa.Table, targets: pa.Table, catalog: str,
                   catalog_names: dict[str, str]) -> pa.Table:
    """Units and descriptions: the targets' own, the schema's for catalog columns."""
    from .loaders.schema_info import column_comments
    from .tablefile import field_metadata

    comments = column_comments(con, catalog)
    fields = []
    for field in result.schema:
        if field.name in targets.column_names:
            meta = targets.schema.field(field.name).metadata
        elif field.name == SEP_COLUMN:
            meta = field_metadata("arcsec", "distance from the target to the catalog source")
        elif field.name == COUNT_COLUMN:
            meta = field_metadata(None, f"number of {catalog} sources within the radius")
        else:
            unit, text = comments.get(catalog_names[field.name], ("", ""))
            meta = field_metadata(unit, f"{catalog}.{catalog_names[field.name]}: {text}")
        fields.append(field.with_metadata(meta))
    return result.cast(pa.schema(fields))


def _quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _as_arrow(targets) -> pa.Table:
    if isinstance(targets, pa.Table):
        return targets
    from .tablefile import astropy_to_arrow

    return astropy_to_arrow(targets)
