"""Synthetic scan-table rows: 6-degree tiles one camera frame (8.5') wide, scanned in Dec."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import SkyCoord

from .synthetic_psc import JD_1997_03_01

TILE_LENGTH_DEG = 6.0
TILE_WIDTH_DEG = 8.5 / 60.0


@dataclass(frozen=True)
class ScanSpec:
    """One scan of a tile: where, when, and how it fared in processing and QA."""
    scan_key: int
    hemis: str
    date: dt.date
    scan: int
    tile: int
    ra: float
    dec: float
    direction: str = "n"
    status: str = "P"
    qa_score: float = 10.0
    version: str = "2.0x"

    def box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(ra_min, ra_max), (dec_min, dec_max) of the strip (RA width on the sky)."""
        half_ra = TILE_WIDTH_DEG / 2 / np.cos(np.radians(self.dec))
        half_dec = TILE_LENGTH_DEG / 2
        return ((self.ra - half_ra, self.ra + half_ra),
                (max(self.dec - half_dec, -90.0), min(self.dec + half_dec, 90.0)))


def scan_rows(specs: list[ScanSpec], seed: int = 1) -> pa.Table:
    """The scan table rows (file columns of ``schema/010_survey.sql``) for the given scans."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {}

    def put(name, value):
        rows.setdefault(name, []).append(value)

    for s in specs:
        (ra0, ra1), (de0, de1) = s.box()
        start, end = (de0, de1) if s.direction == "n" else (de1, de0)
        # 1 = eastern at start, 2 = western at start, 3 = eastern at end, 4 = western at end
        corners = [(ra1, start), (ra0, start), (ra1, end), (ra0, end)]
        gal = SkyCoord(s.ra * u.deg, s.dec * u.deg).galactic
        days = (s.date - dt.date(1997, 3, 1)).days
        phot = 1.0 if s.qa_score >= 7 else round(s.qa_score / 10, 2)
        sens = round(s.qa_score / 10 / phot, 2) if phot else 0.0
        values = {
            "scan_key": s.scan_key, "hemis": s.hemis, "date": s.date, "scan": s.scan,
            "tile": s.tile, "scan_type": "sci", "direction": s.direction,
            "ra": round(s.ra % 360, 6), "dec": round(s.dec, 6),
            "glon": round(float(gal.l.deg), 3), "glat": round(float(gal.b.deg), 3),
        }
        for i, (cra, cdec) in enumerate(corners, start=1):
            values[f"ra_{i}"] = round(cra % 360, 6)
            values[f"dec_{i}"] = round(cdec, 6)
        values |= {
            "jdate": round(JD_1997_03_01 + days + 0.05 + s.scan * 0.004, 4),
            "j_zp_ap": round(20.9 + rng.normal(0, 0.02), 3),
            "h_zp_ap": round(20.5 + rng.normal(0, 0.02), 3),
            "k_zp_ap": round(19.9 + rng.normal(0, 0.02), 3),
            "seeing": round(1.0 + abs(rng.normal(0, 0.1)), 2),
            "j_back": round(rng.uniform(200, 400), 1), "h_back": round(rng.uniform(600, 900), 1),
            "k_back": round(rng.uniform(700, 1100), 1),
            "status": s.status, "qa_base": 10.0, "qa_phot": phot, "qa_sens": sens,
            "qa_score": s.qa_score, "version": s.version,
        }
        for k, v in values.items():
            put(k, v)
    return pa.table(rows)
