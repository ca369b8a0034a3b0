"""Realistic synthetic 2MASS Atlas Images for one scan (the nightly deliveries of issue 4).

Geometry (2mass_reference.md §3, §6): 23 images per band, 22 of 512x1024 and a last one of
512x698 px at 1"/px, SIN projection, north up with a tiny twist; consecutive images overlap
by ~54" (centre step 970"); the first image's leading edge is at the scan start. An image's
number (catalog ``coadd``) is the frame nearest its centre, frames being 82.11" apart.

Headers copy the real J header's keywords in the real order (``TEMPLATE_CARDS`` below; the
real file in ``../shared/real_2mass`` is the test's reference, never a runtime dependency)
with per-image values. Pixels are sky + correlated noise + every catalogue star drawn with a
Gaussian PSF of total flux ``10**(-0.4 * (m - MAGZP))`` DN at the WCS position of its ra/dec,
so that aperture photometry and centroids of the images agree with the catalogue.

The noise is that of a coadd: real Atlas Images are 2" frames resampled onto 1" pixels with a
flux-preserving kernel (second-release sec4_3), so neighbouring pixels are correlated and a
pixel's scatter is well below SKYSIG. White noise of SKYSIG smoothed by a normalised Gaussian
of ``NOISE_KERNEL_SIGMA`` px reproduces the real J image's quiet sky (pixel differences at lags
1-4 within 7 %; pixel scatter 0.28 SKYSIG against 0.29-0.30), and keeps the noise of a sum
over an aperture near ``SKYSIG * sqrt(area)``, as for white noise (0.84 of it at r = 4 px).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

BANDS = ("j", "h", "k")
IMAGES_PER_SCAN = 23
ATLAS_WIDTH = 512                   # px = arcsec, cross-scan
ATLAS_LENGTH = 1024                 # px = arcsec, along the scan
LAST_LENGTH = 698                   # the 23rd image
CENTRE_STEP_ARCSEC = 970.0          # 1024" images overlapping by 54"
FRAME_STEP_ARCSEC = 82.11           # DYFS: in-scan step between frames
SCAN_RATE_ARCSEC_S = 57.0           # "approximately 57"/s"
PIXEL_DEG = 0.0002777777845         # CDELT2 (CDELT1 is its negative)
NAN_COLUMNS = (5, 3)                # blank columns east (x=0..4) and west (x=509..511), as real
STAMP_RADIUS = 7                    # px; a 15x15 stamp holds > 5 sigma of the widest PSF
NOISE_KERNEL_SIGMA = 1.0            # px; the coadd's resampling kernel, fitted to the real J image
DAY_ONE = dt.date(1997, 3, 1)       # DAYNUM 1
JD_J2000 = 2451545.0
# sky noise scales like Poisson noise from the real image: SKYVAL 148.63 DN, SKYSIG 2.80 DN
REAL_SKY = (148.6269531, 2.801467896)
SITES = {  # hemis -> TELNAME, latitude, longitude west (deg), TELNAME comment
    "n": ("Hopkins", 31.681, 110.878, "Telescope +31.681/+110.878 lat/lon degs"),
    "s": ("CTIO", -30.165, 70.815, "Telescope -30.165/+70.815 lat/lon degs"),
}
SYNTHETIC_HISTORY = "catscan synthetic Atlas Image: not survey data"
CHECKSUM_WHEN = "catscan synthetic image checksum"   # fixed comment: reproducible bytes

# The real header's cards in order (2mass-atlas-990502s-j1420198.hdr); None = per image.
TEMPLATE_CARDS: tuple[tuple[str, object, str | None], ...] = (
    ("SIMPLE", True, ""),
    ("BITPIX", -32, ""),
    ("NAXIS", 2, "# of Axes"),
    ("NAXIS1", ATLAS_WIDTH, ""),
    ("NAXIS2", None, ""),
    ("BLOCKED", True, "TAPE MAY BE BLOCKED IN MULTIPLES OF 2880"),
    ("EXTEND", True, "TAPE MAY HAVE STANDARD FITS EXTENSIONS"),
    ("ORDATE", None, "Observation Ref Date (yymmdd)"),
    ("DAYNUM", None, "Observation Day Num"),
    ("FN_PRFX", None, ".rdo and .par filename prefix"),
    ("TYPE", "sci", "Scan type: dar flt sci cal tst"),
    ("SCANNO", None, "Scan Number"),
    ("SCANDIR", None, "Scan Direction: n, s, -"),
    ("COMMENT", "                                 (OV)", ""),
    ("STRIP_ID", None, "Strip ID (OV)"),
    ("POSITNID", None, "Position ID (OV)"),
    ("ORIGIN", "2MASS", "2MASS Survey Camera"),
    ("CTYPE1", "RA---SIN", "Orthographic Projection"),
    ("CTYPE2", "DEC--SIN", "Orthographic Projection"),
    ("CRPIX1", ATLAS_WIDTH / 2 + 0.5, "Axis 1 Reference Pixel"),
    ("CRPIX2", None, "Axis 2 Reference Pixel"),
    ("CRVAL1", None, "RA  at Frame Center, J2000 (deg)"),
    ("CRVAL2", None, "Dec at Frame Center, J2000 (deg)"),
    ("CROTA2", None, "Image Twist +AXIS2 W of N, J2000 (deg)"),
    ("CDELT1", -PIXEL_DEG, "Axis 1 Pixel Size (degs)"),
    ("CDELT2", PIXEL_DEG, "Axis 2 Pixel Size (degs)"),
    ("USXREF", -ATLAS_WIDTH / 2 - 0.5, "U-scan X at Grid (0,0)"),
    ("USYREF", None, "U-scan Y at Grid (0,0)"),
    ("SKYVAL", None, "GFIND Sky Estimate"),
    ("SKYSIG", None, "Grid  Noise Estimate"),
    ("MAGZP", None, "Calibrated zero point from CALMAN"),
    ("CALID", "y pw 0 Nov 07 2001", "Calibration descriptors from CALMAN"),
    ("SEESH", None, "Seeing shape parameter from SEEMAN"),
    ("DXFS", -0.3600672483, "Cross-scan Frame Step (arcsec)"),
    ("DYFS", None, "In-scan Frame Step (arcsec)"),
    ("PIXNAM", "nl.pixphot - v 011003s", ""),
    ("QT0227", None, "2.27 Percentile"),
    ("QT0668", None, "6.68 Percentile"),
    ("QT1586", None, "15.86 Percentile"),
    ("QT3085", None, "30.85 Percentile"),
    ("QT5000", None, "50.00 Percentile"),
    ("QT6914", None, "69.14 Percentile"),
    ("QT8413", None, "84.13 Percentile"),
    ("QT9331", None, "93.31 Percentile"),
    ("QT9772", None, "97.72 Percentile"),
    ("BASE", 6, "Pixel Dwell (microsec)"),
    ("WAVEF_P", None, "Secondary waveform data file"),
    ("TIMER0", 52, "Read1 time (millisecs)"),
    ("TIMER1", 1298, "Read2-Read1 time (millisecs)"),
    ("TIMER2", 51, "Secondary settling time (millisecs)"),
    ("ICSVERSN", "981022", "ICS script pgm Version (yymmdd)"),
    ("SCHEDVER", "981228", "Scheduler pgm Version (yymmdd)"),
    ("SCRIPTFN", "survey.sct", "Script template filename"),
    ("SCRPTVER", "980223", "Script template filename Versn (yymmdd)"),
    ("UT_OFF1", 0.742700729927, "UT Offset (IC),SOS to frm#1 Cntr (secs)"),
    ("XS_OFF1", 1.28, "X-Scan Offset (IN),SOS to f#1 RA Cntr (ASec)"),
    ("IS_OFF1", -365.37, "In-Scan Offset (IN),SOS to f#1 Dec Cntr(ASec)"),
    ("XS_OFF2", 1.06, "X-Scan Offset(IN),EOS to End Frm RA Ctr(ASec)"),
    ("IS_OFF2", 123.61, "In-Scan Offset(IN),EOS to End Frm Dec Ctr(AS)"),
    ("FOCUS", 970, "Focus Setting"),
    ("NUMFRMS", None, "Total Number of Frames in this Scan"),
    ("SKIPRDOS", 0, "Total Number of SOS junk RDOs skipped (IC)"),
    ("TELNAME", None, None),
    ("FILTER", None, "Band: j, h, k"),
    ("UT_DATE", None, "UT Date of Frame (IC) (yymmdd)"),
    ("UT", None, "Time of Frame (IC) (sxgsml)"),
    ("AMASS_FC", None, "Airmass (aprox) at this Frame (IC) (unitless)"),
    ("GRP2_SOS", "SOS", "Bgn Group#2 .par params at SOS"),
    ("DATE_SOS", None, "Date at SOS  (yymmdd)"),
    ("EQUINOX", 2000.0, "Equinox at SOS"),
    ("AM_SOS", None, "Airmass at SOS (unitless)"),
    ("ZD_SOS", None, "Zenith Distance at SOS (degs)"),
    ("HA_SOS", None, "Hour Angle at SOS (sxgsml)"),
    ("UT_SOS", None, "Scan Reference UT  (SOS) (sxgsml)"),
    ("ST_SOS", None, "Sidereal time at SOS  (sxgsml)"),
    ("RA_SOS", None, "Scan Reference RA at SOS ,epoch 2000 (sxgsml)"),
    ("DEC_SOS", None, "Scan Reference Dec at SOS,epoch 2000 (sxgsml)"),
    ("WSPD_SOS", 0, "Wind Speed at SOS, see WARNING below"),
    ("WDIR_SOS", 0, "Wind Direction at SOS, see WARNING below"),
    ("HUM_SOS", 25, "Humidity at SOS, 0-100%"),
    ("SEE_SOS", 0.0, "Seeing at SOS, see WARNING below"),
    ("BAR_SOS", 30.0, "Barometer at SOS (inches of Hg)"),
    ("AIRT_SOS", 14.7, "Air temperature at SOS, degs Celsius"),
    ("TELT_SOS", 14.2, "Telescope Temp at SOS, degs Celsius"),
    ("ARYT_SOS", -190.0, "Temperature of array, see WARNING below"),
    ("GRP2_EOS", "EOS", "Bgn Group#2 .par params at EOS"),
    ("DATE_EOS", None, "Date at EOS (yymmdd)"),
    ("AM_EOS", None, "Airmass at EOS (unitless)"),
    ("ZD_EOS", None, "Zenith Distance at EOS (degs)"),
    ("HA_EOS", None, "Hour Angle at EOS (sxgsml)"),
    ("UT_EOS", None, "UT  at EOS (sxgsml)"),
    ("ST_EOS", None, "ST  at EOS (sxgsml)"),
    ("RA_EOS", None, "RA  at EOS, epoch 2000 (sxgsml)"),
    ("DEC_EOS", None, "Dec at EOS, epoch 2000 (sxgsml)"),
    ("WSPD_EOS", 0, "Wind Speed at SOS, see WARNING below"),
    ("WDIR_EOS", 0, "Wind Direction at EOS, see WARNING below"),
    ("HUM_EOS", 25, "Humidity at EOS, 0-100%"),
    ("SEE_EOS", 0.0, "Seeing at EOS, see WARNING below"),
    ("BAR_EOS", 30.0, "Barometer at EOS (inches of Hg)"),
    ("AIRT_EOS", 14.6, "Air temperature at EOS, degs Celsius"),
    ("TELT_EOS", 14.2, "Telescope Temp at EOS, degs Celsius"),
    ("ARYT_EOS", -190.0, "Temperature of array, see WARNING below"),
    ("COMMENT", "*** WARNING *** indicated parameter not measured, dummy only", ""),
    ("COMMENT", "src keys: (IK)=IPAC Konstant; (IC)=IPAC cmptd; (IN)=IPAC namelist", ""),
    ("COMMENT", "          (OV)=Obsrvtry .par file variable", ""),
    ("COMMENT", "  Group 2 parms are ALL from the Obs .par file", ""),
    ("COMMENT", "  non-Group 2 parms w/o (xx) are usually fm Obs", ""),
    ("RF_NLID", None, "Rdframe namelist version id"),
    ("HISTORY", "* Rdframe version= 980423     jhw.  Bgn Xeq = 01-11-07 04:46:58", ""),
    ("HISTORY", "* DFlat  vsn1.96 981203  Run on 11/07/01 at  4:40:41", ""),
    ("HISTORY", "> Image Created by pixphot - Version 010925p", ""),
    ("HISTORY", ">         Gene Kopan  IPAC/ Caltech", ""),
)
WCS_KEYS = frozenset({"NAXIS", "NAXIS1", "NAXIS2", "CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2",
                      "CRVAL1", "CRVAL2", "CDELT1", "CDELT2", "CROTA2"})
QUANTILES = (2.27, 6.68, 15.86, 30.85, 50.00, 69.14, 84.13, 93.31, 97.72)


@dataclass(frozen=True)
class AtlasImageSpec:
    """Where one Atlas Image of a scan lies; the same for the J, H and Ks images."""
    index: int                  # 0..22 along the scan
    image: int                  # image number = coadd = frame nearest the centre
    crval1: float
    crval2: float
    crota2: float
    naxis1: int = ATLAS_WIDTH
    naxis2: int = ATLAS_LENGTH
    offset_arcsec: float = 0.0  # along-scan distance of the centre from the scan start

    @property
    def crpix1(self) -> float:
        return self.naxis1 / 2 + 0.5

    @property
    def crpix2(self) -> float:
        return self.naxis2 / 2 + 0.5


def image_number(offset_arcsec: float) -> int:
    """Number of the frame nearest an along-scan distance (frames numbered from 1 at the
    start, 82.11" apart): the real image 0198 is centred 16184" from its scan's start."""
    return round(float(offset_arcsec) / FRAME_STEP_ARCSEC) + 1


def file_name(band: str, scan: int, image: int) -> str:
    """Pipeline/archive file name ``<band>i<scan:03d><image:04d>.fits``."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, not {band!r}")
    return f"{band}i{int(scan):03d}{int(image):04d}.fits"


def _twist(scan_key: int) -> float:
    """A tiny, scan-dependent CROTA2 (deg) like the real 0.00698: reproducible, no seed."""
    return 0.004 + 0.006 * ((int(scan_key) * 0.6180339887) % 1.0)


def _direction(scan: Mapping) -> float:
    return 1.0 if scan["direction"] == "n" else -1.0


def atlas_layout(scan: Mapping) -> list[AtlasImageSpec]:
    """The 23 image positions of a scan, from its start (``dec_1``) in its direction."""
    sign, start = _direction(scan), float(scan["dec_1"])
    ra, twist = float(scan["ra"]) % 360.0, _twist(scan["scan_key"])
    specs = []
    for index in range(IMAGES_PER_SCAN):
        last = index == IMAGES_PER_SCAN - 1
        naxis2 = LAST_LENGTH if last else ATLAS_LENGTH
        if last:   # same 54" overlap with the previous image as elsewhere
            previous_end = ATLAS_LENGTH / 2 + CENTRE_STEP_ARCSEC * (index - 1) + ATLAS_LENGTH / 2
            offset = previous_end - (ATLAS_LENGTH - CENTRE_STEP_ARCSEC) + naxis2 / 2
        else:
            offset = ATLAS_LENGTH / 2 + CENTRE_STEP_ARCSEC * index
        specs.append(AtlasImageSpec(
            index=index, image=image_number(offset), crval1=ra,
            crval2=start + sign * offset / 3600.0, crota2=twist + 2e-5 * index,
            naxis2=naxis2, offset_arcsec=offset))
    return specs


def _along(ra, dec, ra0: float) -> np.ndarray:
    """Latitude along the great circle of meridian ``ra0`` (= dec near it, > 90 past a pole)."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    return np.degrees(np.arctan2(np.sin(dec), np.cos(dec) * np.cos(ra - np.radians(ra0))))


def _cross(ra, dec, ra0: float) -> np.ndarray:
    """Angular distance (deg, signed) from the plane of meridian ``ra0``."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    return np.degrees(np.arcsin(np.cos(dec) * np.sin(ra - np.radians(ra0))))


def nearest_image(layout: list[AtlasImageSpec], ra, dec) -> np.ndarray:
    """Index into ``layout`` of the image whose centre is nearest along the scan, per position
    (the PSC ``coadd`` is ``layout[i].image``)."""
    centres = np.array([s.crval2 for s in layout])
    along = np.atleast_1d(_along(ra, dec, layout[0].crval1))
    order = np.argsort(centres)
    sorted_c = centres[order]
    right = np.clip(np.searchsorted(sorted_c, along), 1, len(sorted_c) - 1)
    left = right - 1
    pick = np.where(np.abs(along - sorted_c[left]) <= np.abs(sorted_c[right] - along),
                    left, right)
    return order[pick].astype(np.int64)


def fwhm_arcsec(seeing: float) -> float:
    """Atlas Image PSF FWHM: ~2.5" at SEESH 0.9 to ~3.1" at 1.2 (coadds of 2" pixels)."""
    return float(np.clip(2.5 + 2.0 * (float(seeing) - 0.9), 2.2, 3.6))


def sky_noise(sky: float) -> float:
    """Per-pixel sky noise (DN) for a sky level, scaled from the real image as Poisson noise."""
    return REAL_SKY[1] * math.sqrt(max(float(sky), 1.0) / REAL_SKY[0])


def _sexagesimal(value: float, decimals: int, sign: bool) -> str:
    """'hh:mm:ss.ss' (or '+dd:mm:ss.s' with ``sign``) as in the real header."""
    neg = value < 0
    scale = 10 ** decimals
    total = round(abs(value) * 3600 * scale)
    whole, frac = divmod(total, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}" + (f".{frac:0{decimals}d}" if decimals else "")
    return ("-" if neg else "+") + text if sign else text


def _jd_to_datetime(jd: float) -> dt.datetime:
    """UT of a JD, to 10 ms (a float JD carries ~20 us of noise: 13.99998 s must print 14)."""
    seconds = round((jd - JD_J2000) * 86400, 2)
    return dt.datetime(2000, 1, 1, 12) + dt.timedelta(seconds=seconds)


def _ut_text(t: dt.datetime) -> str:
    return _sexagesimal(t.hour + t.minute / 60 + (t.second + t.microsecond / 1e6) / 3600, 2,
                        False)


def _pointing(jd: float, ra: float, dec: float, hemis: str) -> dict:
    """Sidereal time, hour angle, zenith distance and airmass at the site (enough for headers)."""
    _, lat, lon_west, _ = SITES[hemis]
    gmst = (280.46061837 + 360.98564736629 * (jd - JD_J2000)) % 360.0
    lst = (gmst - lon_west) % 360.0
    ha = (lst - ra + 180.0) % 360.0 - 180.0
    phi, de, h = np.radians(lat), np.radians(dec), np.radians(ha)
    cos_z = np.sin(phi) * np.sin(de) + np.cos(phi) * np.cos(de) * np.cos(h)
    zd = float(np.degrees(np.arccos(np.clip(cos_z, -1, 1))))
    airmass = float(min(1.0 / max(cos_z, 0.1), 10.0))
    return {"st": _sexagesimal(lst / 15, 2, False), "ha": _sexagesimal(ha / 15, 2, True),
            "zd": round(zd, 2), "am": round(airmass, 3), "ut": _jd_to_datetime(jd)}


def _scan_length(scan: Mapping) -> float:
    """Along-scan length (arcsec) from start to end corner."""
    return abs(float(scan["dec_3"]) - float(scan["dec_1"])) * 3600.0


def _scan_jd(scan: Mapping) -> float:
    jd = scan.get("jdate")
    if jd is None or not np.isfinite(jd):
        date = scan["date"]
        return JD_J2000 - 0.5 + (dt.date(date.year, date.month, date.day)
                                 - dt.date(2000, 1, 1)).days + 0.25
    return float(jd)


def atlas_header(scan: Mapping, spec: AtlasImageSpec, band: str) -> fits.Header:
    """The real header's cards with this image's values (QTxxxx filled by ``make_image``)."""
    hemis, direction = scan["hemis"], scan["direction"]
    date = scan["date"]
    daynum = (dt.date(date.year, date.month, date.day) - DAY_ONE).days + 1
    sign = _direction(scan)
    ra, start, end = float(scan["ra"]) % 360.0, float(scan["dec_1"]), float(scan["dec_3"])
    sky = float(scan[f"{band}_back"])
    jd_sos = _scan_jd(scan)
    length = _scan_length(scan)
    jd_eos = jd_sos + length / SCAN_RATE_ARCSEC_S / 86400
    jd_frame = jd_sos + spec.offset_arcsec / SCAN_RATE_ARCSEC_S / 86400
    sos, eos = _pointing(jd_sos, ra, start, hemis), _pointing(jd_eos, ra, end, hemis)
    frame = _pointing(jd_frame, ra, spec.crval2, hemis)
    telname, _, _, tel_comment = SITES[hemis]
    hemi_of_dec = "s" if float(scan["dec"]) < 0 else "n"
    equatorward = int(abs(float(scan["dec"])) // 6 * 6)
    ra_hours = ra / 15
    positnid = f"{hemi_of_dec}{equatorward:02d}{int(ra_hours):02d}{int(ra_hours % 1 * 60):02d}"
    edge = spec.naxis2 / 2 if direction == "s" else -spec.naxis2 / 2
    values = {
        "NAXIS2": spec.naxis2, "ORDATE": date.strftime("%y%m%d"), "DAYNUM": f"{daynum:04d}",
        "FN_PRFX": f"{band}{daynum:04d}{int(scan['scan']):03d}", "SCANNO": int(scan["scan"]),
        "SCANDIR": direction, "STRIP_ID": int(scan["tile"]), "POSITNID": positnid,
        "CRPIX2": spec.crpix2, "CRVAL1": round(spec.crval1, 7), "CRVAL2": round(spec.crval2, 8),
        "CROTA2": round(spec.crota2, 12),
        # U-scan Y = minus the along-scan distance from the start (real: -16696 = -(16184+512))
        "USYREF": -round(spec.offset_arcsec + edge, 1),
        "SKYVAL": round(sky, 4), "SKYSIG": round(sky_noise(sky), 6),
        "MAGZP": round(float(scan[f"{band}_zp_ap"]), 4), "SEESH": round(float(scan["seeing"]), 4),
        "DYFS": sign * FRAME_STEP_ARCSEC, "WAVEF_P": f"2mass{hemis}.scn",
        "NUMFRMS": int(length // FRAME_STEP_ARCSEC) + 1,
        "TELNAME": (telname, tel_comment), "FILTER": band,
        "UT_DATE": frame["ut"].strftime("%y%m%d"),
        "UT": _ut_text(frame["ut"]),
        "AMASS_FC": frame["am"],
        "DATE_SOS": sos["ut"].strftime("%y%m%d"), "AM_SOS": sos["am"], "ZD_SOS": sos["zd"],
        "HA_SOS": sos["ha"], "UT_SOS": _ut_text(sos["ut"]), "ST_SOS": sos["st"],
        "RA_SOS": _sexagesimal(ra / 15, 2, False), "DEC_SOS": _sexagesimal(start, 1, True),
        "DATE_EOS": eos["ut"].strftime("%y%m%d"), "AM_EOS": eos["am"], "ZD_EOS": eos["zd"],
        "HA_EOS": eos["ha"], "UT_EOS": _ut_text(eos["ut"]), "ST_EOS": eos["st"],
        "RA_EOS": _sexagesimal(ra / 15, 2, False), "DEC_EOS": _sexagesimal(end, 1, True),
        "RF_NLID": f"norot sat {hemis} 980730",
    }
    header = fits.Header()
    for key, value, comment in TEMPLATE_CARDS:
        if key in ("COMMENT", "HISTORY"):
            header.append((key, value), end=True)
            continue
        if value is None:
            value = values.get(key, 0.0)   # QTxxxx: placeholders until the pixels exist
            if isinstance(value, tuple):
                value, comment = value
        header.append((key, value, comment), end=True)
    header.append(("HISTORY", SYNTHETIC_HISTORY), end=True)
    return header


def _select(stars: Mapping[str, np.ndarray], band: str, spec: AtlasImageSpec) -> dict:
    """Stars of this band (finite magnitude) that can touch the image: a cheap sky cut."""
    mag = np.asarray(stars[f"{band}_m"], float)
    ra, dec = np.asarray(stars["ra"], float), np.asarray(stars["dec"], float)
    margin = (STAMP_RADIUS + 30) / 3600.0
    keep = np.isfinite(mag)
    keep &= np.abs(_along(ra, dec, spec.crval1) - spec.crval2) < spec.naxis2 / 7200 + margin
    keep &= np.abs(_cross(ra, dec, spec.crval1)) < spec.naxis1 / 7200 + margin
    return {"ra": ra[keep], "dec": dec[keep], "m": mag[keep]}


def _add_stars(image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
               sigma: float) -> None:
    """Add normalised Gaussian stamps (sum = flux) at (x, y), vectorised with one bincount."""
    if len(x) == 0:
        return
    ny, nx = image.shape
    k = np.arange(-STAMP_RADIUS, STAMP_RADIUS + 1)
    ix, iy = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
    cols, rows = ix[:, None] + k, iy[:, None] + k                    # (n, 15)
    gx = np.exp(-0.5 * ((cols - x[:, None]) / sigma) ** 2)
    gy = np.exp(-0.5 * ((rows - y[:, None]) / sigma) ** 2)
    gx /= gx.sum(axis=1, keepdims=True)
    gy /= gy.sum(axis=1, keepdims=True)
    values = flux[:, None, None] * gy[:, :, None] * gx[:, None, :]   # (n, 15, 15)
    r = np.broadcast_to(rows[:, :, None], values.shape)
    c = np.broadcast_to(cols[:, None, :], values.shape)
    inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
    flat = r[inside] * nx + c[inside]
    image += np.bincount(flat, weights=values[inside], minlength=nx * ny).reshape(ny, nx)


def noise_kernel(sigma: float = NOISE_KERNEL_SIGMA) -> np.ndarray:
    """The 1-D resampling kernel (sum 1, to 4 sigma): separable, so 2-D smoothing is two passes."""
    half = math.ceil(4 * sigma)
    g = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return g / g.sum()


def coadd_noise(shape: tuple[int, int], skysig: float, rng: np.random.Generator) -> np.ndarray:
    """Noise like a coadd's: white noise of ``skysig`` smoothed by ``noise_kernel``. Drawn on a
    margin of the kernel's half width so that the edges are as correlated as the middle."""
    from numpy.lib.stride_tricks import sliding_window_view as windows

    g = noise_kernel()
    ny, nx = shape
    margin = len(g) - 1
    white = rng.standard_normal((ny + margin, nx + margin), dtype=np.float32).astype(np.float64)
    rows = windows(white, len(g), axis=1) @ g                      # (ny + margin, nx)
    return (windows(rows, len(g), axis=0) @ g) * skysig           # (ny, nx)


def make_image(scan: Mapping, spec: AtlasImageSpec, band: str,
               stars: Mapping[str, np.ndarray], rng: np.random.Generator) -> fits.PrimaryHDU:
    """One Atlas Image in memory: header, sky + noise + stars, NaN edge columns, checksum."""
    header = atlas_header(scan, spec, band)
    wcs = WCS(fits.Header([c for c in header.cards if c.keyword in WCS_KEYS]))
    sky, noise, zp = header["SKYVAL"], header["SKYSIG"], header["MAGZP"]
    image = coadd_noise((spec.naxis2, spec.naxis1), noise, rng) + sky
    chosen = _select(stars, band, spec)
    if len(chosen["ra"]):
        x, y = wcs.all_world2pix(chosen["ra"], chosen["dec"], 0)
        near = ((x > -STAMP_RADIUS - 1) & (x < spec.naxis1 + STAMP_RADIUS)
                & (y > -STAMP_RADIUS - 1) & (y < spec.naxis2 + STAMP_RADIUS))
        flux = 10 ** (-0.4 * (chosen["m"][near] - zp))
        _add_stars(image, x[near], y[near], flux, fwhm_arcsec(header["SEESH"]) / 2.3548)
    data = image.astype(np.float32)
    east, west = NAN_COLUMNS
    valid = data[::2, east:spec.naxis1 - west:2]    # a quarter of the pixels is plenty
    for key, value in zip([f"QT{round(q * 100):04d}" for q in QUANTILES],
                          np.percentile(valid, QUANTILES), strict=True):
        header[key] = round(float(value), 4)
    data[:, :east] = np.nan
    data[:, spec.naxis1 - west:] = np.nan
    hdu = fits.PrimaryHDU(data=data, header=header)
    # astropy rewrites these on construction; restore the real cards (comments, EXTEND)
    hdu.header.comments["SIMPLE"] = hdu.header.comments["BITPIX"] = ""
    hdu.header.comments["NAXIS"] = "# of Axes"
    hdu.header.set("EXTEND", True, "TAPE MAY HAVE STANDARD FITS EXTENSIONS", after="BLOCKED")
    hdu.add_checksum(when=CHECKSUM_WHEN)
    return hdu


def image_bytes(hdu: fits.PrimaryHDU) -> bytes:
    """The FITS file of a ``make_image`` HDU, cards in the real order. astropy's writer would
    move EXTEND before BLOCKED; moving whole 80-byte cards keeps CHECKSUM valid either way."""
    data = np.ascontiguousarray(hdu.data, dtype=">f4").tobytes()
    return (hdu.header.tostring(endcard=True, padding=True).encode("ascii")
            + data + b"\0" * (-len(data) % 2880))


def _image_rng(seed: int, band: str, index: int) -> np.random.Generator:
    """One stream per image: any single image can be rebuilt on its own."""
    return np.random.default_rng([int(seed), BANDS.index(band), int(index)])


def write_scan_images(scan: Mapping, stars: Mapping[str, np.ndarray], outdir: Path | str, *,
                      seed: int) -> list[Path]:
    """Write the scan's 69 Atlas Images (J, H, Ks x 23) into ``outdir`` (the caller passes
    ``<night>/s<scan:03d>/image/``); each file is written under a temporary name and renamed,
    so a crash never leaves a half-written ``*.fits``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    layout = atlas_layout(scan)
    ra = np.asarray(stars["ra"], float)
    dec = np.asarray(stars["dec"], float)
    along = _along(ra, dec, layout[0].crval1)
    order = np.argsort(along, kind="stable")
    sorted_along = along[order]
    paths = []
    for band in BANDS:
        for spec in layout:
            half = spec.naxis2 / 7200 + (STAMP_RADIUS + 30) / 3600
            lo, hi = np.searchsorted(sorted_along, [spec.crval2 - half, spec.crval2 + half])
            rows = order[lo:hi]
            subset = {"ra": ra[rows], "dec": dec[rows],
                      f"{band}_m": np.asarray(stars[f"{band}_m"], float)[rows]}
            hdu = make_image(scan, spec, band, subset, _image_rng(seed, band, spec.index))
            path = outdir / file_name(band, scan["scan"], spec.image)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(image_bytes(hdu))
            partial.replace(path)
            paths.append(path)
    return paths
