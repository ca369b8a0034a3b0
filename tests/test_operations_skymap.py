"""The coverage maps on the demo survey: PNGs of the expected size, tiles where astropy's
own projections put them, in their state's colour, and a legend."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from PIL import Image

from catscan.operations import skymap
from catscan.operations.skymap import STATE_COLOURS, Region

HCG7 = (9.81625, 0.88806)
M17 = (275.12297, -16.30449)


@pytest.fixture(scope="module")
def tiles(demo_tiles):
    return demo_tiles


@pytest.fixture(scope="module")
def equatorial(tiles, tmp_path_factory):
    path = tmp_path_factory.mktemp("maps") / "sky.png"
    drawn = skymap.allsky_map(tiles, path, width=1000)
    return drawn, np.asarray(Image.open(path).convert("RGB"))


def ait_wcs(drawn, frame: str) -> WCS:
    """astropy's Hammer-Aitoff for the map: centre pixel and scale as drawn, y down."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---AIT", "DEC--AIT"] if frame == "equatorial" else \
        ["GLON-AIT", "GLAT-AIT"]
    wcs.wcs.crval = [0, 0]
    wcs.wcs.crpix = [drawn.centre_px[0] + 1, drawn.centre_px[1] + 1]
    wcs.wcs.cdelt = [-drawn.scale, -drawn.scale]
    return wcs


def around(pixels: np.ndarray, x: float, y: float, r: int = 1) -> set[tuple[int, ...]]:
    xi, yi = int(round(float(x))), int(round(float(y)))
    patch = pixels[yi - r:yi + r + 1, xi - r:xi + r + 1].reshape(-1, 3)
    return {tuple(int(c) for c in p) for p in patch}


def test_the_all_sky_map_has_its_size_legend_and_sky(equatorial):
    drawn, pixels = equatorial
    # 1000 px: 44 px margins leave a 912 px wide ellipse, 456 px high; title 74 px,
    # 12 px gap and a 56 px legend
    assert drawn.size == (1000, 74 + 456 + 12 + 56) == (pixels.shape[1], pixels.shape[0])
    assert drawn.scale == pytest.approx(4 * np.sqrt(2) * 180 / np.pi / 912)
    for state, (x0, y0, x1, y1) in drawn.legend.items():
        assert y0 > 74 + 456
        colour = tuple(int(c) for c in pixels[(y0 + y1) // 2, (x0 + x1) // 2])
        assert colour == (STATE_COLOURS[state] if state in STATE_COLOURS
                          else skymap.GALACTIC_PLANE)
    assert tuple(pixels[5, 5]) == skymap.BACKGROUND                 # outside the ellipse
    assert tuple(pixels[int(drawn.centre_px[1]) + 100, int(drawn.centre_px[0]) + 150]) == \
        STATE_COLOURS["planned"]                                    # inside: the grid


def test_loaded_tiles_are_green_where_astropy_projects_them(equatorial):
    drawn, pixels = equatorial
    wcs = ait_wcs(drawn, "equatorial")
    for ra, dec in (HCG7, M17):
        x, y = wcs.wcs_world2pix([ra], [dec], 0)
        assert STATE_COLOURS["loaded"] in around(pixels, x[0], y[0]), (ra, dec)
    x, y = wcs.wcs_world2pix([105.0], [-45.0], 0)          # between graticule lines, unobserved
    assert around(pixels, x[0], y[0], r=3) == {STATE_COLOURS["planned"]}
    x, y = wcs.wcs_world2pix([M17[0]], [M17[1]], 0)
    px, py = drawn.allsky_pixel(np.array([M17[0]]), np.array([M17[1]]))
    assert (px[0], py[0]) == pytest.approx((float(x[0]), float(y[0])), abs=1e-6)


def test_the_galactic_map(tiles, tmp_path):
    drawn = skymap.allsky_map(tiles, tmp_path / "galactic.png", frame="galactic", width=1000)
    pixels = np.asarray(Image.open(drawn.path).convert("RGB"))
    wcs = ait_wcs(drawn, "galactic")
    galactic = SkyCoord(M17[0] * u.deg, M17[1] * u.deg).galactic
    x, y = wcs.wcs_world2pix([galactic.l.deg], [galactic.b.deg], 0)
    assert STATE_COLOURS["loaded"] in around(pixels, x[0], y[0])
    # the Galactic plane is the map's equator: drawn across it
    _, y0 = wcs.wcs_world2pix([60.0], [0.0], 0)
    rows = pixels[int(round(float(y0[0]))) - 1:int(round(float(y0[0]))) + 2]
    assert max(np.all(row == skymap.GALACTIC_PLANE, axis=1).sum() for row in rows) > 880


def test_a_region_shows_outlines_ids_and_state_colours(tiles, tmp_path):
    region = Region(10.68479, 41.26906, 2.0)
    drawn = skymap.region_map(tiles, region, tmp_path / "m31.png", width=900)
    image = Image.open(drawn.path)
    assert image.format == "PNG" and image.size == drawn.size and drawn.size[0] == 900
    pixels = np.asarray(image.convert("RGB"))
    inner = 900 - 2 * skymap.SIDE - 20                             # the map square
    x, y = drawn.wcs.wcs_world2pix([region.lon], [region.lat], 0)
    assert (float(x[0]), float(y[0])) == pytest.approx(
        (skymap.SIDE + 20 + (inner - 1) / 2, skymap.TOP + (inner - 1) / 2), abs=1e-6)
    # each loaded, rescan and observed tile of the M31 block at Dec 40.6, on its central
    # meridian (no neighbour's edge within 51"): its colour at 90/255 over white
    alpha = 90 / 255
    checked = 0
    for tile, state in zip(tiles.tile, tiles.state, strict=True):
        if state not in ("loaded", "rescan", "observed") or not 330620 <= tile <= 330640:
            continue
        ra = float(tiles.ra[tiles.tile == tile][0])
        x, y = drawn.wcs.wcs_world2pix([ra], [40.6], 0)
        expected = tuple(round(255 * (1 - alpha) + c * alpha) for c in STATE_COLOURS[state])
        colours = around(pixels, x[0], y[0], r=2)
        assert any(max(abs(a - b) for a, b in zip(c, expected, strict=True)) <= 2
                   for c in colours), (tile, state, colours)
        checked += 1
    assert checked == 8                       # 5 loaded, 1 rescan, 2 observed
    assert set(range(330627, 330635)) <= set(drawn.labelled)


def test_too_small_a_map_is_refused(tiles, tmp_path):
    with pytest.raises(ValueError, match="at least 400 pixels"):
        skymap.allsky_map(tiles, tmp_path / "tiny.png", width=100)
    assert not (tmp_path / "tiny.png").exists()
