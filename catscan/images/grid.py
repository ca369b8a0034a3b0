"""The J2000 grid of a picture: which RA and Dec lines to draw, where they run in the
picture, and their labels, from the cutout's WCS (astropy), with no plotting library.

Spacings are round values (RA in seconds of time, Dec in arcseconds) giving 2-5 lines
across the field; each line is sampled finely along the field and projected, so lines
curve as they should near a pole. Labels say the value once, sexagesimal: ``0h42m40s`` on
the bottom edge for RA, ``+41°16'`` on the left edge for Dec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

RA_STEPS_S = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
              7200, 10800, 21600)                                     # seconds of time
DEC_STEPS_AS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000,
                36000)                                                # arcseconds
MAX_LINES = 5
SAMPLES = 96


@dataclass(frozen=True)
class GridLine:
    """One grid line: ``kind`` 'ra' or 'dec', its value (degrees), its label, and the
    picture pixels (u right, v down; 0-based centres) it runs through inside the field, as
    runs of points (a line may leave the field and come back)."""
    kind: str
    value: float
    label: str
    runs: list[list[tuple[float, float]]]

    @property
    def points(self) -> list[tuple[float, float]]:
        return [p for run in self.runs for p in run]


def to_picture(x, y, ny: int, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """FITS pixel (0-based x, y up) -> picture pixel (u, v down) at ``zoom``."""
    return (np.asarray(x) + 0.5) * zoom - 0.5, (ny - 0.5 - np.asarray(y)) * zoom - 0.5


def _step(span: float, steps: tuple) -> float:
    for step in steps:
        if span / step <= MAX_LINES:
            return float(step)
    return float(steps[-1])


def _field(wcs: WCS, shape: tuple[int, int]) -> tuple[float, float, float, float, float]:
    """RA range (unwrapped about the centre), Dec range and the centre RA of the field,
    from points along its border; the whole circle of RA when a pole is inside."""
    ny, nx = shape
    t = np.linspace(0, 1, 401)
    xs = np.r_[t * 0, t, t * 0 + 1, t] * nx - 0.5
    ys = np.r_[t, t * 0, t, t * 0 + 1] * ny - 0.5
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    centre_ra, centre_dec = wcs.all_pix2world([(nx - 1) / 2], [(ny - 1) / 2], 0)
    c = float(centre_ra[0])
    unwrapped = c + (ra - c + 180.0) % 360.0 - 180.0
    dec_lo, dec_hi = float(dec.min()), float(dec.max())
    for pole in (90.0, -90.0):
        px, py = wcs.all_world2pix([0.0], [pole], 0)
        if np.isfinite(px[0]) and -0.5 <= px[0] <= nx - 0.5 and -0.5 <= py[0] <= ny - 0.5:
            return c - 180.0, c + 180.0, min(dec_lo, pole), max(dec_hi, pole), c
    # extremes may fall between border samples: pad by 1 %
    pad_ra = 0.01 * (unwrapped.max() - unwrapped.min())
    pad_dec = 0.01 * (dec_hi - dec_lo)
    return (float(unwrapped.min()) - pad_ra, float(unwrapped.max()) + pad_ra,
            max(dec_lo - pad_dec, -90.0), min(dec_hi + pad_dec, 90.0), c)


def ra_label(ra: float, step_s: float) -> str:
    """``0h42m40s``; tenths of a second when the step is finer than a second."""
    decimals = 1 if step_s < 1 else 0
    total = round((ra % 360.0) / 15.0 * 3600.0, decimals) % 86400
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:0{3 + decimals}.{decimals}f}" if decimals else f"{int(round(s)):02d}"
    return f"{int(h)}h{int(m):02d}m{sec}s"


def dec_label(dec: float, step_as: float) -> str:
    """``+41°16'``, with seconds when the step is finer than a minute."""
    sign = "-" if dec < -1e-9 else "+"
    total = round(abs(dec) * 3600.0)
    d, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    text = f"{sign}{d}°{m:02d}'"
    return text + f'{s:02d}"' if step_as < 60 else text


def grid_lines(wcs: WCS, shape: tuple[int, int], zoom: float = 1.0) -> list[GridLine]:
    """RA and Dec lines crossing a field of ``shape`` (ny, nx) pixels, in picture pixels."""
    ny, nx = shape
    ra_lo, ra_hi, dec_lo, dec_hi, _ = _field(wcs, shape)
    ra_step_s = _step((ra_hi - ra_lo) * 240.0, RA_STEPS_S)       # 240 s of time per degree
    dec_step_as = _step((dec_hi - dec_lo) * 3600.0, DEC_STEPS_AS)
    ra_step, dec_step = ra_step_s / 240.0, dec_step_as / 3600.0
    lines = []
    dec_samples = np.linspace(max(dec_lo, -90.0), min(dec_hi, 90.0), SAMPLES)
    first = math.ceil(ra_lo / ra_step - 1e-9)
    for k in range(first, int(math.floor(ra_hi / ra_step + 1e-9)) + 1):
        value = (k * ra_step) % 360.0
        if ra_hi - ra_lo >= 360.0 - 1e-9 and k * ra_step >= ra_lo + 360.0 - 1e-9:
            continue                                       # the same meridian twice
        runs = _project(wcs, np.full(SAMPLES, value), dec_samples, shape, zoom)
        if runs:
            lines.append(GridLine("ra", value, ra_label(value, ra_step_s), runs))
    ra_samples = np.linspace(ra_lo, ra_hi, SAMPLES * 2) % 360.0
    first = math.ceil(dec_lo / dec_step - 1e-9)
    for k in range(first, int(math.floor(dec_hi / dec_step + 1e-9)) + 1):
        value = k * dec_step
        if abs(value) >= 90.0:
            continue
        runs = _project(wcs, ra_samples, np.full(len(ra_samples), value), shape, zoom)
        if runs:
            lines.append(GridLine("dec", value, dec_label(value, dec_step_as), runs))
    return lines


def _project(wcs: WCS, ra: np.ndarray, dec: np.ndarray, shape: tuple[int, int],
             zoom: float) -> list[list[tuple[float, float]]]:
    """Runs of picture points of a line inside the field, each with the sample just beyond
    either end so that lines reach the picture's edges."""
    ny, nx = shape
    x, y = wcs.all_world2pix(ra, dec, 0)
    ok = np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x <= nx - 0.5) & \
        (y >= -0.5) & (y <= ny - 0.5)
    u, v = to_picture(x, y, ny, zoom)
    runs = []
    index = np.flatnonzero(ok)
    for run in np.split(index, np.flatnonzero(np.diff(index) > 1) + 1):
        if not len(run):
            continue
        lo, hi = max(run[0] - 1, 0), min(run[-1] + 1, len(x) - 1)
        points = [(float(u[i]), float(v[i])) for i in range(lo, hi + 1)
                  if np.isfinite(u[i]) and np.isfinite(v[i])]
        if len(points) >= 2:
            runs.append(points)
    return runs
