"""What the sample survey observes: nights, their scans, and how each scan fared.

A plan is pure data (no pixels, no rows): the generator turns it into nightly deliveries.
Two plans exist. ``demo_plan`` is a handful of hand-picked nights at famous places (M31,
HCG 7, M17, the North Galactic Pole) that exercise every path of the Quality Review gate:
a scan rejected for a low score and rescanned a year later, a failed scan, one still running,
one not yet processed, a rescan request (score 0), calibration scans, a night reprocessed with
a newer 2MAPPS version, scans before optimal dithering (base score 5). ``survey_plan`` walks
the tile grid night after night, north from 1997-05-21 and south from 1998-03-18, with a
seeded mix of outcomes, for as long as the caller wants.

QA scores follow the 1998 rules (2mass_reference.md §7.2): score = base x photometric factor
x sensitivity factor, base 10 for optimally dithered scans (after 1997-06-06) and 5 before,
sensitivity factor one of 1.0/0.8/0.5/0.3/0.1, photometric factor <= 1 (0 = rescan).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from ..geometry.tiles import nearest_index, tile_grid

DITHERING_OPTIMAL_FROM = dt.date(1997, 6, 6)
NORTH_START = dt.date(1997, 5, 21)
SOUTH_START = dt.date(1998, 3, 18)
SENSITIVITY_FACTORS = (1.0, 0.8, 0.5, 0.3, 0.1)


@dataclass(frozen=True)
class ScanPlan:
    """One scan of a night. ``phot``/``sens`` are the QA factors (None: not scored)."""
    scan: int
    tile: int
    direction: str = "n"
    scan_type: str = "sci"
    status: str = "P"
    phot: float | None = 1.0
    sens: float | None = 1.0
    images: bool = False


@dataclass(frozen=True)
class NightPlan:
    date: dt.date
    hemis: str
    version: str
    kind: str                        # calibration | operational | reprocessing
    processed: dt.date
    scans: tuple[ScanPlan, ...] = field(default_factory=tuple)
    subdir: str = ""                 # where the delivery goes under OUTDIR ("reprocessed")

    @property
    def name(self) -> str:
        """The delivery directory name, ``<yymmdd><n|s>``."""
        return f"{self.date:%y%m%d}{self.hemis}"

    @property
    def tape_received(self) -> dt.date:
        return self.date + dt.timedelta(days=1 if self.hemis == "n" else 3)

    @property
    def validated(self) -> dt.date:
        return self.tape_received + dt.timedelta(days=1)

    def base_score(self) -> float:
        return 10.0 if self.date >= DITHERING_OPTIMAL_FROM else 5.0


def qa_score(night: NightPlan, scan: ScanPlan) -> tuple[float | None, ...]:
    """(base, photometric factor, sensitivity factor, score) of a scan, None if unscored."""
    if scan.scan_type != "sci" or scan.status != "P" or scan.phot is None:
        return (None, None, None, None)
    base = night.base_score()
    return (base, scan.phot, scan.sens, round(base * scan.phot * scan.sens, 2))


_GRID: dict[str, np.ndarray] | None = None


def grid() -> dict[str, np.ndarray]:
    """The tile grid as numpy columns (built once)."""
    global _GRID
    if _GRID is None:
        _GRID = {k: v.to_numpy() for k, v in zip(tile_grid().column_names, tile_grid().columns,
                                                 strict=True)}
    return _GRID


def tile_near(ra: float, dec: float) -> int:
    """The tile whose strip holds ``dec`` and whose centre is nearest in RA."""
    g = grid()
    return int(g["tile"][nearest_index(g, ra, dec)])


def calibration_tile(ra: float, dec: float) -> int:
    """A 5-digit calibration field id (9xxxx): one per 2 h of RA and Dec band."""
    band = {-30: 0, 0: 1, 30: 2}[min((-30, 0, 30), key=lambda d: abs(d - dec))]
    return 90000 + band * 100 + int(ra // 30) + 1


def _cal(scan: int, tile: int, direction: str) -> ScanPlan:
    return ScanPlan(scan, tile, direction, "cal", "P", None, None)


def demo_plan(image_scans: int = 1) -> list[NightPlan]:
    """Six nights (one of them delivered twice: reprocessed with 2MAPPS 2.1)."""
    m31, hcg7, m17, ngp = (tile_near(10.68479, 41.26906), tile_near(9.81625, 0.88806),
                           tile_near(275.12297, -16.30449), tile_near(192.85948, 27.12834))
    m31_north = tile_near(10.68479, 47.5)
    cal_m31, cal_hcg7 = calibration_tile(10.0, 30.0), calibration_tile(10.0, 0.0)
    cal_m17, cal_ngp = calibration_tile(270.0, -30.0), calibration_tile(190.0, 30.0)
    nights = [
        NightPlan(dt.date(1997, 5, 21), "n", "2.0x", "operational", dt.date(1997, 5, 24), (
            _cal(1, cal_ngp, "n"), _cal(2, cal_ngp, "s"),
            ScanPlan(17, ngp, "n"),
            ScanPlan(18, ngp + 1, "s", sens=0.5),           # base 5 x 0.5 = 2.5: too low
        )),
        NightPlan(dt.date(1997, 10, 24), "n", "2.0x", "operational", dt.date(1997, 10, 28), (
            _cal(1, cal_m31, "n"), _cal(2, cal_m31, "s"), _cal(3, cal_m31, "n"),
            ScanPlan(8, m31, "n", images=True),
            ScanPlan(9, m31 + 1, "s", phot=0.8),
            ScanPlan(10, m31 - 1, "n", sens=0.8),
            ScanPlan(11, m31 + 2, "s", phot=0.7, sens=0.3),  # 2.1: rejected, rescanned later
            ScanPlan(12, m31 + 3, "n", status="F", phot=None, sens=None),
        )),
        NightPlan(dt.date(1998, 4, 16), "n", "2.0x", "operational", dt.date(1998, 4, 19), (
            _cal(63, cal_hcg7, "n"),
            ScanPlan(64, hcg7, "n"),
            ScanPlan(65, hcg7 + 1, "s", phot=0.7, sens=0.3),  # 2.1, better after reprocessing
        )),
        NightPlan(dt.date(1998, 11, 23), "n", "2.1", "operational", dt.date(1998, 11, 26), (
            _cal(70, cal_m31, "s"), _cal(71, cal_m31, "n"),
            ScanPlan(72, m31 + 2, "n"),                      # the rescan of 971024n scan 11
            ScanPlan(73, m31 + 3, "s", phot=0.95),
            ScanPlan(74, m31_north, "n"),                    # overlaps M31's tile in Dec
            ScanPlan(75, m31 + 4, "s", phot=0.0),            # score 0: rescan requested
            ScanPlan(76, m31 + 5, "n", status="-", phot=None, sens=None),
            ScanPlan(77, m31 + 6, "s", status="R", phot=None, sens=None),
        )),
        NightPlan(dt.date(1999, 5, 2), "s", "2.1", "operational", dt.date(1999, 5, 6), (
            _cal(141, cal_m17, "n"),
            ScanPlan(142, m17, "s", phot=0.8),
            ScanPlan(143, m17 + 1, "n"),
        )),
    ]
    reprocessed = replace(nights[2], version="2.1", kind="reprocessing",
                          processed=dt.date(1999, 1, 20), subdir="reprocessed",
                          scans=(nights[2].scans[0], nights[2].scans[1],
                                 replace(nights[2].scans[2], phot=0.9, sens=0.5)))
    nights.append(reprocessed)
    return _limit_images(nights, image_scans)


def _limit_images(nights: list[NightPlan], image_scans: int) -> list[NightPlan]:
    """Give Atlas Images to ``image_scans`` loadable science scans, those marked first.

    Nights that are delivered again (reprocessed) are skipped, so no image set is written
    twice."""
    redelivered = {(n.date, n.hemis) for n in nights if n.kind == "reprocessing"}
    candidates = [(i, j) for i, n in enumerate(nights) if (n.date, n.hemis) not in redelivered
                  for j, s in enumerate(n.scans) if s.scan_type == "sci" and s.status == "P"]
    candidates.sort(key=lambda ij: not nights[ij[0]].scans[ij[1]].images)
    chosen = set(candidates[:image_scans])
    return [replace(n, scans=tuple(replace(s, images=(i, j) in chosen)
                                   for j, s in enumerate(n.scans)))
            for i, n in enumerate(nights)]


def survey_plan(seed: int = 1, scans_per_night: int = 50) -> Iterator[NightPlan]:
    """Nights in date order, without end: north from 1997-05-21, both hemispheres once the
    south has started, each walking its strips tile by tile from the equator. The caller
    stops when it has enough (``generate`` stops at ``--rows`` point sources)."""
    rng = np.random.default_rng([seed, 11])
    g = grid()
    order = {}
    for h in "ns":   # each hemisphere from its strip nearest the equator, along RA
        tiles = np.flatnonzero(g["hemis"] == h)
        order[h] = tiles[np.argsort(np.abs(g["dec"][tiles]), kind="stable")]
    cursor = {h: 0 for h in "ns"}
    for day in itertools.count():
        date = NORTH_START + dt.timedelta(days=day)
        for hemis in ("n", "s"):
            if hemis == "s" and date < SOUTH_START or rng.random() < 0.25:  # 0.25: weather
                continue
            scans = [_cal(number, calibration_tile(rng.uniform(0, 360), 0.0), "ns"[number % 2])
                     for number in (1, 2)]
            for number in range(3, 3 + scans_per_night):
                index = order[hemis][cursor[hemis] % len(order[hemis])]
                cursor[hemis] += 1
                scans.append(_random_outcome(rng, number, int(g["tile"][index])))
            yield NightPlan(date, hemis, _version_on(date), "operational",
                            date + dt.timedelta(days=int(rng.integers(2, 5))), tuple(scans))


def _version_on(date: dt.date) -> str:
    """2MAPPS version in operational use on a date."""
    return "2.0x" if date < dt.date(1998, 9, 1) else "2.1" if date < dt.date(2000, 3, 1) \
        else "3.0"


def _random_outcome(rng: np.random.Generator, number: int, tile: int) -> ScanPlan:
    direction = "ns"[int(rng.integers(0, 2))]
    u = rng.random()
    if u < 0.03:
        return ScanPlan(number, tile, direction, status="F", phot=None, sens=None)
    if u < 0.04:
        return ScanPlan(number, tile, direction, status="-", phot=None, sens=None)
    if u < 0.05:
        return ScanPlan(number, tile, direction, status="R", phot=None, sens=None)
    phot = 0.0 if rng.random() < 0.03 else float(np.round(min(1.0, rng.uniform(0.6, 1.3)), 2))
    sens = float(rng.choice(SENSITIVITY_FACTORS, p=[0.75, 0.12, 0.07, 0.04, 0.02]))
    return ScanPlan(number, tile, direction, phot=phot, sens=sens)
