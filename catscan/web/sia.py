"""SIA 2.0 (``/sia/query``) listing Atlas Images as ObsCore records, and a SODA-style
cutout service (``/soda/sync``) for one image by its ID.

SIA 2.0 parameters: ``POS`` (``CIRCLE ra dec r``, ``RANGE ra1 ra2 dec1 dec2``, ``POLYGON
ra1 dec1 ...``), ``BAND`` (wavelength interval in metres), ``TIME`` (MJD interval),
``COLLECTION``, ``FACILITY``, ``INSTRUMENT``, ``DPTYPE``, ``CALIB``, ``ID``, ``MAXREC``
(0: the columns only). A parameter given twice ORs its values, different ones AND (SIA 2.0
section 2). SODA: ``ID`` and optionally ``CIRCLE ra dec r`` or ``POS``: the part of that
image inside, trimmed at its edges (SODA 1.0), as FITS; no region: the whole image."""

from __future__ import annotations

import datetime as dt
import io
import math
import re

import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.nddata.utils import NoOverlapError
from astropy.wcs import WCS
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CatscanError, shown
from ..polygon import PolygonError, SphericalPolygon
from ..results import Provenance, encode_chunks
from .errors import VOTABLE, vo_error
from .guard import pool_for, team_or_released
from .scs import whole_number
from .stream import stream

SIA_STANDARD = "ivo://ivoa.net/std/SIA#query-2.0"
SODA_STANDARD = "ivo://ivoa.net/std/SODA#sync-1.0"
DID_PREFIX = "ivo://catscan/2mass?atlas/"
# isophotal wavelength and width of the 2MASS filters (Cohen, Wheaton & Megeath 2003), m
BANDS = {"j": (1.235e-6, 0.162e-6), "h": (1.662e-6, 0.251e-6), "k": (2.159e-6, 0.262e-6)}
EXPOSURE_S = 7.8                    # six 1.3 s frames per position (Explanatory Supplement)
SCAN_DAYS = 6.0 / 1440              # a survey scan takes about 6 minutes
MAX_RADIUS_DEG = 10.0
DEFAULT_MAXREC = 1000              # records; a larger MAXREC than --max-rows gets that

COLUMNS = [
    # name, type, unit, ucd, description
    ("dataproduct_type", pa.string(), None, "meta.code.class", "image"),
    ("calib_level", pa.int16(), None, "meta.code;obs.calib", "2: calibrated, reduced"),
    ("obs_collection", pa.string(), None, "meta.id", "2MASS"),
    ("obs_id", pa.string(), None, "meta.id", "night, scan, image and band"),
    ("obs_publisher_did", pa.string(), None, "meta.ref.ivoid", "the ID for SODA"),
    ("access_url", pa.string(), None, "meta.ref.url", "the whole image (FITS)"),
    ("access_format", pa.string(), None, "meta.code.mime", "image/fits"),
    ("access_estsize", pa.int64(), "kbyte", "phys.size;meta.file", "size of the FITS file"),
    ("s_ra", pa.float64(), "deg", "pos.eq.ra", "image centre"),
    ("s_dec", pa.float64(), "deg", "pos.eq.dec", "image centre"),
    ("s_fov", pa.float64(), "deg", "phys.angSize;instr.fov", "diagonal of the image"),
    ("s_region", pa.string(), None, "pos.outline;obs.field", "footprint (DALI polygon)"),
    ("s_resolution", pa.float64(), "arcsec", "pos.angResolution", "seeing FWHM"),
    ("s_xel1", pa.int64(), None, "meta.number", "pixels along RA"),
    ("s_xel2", pa.int64(), None, "meta.number", "pixels along Dec"),
    ("t_min", pa.float64(), "d", "time.start;obs.exposure", "scan start (MJD)"),
    ("t_max", pa.float64(), "d", "time.end;obs.exposure", "scan end (MJD)"),
    ("t_exptime", pa.float64(), "s", "time.duration;obs.exposure", "exposure per pixel"),
    ("em_min", pa.float64(), "m", "em.wl;stat.min", "filter blue edge"),
    ("em_max", pa.float64(), "m", "em.wl;stat.max", "filter red edge"),
    ("o_ucd", pa.string(), None, "meta.ucd", "phot.count"),
    ("facility_name", pa.string(), None, "meta.id;instr.tel", "FLWO 1.3 m or CTIO 1.3 m"),
    ("instrument_name", pa.string(), None, "meta.id;instr", "2MASS camera"),
    ("band", pa.string(), None, "instr.bandpass", "J, H or K (Ks)"),
    ("date", pa.string(), None, "time.epoch", "observation date"),
    ("hemis", pa.string(), None, "meta.code", "n or s"),
    ("scan", pa.int64(), None, "meta.id;obs.sequence", "scan number of the night"),
    ("image", pa.int64(), None, "meta.number", "image number in the scan"),
    ("coadd_key", pa.int64(), None, "meta.id", "Atlas Image key (J, H and Ks share it)"),
    ("magzp", pa.float64(), "mag", "phot.mag;arith.zp", "photometric zero point"),
]
FACILITIES = {"n": "FLWO 1.3m", "s": "CTIO 1.3m"}

IMAGE_SQL = (
    "SELECT i.coadd_key, i.band, i.date, i.hemis, i.scan, i.image, i.fname, i.crval1, "
    "i.crval2, i.naxis1, i.naxis2, i.cdelt1, i.cdelt2, i.magzp, i.seesh, i.bytes, i.raw_bytes, "
    "i.ra_1, i.dec_1, i.ra_2, i.dec_2, i.ra_3, i.dec_3, i.ra_4, i.dec_4, s.jdate "
    "FROM {source} i LEFT JOIN scans s ON s.scan_key = i.scan_key")


class SiaError(CatscanError):
    """A SIA or SODA request that cannot be answered as asked."""


# ---- parameters ---------------------------------------------------------------------------

def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        raise SiaError(f"{name}={text!r}: expected numbers separated by blanks") from None


def parse_pos(text: str) -> tuple[str, list[float]]:
    """('circle', [ra, dec, r]) / ('range', [ra1, ra2, dec1, dec2]) / ('polygon', [...])."""
    shape, _, rest = text.strip().partition(" ")
    shape = shape.upper()
    values = _numbers(rest, "POS")
    if not all(math.isfinite(v) for v in values):
        raise SiaError(f"POS={shown(text)!r}: positions and radii are finite numbers")
    if shape == "CIRCLE" and len(values) == 3:
        ra, dec, r = values
        if not (-90 <= dec <= 90 and 0 <= r <= MAX_RADIUS_DEG):
            raise SiaError(f"POS={text!r}: dec must be in [-90, 90] and the radius in "
                           f"[0, {MAX_RADIUS_DEG:g}] deg")
        return "circle", [ra % 360.0, dec, r]
    if shape == "RANGE" and len(values) == 4:
        ra1, ra2, dec1, dec2 = values
        if not (-90 <= dec1 <= dec2 <= 90):
            raise SiaError(f"POS={text!r}: write RANGE ra_min ra_max dec_min dec_max")
        return "range", values
    if shape == "POLYGON" and len(values) >= 6 and len(values) % 2 == 0:
        return "polygon", values
    raise SiaError(f"POS={text!r}: write CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 or "
                   "POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ... (degrees)")


def _interval(text: str, name: str) -> tuple[float, float]:
    values = _numbers(text, name)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise SiaError(f"{name}={text!r}: give one value or an interval 'low high'")
    low, high = (-math.inf if math.isnan(values[0]) else values[0],
                 math.inf if math.isnan(values[1]) else values[1])
    return low, high


def multi(request: Request) -> dict[str, list[str]]:
    """Every value of every parameter, by upper-case name."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key.upper(), []).append(value)
    return out


# ---- footprints ---------------------------------------------------------------------------

def _footprint(row: dict) -> SphericalPolygon:
    corners = [(row[f"ra_{i}"], row[f"dec_{i}"]) for i in (1, 2, 4, 3)]   # around the edge
    return SphericalPolygon.from_vertices(corners)


def _region_polygon(shape: str, values: list[float]) -> SphericalPolygon | None:
    if shape == "polygon":
        return SphericalPolygon.from_vertices(list(zip(values[::2], values[1::2],
                                                       strict=True)))
    if shape == "range":
        ra1, ra2, dec1, dec2 = values
        width = (ra2 - ra1) % 360.0 or 360.0
        steps = max(2, math.ceil(width / 10))          # edges of constant dec, piecewise
        ras = [ra1 + width * i / steps for i in range(steps + 1)]
        ring = [(r, dec1) for r in ras] + [(r, dec2) for r in reversed(ras)]
        return SphericalPolygon.from_vertices(ring)
    return None


def _enclosing_cone(shape: str, values: list[float]) -> tuple[float, float, float]:
    if shape == "circle":
        return values[0], values[1], values[2]
    return _region_polygon(shape, values).centre()


def _overlaps(row: dict, shape: str, values: list[float],
              region: SphericalPolygon | None) -> bool:
    """Whether an image's footprint meets a RANGE or POLYGON region: a corner of either
    inside the other (enough for regions and images that are not long and thin)."""
    if region is None:
        return True
    footprint = _footprint(row)
    corners = np.array([[row[f"ra_{i}"], row[f"dec_{i}"]] for i in (1, 2, 3, 4)])
    if region.contains(corners[:, 0], corners[:, 1]).any():
        return True
    if footprint.contains(np.asarray(region.ra), np.asarray(region.dec)).any():
        return True
    ra, dec, _ = region.centre()
    return bool(footprint.contains(np.array([ra]), np.array([dec])).any())


# ---- the query ----------------------------------------------------------------------------

def _rows(con, params: dict[str, list[str]]) -> list[dict]:
    positions = [parse_pos(p) for p in params.get("POS", [])]
    ids = params.get("ID", [])
    if positions:
        found: dict[tuple[int, str], dict] = {}
        for shape, values in positions:
            ra, dec, r = _enclosing_cone(shape, values)
            region = _region_polygon(shape, values)
            sql = IMAGE_SQL.format(source="images_near(?, ?, ?)")
            for row in _fetch(con, sql, [ra, dec, r]):
                if _overlaps(row, shape, values, region):
                    found[(row["coadd_key"], row["band"])] = row
        rows = list(found.values())
    elif ids:
        rows = []
        for did in ids:
            key = parse_did(did)
            rows += _fetch(con, IMAGE_SQL.format(source="atlas_images") +
                           " WHERE i.coadd_key = ? AND i.band = ?", list(key))
    else:
        raise SiaError("give POS (e.g. POS=CIRCLE 10.68 41.27 0.1) or ID: listing every "
                       "Atlas Image is not offered")
    return [r for r in rows if _keep(r, params)]


def _fetch(con, sql: str, args: list) -> list[dict]:
    cursor = con.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _keep(row: dict, params: dict[str, list[str]]) -> bool:
    centre, width = BANDS[row["band"]]
    em = (centre - width / 2, centre + width / 2)
    t_min, t_max = _times(row)

    def any_interval(name: str, low: float, high: float) -> bool:
        if name not in params:
            return True
        for text in params[name]:
            a, b = _interval(text, name)
            if a <= high and low <= b:
                return True
        return False

    def any_text(name: str, value: str) -> bool:
        return name not in params or value.lower() in (v.lower() for v in params[name])

    calib = params.get("CALIB")
    return (any_interval("BAND", *em) and
            (t_min is None or any_interval("TIME", t_min, t_max)) and
            any_text("COLLECTION", "2MASS") and any_text("DPTYPE", "image") and
            any_text("FACILITY", FACILITIES[row["hemis"]]) and
            any_text("INSTRUMENT", "2MASS camera") and
            (calib is None or "2" in calib))


def _times(row: dict) -> tuple[float | None, float | None]:
    if row.get("jdate") is None:
        return None, None
    start = row["jdate"] - 2400000.5
    return start, start + SCAN_DAYS


def did(coadd_key: int, band: str) -> str:
    return f"{DID_PREFIX}{coadd_key}/{band}"


def parse_did(text: str) -> tuple[int, str]:
    match = re.fullmatch(re.escape(DID_PREFIX) + r"(\d{1,18})/([jhk])", text.strip())
    if not match:                        # coadd_key is a BIGINT: 18 digits are plenty
        raise SiaError(f"ID={shown(text, 60)!r} is not an Atlas Image of this service (IDs look "
                       f"like {DID_PREFIX}1420198/j)")
    return int(match.group(1)), match.group(2)


def records(rows: list[dict], base: str) -> pa.Table:
    """The ObsCore table of the images (in the order given)."""
    columns: dict[str, list] = {name: [] for name, *_ in COLUMNS}
    for r in rows:
        t_min, t_max = _times(r)
        centre, width = BANDS[r["band"]]
        ident = did(r["coadd_key"], r["band"])
        corners = " ".join(f"{r[f'ra_{i}']:.6f} {r[f'dec_{i}']:.6f}" for i in (1, 2, 4, 3))
        scale = abs(r["cdelt1"] or 1 / 3600)
        values = {
            "dataproduct_type": "image", "calib_level": 2, "obs_collection": "2MASS",
            "obs_id": f"{r['date']:%y%m%d}{r['hemis']} scan {r['scan']} image {r['image']} "
                      f"{r['band'].upper()}",
            "obs_publisher_did": ident, "access_url": f"{base}soda/sync?ID={ident}",
            "access_format": "image/fits",
            "access_estsize": math.ceil((r["raw_bytes"] or r["naxis1"] * r["naxis2"] * 4)
                                        / 1024),
            "s_ra": r["crval1"], "s_dec": r["crval2"],
            "s_fov": scale * math.hypot(r["naxis1"], r["naxis2"]),
            "s_region": f"POLYGON ICRS {corners}", "s_resolution": r["seesh"],
            "s_xel1": r["naxis1"], "s_xel2": r["naxis2"], "t_min": t_min, "t_max": t_max,
            "t_exptime": EXPOSURE_S, "em_min": centre - width / 2, "em_max": centre + width / 2,
            "o_ucd": "phot.count", "facility_name": FACILITIES[r["hemis"]],
            "instrument_name": "2MASS camera", "band": r["band"].upper(),
            "date": r["date"].isoformat() if isinstance(r["date"], dt.date) else str(r["date"]),
            "hemis": r["hemis"], "scan": r["scan"], "image": r["image"],
            "coadd_key": r["coadd_key"], "magzp": r["magzp"]}
        for name in columns:
            columns[name].append(values[name])
    from ..tablefile import field_metadata

    fields = [pa.field(name, kind, metadata=field_metadata(unit, text, ucd))
              for name, kind, unit, ucd, text in COLUMNS]
    return pa.table([pa.array(columns[f.name], f.type) for f in fields],
                    schema=pa.schema(fields))


@team_or_released
async def sia_query(request: Request) -> Response:
    params = multi(request)
    try:
        maxrec = whole_number(params.get("MAXREC", [str(DEFAULT_MAXREC)])[0], "MAXREC",
                              request.app.state.limits.max_rows)
    except CatscanError as exc:
        return vo_error(str(exc))
    base = str(request.base_url)

    def work(ses):
        rows = [] if maxrec == 0 else _rows(ses.con, params)
        table = records(rows, base)
        truncated = table.num_rows > maxrec
        table = table.slice(0, maxrec)
        provenance = Provenance(sql="", row_count=table.num_rows,
                                query=str(request.url.query), truncated=truncated,
                                limit=maxrec)
        return table, provenance

    try:
        table, provenance = await pool_for(request).run(work)
        return await stream(request, encode_chunks(table, "votable", provenance), VOTABLE)
    except (CatscanError, PolygonError) as exc:
        return vo_error(str(exc))


# ---- SODA ---------------------------------------------------------------------------------

def soda_fits(con, ident: str, region: tuple[str, list[float]] | None) -> bytes:
    """The Atlas Image ``ident`` (cut to ``region``) as a FITS file."""
    from ..images.store import DECODE_LOCK
    from ..loaders.images import decompress

    key = parse_did(ident)
    rows = con.execute("SELECT fits FROM atlas_images WHERE coadd_key = ? AND band = ?",
                       list(key)).fetchall()
    if not rows:
        raise SiaError(f"no Atlas Image {ident}")
    with DECODE_LOCK:                    # astropy's HCOMPRESS decoder is not thread-safe
        header, data = decompress(rows[0][0])
    if region is not None:
        shape, values = region
        if shape != "circle":
            raise SiaError("SODA cutouts take CIRCLE ra dec radius (or POS=CIRCLE ...)")
        ra, dec, r = values
        wcs = WCS(header, naxis=2)
        try:
            cut = Cutout2D(data, SkyCoord(ra, dec, unit="deg"), 2 * r * u.deg, wcs=wcs,
                           mode="trim")
        except NoOverlapError:
            raise SiaError(f"the circle {ra:g} {dec:g} {r:g} does not overlap {ident}"
                           ) from None
        header = header.copy()
        header.update(cut.wcs.to_header())
        data = cut.data
    out = io.BytesIO()
    fits.PrimaryHDU(data=data, header=header).writeto(out)
    return out.getvalue()


@team_or_released
async def soda_sync(request: Request) -> Response:
    params = multi(request)
    try:
        if len(params.get("ID", [])) != 1:
            raise SiaError("give one ID (from the SIA query's obs_publisher_did)")
        region = None
        if "CIRCLE" in params:
            region = parse_pos("CIRCLE " + params["CIRCLE"][0])
        elif "POS" in params:
            region = parse_pos(params["POS"][0])
    except SiaError as exc:
        return Response(f"UsageError: {exc}\n", status_code=400, media_type="text/plain")
    ident = params["ID"][0]
    try:
        body = await pool_for(request).run(lambda ses: soda_fits(ses.con, ident, region))
    except SiaError as exc:
        status = 404 if str(exc).startswith("no Atlas Image") else 400
        return Response(f"{'NotFoundFault' if status == 404 else 'UsageError'}: {exc}\n",
                        status_code=status, media_type="text/plain")
    key = parse_did(ident)
    return Response(body, media_type="application/fits", headers={
        "Content-Disposition": f'attachment; filename="atlas_{key[0]}{key[1]}.fits"'})


async def sia_capabilities(request: Request) -> Response:
    base = str(request.base_url)
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <capability standardID="{SIA_STANDARD}">
    <interface xsi:type="vs:ParamHTTP" role="std" version="2.0">
      <accessURL use="base">{base}sia/query</accessURL>
    </interface>
  </capability>
  <capability standardID="{SODA_STANDARD}">
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.0">
      <accessURL use="base">{base}soda/sync</accessURL>
    </interface>
  </capability>
</vosi:capabilities>
"""
    return Response(body, media_type="text/xml")


ROUTES = [
    Route("/sia/query", sia_query, name="sia_query"),
    Route("/sia/capabilities", sia_capabilities, name="sia_capabilities"),
    Route("/soda/sync", soda_sync, name="soda_sync"),
]
