"""The nightly delivery format: one directory per night and facility (docs/delivery_format.md).

```
980416n/                          <yymmdd><n|s>: the night's date and hemisphere
  manifest.json                   the night: dates, facility, 2MAPPS version, kind
  scans.tbl                       the scan table, release line format, scans file columns
  health.tbl                      the 24-hour telescope/camera health summary (night_qa)
  s064/psc_s064.gz                point sources of scan 64, release line format
  s064/xsc_s064.gz                extended sources of scan 64, release line format
  s064/image/ji0640006.fits ...   Atlas Images, <band>i<scan><image>.fits
```

This module is the single definition of names and of the manifest; the generator writes
with it and the night loader reads with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from catscan.errors import LoadError

FORMAT = "catscan-delivery/1"
MANIFEST = "manifest.json"
SCANS = "scans.tbl"
HEALTH = "health.tbl"
NIGHT_DIR = re.compile(r"^(\d{2})(\d{2})(\d{2})([ns])$")
IMAGE_FILE = re.compile(r"^([jhk])i(\d{3})(\d{4})\.fits(\.gz)?$")
KINDS = ("calibration", "operational", "reprocessing")
FACILITIES = {"n": ("Mt Hopkins", "barney"), "s": ("CTIO", "rex")}


def scan_dir(scan: int) -> str:
    return f"s{scan:03d}"


def psc_file(scan: int) -> str:
    return f"{scan_dir(scan)}/psc_{scan_dir(scan)}.gz"


def xsc_file(scan: int) -> str:
    return f"{scan_dir(scan)}/xsc_{scan_dir(scan)}.gz"


def image_dir(scan: int) -> str:
    return f"{scan_dir(scan)}/image"


def night_name(date: dt.date, hemis: str) -> str:
    return f"{date:%y%m%d}{hemis}"


COADDS_PER_SCAN = 1000


def coadd_key(scan_key, image):
    """Atlas Image Info key of a J/H/Ks image set, also the PSC/XSC ``coadd_key``:
    ``1000 × scan_key + image number`` (scalars or numpy arrays). A rule of the delivery
    format only: the IRSA release files number their Atlas Images otherwise."""
    return COADDS_PER_SCAN * scan_key + image


def coadd_key_sql(scan_key: str, image: str) -> str:
    """:func:`coadd_key` as SQL over two column expressions (in BIGINT: no overflow)."""
    return f"({COADDS_PER_SCAN} * CAST({scan_key} AS BIGINT) + {image})"


def version_key(version: str) -> tuple[int, int, str]:
    """Order 2MAPPS versions: 2.0x < 2.1 < 3.0 (the letter is a sub-release)."""
    match = re.fullmatch(r"(\d+)\.(\d+)([a-z]*)", version.strip())
    if not match:
        raise ValueError(f"bad 2MAPPS version {version!r}: expected e.g. 2.0x, 2.1, 3.0")
    return int(match.group(1)), int(match.group(2)), match.group(3)


@dataclass(frozen=True)
class Manifest:
    """A night's manifest: when it was observed, received, validated and processed, how."""
    date: dt.date
    hemis: str
    facility: str
    computer: str
    tape_received: dt.date | None
    validated: dt.date | None
    processed: dt.date
    version: str
    kind: str

    @property
    def name(self) -> str:
        return night_name(self.date, self.hemis)

    def to_json(self) -> str:
        data = {"format": FORMAT, "night": self.name}
        for key, value in self.__dict__.items():
            data[key] = value.isoformat() if isinstance(value, dt.date) else value
        return json.dumps(data, indent=2) + "\n"


def read_manifest(directory: Path) -> Manifest:
    """Read and check ``manifest.json``; errors name the file, line and field."""
    path = directory / MANIFEST
    if not path.is_file():
        raise LoadError(str(directory), f"not a night delivery: no {MANIFEST}")
    text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(str(path), f"not valid JSON: {exc.msg}", line=exc.lineno,
                        column=str(exc.colno)) from None
    if not isinstance(data, dict):
        raise LoadError(str(path), "the manifest must be a JSON object")

    def fail(key: str, message: str) -> LoadError:
        line = next((i for i, t in enumerate(text.splitlines(), 1) if f'"{key}"' in t), None)
        return LoadError(str(path), message, line=line, column=key)

    def field(key: str, kind=str, required: bool = True):
        value = data.get(key)
        if value is None:
            if required:
                raise fail(key, "missing field")
            return None
        if kind is dt.date:
            try:
                return dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise fail(key, f"not a date (YYYY-MM-DD): {value!r}") from None
        if not isinstance(value, str):
            raise fail(key, f"expected a string, found {value!r}")
        return value

    if data.get("format") != FORMAT:
        raise fail("format", f"unknown delivery format {data.get('format')!r}; "
                             f"this catscan reads {FORMAT!r}")
    hemis = field("hemis")
    if hemis not in FACILITIES:
        raise fail("hemis", f"hemisphere must be 'n' or 's', not {hemis!r}")
    kind = field("kind")
    if kind not in KINDS:
        raise fail("kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    version = field("version")
    try:
        version_key(version)
    except ValueError as exc:
        raise fail("version", str(exc)) from None
    manifest = Manifest(
        date=field("date", dt.date), hemis=hemis,
        facility=field("facility", required=False) or FACILITIES[hemis][0],
        computer=field("computer", required=False) or FACILITIES[hemis][1],
        tape_received=field("tape_received", dt.date, required=False),
        validated=field("validated", dt.date, required=False),
        processed=field("processed", dt.date), version=version, kind=kind)
    if data.get("night") not in (None, manifest.name):
        raise fail("night", f"night {data.get('night')!r} does not match date and "
                            f"hemisphere ({manifest.name})")
    match = NIGHT_DIR.match(directory.name)
    if match and directory.name != manifest.name:
        raise fail("date", f"the directory is named {directory.name} but the manifest "
                           f"describes night {manifest.name}")
    return manifest


def find_deliveries(paths: list[Path]) -> list[Path]:
    """Night directories named on the command line, or found below the directories given
    (a generated survey: OUTDIR/<night>/ and OUTDIR/reprocessed/<night>/)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise LoadError(str(path), "no such directory")
        if (path / MANIFEST).is_file():
            found.append(path)
            continue
        below = sorted(p.parent for p in path.glob(f"**/{MANIFEST}"))
        if not below:
            raise LoadError(str(path), f"no night delivery here (no {MANIFEST} in it or below)")
        found.extend(below)
    return found


def delivery_digest(directory: Path) -> tuple[str, int]:
    """sha256 over every file of a delivery (names and bytes), and the total size: two
    deliveries with the same digest are the same delivery."""
    digest, size = hashlib.sha256(), 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        digest.update(b"\0")
    return digest.hexdigest(), size
