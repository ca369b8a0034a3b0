"""``catscan generate OUTDIR``: write a sample survey as nightly deliveries.

The plan (plan.py) says which nights observed which tiles and how each scan fared; this
module writes each night in the delivery format (loaders/delivery.py) so that loading it
goes through exactly the path real deliveries take. Output is byte-for-byte reproducible for
a seed: sources come from the seeded true sky (sky.py), measurements from generators seeded
by (seed, scan_key, version), files are written without timestamps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from catscan.db import memory_database
from catscan.loaders import delivery
from catscan.loaders.release_format import write_release_file

from .observe import observe_psc, observe_xsc, scan_row
from .plan import NightPlan, demo_plan, survey_plan
from .sky import galaxies_in_cell, stars_in_cell

SCALES = ("demo", "bench")


@dataclass
class GenerateResult:
    outdir: Path
    nights: list[Path] = field(default_factory=list)
    scans: int = 0
    psc_rows: int = 0
    xsc_rows: int = 0
    images: int = 0

    def summary(self) -> str:
        return (f"{self.outdir}: {len(self.nights)} night deliveries, {self.scans} scans, "
                f"{self.psc_rows:,} point sources, {self.xsc_rows:,} extended sources, "
                f"{self.images} Atlas Images")


def _version_index(version: str) -> int:
    major, minor, _ = delivery.version_key(version)
    return major * 100 + minor


class ScanKeys(dict):
    """scan_key per (date, hemis, scan), numbered in the order nights are written; a
    reprocessed night keeps the keys of its scans."""

    def __missing__(self, night_scan: tuple[dt.date, str, int]) -> int:
        self[night_scan] = len(self) + 1
        return self[night_scan]


def health_rows(night: NightPlan, scans: list[dict]) -> list[dict]:
    """The 24-hour telescope/camera health summary: night metrics against their limits."""
    processed = [s for s in scans if s["status"] == "P" and s["seeing"] is not None]
    rng = np.random.default_rng([night.date.toordinal(), ord(night.hemis)])

    def metric(name, value, warn, fail, unit, higher_is_worse=True):
        if value is None:
            status = "fail"
        else:
            worse = (lambda a, b: a > b) if higher_is_worse else (lambda a, b: a < b)
            status = "fail" if worse(value, fail) else "warn" if worse(value, warn) else "pass"
        return {"date": night.date, "hemis": night.hemis, "metric": name,
                "value": None if value is None else round(float(value), 4),
                "limit_value": fail, "unit": unit, "status": status}

    seeing = [s["seeing"] for s in processed]
    rows = [
        metric("seeing_median", np.median(seeing) if seeing else None, 1.2, 1.4, "SEESH"),
        metric("scans_failed_fraction",
               sum(s["status"] == "F" for s in scans) / max(len(scans), 1), 0.05, 0.2, ""),
    ]
    for band in "jhk":
        zps = [s[f"{band}_zp_ap"] for s in processed]
        rows.append(metric(f"{band}_zp_rms", np.std(zps) if len(zps) > 1 else 0.0,
                           0.03, 0.05, "mag"))
    rows.append(metric("k_back_max", max((s["k_back"] for s in processed), default=None),
                       1300.0, 1600.0, "DN"))
    rows.append(metric("array_temp_max", 75.0 + abs(rng.normal(0, 0.6)), 76.5, 78.0, "K"))
    rows.append(metric("dome_humidity_max", float(rng.uniform(15, 70)), 80.0, 90.0, "%"))
    rows.append(metric("photometric_fraction",
                       np.mean([(s["qa_phot"] or 0) >= 0.9 for s in processed])
                       if processed else None, 0.7, 0.4, "", higher_is_worse=False))
    return rows


def write_night(con, night: NightPlan, root: Path, keys: dict, seed: int,
                result: GenerateResult) -> Path:
    """Write one night's delivery directory; returns it."""
    from .synthetic_images import write_scan_images

    directory = root / night.subdir / night.name if night.subdir else root / night.name
    directory.mkdir(parents=True, exist_ok=True)
    manifest = delivery.Manifest(
        date=night.date, hemis=night.hemis, facility=delivery.FACILITIES[night.hemis][0],
        computer=delivery.FACILITIES[night.hemis][1], tape_received=night.tape_received,
        validated=night.validated, processed=night.processed, version=night.version,
        kind=night.kind)
    (directory / delivery.MANIFEST).write_text(manifest.to_json())
    vindex = _version_index(night.version)
    rows = []
    for plan in night.scans:
        key = keys[(night.date, night.hemis, plan.scan)]
        rng = np.random.default_rng([seed, key, vindex])
        row = scan_row(night, plan, key, rng)
        rows.append(row)
        if plan.status != "P" or plan.scan_type != "sci":
            continue
        (directory / delivery.scan_dir(plan.scan)).mkdir(parents=True, exist_ok=True)
        psc, seen = observe_psc(seed, row, rng)
        xsc = observe_xsc(seed, row)
        for table, name, rel in (("psc", psc, delivery.psc_file(plan.scan)),
                                 ("xsc", xsc, delivery.xsc_file(plan.scan))):
            con.register("generated", name)
            write_release_file(con, table, "generated", directory / rel)
            con.unregister("generated")
        result.psc_rows += psc.num_rows
        result.xsc_rows += xsc.num_rows
        if plan.images:
            (directory / delivery.image_dir(plan.scan)).mkdir(exist_ok=True)
            result.images += len(write_scan_images(
                row, seen, directory / delivery.image_dir(plan.scan), seed=seed * 1000 + key))
    con.register("generated", pa.Table.from_pylist(rows))
    write_release_file(con, "scans", "generated", directory / delivery.SCANS)
    con.unregister("generated")
    con.register("generated", pa.Table.from_pylist(health_rows(night, rows)))
    write_release_file(con, "night_qa", "generated", directory / delivery.HEALTH)
    con.unregister("generated")
    result.scans += len(rows)
    return directory


def generate(outdir: str | Path, *, scale: str = "demo", rows: int | None = None,
             seed: int = 1, image_scans: int | None = None,
             on_night: Callable[[Path], None] | None = None) -> GenerateResult:
    """Write the sample survey under ``outdir``: ``demo`` (six nights at famous places) or
    ``bench`` (nights walking the sky until at least ``rows`` point sources are written;
    those of the scans that pass Quality Review load)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    root = Path(outdir)
    plan: Iterable[NightPlan] = demo_plan(1 if image_scans is None else image_scans) \
        if scale == "demo" else survey_plan(seed=seed)
    wanted = rows or 20_000_000
    result = GenerateResult(root)
    keys = ScanKeys()
    con = memory_database()
    try:
        for night in plan:
            if scale == "bench" and result.psc_rows >= wanted:
                break
            path = write_night(con, night, root, keys, seed, result)
            result.nights.append(path)
            if on_night:
                on_night(path)
    finally:
        con.close()
        stars_in_cell.cache_clear()         # the true sky is only needed while writing
        galaxies_in_cell.cache_clear()
    return result
