"""Pictures: size and channels of the PNGs, star colours as their J-Ks says (Ks red, J
blue), blank pixels hatched exactly where the cutout has no data, north up and east left,
the grid and the catalogue circles where the WCS puts them."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS
from PIL import Image

from catscan.db import connect
from catscan.images import ImageError, band_png, composite_png, cutouts
from catscan.images.render import BLANK, BLANK_STRIPE, GRID, OVERLAY


@pytest.fixture(scope="module")
def con(image_db):
    connection = connect(image_db)
    yield connection
    connection.close()


def picture_xy(header, ra, dec, zoom):
    """Picture column and row of a sky position (row 0 at the top: north up)."""
    x, y = WCS(header).all_world2pix(np.atleast_1d(ra), np.atleast_1d(dec), 0)
    return (x + 0.5) * zoom - 0.5, (header["NAXIS2"] - 0.5 - y) * zoom - 0.5


def test_composite_colours_follow_the_catalogue(con, tmp_path):
    rows = con.execute(
        "SELECT ra, dec, j_m, k_m FROM psc WHERE date = '1997-10-24' AND scan = 8 AND "
        "j_m < 12.5 AND k_m IS NOT NULL AND ph_qual[1] = 'A' AND ph_qual[3] = 'A' "
        "ORDER BY j_m LIMIT 6").fetchall()
    assert len(rows) >= 4
    for ra, dec, j, k in rows:
        results = cutouts(ra, dec, 1, db=con)
        path = composite_png(results, tmp_path / "star.png", zoom=3)
        image = Image.open(path)
        assert image.size == (180, 180) and image.mode == "RGB"
        pixels = np.asarray(image).astype(float)
        header = results[0].hdu.header
        u, v = picture_xy(header, ra, dec, 3)
        core = pixels[int(round(v[0])) - 1:int(round(v[0])) + 2,
                      int(round(u[0])) - 1:int(round(u[0])) + 2].reshape(-1, 3)
        red, blue = core[:, 0].sum(), core[:, 2].sum()
        # Lupton keeps the ratio of the (sky-subtracted, MAGZP-scaled) fluxes: K/J
        assert red / blue == pytest.approx(10 ** (0.4 * (j - k)), rel=0.1), (j, k)
        assert core.max() > 150                                # a bright star is bright


def test_blank_pixels_are_hatched_and_east_is_left(con, tmp_path):
    key, ra, dec = con.execute("SELECT coadd_key, crval1, crval2 FROM atlas_images WHERE "
                               "band = 'j' ORDER BY crval2 LIMIT 1 OFFSET 8").fetchall()[0]
    # the scan's east edge (x = 0, the larger RA) 30" away: blank on the picture's left
    east = ra + (256 - 30) / 3600 / np.cos(np.radians(dec))
    results = cutouts(east, dec, 2, db=con)
    assert 0.5 < results[0].coverage < 0.9
    path = composite_png(results, tmp_path / "edge.png", zoom=2)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (240, 240, 3)
    blank = ~np.isfinite(results[0].data)
    expected = np.repeat(np.repeat(np.flipud(blank), 2, axis=0), 2, axis=1)
    hatch = np.all(pixels == BLANK, axis=2) | np.all(pixels == BLANK_STRIPE, axis=2)
    assert np.array_equal(hatch, expected)
    assert expected[:, :20].all() and not expected[:, -20:].any()      # east on the left
    for colour in (BLANK, BLANK_STRIPE):
        assert np.all(pixels[expected] == colour, axis=1).mean() > 0.3  # both stripes


def test_band_png_stretches_grid_and_overlay(con, tmp_path):
    rows = con.execute(
        "SELECT ra, dec FROM psc WHERE date = '1997-10-24' AND scan = 8 AND j_m < 13 "
        "ORDER BY j_m LIMIT 1").fetchall()
    ra, dec = rows[0]
    result = cutouts(ra + 0.01, dec, 4, bands="J", db=con)[0]
    plain = np.asarray(Image.open(band_png(result, tmp_path / "j.png")))
    assert plain.shape == (480, 480, 3)                         # 240 px at zoom 2
    assert (plain[..., 0] == plain[..., 1]).all() and (plain[..., 1] == plain[..., 2]).all()
    u, v = picture_xy(result.hdu.header, ra, dec, 2)
    star = plain[int(round(v[0])), int(round(u[0])), 0]
    assert star > 200 and np.median(plain[..., 0]) < 80          # dark sky, bright star
    zscale = np.asarray(Image.open(band_png(result, tmp_path / "z.png", method="zscale")))
    assert np.median(zscale[..., 0]) > np.median(plain[..., 0])  # sky lifted by zscale
    decorated = np.asarray(Image.open(band_png(
        result, tmp_path / "g.png", grid=True, overlay=([ra], [dec]))))
    ring = np.all(decorated == OVERLAY, axis=2)
    vs, us = np.nonzero(ring)
    radius = np.hypot(us - u[0], vs - v[0])                     # 5" at 2 px per arcsec
    assert len(radius) > 20 and np.all(np.abs(radius - 10) < 1.6)
    assert np.all(decorated == GRID, axis=2).sum() > 480 * 2     # at least two lines
    with pytest.raises(ImageError, match="stretch"):
        band_png(result, tmp_path / "x.png", method="log")
    with pytest.raises(ImageError, match="PNG"):
        band_png(result, tmp_path / "x.jpg")
    with pytest.raises(ImageError, match="no H, K"):
        composite_png([result], tmp_path / "c.png")
