"""The sky of the survey words (``in scan``, ``on night``, ``in tile``, ``observed
between``): the footprints of the scans a word names, looked up in ``scans`` while the
query compiles, as a bounded list of ``hpx29`` ranges.

The words themselves filter on ``date``/``hemis``/``scan`` or on the scan's ``tile``, which
the big tables are not sorted by, so alone they read every row group. The rows they keep
come from those scans, and a catalog row lies inside its scan's footprint (2MASS catalog
generation keeps sources at least 10" inside the scan's edges; 2mass_reference.md §3), so
``hpx29`` in the footprints' cover loses no row and lets DuckDB's zone maps skip the rest of
the sky. The ranges must be literals in the SQL: a cover read from ``scans`` in a subquery
does not prune (docs/performance.md, "Region words"). The exact filter stays: the ranges
only prune.

For ``in scan``, ``on night`` and ``observed between`` (the rows' own date and scan
columns) this holds when every catalog row's scan is in ``scans``: true after ``load night``
(a delivery brings all its scans) and after loading the release's scan table. When no scan
matches, or one has no usable corners, there is no cover and the word reads what it read
before. ``in tile`` keeps only rows whose scan row has that tile, so no scan means no row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .. import spatial

SKY_INDEX = 12 << (2 * spatial.INDEX_DEPTH)     # order-29 indices of the whole sky
MOST_OF_THE_SKY = 0.5          # a cover past this fraction of the index prunes too little
MOST_SCANS = 5_000             # a tenth of the sky or more, whose cover would take ~0.3 s
RING = (1, 2, 4, 3)            # scan-table corners in order around the footprint


@dataclass(frozen=True)
class ScanSky:
    """The scans a word names and their cover: ``ranges`` None when there is none (no
    pruning), empty when the word can hold no row."""

    scans: int
    ranges: list[tuple[int, int]] | None
    note: str = ""

    def describe(self) -> str:
        found = f"{self.scans:,} scan footprint(s)"
        if self.ranges is None:
            return f"{found}: {self.note}" if self.note else found
        area = sum(b - a for a, b in self.ranges) / SKY_INDEX * spatial.SKY_DEG2
        return f"{found}, cover {area:.4g} deg²"


def scan_sky(con, date: dt.date, hemis: str, scan: int) -> ScanSky:
    return _sky(con, "date = ? AND hemis = ? AND scan = CAST(? AS BIGINT)",
                [date, hemis, scan], empty=False)


def night_sky(con, date: dt.date, hemis: str) -> ScanSky:
    return _sky(con, "date = ? AND hemis = ?", [date, hemis], empty=False)


def dates_sky(con, start: dt.date, end: dt.date) -> ScanSky:
    return _sky(con, "date BETWEEN ? AND ?", [start, end], empty=False)


def tile_sky(con, tile: int) -> ScanSky:
    return _sky(con, "tile = CAST(? AS BIGINT)", [tile], empty=True)


def _sky(con, where: str, values: list, *, empty: bool) -> ScanSky:
    """The cover of the scans matching ``where`` (our own text; values bound). ``empty``:
    whether no scan means no row (the word joins ``scans``)."""
    columns = ", ".join(f"ra_{i}, dec_{i}" for i in RING)
    rows = con.execute(f"SELECT {columns} FROM scans WHERE {where} ORDER BY scan_key",
                       values).fetchnumpy()
    count = len(rows["ra_1"])
    if count == 0:
        return ScanSky(0, [] if empty else None, "" if empty else "no scan in scans")
    if count > MOST_SCANS:
        return ScanSky(count, None, f"no cover (more than {MOST_SCANS:,} scans)")
    try:
        corners = np.stack([np.stack([np.ma.filled(rows[f"ra_{i}"].astype(float), np.nan),
                                      np.ma.filled(rows[f"dec_{i}"].astype(float), np.nan)],
                                     axis=-1) for i in RING], axis=1)
        ranges = spatial.footprint_cover(corners)
    except ValueError as exc:
        return ScanSky(count, None, f"no cover ({exc})")
    if sum(b - a for a, b in ranges) > MOST_OF_THE_SKY * SKY_INDEX:
        return ScanSky(count, None, "no cover (most of the sky)")
    return ScanSky(count, ranges)
