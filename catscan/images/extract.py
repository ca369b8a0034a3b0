"""Cutouts of the Atlas Images: J, H and Ks sub-images up to 5'x5', or the whole Atlas
Image holding a position, as the 1998 Image Atlas Server gave them.

Per band, the candidates are the images near the position, best first (find.py):

- ``sub``: if the best image holds the whole box with data in every pixel, its own pixels
  (``section``: only the tiles the box touches are decompressed) with its own header, CRPIX
  shifted; otherwise, when other images reach into the box (straddling two images of a scan
  or two scans), a mosaic on one north-up SIN grid (mosaic.py); when no other image
  helps, the best image's pixels with the part beyond its data blank (NaN). Blank pixels
  are flagged by ``COVERAGE`` < 1 in the header and the row.
- ``whole``: the best image holding the position, every pixel, the original header.

The same code serves :func:`cutout` (astropy HDUs), the CLI, and the SQL table function
``image_cutout`` (udfs/images.py), which passes in the candidate rows it selected itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from astropy import units as u
from astropy.io import fits

from ..positions import PositionError, parse_angle, parse_position
from .errors import ImageError
from .find import connection, parse_bands
from .headers import Cards
from .mosaic import Contributor, grid_wcs, mosaic
from .store import StoredImage, open_image

MAX_SUB_ARCMIN = 5.0            # the Image Atlas Server's limit
MAX_LARGE_ARCMIN = 30.0         # with allow_large: at most ~4 x 2 images per band
MODES = ("sub", "whole")
WCS_CARDS = ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2",
             "CROTA1", "CROTA2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2",
             "PC2_1", "PC2_2", "WCSAXES", "CUNIT1", "CUNIT2", "LONPOLE", "LATPOLE")
CANDIDATE_SQL = ("SELECT coadd_key, band, date, hemis, scan, image, fname, edge_distance, "
                 "fits FROM images_near(?, ?, ?) WHERE band IN (SELECT unnest(?)) "
                 "ORDER BY edge_distance DESC, strpos('jhk', band), coadd_key")


@dataclass(frozen=True)
class Candidate:
    """An image offered for a cutout: its index values and compressed FITS bytes."""
    coadd_key: int
    band: str
    date: dt.date
    hemis: str
    scan: int
    image: int
    fname: str
    edge_distance: float                 # degrees from the position to its nearest edge
    fits: bytes = field(repr=False)

    @property
    def label(self) -> str:
        """``971024n ji0080043.fits``: the night and the file name."""
        return f"{self.date:%y%m%d}{self.hemis} {self.fname}"


@dataclass
class BandCutout:
    """One band of a cutout: its pixels and header, where they came from, how much has
    data. The astropy HDU is made on first use (the SQL function only needs the bytes)."""
    band: str
    data: np.ndarray = field(repr=False)
    cards: Cards = field(repr=False)
    best: Candidate                      # the reference image (WCS, MAGZP)
    sources: list[Candidate]             # images that gave pixels, best first
    mode: str                            # sub | whole
    mosaic: bool
    coverage: float                      # fraction of pixels with data (1: none blank)
    bounds: tuple[int, int, int, int]    # x_min, x_max, y_min, y_max in the best image
                                         # (1-based FITS pixels, inclusive; may overhang)

    @cached_property
    def hdu(self) -> fits.PrimaryHDU:
        """The FITS file as an astropy HDU with native float32 pixels (astropy puts EXTEND
        right after NAXISn; the bytes keep the delivered order)."""
        hdu = fits.PrimaryHDU.fromstring(self.fits_bytes())
        hdu.data = np.array(self.data, dtype=np.float32)
        return hdu

    @property
    def header(self) -> fits.Header:
        return self.hdu.header

    def fits_bytes(self) -> bytes:
        """The cutout as a FITS file (big-endian float32 pixels)."""
        pixels = np.ascontiguousarray(self.data, dtype=">f4").tobytes()
        return (self.cards.text().encode("ascii") + pixels + bytes(-len(pixels) % 2880))

    def row(self) -> dict:
        """The SQL table function's row (udfs/images.py)."""
        get = self.cards.get
        x_min, x_max, y_min, y_max = self.bounds
        return {
            "band": self.band, "coadd_keys": [c.coadd_key for c in self.sources],
            "fnames": [c.fname for c in self.sources], "date": self.best.date,
            "hemis": self.best.hemis, "scan": self.best.scan, "image": self.best.image,
            "mode": self.mode, "mosaic": self.mosaic, "coverage": self.coverage,
            "x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max,
            "naxis1": int(self.data.shape[1]), "naxis2": int(self.data.shape[0]),
            "ctype1": get("CTYPE1"), "ctype2": get("CTYPE2"),
            **{k.lower(): float(get(k)) for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
                                                   "CDELT1", "CDELT2")},
            "crota2": float(get("CROTA2") or 0.0), "magzp": float(get("MAGZP")),
            "fits": self.fits_bytes(),
        }


def size_arcmin(size) -> float:
    """A cutout size in arcmin from a number (arcmin), a text with a unit, or a Quantity."""
    if isinstance(size, u.Quantity):
        return float(size.to_value(u.arcmin))
    if isinstance(size, str):
        try:
            return parse_angle(size, unit=u.arcmin) * 60.0
        except PositionError as exc:
            raise ImageError(f"size: {exc}") from None
    return float(size)


def check_request(ra: float, dec: float, size: float, mode: str, allow_large: bool) -> None:
    """Refuse impossible positions, sizes and modes with a message saying what to do."""
    if not (math.isfinite(ra) and math.isfinite(dec) and -90 <= dec <= 90):
        raise ImageError(f"position {ra} {dec}: RA and Dec in degrees, Dec in [-90, 90]")
    if mode not in MODES:
        raise ImageError(f"mode {mode!r}: 'sub' (a sub-image) or 'whole' (the Atlas Image)")
    if mode == "whole":
        return
    if not (math.isfinite(size) and size > 0):
        raise ImageError(f"size {size}': give a size above 0, up to {MAX_SUB_ARCMIN:g}'")
    if size > MAX_LARGE_ARCMIN:
        raise ImageError(f"size {size:g}' is larger than {MAX_LARGE_ARCMIN:g}', the most a "
                         "cutout can mosaic; ask for smaller pieces")
    if size > MAX_SUB_ARCMIN + 1e-9 and not allow_large:
        raise ImageError(f"size {size:g}' is larger than the {MAX_SUB_ARCMIN:g}'x"
                         f"{MAX_SUB_ARCMIN:g}' sub-images of the Image Atlas: ask for the "
                         f"whole Atlas Image (--whole), or allow a mosaic up to "
                         f"{MAX_LARGE_ARCMIN:g}' with --allow-large (allow_large=True)")


def make_cutouts(candidates: Sequence[Candidate], ra: float, dec: float, size: float,
                 bands: Sequence[str], mode: str = "sub") -> list[BandCutout]:
    """Cutouts from candidate images (best first, as the SQL gives them), one per band that
    has data; arguments already checked by :func:`check_request`."""
    geometry: dict = {}
    out = []
    for band in bands:
        offered = [c for c in candidates if c.band == band]
        if mode == "whole":
            holding = [c for c in offered if c.edge_distance >= 0]
            if holding:
                out.append(_whole(holding[0], ra, dec))
        elif offered:
            result = _sub(offered, ra, dec, size, geometry)
            if result is not None:
                out.append(result)
    return out


def _sub(offered: list[Candidate], ra: float, dec: float, size: float,
         geometry: dict) -> BandCutout | None:
    best = offered[0]
    image = open_image(best.fits)
    npix = max(1, round(size / 60.0 / image.pixel_deg))
    x, y = (float(v) for v in image.wcs.wcs_world2pix(ra, dec, 0))
    x0, y0 = _start(x, npix), _start(y, npix)
    ny, nx = image.shape
    inside = 0 <= x0 and x0 + npix <= nx and 0 <= y0 and y0 + npix <= ny
    data = None
    if inside:
        data = image.section(y0, y0 + npix, x0, x0 + npix)
        if np.isfinite(data).all():
            return _native(best, image, data, x0, y0, ra, dec, size)
    others = [c for c in offered[1:] if _reaches(open_image(c.fits), image, x0, y0, npix)]
    if others:
        grid = grid_wcs(ra, dec, npix, image.pixel_deg)
        chosen = [best, *others]
        contributors = [_contributor(c) for c in chosen]
        pixels, used = mosaic(grid, npix, contributors, contributors[0], geometry)
        if used and used != [0]:
            return _mosaic(chosen, [chosen[i] for i in used], image, grid, pixels, npix,
                           ra, dec, size)
    if data is None:                       # the box overhangs the image: blank beyond it
        data = np.full((npix, npix), np.nan, np.float32)
        part = image.section(y0, y0 + npix, x0, x0 + npix)
        if part.size:
            ys, xs = max(-y0, 0), max(-x0, 0)
            data[ys:ys + part.shape[0], xs:xs + part.shape[1]] = part
    if not np.isfinite(data).any():
        return None
    return _native(best, image, data, x0, y0, ra, dec, size)


def _start(centre: float, npix: int) -> int:
    """First pixel (0-based) of ``npix`` pixels centred as nearly as possible on ``centre``."""
    return int(math.floor(centre - (npix - 1) / 2.0 + 0.5))


def _reaches(other: StoredImage, image: StoredImage, x0: int, y0: int, npix: int) -> bool:
    """Whether another image's footprint reaches the box (corners of the box in the other
    image's pixels, compared as a bounding box: a superset, sorted out by the mosaic)."""
    corners = np.array([[x0 - 0.5, y0 - 0.5], [x0 + npix - 0.5, y0 - 0.5],
                        [x0 - 0.5, y0 + npix - 0.5], [x0 + npix - 0.5, y0 + npix - 0.5]])
    ra, dec = image.wcs.wcs_pix2world(corners[:, 0], corners[:, 1], 0)
    x, y = other.wcs.wcs_world2pix(ra, dec, 0)
    ny, nx = other.shape
    return bool(x.max() > -0.5 and x.min() < nx - 0.5 and y.max() > -0.5
                and y.min() < ny - 0.5)


def _contributor(candidate: Candidate) -> Contributor:
    image = open_image(candidate.fits)
    return Contributor(image, image.magzp, image.skyval)


def _coverage(data: np.ndarray) -> float:
    return float(np.isfinite(data).mean()) if data.size else 0.0


def _shaped(cards: Cards, data: np.ndarray) -> Cards:
    """The structural cards of float32 pixels of this shape."""
    cards.set("BITPIX", -32)
    cards.set("NAXIS", 2)
    cards.set("NAXIS1", int(data.shape[1]))
    cards.set("NAXIS2", int(data.shape[0]))
    return cards


def _native(best: Candidate, image: StoredImage, data: np.ndarray, x0: int, y0: int,
            ra: float, dec: float, size: float) -> BandCutout:
    cards = _shaped(image.cards.copy(), data)
    cards.set("CRPIX1", image.crpix[0] - x0)
    cards.set("CRPIX2", image.crpix[1] - y0)
    npix_y, npix_x = data.shape
    bounds = (x0 + 1, x0 + npix_x, y0 + 1, y0 + npix_y)
    coverage = _coverage(data)
    _provenance(cards, "sub", ra, dec, size, False, coverage, bounds, [best])
    return BandCutout(best.band, data, cards, best, [best], "sub", False, coverage, bounds)


def _mosaic(chosen: list[Candidate], used: list[Candidate], image: StoredImage, grid,
            pixels: np.ndarray, npix: int, ra: float, dec: float, size: float) -> BandCutout:
    best = chosen[0]
    cards = _shaped(image.cards.copy(), pixels)
    cards.remove(*WCS_CARDS)
    w = grid.wcs
    after = "NAXIS2"
    for key, value, comment in (
            ("CTYPE1", "RA---SIN", "Orthographic Projection"),
            ("CTYPE2", "DEC--SIN", "Orthographic Projection"),
            ("CRPIX1", float(w.crpix[0]), "Axis 1 Reference Pixel"),
            ("CRPIX2", float(w.crpix[1]), "Axis 2 Reference Pixel"),
            ("CRVAL1", float(w.crval[0]), "RA  at the cutout centre, J2000 (deg)"),
            ("CRVAL2", float(w.crval[1]), "Dec at the cutout centre, J2000 (deg)"),
            ("CROTA2", 0.0, "North up"),
            ("CDELT1", float(w.cdelt[0]), "Axis 1 Pixel Size (degs)"),
            ("CDELT2", float(w.cdelt[1]), "Axis 2 Pixel Size (degs)")):
        cards.set(key, value, comment, after=after)
        after = key
    # where the grid lies in the best image (its corners), 1-based
    edge = np.array([0, npix - 1], float)
    gx, gy = np.meshgrid(edge, edge)
    cra, cdec = grid.wcs_pix2world(gx.ravel(), gy.ravel(), 0)
    bx, by = image.wcs.wcs_world2pix(cra, cdec, 0)
    bounds = (int(round(bx.min())) + 1, int(round(bx.max())) + 1,
              int(round(by.min())) + 1, int(round(by.max())) + 1)
    coverage = _coverage(pixels)
    _provenance(cards, "sub", ra, dec, size, True, coverage, bounds, used)
    return BandCutout(best.band, pixels, cards, best, used, "sub", True, coverage, bounds)


def _whole(best: Candidate, ra: float, dec: float) -> BandCutout:
    header, data = open_image(best.fits).whole()
    ny, nx = data.shape
    bounds = (1, nx, 1, ny)
    coverage = _coverage(data)
    cards = Cards.of(header)
    _provenance(cards, "whole", ra, dec, None, False, coverage, bounds, [best])
    return BandCutout(best.band, data, cards, best, [best], "whole", False, coverage, bounds)


def _provenance(cards: Cards, mode: str, ra: float, dec: float, size: float | None,
                mosaicked: bool, coverage: float, bounds: tuple, sources: list[Candidate]
                ) -> None:
    """catscan's cards at the end of the header: what was asked, where the pixels came
    from, how much of the cutout has data."""
    rows = [("CUTMODE", mode, "catscan cutout: sub-image or whole Atlas Image"),
            ("CUTRA", round(float(ra) % 360.0, 8), "requested centre RA, J2000 (deg)"),
            ("CUTDEC", round(float(dec), 8), "requested centre Dec, J2000 (deg)")]
    if size is not None:
        rows.append(("CUTSIZE", round(float(size), 6), "requested size (arcmin)"))
    rows += [("MOSAIC", mosaicked, "pixels resampled from several Atlas Images"),
             ("COVERAGE", round(coverage, 6), "fraction of pixels with data (rest blank)"),
             ("CUTX0", bounds[0], "first column in the best image (1-based)"),
             ("CUTX1", bounds[1], "last column in the best image"),
             ("CUTY0", bounds[2], "first row in the best image (1-based)"),
             ("CUTY1", bounds[3], "last row in the best image"),
             ("NIMAGES", len(sources), "Atlas Images giving pixels, best first")]
    rows += [(f"IMAGE{i}", c.label, "night and file of an Atlas Image")
             for i, c in enumerate(sources, start=1)]
    for key, value, comment in rows:
        cards.set(key, value, comment)


# ----------------------------------------------------------------------------- Python API


def _position(ra, dec) -> tuple[float, float]:
    if isinstance(ra, str) or isinstance(dec, str):
        return parse_position(str(ra), str(dec))
    return float(ra) % 360.0, float(dec)


def candidates(con, ra: float, dec: float, size: float, bands: Sequence[str], mode: str
               ) -> list[Candidate]:
    """The images a cutout may use, best first: within the box's half-diagonal (``sub``)
    or holding the position (``whole``); the same selection as the SQL macro."""
    radius = 0.0 if mode == "whole" else size / 60.0 * math.sqrt(0.5)
    rows = con.execute(CANDIDATE_SQL, [ra, dec, radius, list(bands)]).fetchall()
    return [Candidate(*row) for row in rows]


def cutouts(ra, dec, size=MAX_SUB_ARCMIN, *, bands: str = "JHK", whole: bool = False,
            allow_large: bool = False, db=None) -> list[BandCutout]:
    """Cutouts with their provenance, one per band with data (see :func:`cutout`)."""
    ra, dec = _position(ra, dec)
    size = size_arcmin(size)
    mode = "whole" if whole else "sub"
    check_request(ra, dec, size, mode, allow_large)
    wanted = parse_bands(bands)
    with connection(db) as con:
        offered = candidates(con, ra, dec, size, wanted, mode)
    result = make_cutouts(offered, ra, dec, size, wanted, mode)
    if not result:
        what = "holds" if whole else f"reaches a {size:g}' box around"
        raise ImageError(f"no Atlas Image {what} {ra:.5f} {dec:+.5f} "
                         f"(bands {''.join(wanted).upper()}); `catscan findtile` tells "
                         "whether the position was observed")
    return result


def cutout(ra, dec, size=MAX_SUB_ARCMIN, *, bands: str = "JHK", whole: bool = False,
           allow_large: bool = False, db=None) -> list[fits.PrimaryHDU]:
    """J, H, Ks cutouts at a position as astropy HDUs, one per band with data, in the order
    of ``bands``. ``size``: arcmin (a number), or a text or Quantity with a unit, up to 5'
    (30' with ``allow_large``: a mosaic); ``whole``: the whole best Atlas Image instead.
    ``db``: an open catscan connection, a database path, or None for the default database.
    Positions: degrees, or texts as ``catscan.positions`` reads them."""
    return [c.hdu for c in cutouts(ra, dec, size, bands=bands, whole=whole,
                                   allow_large=allow_large, db=db)]
