"""``catscan explain``: what a query will do, before it runs. The compiled SQL, each region
with its HEALPix cover and sky area, the row groups the covers let DuckDB read (from the
column statistics of ``hpx29``, no scan), the rows in those covers (a count that reads only
those row groups) and a rough time from both."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spatial import ranges_sql
from .catalog import SOURCES
from .compiler import Compiled, RegionInfo

# rough cost model, measured on 20 M rows (docs/performance.md): a statement costs ~0.8 ms,
# reading and filtering a row group ~0.5 ms (0.15 for a cone's part of one, 0.7 for a full
# filter), each row returned ~1 us when the regions say how many
STATEMENT_MS, ROW_GROUP_MS, ROW_MS = 0.8, 0.5, 0.001
SKY_WORDS = ("scan", "night", "tile", "observed")   # regions whose cover comes from scans
SHOWN_RANGES = 8


@dataclass
class Explanation:
    compiled: Compiled
    table: str
    table_rows: int
    row_groups: int
    row_groups_read: int
    rows_in_cover: int | None
    expected_rows: float | None
    estimated_ms: float
    regions: list[RegionInfo] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"source: {self.compiled.source} (table {self.table}, {self.table_rows:,} rows "
               f"in {self.row_groups} row groups)"]
        for i, r in enumerate(self.regions, 1):
            area = f", {r.area_deg2:.6g} deg²" if r.area_deg2 is not None else ""
            cover = f", {len(r.ranges)} HEALPix range(s)" if r.ranges else ""
            out.append(f"region {i}: {r.kind} {r.description}{cover}{area}")
            if r.kind in SKY_WORDS and (r.ranges or r.empty):
                out.append("  hpx29 ranges: " + _shown_ranges(r.ranges))
        out.append(f"reads {self.row_groups_read} of {self.row_groups} row groups")
        if self.rows_in_cover is not None:
            out.append(f"rows in the covers: {self.rows_in_cover:,} (before the exact test and "
                       "the where clause)")
        if self.expected_rows is not None:
            out.append(f"rows expected in the regions: ~{self.expected_rows:,.0f} (before the "
                       "where clause)")
        out.append(f"estimated time: ~{self.estimated_ms:.1f} ms (rough)")
        if self.compiled.parameters:
            out.append("parameters: " + ", ".join(f"${k} = {v}" for k, v in
                                                  self.compiled.parameters.items()))
        out.append("SQL:")
        out.append("  " + self.compiled.sql)
        return out


def explain(con, compiled: Compiled, targets=None) -> Explanation:
    """``targets``: for a query with a match clause, the list (catscan.tablefile.Targets);
    its HEALPix cover is then what the match reads."""
    if compiled.match is not None and targets is not None:
        compiled = _with_list_cover(compiled, targets)
    source = SOURCES[compiled.source]
    table = source.table
    table_rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    groups = _row_group_ranges(con, table, source.index) if source.index else []
    spatial_regions = [r for r in compiled.regions if r.ranges]
    if any(r.empty for r in compiled.regions):
        read = 0
    elif spatial_regions and groups:        # the regions are AND-ed: a group in every cover
        read = sum(1 for lo, hi in groups if all(
            any(a <= hi and lo < b for a, b in r.ranges) for r in spatial_regions))
    else:
        read = max(1, len(groups)) if table_rows else 0
    rows_in_cover = expected = None
    if spatial_regions:
        first = spatial_regions[0]
        rows_in_cover = con.execute(f'SELECT count(*) FROM "{table}" WHERE '
                                    f"{ranges_sql(first.ranges, source.index)}").fetchone()[0]
        cover_area = sum(b - a for a, b in first.ranges) / (12 * 4 ** 29) * 41252.96
        if first.area_deg2 is not None and cover_area > 0:
            expected = rows_in_cover * min(1.0, first.area_deg2 / cover_area)
    estimate = STATEMENT_MS + ROW_GROUP_MS * read + ROW_MS * (expected or 0)
    return Explanation(compiled, table, table_rows, max(len(groups), 1 if table_rows else 0),
                       read, rows_in_cover, expected, estimate, list(compiled.regions))


def _shown_ranges(ranges: list[tuple[int, int]], most: int = SHOWN_RANGES) -> str:
    """Half-open ranges as ``[lo, hi)``, the first ``most`` of them."""
    if not ranges:
        return "none (no scan: the region holds no row)"
    shown = ", ".join(f"[{a}, {b})" for a, b in ranges[:most])
    return shown + (f", ... ({len(ranges) - most} more in the SQL)" if len(ranges) > most
                    else "")


def _with_list_cover(compiled: Compiled, targets) -> Compiled:
    from dataclasses import replace

    from ..xmatch import list_cover

    plan = compiled.match
    cover = list_cover(targets.table, plan.radius_deg, targets.ra, targets.dec)
    n = targets.table.num_rows
    rows = "one row per target" if plan.mode == "nearest" else "a row per pair"
    regions = [replace(r, description=f"{r.description}: {n:,} target(s), {rows}",
                       ranges=cover or []) if r.kind == "match" else r
               for r in compiled.regions]
    return replace(compiled, regions=regions)


def _row_group_ranges(con, table: str, column: str) -> list[tuple[int, int]]:
    """(min, max) of the index column in each row group, from DuckDB's storage statistics
    (none for a view)."""
    is_table = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND "
                           "schema_name = 'main'", [table]).fetchone()[0]
    if not is_table:
        return []
    rows = con.execute(
        "SELECT row_group_id, stats FROM pragma_storage_info(?) WHERE column_name = ? "
        "AND segment_type NOT IN ('VALIDITY') ORDER BY row_group_id", [table, column]
    ).fetchall()
    out: dict[int, tuple[int, int]] = {}
    for group, stats in rows:
        lo, hi = _min_max(stats)
        if lo is None:
            continue
        old = out.get(group)
        out[group] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    return [out[g] for g in sorted(out)]


def _min_max(stats) -> tuple[int | None, int | None]:
    """Min and max from a segment's statistics (a dict in DuckDB 2.0)."""
    if isinstance(stats, dict) and stats.get("min") is not None:
        return int(stats["min"]), int(stats["max"])
    return None, None
