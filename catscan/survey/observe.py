"""One scan observing the true sky: its scan-table row, its point and extended sources.

A scan sees every true star inside its footprint at least 10" from its edges (15" for
galaxies), the catalog generation margins of 2mass_reference.md §3. Each apparition is
measured afresh (position scatter, photometric noise), so the same star seen by two
overlapping scans, or by the same scan reprocessed, gets slightly different values, and a
star at the detection limit may be detected in one scan and not in the other.

What a scan sees is chosen per scan (``psc_inputs``, ``xsc_inputs``); the measured columns
of several scans are then drawn in one vectorised pass (``psc_of_scans``, ``xsc_of_scans``),
since most of a per-scan pass was fixed cost (generate.py batches a night's scans).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pyarrow as pa

from catscan.loaders.delivery import coadd_key

from ..geometry.footprint import Footprint, edge_columns
from ..geometry.tiles import _half_width_ra
from .plan import NightPlan, ScanPlan, grid, qa_score
from .sky import cells_of, concat, galactic, galaxies_in_cells, stars_in_cells
from .synthetic_psc import BANDS, JD_1997_03_01, LIMIT_10SIGMA, psc_table

PSC_MARGIN_ARCSEC = 10.0
XSC_MARGIN_ARCSEC = 15.0
SCAN_RATE_ARCSEC_PER_S = 57.0
CAL_LENGTH_DEG = 1.0
KEYS_PER_SCAN = 1_000_000       # pts_key = scan_key * KEYS_PER_SCAN + n
EXT_KEYS_PER_SCAN = 1000        # ext_key = scan_key * EXT_KEYS_PER_SCAN + n


def _tile_corners(tile: int) -> tuple[tuple[float, float], ...] | None:
    g = grid()
    i = int(np.searchsorted(g["tile"], tile))
    if i >= len(g["tile"]) or g["tile"][i] != tile:
        return None
    return tuple((float(g[f"ra_{k}"][i]), float(g[f"dec_{k}"][i])) for k in range(1, 5))


def _calibration_corners(tile: int) -> tuple[tuple[float, float], ...]:
    """A 1-degree calibration tile: id 9BBRR, B = Dec band (-30/0/+30), R = 2 h of RA."""
    band, ra_slot = divmod(tile - 90000, 100)
    ra, dec = (ra_slot - 1) * 30.0 + 15.0, band * 30.0 - 30.0
    lo, hi = dec - CAL_LENGTH_DEG / 2, dec + CAL_LENGTH_DEG / 2
    return ((ra + _half_width_ra(lo), lo), (ra - _half_width_ra(lo), lo),
            (ra + _half_width_ra(hi), hi), (ra - _half_width_ra(hi), hi))


def scan_corners(scan: ScanPlan) -> tuple[tuple[float, float], ...]:
    """Corners 1..4 of a scan (1 = eastern at scan start ... 4 = western at end)."""
    north = _tile_corners(scan.tile) or _calibration_corners(scan.tile)
    corners = tuple(((ra % 360.0), dec) for ra, dec in north)
    if scan.direction == "s":   # starts at the north end
        corners = (corners[2], corners[3], corners[0], corners[1])
    return corners


def scan_row(night: NightPlan, scan: ScanPlan, scan_key: int, rng: np.random.Generator) -> dict:
    """The scan-table row (file columns of ``scans``) a night's pipeline reports."""
    corners = scan_corners(scan)
    centre = Footprint(corners)
    v = sum(np.array([np.cos(np.radians(d)) * np.cos(np.radians(r)),
                      np.cos(np.radians(d)) * np.sin(np.radians(r)), np.sin(np.radians(d))])
            for r, d in corners)
    ra = float(np.degrees(np.arctan2(v[1], v[0])) % 360.0)
    dec = float(np.degrees(np.arcsin(v[2] / np.linalg.norm(v))))
    glon, glat = galactic(np.array([ra]), np.array([dec]))
    days = (night.date - dt.date(1997, 3, 1)).days
    processed = scan.status == "P"
    base, phot, sens, score = qa_score(night, scan)
    row = {
        "scan_key": scan_key, "hemis": night.hemis, "date": night.date, "scan": scan.scan,
        "tile": scan.tile, "scan_type": scan.scan_type, "direction": scan.direction,
        "ra": round(ra, 6), "dec": round(dec, 6),
        "glon": round(float(glon[0]), 3), "glat": round(float(glat[0]), 3),
    }
    for i, (cra, cdec) in enumerate(centre.corners, start=1):
        row[f"ra_{i}"], row[f"dec_{i}"] = round(cra % 360.0, 6), round(cdec, 6)
    # jdate: the night starts ~2.4 h after 0h UT on the date; a scan takes ~7-9 minutes
    row["jdate"] = round(JD_1997_03_01 + days + 0.1 + (scan.scan % 100) * 0.0062, 5)
    measured = {
        "j_zp_ap": round(20.93 + rng.normal(0, 0.02), 3),
        "h_zp_ap": round(20.55 + rng.normal(0, 0.02), 3),
        "k_zp_ap": round(19.98 + rng.normal(0, 0.02), 3),
        "seeing": round(0.95 + abs(rng.normal(0, 0.08)) + (sens is not None and sens < 1) * 0.2,
                        2),
        "j_back": round(rng.uniform(130, 260), 1), "h_back": round(rng.uniform(500, 900), 1),
        "k_back": round(rng.uniform(700, 1200), 1),
    }
    for key, value in measured.items():
        row[key] = value if processed else None
    row |= {"status": scan.status, "qa_base": base, "qa_phot": phot, "qa_sens": sens,
            "qa_score": score, "version": night.version}
    return row


@lru_cache(maxsize=64)
def footprint_cells(footprint: Footprint) -> np.ndarray:
    """The true sky's cells a footprint overlaps (a scan asks twice: stars, galaxies)."""
    ras, decs = zip(*footprint.corners, strict=True)
    order = [0, 1, 3, 2]            # around the polygon
    return cells_of([ras[i] for i in order], [decs[i] for i in order])


def _inside(footprint: Footprint, cells: list[dict], margin: float,
            keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The sources of the cells inside a footprint, ``margin`` arcsec from its edges."""
    parts = []
    for cell in cells:
        inside = footprint.contains_vectors(cell["xyz"], margin)
        if inside.any():
            parts.append({k: cell[k][inside] for k in keys or cell if k != "xyz"})
    return concat(parts)


def true_stars(seed: int, footprint: Footprint, margin: float) -> dict[str, np.ndarray]:
    """The true stars inside a footprint, ``margin`` arcsec from its edges."""
    return _inside(footprint, stars_in_cells(seed, footprint_cells(footprint)), margin,
                   ("ra", "dec", *BANDS))


def _measured_mags(rng: np.random.Generator, stars: Mapping) -> tuple[np.ndarray, ...]:
    """True magnitudes plus photometric noise of this apparition."""
    out = []
    for band in BANDS:
        m = stars[band]
        snr = 10.0 * 10 ** (-0.4 * (m - LIMIT_10SIGMA[band]))
        sigma = np.maximum(1.0857 / snr, 0.012)
        out.append(m + rng.normal(0, 1, len(m)) * sigma)
    return tuple(out)


def _scan_columns(scan: Mapping, footprint: Footprint, ra: np.ndarray, dec: np.ndarray,
                  layout, d: dict[str, np.ndarray]) -> dict:
    """The PSC columns a scan gives its sources; ``d``: their distances to its edges."""
    from .synthetic_images import nearest_image

    n = len(ra)
    along = d["start"]                                   # arcsec from the scan start
    images = np.array([spec.image for spec in layout])[nearest_image(layout, ra, dec)] \
        if n else np.zeros(0, int)
    return {
        "hemis": np.full(n, scan["hemis"]), "date": np.full(n, np.datetime64(scan["date"], "D")),
        "scan": np.full(n, scan["scan"]),
        "x_scan": np.round((d["west"] - d["east"]) / 2.0, 1),
        "jdate": np.round(scan["jdate"] + along / SCAN_RATE_ARCSEC_PER_S / 86400.0, 5),
        **edge_columns(footprint, ra, dec, d),
        "scan_key": np.full(n, scan["scan_key"]),
        "coadd_key": coadd_key(int(scan["scan_key"]), images), "coadd": images,
    }


def psc_inputs(seed: int, scan: Mapping, rng: np.random.Generator) -> dict:
    """What ``psc_table`` needs for one scan's point sources (in time order): the detected
    stars' catalog positions, their measured magnitudes, the scan's columns and the keys."""
    from .synthetic_images import atlas_layout

    footprint = Footprint.of(scan)
    stars = true_stars(seed, footprint, PSC_MARGIN_ARCSEC)
    if not stars:
        stars = {k: np.zeros(0) for k in ("ra", "dec", *BANDS)}
    mags = _measured_mags(rng, stars)
    detected = np.zeros(len(stars["ra"]), bool)
    for band, m in zip(BANDS, mags, strict=True):
        detected |= 10.0 * 10 ** (-0.4 * (m - LIMIT_10SIGMA[band])) >= 3.0
    # position scatter ~ err_maj / 2 per axis, growing with magnitude
    j = stars["j"][detected]
    sigma = np.clip(0.06 + 0.3 * 10 ** (-0.4 * (14.5 - j)), 0.06, 1.5) / 2.0 / 3600.0
    dec = np.clip(stars["dec"][detected] + rng.normal(0, 1, len(j)) * sigma, -90, 90)
    ra = (stars["ra"][detected] + rng.normal(0, 1, len(j)) * sigma
          / np.maximum(np.cos(np.radians(dec)), 1e-6)) % 360.0
    ra, dec = np.round(ra, 6) % 360.0, np.round(dec, 6)
    distances = footprint.edge_distances(ra, dec)
    order = np.argsort(distances["start"], kind="stable")
    ra, dec = ra[order], dec[order]
    distances = {edge: d[order] for edge, d in distances.items()}
    keys = scan["scan_key"] * KEYS_PER_SCAN + np.arange(1, len(ra) + 1, dtype=np.int64)
    return {"ra": ra, "dec": dec, "true_mags": tuple(m[detected][order] for m in mags),
            "scan_cols": _scan_columns(scan, footprint, ra, dec, atlas_layout(scan), distances),
            "keys": keys}


def psc_of_scans(rng: np.random.Generator, inputs: list[dict]) -> pa.Table:
    """The point sources of several scans (``psc_inputs`` each) measured in one vectorised
    pass, rows in the order given."""
    def joined(get):
        return np.concatenate([get(i) for i in inputs])

    return psc_table(rng, joined(lambda i: i["ra"]), joined(lambda i: i["dec"]),
                     tuple(joined(lambda i, b=b: i["true_mags"][b]) for b in range(3)),
                     {k: joined(lambda i, k=k: i["scan_cols"][k])
                      for k in inputs[0]["scan_cols"]},
                     joined(lambda i: i["keys"]))


def seen_stars(table: pa.Table) -> dict[str, np.ndarray]:
    """The detected stars of a scan's PSC rows as the Atlas Images must show them: catalog
    positions, and magnitudes (NaN for upper limits)."""
    seen = {"ra": table.column("ra").to_numpy(), "dec": table.column("dec").to_numpy()}
    quality = np.array(table.column("ph_qual").to_pylist(), dtype="U3")
    chars = quality.view("U1").reshape(len(quality), 3)
    for i, band in enumerate(BANDS):
        m = table.column(f"{band}_m").to_numpy(zero_copy_only=False).astype(float)
        seen[f"{band}_m"] = np.where(chars[:, i] == "U", np.nan, m)   # upper limits
    return seen


def xsc_inputs(seed: int, scan: Mapping) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The true galaxies a scan detects (inside its footprint, 15" from the edges) and the
    Atlas Image number holding each."""
    from .synthetic_images import atlas_layout, nearest_image

    footprint = Footprint.of(scan)
    galaxies = _inside(footprint, galaxies_in_cells(seed, footprint_cells(footprint)),
                       XSC_MARGIN_ARCSEC) or {"ra": np.zeros(0), "dec": np.zeros(0)}
    layout = atlas_layout(scan)
    n = len(galaxies["ra"])
    coadd = np.array([s.image for s in layout])[nearest_image(layout, galaxies["ra"],
                                                              galaxies["dec"])] \
        if n else np.zeros(0, int)
    return galaxies, coadd


def xsc_of_scans(rng: np.random.Generator, scans: list[Mapping],
                 inputs: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> pa.Table:
    """The extended sources of several scans (``xsc_inputs`` each) in one vectorised pass."""
    from .synthetic_xsc import scan_columns, xsc_table

    present = [(scan, g, c) for scan, (g, c) in zip(scans, inputs, strict=True) if len(c)]
    if not present:
        return xsc_table({"ra": np.zeros(0)}, {}, np.zeros(0, np.int64), np.zeros(0, int), rng)
    galaxies = concat([g for _, g, _ in present])
    cols = [scan_columns(scan, len(c)) for scan, _, c in present]
    return xsc_table(galaxies, {k: np.concatenate([c[k] for c in cols]) for k in cols[0]},
                     np.concatenate([scan["scan_key"] * EXT_KEYS_PER_SCAN + 1
                                     + np.arange(len(c)) for scan, _, c in present]),
                     np.concatenate([c for _, _, c in present]), rng)
