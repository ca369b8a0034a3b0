"""The J2000 grid: every grid pixel drawn lies on a line where astropy's WCS puts that RA or
Dec, every line runs where the WCS says, labels read back as the lines' values; near a
pole, at RA 0 and on a twisted Atlas Image WCS."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import Angle
from astropy.wcs import WCS
from PIL import Image

from catscan.images.grid import grid_lines
from catscan.images.mosaic import grid_wcs
from catscan.images.render import GRID, draw_grid


def atlas_wcs(ra: float, dec: float) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [150.5, 150.5]
    wcs.wcs.cdelt = [-1 / 3600, 1 / 3600]
    wcs.wcs.crota = [0.0, 0.00698]                     # the real image's twist
    wcs.wcs.set()
    return wcs


def expected_track(wcs: WCS, kind: str, value: float, shape, zoom: int) -> np.ndarray:
    """Picture pixels (u, v) of a grid line by astropy, sampled finely (independent of the
    code: picture column u = (x + 0.5) * zoom - 0.5, row v counts down from the top)."""
    ny, nx = shape
    t = np.linspace(-1, 1, 40001)
    centre_ra, centre_dec = wcs.wcs.crval
    if kind == "ra":                                   # +-0.3 deg of Dec around the centre
        ra, dec = np.full(t.size, value), np.clip(centre_dec + 0.3 * t, -90, 90)
    elif abs(centre_dec) > 80:                         # a whole parallel around the pole
        ra, dec = 180 + 180 * t, np.full(t.size, value)
    else:
        ra, dec = centre_ra + 0.3 * t / np.cos(np.radians(value)), np.full(t.size, value)
    x, y = wcs.all_world2pix(ra % 360, dec, 0)
    ok = (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5) & (y <= ny - 0.5)
    return np.c_[(x[ok] + 0.5) * zoom - 0.5, (ny - 0.5 - y[ok]) * zoom - 0.5]


@pytest.mark.parametrize(("ra", "dec", "zoom"), [(10.68, 41.27, 2), (0.01, -0.02, 2),
                                                 (123.4, 89.95, 1), (275.1, -16.3, 3)])
def test_grid_pixels_lie_on_the_wcs_lines(ra, dec, zoom):
    wcs, shape = atlas_wcs(ra, dec), (300, 300)
    canvas = Image.new("RGB", (300 * zoom, 300 * zoom))
    lines = draw_grid(canvas, wcs, shape, zoom)
    assert {line.kind for line in lines} == {"ra", "dec"}
    assert 2 <= sum(line.kind == "dec" for line in lines) <= 6
    pixels = np.asarray(canvas)
    drawn = np.all(pixels == GRID, axis=2)
    tracks = {(line.kind, line.value): expected_track(wcs, line.kind, line.value, shape, zoom)
              for line in lines}
    # labels (strips along the edges) are drawn over the lines
    du, dv = max(70, 40 * zoom), max(22, 12 * zoom)

    def body(u, v):
        return (u > du) & (u < canvas.width - du) & (v > dv) & (v < canvas.height - dv)

    # each line: drawn wherever astropy says it runs (within a pixel)
    for (kind, value), track in tracks.items():
        assert len(track), (kind, value)                  # astropy agrees it crosses
        u, v = np.round(track[::max(1, len(track) // 400)]).astype(int).T
        inside = body(u, v)
        if inside.sum() < 5:                              # grazes a corner
            continue
        near = np.zeros(inside.sum(), bool)
        for step_u in (-1, 0, 1):
            for step_v in (-1, 0, 1):
                near |= drawn[v[inside] + step_v, u[inside] + step_u]
        assert near.mean() > 0.97, (kind, value)
    # and nothing else is: every grid pixel away from the label strips is on a line
    vs, us = np.nonzero(drawn)
    keep = body(us, vs)
    track = np.vstack(list(tracks.values()))
    for u, v in zip(us[keep][::7], vs[keep][::7], strict=True):
        assert np.min(np.hypot(track[:, 0] - u, track[:, 1] - v)) < 1.5


def test_labels_read_back_as_the_values():
    wcs = atlas_wcs(10.68479, 41.26906)
    for line in grid_lines(wcs, (300, 300)):
        if line.kind == "ra":
            angle = Angle(line.label.replace("h", "h"), unit="hourangle")
            assert angle.degree == pytest.approx(line.value, abs=1e-6)
        else:
            text = line.label.replace("°", "d").replace("'", "m").replace('"', "s")
            assert Angle(text).degree == pytest.approx(line.value, abs=1e-6)
    labels = [line.label for line in grid_lines(wcs, (300, 300))]
    assert "0h42m40s" in labels and "+41°16'" in labels


def test_steps_follow_the_field_size():
    small = grid_lines(atlas_wcs(10.68, 41.27), (30, 30))         # 30": arcsecond steps
    large = grid_lines(grid_wcs(10.68, 41.27, 1800, 1 / 3600), (1800, 1800))   # 30'
    for lines in (small, large):
        decs = sorted(line.value for line in lines if line.kind == "dec")
        assert 2 <= len(decs) <= 6
    assert '"' in [line for line in small if line.kind == "dec"][0].label
