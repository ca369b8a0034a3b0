"""The survey's tile grid: every tile of the sky, where it is and which facility scans it.

The scheme (2mass_reference.md §3, documented in docs/tiles.md):

- the sky is cut into 30 declination strips with nominal edges at multiples of 6 degrees;
  a tile spans its strip plus 4.25' beyond each edge, so adjacent strips overlap by 8.5';
- tiles are scanned along a meridian and are one camera frame (8.5') wide on the sky; their
  centres are spaced evenly in RA so that neighbours overlap by at least 51" at the strip's
  equator-most edge, where the meridians are farthest apart; the overlap grows towards the
  pole;
- ids are 6 digits, consecutive in RA inside a strip, strips from south to north, offset so
  that the tile of the real M17 Atlas Image (STRIP_ID 308165, RA 18h20m, Dec -12..-18) keeps
  its id;
- strips south of the equator are scanned from CTIO (``s``), the others from Mt Hopkins
  (``n``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

STRIP_DEG = 6.0
WIDTH_ARCMIN = 8.5
DEC_MARGIN_DEG = WIDTH_ARCMIN / 2 / 60       # 4.25' beyond each nominal strip edge
MIN_RA_OVERLAP_ARCSEC = 51.0
ANCHOR = (308165, 275.1229661, -16.30448663)  # the real M17 Atlas Image's tile


def _strips() -> list[tuple[float, float, int]]:
    """(nominal lower Dec, upper Dec, tiles in the strip), south to north."""
    spacing = np.radians((WIDTH_ARCMIN * 60 - MIN_RA_OVERLAP_ARCSEC) / 3600)
    strips = []
    for lower in np.arange(-90.0, 90.0, STRIP_DEG):
        upper = lower + STRIP_DEG
        # the tile's equator-most end lies 4.25' beyond the nominal strip edge
        equatorward = 0.0 if lower < 0 < upper else max(
            min(abs(lower), abs(upper)) - DEC_MARGIN_DEG, 0.0)
        count = int(np.ceil(2 * np.pi * np.cos(np.radians(equatorward)) / spacing))
        strips.append((float(lower), float(upper), count))
    return strips


def _half_width_ra(dec: np.ndarray) -> np.ndarray:
    """RA half-width (deg) of a tile 8.5' wide on the sky at declination ``dec``."""
    sin_w = np.sin(np.radians(WIDTH_ARCMIN / 2 / 60))
    ratio = np.clip(sin_w / np.maximum(np.cos(np.radians(dec)), 1e-12), -1, 1)
    return np.degrees(np.arcsin(ratio))


def tile_grid() -> pa.Table:
    """Every tile: ``tile, hemis, ra, dec, ra_1..dec_4`` (corners numbered as in the scan
    table for a northward scan: 1/2 east/west at the south end, 3/4 at the north end)."""
    parts = []
    for lower, upper, count in _strips():
        ra = (np.arange(count) + 0.5) * 360.0 / count
        lo = max(lower - DEC_MARGIN_DEG, -90.0)
        hi = min(upper + DEC_MARGIN_DEG, 90.0)
        # a tile that reaches a pole ends just short of it, so its edges stay defined
        lo_c, hi_c = max(lo, -89.999), min(hi, 89.999)
        parts.append({
            "ra": ra, "dec": np.full(count, (lo + hi) / 2),
            "hemis": np.full(count, "s" if upper <= 0 else "n"),
            "ra_1": ra + _half_width_ra(lo_c), "dec_1": np.full(count, lo_c),
            "ra_2": ra - _half_width_ra(lo_c), "dec_2": np.full(count, lo_c),
            "ra_3": ra + _half_width_ra(hi_c), "dec_3": np.full(count, hi_c),
            "ra_4": ra - _half_width_ra(hi_c), "dec_4": np.full(count, hi_c),
        })
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    for k in ("ra_1", "ra_2", "ra_3", "ra_4"):
        cols[k] = cols[k] % 360.0
    index = np.arange(len(cols["ra"]))
    tile_id, ra0, dec0 = ANCHOR
    anchor_index = nearest_index(cols, ra0, dec0)
    ids = tile_id - anchor_index + index
    assert ids.min() >= 100000 and ids.max() <= 999999
    return pa.table({"tile": ids.astype(np.int32), **cols})


def nearest_index(cols: dict, ra: float, dec: float) -> int:
    """Index of the tile whose strip holds ``dec`` and whose centre is nearest in RA."""
    lower = np.floor(dec / STRIP_DEG) * STRIP_DEG
    in_strip = np.flatnonzero(np.isclose(cols["dec"], lower + STRIP_DEG / 2))
    delta = np.abs((cols["ra"][in_strip] - ra + 180.0) % 360.0 - 180.0)
    return int(in_strip[np.argmin(delta)])
