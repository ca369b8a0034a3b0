"""Mosaicking Atlas Images onto one grid: a cutout that no single image holds.

The grid is north up, SIN-projected about the cutout's centre, with the images' own pixel
size (1"), as the Atlas Images themselves. Every grid pixel takes its value from the image
in which it lies farthest from an edge (Montage's mBestImage rule, pixel by pixel), so the
seams fall in the middle of the overlaps; where that image is blank (its NaN edge columns)
the next best fills in; where no image has data the pixel stays NaN (blank). Values are
sampled bilinearly, ignoring blank neighbours, and brought to the reference image's
photometric scale: ``(v - SKYVAL) * 10**(0.4 * (MAGZP_ref - MAGZP)) + SKYVAL_ref``, so
sky-subtracted fluxes through the reference MAGZP give the catalogue magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from .store import StoredImage


def grid_wcs(ra: float, dec: float, npix: int, pixel_deg: float) -> WCS:
    """A north-up SIN grid of ``npix`` x ``npix`` pixels centred on (ra, dec)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [float(ra) % 360.0, float(dec)]
    wcs.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    wcs.wcs.cdelt = [-pixel_deg, pixel_deg]
    wcs.wcs.set()
    return wcs


def grid_pixels(grid: WCS, npix: int, image_wcs: WCS, step: int = 16
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (0-based x, y) in an image of every grid pixel. The mapping between
    two projections of a few arcminutes is smooth: it is computed exactly on a coarse lattice
    (every ``step`` pixels and the last one) and interpolated bilinearly in between, which
    errs by far less than 0.001 px (checked in the tests) at a tenth of the cost."""
    nodes = np.unique(np.r_[np.arange(0, npix, step), npix - 1]).astype(float)
    gx, gy = np.meshgrid(nodes, nodes)
    ra, dec = grid.wcs_pix2world(gx, gy, 0)
    x, y = image_wcs.wcs_world2pix(ra, dec, 0)
    full = np.arange(npix, dtype=float)
    return _interpolate(nodes, x, full), _interpolate(nodes, y, full)


def _interpolate(nodes: np.ndarray, values: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a lattice (rows = y nodes, columns = x nodes) at every
    pixel, separably: along x for each node row, then along y."""
    i = np.clip(np.searchsorted(nodes, full, side="right") - 1, 0, max(len(nodes) - 2, 0))
    j = np.minimum(i + 1, len(nodes) - 1)
    span = np.where(j > i, nodes[j] - nodes[i], 1.0)
    f = (full - nodes[i]) / span
    rows = values[:, i] * (1 - f) + values[:, j] * f              # (ny_nodes, n)
    return rows[i] * (1 - f)[:, None] + rows[j] * f[:, None]       # (n, n)


@dataclass
class Geometry:
    """Where the grid's pixels fall in one image, and their bilinear neighbours and weights
    inside the section they need: computed once, shared by the J, H and Ks images (one WCS
    for the set)."""
    room: np.ndarray                     # pixels to the image's nearest edge (-inf outside)
    inside: np.ndarray                   # flat indices of grid pixels inside the image
    bounds: tuple[int, int, int, int]    # y0, y1, x0, x1 of the section to read
    neighbours: np.ndarray               # (4, n) flat indices into the section
    weights: np.ndarray                  # (4, n) bilinear weights

    @classmethod
    def of(cls, grid: WCS, npix: int, wcs: WCS, shape: tuple[int, int]) -> Geometry:
        ny, nx = shape
        x, y = grid_pixels(grid, npix, wcs)
        x, y = x.ravel(), y.ravel()
        room = edge_room(x, y, shape)
        inside = np.flatnonzero(room >= 0)
        room[room < 0] = -np.inf
        if not len(inside):
            empty = np.zeros((4, 0))
            return cls(room, inside, (0, 0, 0, 0), empty.astype(np.int64), empty)
        xs, ys = x[inside], y[inside]
        x0 = max(int(np.floor(xs.min())), 0)
        y0 = max(int(np.floor(ys.min())), 0)
        x1 = min(int(np.floor(xs.max())) + 2, nx)
        y1 = min(int(np.floor(ys.max())) + 2, ny)
        w, h = x1 - x0, y1 - y0
        fx, fy = xs - x0, ys - y0
        i0, j0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        wx, wy = fx - i0, fy - j0
        neighbours, weights = [], []
        for di, dj, wgt in ((0, 0, (1 - wx) * (1 - wy)), (1, 0, wx * (1 - wy)),
                            (0, 1, (1 - wx) * wy), (1, 1, wx * wy)):
            # half a pixel beyond the last centre: the edge pixel itself
            neighbours.append(np.clip(j0 + dj, 0, h - 1) * w + np.clip(i0 + di, 0, w - 1))
            weights.append(wgt)
        return cls(room, inside, (y0, y1, x0, x1), np.array(neighbours), np.array(weights))

    def sample(self, image: StoredImage, wanted: np.ndarray) -> np.ndarray:
        """Bilinear values at the inside pixels selected by ``wanted`` (a mask over
        ``inside``); NaN where blank neighbours outweigh the valid ones."""
        y0, y1, x0, x1 = self.bounds
        data = image.section(y0, y1, x0, x1).ravel()
        near = data[self.neighbours[:, wanted]]                    # (4, m)
        weights = self.weights[:, wanted]
        if not np.isnan(near).any():
            return (near * weights).sum(axis=0)
        ok = np.isfinite(near)
        weight = np.where(ok, weights, 0.0).sum(axis=0)
        total = np.where(ok, near * weights, 0.0).sum(axis=0)
        values = np.full(weight.shape, np.nan)
        enough = weight >= 0.5 - 1e-9
        values[enough] = total[enough] / weight[enough]
        return values


def edge_room(x: np.ndarray, y: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels from each position to the image's nearest edge (negative outside)."""
    ny, nx = shape
    return np.minimum(np.minimum(x + 0.5, nx - 0.5 - x), np.minimum(y + 0.5, ny - 0.5 - y))


@dataclass
class Contributor:
    """One image of a mosaic, with its photometric scale."""
    image: StoredImage
    magzp: float
    skyval: float | None


def mosaic(grid: WCS, npix: int, contributors: list[Contributor], ref: Contributor,
           geometry: dict | None = None) -> tuple[np.ndarray, list[int]]:
    """The grid's pixels from the contributors; and the indices of the contributors that
    gave pixels. ``geometry`` caches pixel positions by image WCS across bands."""
    geometry = {} if geometry is None else geometry
    best = np.full(npix * npix, -np.inf)
    source = np.full(npix * npix, -1)
    out = np.full(npix * npix, np.nan, np.float32)
    for index, item in enumerate(contributors):
        key = _wcs_key(item.image)
        if key not in geometry:
            geometry[key] = Geometry.of(grid, npix, item.image.wcs, item.image.shape)
        geo = geometry[key]
        wanted = geo.room[geo.inside] > best[geo.inside]      # where this image could win
        if not wanted.any():
            continue
        values = geo.sample(item.image, wanted)
        valid = np.isfinite(values)
        pixels = geo.inside[wanted][valid]
        if not len(pixels):
            continue
        scale = 10 ** (0.4 * (ref.magzp - item.magzp))
        sky, ref_sky = item.skyval or 0.0, ref.skyval or 0.0
        out[pixels] = (values[valid] - sky) * scale + ref_sky
        best[pixels] = geo.room[pixels]
        source[pixels] = index
    used = [i for i in range(len(contributors)) if (source == i).any()]
    return out.reshape(npix, npix), used


def _wcs_key(image: StoredImage) -> tuple:
    w = image.wcs.wcs
    return (tuple(w.ctype), tuple(w.crval), tuple(w.crpix), tuple(np.ravel(w.get_pc())),
            tuple(w.cdelt), image.shape)
