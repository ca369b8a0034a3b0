"""Delivered Atlas Images: read and check a FITS file, compress it for storage, restore it.

Nightly deliveries carry ``<band>i<scan><image>.fits`` files (2mass_reference.md §5-§6). The
loader keeps each one as a small FITS file in memory (a BLOB), made as measured in
design_notes.md §12:

- ``hcompress`` (default): HCOMPRESS_1 with astropy ``quantize_level=4, hcomp_scale=16``
  (astropy's scale is absolute, so this is CFITSIO's / IPAC Quicklook's "4 sigma"), 128x128
  tiles, fixed dither seed: ~20:1 on sparse fields, ~12:1 on the crowded real M17 image,
  photometry loss far below catalogue errors for J < 15;
- ``rice``: RICE_1 with ``quantize_level=16``, ~4:1, near-lossless;
- ``none``: the float32 image as a plain FITS file.

Lossy HCOMPRESS returns garbage where the input has NaNs, so NaN pixels are filled with
SKYVAL before compressing and their positions kept in a GZIP_1 uint8 mask HDU ``NANMASK``;
``decompress`` puts them back exactly. Every problem with an input file raises
:class:`catscan.errors.LoadError` naming the file.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

from catscan.errors import LoadError

from .delivery import coadd_key

REQUIRED_KEYWORDS = ("ORDATE", "SCANNO", "FILTER", "MAGZP", "CRVAL1", "CRVAL2", "CRPIX1",
                     "CRPIX2", "CDELT1", "CDELT2", "NAXIS1", "NAXIS2", "CTYPE1", "CTYPE2")
METHODS = {"hcompress": "HCOMPRESS_1", "rice": "RICE_1", "none": None}
DEFAULT_QUANTIZE = {"hcompress": 4.0, "rice": 16.0}
DITHER_SEED = 1                     # fixed: the same image always gives the same bytes
MASK_NAME = "NANMASK"
# archive name ji1420198.fits[.gz] and Montage/IRSA name 2mass-atlas-990502s-j1420198.fits
PIPELINE_NAME = re.compile(r"^(?P<band>[jhk])i(?P<scan>\d{3})(?P<image>\d{4})\.fits(\.gz)?$")
MONTAGE_NAME = re.compile(r"^2mass-atlas-(?P<ordate>\d{6})(?P<hemis>[ns])-(?P<band>[jhk])"
                          r"(?P<scan>\d{3})(?P<image>\d{4})\.fits(\.gz)?$")
TELESCOPES = {"hopkins": "n", "ctio": "s"}
CHECKSUM_CARDS = ("CHECKSUM", "DATASUM")


def read_atlas_image(path: Path | str) -> tuple[fits.Header, np.ndarray]:
    """Header and native float32 pixels of a delivered Atlas Image, after checking it:
    readable FITS, CHECKSUM/DATASUM (when present), required keywords, a 2-D float image."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(str(path), "no such file")
    problem = _structure_problem(path)
    if problem:
        raise LoadError(str(path), problem)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, checksum=True, memmap=False) as hdul:
                hdu = hdul[0]
                header = hdu.header.copy()
                raw = hdu.data
                bitpix = header.get("BITPIX")
                data = None if raw is None else np.array(raw, dtype=np.float32)
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError, ... on bad input
        problem = _warning_problem(caught)
        raise LoadError(str(path), problem or f"not a readable FITS file ({exc})") from None
    problem = _warning_problem(caught)
    if problem:
        raise LoadError(str(path), problem)
    missing = [k for k in REQUIRED_KEYWORDS if k not in header]
    if missing:
        raise LoadError(str(path), "missing header keyword(s) " + ", ".join(missing))
    if data is None or data.ndim != 2:
        shape = "no data" if data is None else f"{data.ndim}-D data"
        raise LoadError(str(path), f"expected a 2-D image, found {shape}")
    if bitpix not in (-32, -64):
        raise LoadError(str(path), f"expected a float image (BITPIX -32 or -64), not {bitpix}")
    if data.shape != (header["NAXIS2"], header["NAXIS1"]):
        raise LoadError(str(path), f"data shape {data.shape} does not match NAXIS1/NAXIS2")
    return header, data


def _structure_problem(path: Path) -> str | None:
    """Say plainly what astropy reports as "Empty or corrupt FITS file": an empty file, not
    FITS at all, or a file shorter than its primary header declares (truncated)."""
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    with path.open("rb") as f:
        start = f.read(9)
        if start[:2] == b"\x1f\x8b":      # .fits.gz: astropy reads it and reports its errors
            return None
        if start != b"SIMPLE  =":
            return "not a FITS file (it does not start with a SIMPLE card)"
        f.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = fits.Header.fromfile(f, padding=True)
        except Exception:
            return f"truncated or corrupt FITS header ({size} bytes, no END card)"
        header_bytes = f.tell()
    naxis = header.get("NAXIS", 0)
    bitpix = header.get("BITPIX", 0)
    if not isinstance(naxis, int) or not isinstance(bitpix, int):
        return "corrupt FITS header (NAXIS or BITPIX is not an integer)"
    axes = [header.get(f"NAXIS{i}", 0) for i in range(1, naxis + 1)]
    if not all(isinstance(n, int) for n in axes):
        return "corrupt FITS header (NAXISn is not an integer)"
    data_bytes = abs(bitpix) // 8 * int(np.prod(axes)) if naxis else 0
    if size < header_bytes + data_bytes:
        return (f"truncated file: {size} bytes, but its header declares "
                f"{header_bytes + data_bytes} (header {header_bytes} + data {data_bytes})")
    return None


def _warning_problem(caught: list[warnings.WarningMessage]) -> str | None:
    """astropy only warns about bad checksums and truncation: make those errors."""
    texts = [str(w.message).lower() for w in caught]
    if any("datasum verification failed" in t for t in texts):
        return "bad DATASUM: the pixels are corrupted (the data do not match the checksum)"
    if any("checksum verification failed" in t for t in texts):
        return "bad CHECKSUM: the header is corrupted (the HDU does not match the checksum)"
    for t in texts:
        if "truncated" in t:
            return f"truncated file ({t.strip()})"
    return None


def compression_label(method: str = "hcompress", *, quantize_level: float | None = None,
                      hcomp_scale: float = 16, tile: tuple[int, int] = (128, 128)) -> str:
    """The ``compression`` column, e.g. ``HCOMPRESS_1 q=4 s=16 128x128`` (tile rows x cols)."""
    _check_method(method)
    if method == "none":
        return "NONE"
    q = DEFAULT_QUANTIZE[method] if quantize_level is None else quantize_level
    scale = f" s={hcomp_scale:g}" if method == "hcompress" else ""
    return f"{METHODS[method]} q={q:g}{scale} {tile[0]}x{tile[1]}"


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"compression method must be one of {sorted(METHODS)}, not {method!r}")


def compress(header: fits.Header, data: np.ndarray, *, method: str = "hcompress",
             quantize_level: float | None = None, hcomp_scale: float = 16,
             tile: tuple[int, int] = (128, 128)) -> bytes:
    """A FITS file in memory: empty primary HDU, the image as a ``CompImageHDU`` carrying the
    full original header, and a NANMASK HDU when the image has NaNs. ``quantize_level`` None
    means 4 for hcompress and 16 for rice. CHECKSUM/DATASUM of the delivered file are dropped
    (they describe other bytes). The same input always gives the same bytes."""
    _check_method(method)
    data = np.asarray(data, dtype=np.float32)
    header = header.copy()
    for key in CHECKSUM_CARDS:
        header.remove(key, ignore_missing=True)
    buffer = io.BytesIO()
    if method == "none":
        return _plain_fits(header, data)
    nan = ~np.isfinite(data)
    filled = data
    if nan.any():
        fill = header.get("SKYVAL")
        if not isinstance(fill, int | float) or not np.isfinite(fill):
            fill = float(np.median(data[~nan])) if (~nan).any() else 0.0
        filled = np.where(nan, np.float32(fill), data)
    q = DEFAULT_QUANTIZE[method] if quantize_level is None else quantize_level
    options = {"hcomp_scale": hcomp_scale, "hcomp_smooth": 0} if method == "hcompress" else {}
    image = fits.CompImageHDU(filled, header=header, compression_type=METHODS[method],
                              tile_shape=tuple(tile), quantize_level=q,
                              quantize_method=1, dither_seed=DITHER_SEED, **options)
    if "EXTEND" in header and "EXTEND" not in image.header:
        # astropy drops EXTEND from a primary header it compresses; keep it (as ZEXTEND)
        image.header.set("EXTEND", header["EXTEND"], header.comments["EXTEND"])
    hdus = [fits.PrimaryHDU(), image]
    if nan.any():
        # one tile: ~5.7 KB for the real edge columns (row tiles would cost ~40 KB)
        hdus.append(fits.CompImageHDU(nan.astype(np.uint8), compression_type="GZIP_1",
                                      tile_shape=nan.shape, name=MASK_NAME))
    fits.HDUList(hdus).writeto(buffer)
    blob = buffer.getvalue()
    return _zero_gzip_mtime(blob) if nan.any() else blob


def _plain_fits(header: fits.Header, data: np.ndarray) -> bytes:
    """float32 FITS bytes with the header as delivered: astropy's writer would re-comment
    SIMPLE/BITPIX/NAXIS and drop or move EXTEND, so the cards are written directly."""
    structural = fits.PrimaryHDU(data=data).header          # BITPIX/NAXISn of the data
    out = header.copy()
    for key in ("BITPIX", "NAXIS", *(f"NAXIS{i}" for i in range(1, data.ndim + 1))):
        if key in out:
            out[key] = structural[key]
        else:
            out.set(key, structural[key], after="NAXIS" if key != "NAXIS" else "BITPIX")
    pixels = np.ascontiguousarray(data, dtype=">f4").tobytes()
    return (out.tostring(endcard=True, padding=True).encode("ascii") + pixels
            + bytes(-len(pixels) % 2880))


def _zero_gzip_mtime(blob: bytes) -> bytes:
    """GZIP_1 tiles are gzip streams whose header holds the time of compression (astropy
    calls ``gzip.compress`` without ``mtime``); set it to 0 ("no time") so that the same image
    always gives the same bytes. The streams are found through the table's descriptors."""
    out = bytearray(blob)
    with fits.open(io.BytesIO(blob), disable_image_compression=True) as hdul:
        table = hdul[MASK_NAME]
        header, start = table.header, table.fileinfo()["datLoc"]
        if header["ZCMPTYPE"] != "GZIP_1" or not header["TFORM1"].startswith("1P"):
            return blob                       # another layout: valid, just not reproducible
        heap = start + header.get("THEAP", header["NAXIS1"] * header["NAXIS2"])
        for row in range(header["NAXIS2"]):
            at = start + row * header["NAXIS1"]
            count, offset = struct.unpack(">ii", blob[at:at + 8])
            stream = heap + offset
            if count >= 10 and blob[stream:stream + 3] == b"\x1f\x8b\x08":
                out[stream + 4:stream + 8] = bytes(4)
    return bytes(out)


def decompress(blob: bytes) -> tuple[fits.Header, np.ndarray]:
    """The original header (keywords, order and WCS as delivered, without CHECKSUM/DATASUM)
    and float32 pixels with NaNs exactly where they were."""
    try:
        with fits.open(io.BytesIO(blob), memmap=False) as hdul:
            if hdul[0].data is not None:                      # method "none"
                return hdul[0].header.copy(), np.array(hdul[0].data, dtype=np.float32)
            image = hdul[1]
            header = _primary_order(image.header.copy())
            data = np.array(image.data, dtype=np.float32)
            if MASK_NAME in hdul:
                data[np.asarray(hdul[MASK_NAME].data, dtype=bool)] = np.nan
    except Exception as exc:
        raise LoadError("<compressed image>", f"cannot decompress ({exc})") from None
    return header, data


def _primary_order(header: fits.Header) -> fits.Header:
    """astropy restores BLOCKED and EXTEND at the end of a decompressed header; put them back
    after NAXISn (BLOCKED first, as in the real Atlas Images)."""
    last = f"NAXIS{header.get('NAXIS', 0)}" if header.get("NAXIS", 0) else "NAXIS"
    for key in ("EXTEND", "BLOCKED"):
        if key in header:
            card = header.cards[key]
            del header[key]
            header.insert(last, (card.keyword, card.value, card.comment), after=True)
    return header


def parse_file_name(name: str) -> dict:
    """band, scan, image (and ordate, hemis for the Montage/IRSA name) from a file name."""
    match = PIPELINE_NAME.match(name) or MONTAGE_NAME.match(name)
    if not match:
        raise ValueError(f"file name {name!r} is not <band>i<scan:3><image:4>.fits")
    parts = match.groupdict()
    return {k: (int(v) if k in ("scan", "image") else v) for k, v in parts.items()}


def _date(ordate: str) -> dt.date:
    """ORDATE yymmdd (2MASS ran 1997-2001)."""
    yy, mm, dd = int(ordate[:2]), int(ordate[2:4]), int(ordate[4:6])
    return dt.date(1900 + yy if yy >= 50 else 2000 + yy, mm, dd)


def _hemis(header: fits.Header, path: Path, parsed: dict) -> str | None:
    telname = str(header.get("TELNAME", "")).strip().lower()
    if telname in TELESCOPES:
        return TELESCOPES[telname]
    if parsed.get("hemis"):
        return parsed["hemis"]
    for part in reversed(path.parts[:-1]):           # <yymmdd><n|s>/s<scan>/image/
        if re.fullmatch(r"\d{6}[ns]", part):
            return part[-1]
    return None


def image_record(path: Path | str, scan_key: int, **compress_settings) -> dict:
    """One ``atlas_images`` row for a delivered file: identification checked between the file
    name and the header, WCS values, pixel-edge corners, and the compressed FITS blob."""
    path = Path(path)
    header, data = read_atlas_image(path)
    try:
        parsed = parse_file_name(path.name)
    except ValueError as exc:
        raise LoadError(str(path), str(exc)) from None
    band = str(header["FILTER"]).strip().lower()
    if band not in ("j", "h", "k"):
        raise LoadError(str(path), f"FILTER {header['FILTER']!r} is not j, h or k")
    if band != parsed["band"] or int(header["SCANNO"]) != parsed["scan"]:
        raise LoadError(str(path), f"file name says band {parsed['band']} scan "
                        f"{parsed['scan']}, header says FILTER {band} SCANNO {header['SCANNO']}")
    ordate = str(header["ORDATE"]).strip()
    try:
        date = _date(ordate)
    except (ValueError, IndexError):
        raise LoadError(str(path), f"ORDATE {ordate!r} is not yymmdd") from None
    if parsed.get("ordate") and parsed["ordate"] != ordate:
        raise LoadError(str(path), f"file name says ORDATE {parsed['ordate']}, header {ordate}")
    hemis = _hemis(header, path, parsed)
    if hemis is None:
        raise LoadError(str(path), "cannot tell the hemisphere (no TELNAME, no <date><n|s>)")
    naxis1, naxis2 = int(header["NAXIS1"]), int(header["NAXIS2"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            wcs = WCS(header, naxis=2)
        edges = np.array([[-0.5, -0.5], [naxis1 - 0.5, -0.5],
                          [-0.5, naxis2 - 0.5], [naxis1 - 0.5, naxis2 - 0.5]])
        sky = wcs.all_pix2world(edges, 0)
    except Exception as exc:
        raise LoadError(str(path), f"invalid WCS ({exc})") from None
    try:
        blob = compress(header, data, **compress_settings)
        label = compression_label(**compress_settings)
    except (TypeError, ValueError) as exc:
        raise LoadError(str(path), f"cannot compress ({exc})") from None
    record = {
        "coadd_key": coadd_key(scan_key, parsed["image"]), "band": band,
        "scan_key": int(scan_key), "hemis": hemis, "date": date, "scan": int(header["SCANNO"]),
        "image": parsed["image"], "fname": path.name,
    }
    for key in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2"):
        record[key.lower()] = float(header[key])
    record["crota2"] = float(header.get("CROTA2", 0.0))
    record["naxis1"], record["naxis2"] = naxis1, naxis2
    record["magzp"] = float(header["MAGZP"])
    for key in ("SKYVAL", "SKYSIG", "SEESH"):
        value = header.get(key)
        record[key.lower()] = float(value) if isinstance(value, int | float) else None
    for i, (ra, dec) in enumerate(sky, start=1):
        record[f"ra_{i}"], record[f"dec_{i}"] = float(ra % 360.0), float(dec)
    record |= {"compression": label, "bytes": len(blob), "raw_bytes": path.stat().st_size,
               "fits": blob}
    return record
