"""``catscan generate OUTDIR``: write a sample survey as nightly deliveries.

The plan (plan.py) says which nights observed which tiles and how each scan fared; this
module writes each night in the delivery format (loaders/delivery.py) so that loading it
goes through exactly the path real deliveries take. Output is byte-for-byte reproducible for
a seed: sources come from the seeded true sky (sky.py), measurements from generators seeded
by (seed, scan_key, version), files are written without timestamps.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from catscan.loaders import delivery

from .nights import run_nights
from .observe import psc_inputs, psc_of_scans, scan_row, seen_stars, xsc_inputs, xsc_of_scans
from .plan import NightPlan, demo_plan, survey_plan
from .release_text import write_release_lines, write_release_parts
from .sky import clear_cache

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


@dataclass(frozen=True)
class NightJob:
    """One night to write: everything ``write_night`` needs, so it can run in any process
    and give the same bytes (scan keys are numbered by the caller, in night order)."""
    night: NightPlan
    root: Path
    keys: tuple[int, ...]             # scan_key of each of night.scans
    seed: int

    @property
    def directory(self) -> Path:
        night = self.night
        return self.root / night.subdir / night.name if night.subdir else self.root / night.name


@dataclass
class NightCounts:
    directory: Path
    scans: int = 0
    psc_rows: int = 0
    xsc_rows: int = 0
    images: int = 0


def write_night(job: NightJob) -> NightCounts:
    """Write one night's delivery directory.

    Scans are measured in batches of about ``BATCH_ROWS`` point sources (one vectorised pass
    and one formatting pass per batch, then a file per scan), so memory stays bounded in the
    densest Milky Way nights; a batch's generator is seeded by its first scan key, so the
    bytes depend on nothing but the job."""
    night, seed, directory = job.night, job.seed, job.directory
    directory.mkdir(parents=True, exist_ok=True)
    manifest = delivery.Manifest(
        date=night.date, hemis=night.hemis, facility=delivery.FACILITIES[night.hemis][0],
        computer=delivery.FACILITIES[night.hemis][1], tape_received=night.tape_received,
        validated=night.validated, processed=night.processed, version=night.version,
        kind=night.kind)
    (directory / delivery.MANIFEST).write_text(manifest.to_json())
    vindex = _version_index(night.version)
    counts = NightCounts(directory)
    rows, batch = [], _Batch(directory, seed, vindex, counts)
    for plan, key in zip(night.scans, job.keys, strict=True):
        rng = np.random.default_rng([seed, key, vindex])
        row = scan_row(night, plan, key, rng)
        rows.append(row)
        if plan.status != "P" or plan.scan_type != "sci":
            continue
        (directory / delivery.scan_dir(plan.scan)).mkdir(parents=True, exist_ok=True)
        batch.add(plan, row, psc_inputs(seed, row, rng), xsc_inputs(seed, row))
        if batch.psc_rows >= BATCH_ROWS:
            batch.write()
    batch.write()
    write_release_lines(pa.Table.from_pylist(rows), "scans", directory / delivery.SCANS)
    write_release_lines(pa.Table.from_pylist(health_rows(night, rows)), "night_qa",
                        directory / delivery.HEALTH)
    counts.scans = len(rows)
    return counts


BATCH_ROWS = 200_000        # point sources measured and formatted together


@dataclass
class _Batch:
    """Scans of one night waiting to be measured and written together."""
    directory: Path
    seed: int
    vindex: int
    counts: NightCounts
    scans: list = field(default_factory=list)    # (plan, row, psc inputs, xsc inputs)

    @property
    def psc_rows(self) -> int:
        return sum(len(psc["ra"]) for _, _, psc, _ in self.scans)

    def add(self, plan, row: dict, psc: dict, xsc: tuple) -> None:
        self.scans.append((plan, row, psc, xsc))

    def write(self) -> None:
        if not self.scans:
            return
        from .synthetic_images import write_scan_images

        first_key = self.scans[0][1]["scan_key"]
        rng = np.random.default_rng([self.seed, first_key, self.vindex, 1])
        psc = psc_of_scans(rng, [p for _, _, p, _ in self.scans])
        xsc = xsc_of_scans(rng, [row for _, row, _, _ in self.scans],
                           [x for _, _, _, x in self.scans])
        plans = [plan for plan, _, _, _ in self.scans]
        psc_parts = write_release_parts(psc, "psc", [
            (self.directory / delivery.psc_file(p.scan), len(i["ra"]))
            for p, _, i, _ in self.scans])
        write_release_parts(xsc, "xsc", [
            (self.directory / delivery.xsc_file(p.scan), len(x[1])) for p, _, _, x in self.scans])
        self.counts.psc_rows += psc.num_rows
        self.counts.xsc_rows += xsc.num_rows
        for plan, (_, row, _, _), part in zip(plans, self.scans, psc_parts, strict=True):
            if plan.images:
                images = self.directory / delivery.image_dir(plan.scan)
                images.mkdir(exist_ok=True)
                self.counts.images += len(write_scan_images(
                    row, seen_stars(part), images, seed=self.seed * 1000 + row["scan_key"]))
        self.scans = []


def night_jobs(plan: Iterable[NightPlan], root: Path, seed: int) -> Iterator[NightJob]:
    keys = ScanKeys()
    for night in plan:
        yield NightJob(night, root, tuple(keys[(night.date, night.hemis, s.scan)]
                                          for s in night.scans), seed)


def default_workers() -> int:
    """One process per core (nights are independent; each process writes whole nights)."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


MAX_WORKERS = 8


def generate(outdir: str | Path, *, scale: str = "demo", rows: int | None = None,
             seed: int = 1, image_scans: int | None = None,
             on_night: Callable[[Path], None] | None = None,
             workers: int | None = None) -> GenerateResult:
    """Write the sample survey under ``outdir``: ``demo`` (six nights at famous places) or
    ``bench`` (nights walking the sky until at least ``rows`` point sources are written;
    those of the scans that pass Quality Review load). ``workers`` processes write nights
    side by side (default: one per core); the files do not depend on it. Workers are spawned,
    so a script calling this with ``workers`` > 1 needs the ``if __name__ == "__main__":``
    guard."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    root = Path(outdir)
    plan: Iterable[NightPlan] = demo_plan(1 if image_scans is None else image_scans) \
        if scale == "demo" else survey_plan(seed=seed)
    wanted = (rows or 20_000_000) if scale == "bench" else None
    result = GenerateResult(root)
    jobs = night_jobs(plan, root, seed)
    workers = default_workers() if workers is None else max(1, workers)
    try:
        for counts in run_nights(jobs, workers, lambda: wanted is not None
                                 and result.psc_rows >= wanted):
            result.nights.append(counts.directory)
            result.scans += counts.scans
            result.psc_rows += counts.psc_rows
            result.xsc_rows += counts.xsc_rows
            result.images += counts.images
            if on_night:
                on_night(counts.directory)
    finally:
        clear_cache()                       # the true sky is only needed while writing
    return result
