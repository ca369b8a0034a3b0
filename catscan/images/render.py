"""Pictures of cutouts: PNG of one band (asinh or zscale stretch) and J/H/Ks colour
composites (astropy's ``make_lupton_rgb``: Ks red, H green, J blue), with an optional J2000
grid (grid.py) and circles at catalogue positions, drawn with Pillow; no matplotlib.

Each band is sky-subtracted (SKYVAL) and put on one flux scale through its MAGZP before the
composite, so that colours mean J-H and H-Ks. Pixels without data (NaN: beyond the survey's
coverage or an image's blank edge columns) are hatched grey, never black, so that the edge
of coverage shows. Pictures are north up, east left (the FITS y axis is flipped
for PNG rows), enlarged ``zoom`` times (default: about 600 pixels across) so that labels
stay readable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.visualization import (
    AsinhStretch,
    AsymmetricPercentileInterval,
    LinearStretch,
    ZScaleInterval,
    make_lupton_rgb,
)
from astropy.wcs import WCS
from PIL import Image, ImageDraw, ImageFont

from .errors import ImageError
from .grid import GridLine, grid_lines, to_picture

GRID = (120, 230, 120)             # the 1998 visualizer's green
OVERLAY = (255, 90, 90)
BLANK, BLANK_STRIPE = (78, 78, 78), (40, 40, 40)       # hatching where there is no data
STRETCHES = ("asinh", "zscale")
TARGET_SIZE = 600                  # picture pixels across, about
OVERLAY_RADIUS_ARCSEC = 5.0
COMPOSITE_ORDER = ("k", "h", "j")  # red, green, blue


def _data_header(item) -> tuple[np.ndarray, fits.Header]:
    """Pixels and header of a BandCutout or an astropy image HDU."""
    if hasattr(item, "cards"):
        return item.data, item.cards.header()
    if isinstance(item, fits.hdu.base._BaseHDU) and item.data is not None:
        return item.data, item.header
    raise ImageError(f"not an image: {type(item).__name__}")


def default_zoom(shape: tuple[int, int]) -> int:
    return max(1, min(8, round(TARGET_SIZE / max(shape))))


def _sky_subtracted(data: np.ndarray, header: fits.Header) -> np.ndarray:
    sky = header.get("SKYVAL")
    finite = data[np.isfinite(data)]
    if not isinstance(sky, int | float) or not math.isfinite(sky):
        sky = float(np.median(finite)) if finite.size else 0.0
    return data.astype(np.float64) - sky


def _noise(values: np.ndarray) -> float:
    """Robust per-pixel noise: 1.4826 x the median absolute deviation."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values)))) if values.size \
        else 0.0


def stretch(data: np.ndarray, method: str = "asinh") -> np.ndarray:
    """Values in [0, 1] (NaN stays NaN). ``asinh``: from 2 sigma below the sky to the
    brightest pixels (at least 50 sigma above it; astropy's AsinhStretch, a=0.1), so the sky
    is dark grey, faint stars show and bright cores do not saturate, in sparse and crowded
    fields alike; ``zscale``: IRAF's zscale interval, linear."""
    if method not in STRETCHES:
        raise ImageError(f"stretch {method!r}: choose {' or '.join(STRETCHES)}")
    finite = data[np.isfinite(data)]
    if not finite.size:
        return np.full(data.shape, np.nan)
    if method == "asinh":
        sky, sigma = float(np.median(finite)), _noise(finite)
        top = AsymmetricPercentileInterval(0.0, 99.99).get_limits(finite)[1]
        low, high = sky - 2 * sigma, max(top, sky + 50 * sigma)
        curve = AsinhStretch(a=0.1)
    else:
        (low, high), curve = ZScaleInterval().get_limits(finite), LinearStretch()
    scaled = np.clip((data - low) / max(high - low, 1e-12), 0.0, 1.0)
    out = curve(np.nan_to_num(scaled), clip=True)
    return np.where(np.isfinite(data), out, np.nan)


def _picture(rgb: np.ndarray, blank: np.ndarray, zoom: int) -> Image.Image:
    """An RGB picture from (ny, nx, 3) uint8 in FITS orientation: north up, enlarged, and
    blank pixels hatched in two greys (no data there, unlike dark sky)."""
    rgb = np.flipud(rgb)
    blank = np.flipud(blank)
    if zoom != 1:
        rgb = np.repeat(np.repeat(rgb, zoom, axis=0), zoom, axis=1)
        blank = np.repeat(np.repeat(blank, zoom, axis=0), zoom, axis=1)
    rgb = rgb.copy()
    if blank.any():
        v, u = np.nonzero(blank)
        stripe = ((u + v) // 6) % 2 == 0
        rgb[v[stripe], u[stripe]] = BLANK
        rgb[v[~stripe], u[~stripe]] = BLANK_STRIPE
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


def band_picture(item, method: str = "asinh", zoom: int | None = None) -> Image.Image:
    """One band, grey levels."""
    data, _ = _data_header(item)
    values = stretch(np.asarray(data, dtype=np.float64), method)
    blank = ~np.isfinite(values)
    grey = np.round(np.nan_to_num(values) * 255).astype(np.uint8)
    return _picture(np.repeat(grey[:, :, None], 3, axis=2), blank,
                    zoom or default_zoom(data.shape))


def composite_picture(items: Sequence, zoom: int | None = None) -> Image.Image:
    """J, H, Ks cutouts of one field (any order) -> Ks red, H green, J blue."""
    by_band = {}
    for item in items:
        data, header = _data_header(item)
        by_band[str(header.get("FILTER", getattr(item, "band", ""))).strip().lower()] = (
            data, header)
    missing = [b.upper() for b in COMPOSITE_ORDER[::-1] if b not in by_band]
    if missing:
        raise ImageError(f"a composite needs J, H and Ks; no {', '.join(missing)} here")
    shapes = {by_band[b][0].shape for b in COMPOSITE_ORDER}
    grids = {tuple(round(float(by_band[b][1].get(k, 0.0)), 9)
                   for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2",
                             "CROTA2")) for b in COMPOSITE_ORDER}
    if len(shapes) != 1 or len(grids) != 1:
        raise ImageError("the J, H and Ks cutouts are on different pixel grids")
    planes, noise = [], []
    for band in COMPOSITE_ORDER:
        data, header = by_band[band]
        # flux relative to a star of magnitude 20, whatever the band's zero point
        flux = _sky_subtracted(data, header) * 10 ** (-0.4 * (header["MAGZP"] - 20.0))
        planes.append(flux)
        noise.append(_noise(flux[np.isfinite(flux)]))
    blank = ~(np.isfinite(planes[0]) & np.isfinite(planes[1]) & np.isfinite(planes[2]))
    sigma = max(max(noise), 1e-12)
    r, g, b = (np.nan_to_num(p) for p in planes)
    # black up to 2 sigma of each band's sky noise (else the noisiest band, Ks, speckles
    # the sky red); a 10-sigma pixel at ~40 % brightness, 100 sigma at ~75 %: faint stars
    # show, bright ones keep their colour
    rgb = make_lupton_rgb(r, g, b, minimum=[2.0 * n for n in noise], stretch=5.0 * sigma,
                          Q=8)
    return _picture(rgb, blank, zoom or default_zoom(r.shape))


def _font(zoom: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=max(11, 6 * zoom))


def draw_grid(image: Image.Image, wcs: WCS, shape: tuple[int, int], zoom: int
              ) -> list[GridLine]:
    """RA/Dec lines with labels (RA on the bottom edge, Dec on the left), drawn in place;
    returns the lines drawn."""
    lines = grid_lines(wcs, shape, zoom)
    draw = ImageDraw.Draw(image)
    width = 1 if zoom < 4 else 2
    for line in lines:
        for run in line.runs:
            draw.line(run, fill=GRID, width=width)
    font = _font(zoom)
    taken: list[tuple[float, float, float, float]] = []
    for line in lines:
        anchor = _anchor(line, image.width, image.height, zoom)
        if anchor is None:
            continue
        edge, u, v = anchor
        left, top, right, bottom = draw.textbbox((0, 0), line.label, font=font)
        w, h = right - left, bottom - top
        x = {"bottom": u - w / 2, "top": u - w / 2, "left": 4, "right": image.width - w - 4}
        y = {"bottom": image.height - h - 6, "top": 4, "left": v - h - 4, "right": v - h - 4}
        box = (min(max(x[edge], 2), image.width - w - 2),
               min(max(y[edge], 2), image.height - h - 6))
        rect = (box[0] - 2, box[1] - 2, box[0] + w + 2, box[1] + h + 4)
        if any(rect[0] < t[2] and t[0] < rect[2] and rect[1] < t[3] and t[1] < rect[3]
               for t in taken):
            continue                                          # would hide another label
        taken.append(rect)
        draw.text((box[0] - left, box[1] - top), line.label, fill=GRID, font=font,
                  stroke_width=2, stroke_fill=(0, 0, 0))
    return lines


def _anchor(line: GridLine, width: int, height: int, zoom: int
            ) -> tuple[str, float, float] | None:
    """Where a line leaves the picture, for its label: RA lines preferably at the bottom
    (else the top), Dec lines at the left (else the right); None if it ends inside (at a
    pole)."""
    prefer = ("bottom", "top", "left", "right") if line.kind == "ra" else \
        ("left", "right", "bottom", "top")
    tolerance = 2 * zoom + 2
    found: dict[str, tuple[float, float]] = {}
    for run in line.runs:
        for u, v in (run[0], run[-1]):
            gaps = {"left": u, "right": width - 1 - u, "top": v, "bottom": height - 1 - v}
            edge = min(gaps, key=gaps.get)
            if gaps[edge] <= tolerance:
                found.setdefault(edge, (min(max(u, 0), width - 1), min(max(v, 0), height - 1)))
    edge = next((e for e in prefer if e in found), None)
    return None if edge is None else (edge, *found[edge])


def draw_circles(image: Image.Image, wcs: WCS, shape: tuple[int, int], zoom: int,
                 ra: Sequence[float], dec: Sequence[float],
                 radius_arcsec: float = OVERLAY_RADIUS_ARCSEC) -> int:
    """Circles at sky positions (those inside the picture); returns how many were drawn."""
    if not len(ra):
        return 0
    x, y = wcs.all_world2pix(np.asarray(ra, float), np.asarray(dec, float), 0)
    u, v = to_picture(x, y, shape[0], zoom)
    scale = float(np.mean([s.to_value("arcsec") for s in wcs.proj_plane_pixel_scales()]))
    r = max(radius_arcsec / scale * zoom, 3.0)
    draw = ImageDraw.Draw(image)
    drawn = 0
    for ui, vi in zip(u, v, strict=True):
        if -r <= ui <= image.width + r and -r <= vi <= image.height + r:
            draw.ellipse((ui - r, vi - r, ui + r, vi + r), outline=OVERLAY,
                         width=1 if zoom < 4 else 2)
            drawn += 1
    return drawn


def decorate(image: Image.Image, item, zoom: int, *, grid: bool = False,
             overlay: tuple[Sequence[float], Sequence[float]] | None = None) -> Image.Image:
    """Grid and overlay on a picture of ``item``'s field."""
    data, header = _data_header(item)
    wcs = WCS(header)
    if overlay is not None:
        draw_circles(image, wcs, data.shape, zoom, *overlay)
    if grid:
        draw_grid(image, wcs, data.shape, zoom)
    return image


def _save(image: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ImageError(f"{path}: pictures are written as PNG (give a .png name)")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=False)
    return path


def band_png(item, path: str | Path, *, method: str = "asinh", grid: bool = False,
             overlay=None, zoom: int | None = None) -> Path:
    """A PNG of one band of a cutout (a BandCutout or an astropy image HDU)."""
    data, _ = _data_header(item)
    zoom = zoom or default_zoom(data.shape)
    image = band_picture(item, method, zoom)
    return _save(decorate(image, item, zoom, grid=grid, overlay=overlay), path)


def composite_png(items: Sequence, path: str | Path, *, grid: bool = False, overlay=None,
                  zoom: int | None = None) -> Path:
    """A J/H/Ks colour PNG of a cutout's three bands."""
    data, _ = _data_header(items[0])
    zoom = zoom or default_zoom(data.shape)
    image = composite_picture(items, zoom)
    return _save(decorate(image, items[0], zoom, grid=grid, overlay=overlay), path)
