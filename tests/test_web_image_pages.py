"""The image pages (catscan.web.image_pages): the Survey Visualizer finds the images
catscan.images finds, by position, night and scan, tile or a click on the sky map; pictures
are PNGs with the asked size; the Image Atlas Server's FITS files are catscan's cutouts."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from catscan.db import connect
from catscan.images import cutout, images_at

from conftest import TEAM_PASSWORD

M31 = (10.68479, 41.26906)


@pytest.fixture(scope="module")
def client(web_server):
    with httpx.Client(base_url=web_server, auth=("team", TEAM_PASSWORD), timeout=60) as c:
        yield c


def _files(page: str) -> list[str]:
    return sorted(part.split("</td>")[0] for part in page.split("<td>")[1:]
                  if part.split("</td>")[0].endswith(".fits"))


def test_the_visualizer_finds_images_by_position_night_and_tile(client, web_db):
    con = connect(web_db)
    try:
        expected = images_at(con, *M31)
    finally:
        con.close()
    assert len(expected) == 3
    page = client.get("/images", params={"pos": f"{M31[0]} {M31[1]}"})
    assert page.status_code == 200
    assert _files(page.text) == sorted(i.fname for i in expected)
    assert 'id="picture"' in page.text
    night = client.get("/images", params={"night": expected[0].night,
                                          "scan": expected[0].scan})
    assert len(_files(night.text)) >= 3 and 'id="picture"' not in night.text
    tile = client.get("/images", params={"tile": expected[0].tile})
    assert set(_files(tile.text)) >= {i.fname for i in expected}
    bad = client.get("/images", params={"pos": "99:00:00 +95:00:00"})
    assert bad.status_code == 400 and "cannot read" in bad.text


def test_a_click_on_the_sky_map_is_a_position(client, web_db):
    from catscan.operations.projection import hammer_aitoff, wrap
    from catscan.runner import Session
    from catscan.safety import query_connection
    from catscan.web.survey_pages import coverage_map

    con = query_connection(web_db)
    try:
        drawn = coverage_map(Session(con))
    finally:
        con.close()
    x, y = hammer_aitoff(wrap(np.array([M31[0]])), np.array([M31[1]]))
    px, py = drawn.centre_px[0] - x[0] / drawn.scale, drawn.centre_px[1] - y[0] / drawn.scale
    page = client.get("/images", params={"map.x": round(px), "map.y": round(py)})
    assert page.status_code == 200 and "the position clicked on the map" in page.text
    con = connect(web_db)
    try:
        held = {i.fname for i in images_at(con, *M31)}
    finally:
        con.close()
    assert held <= set(_files(page.text)) and 'id="picture"' in page.text
    off = client.get("/images", params={"map.x": 1, "map.y": 1})
    assert off.status_code == 400 and "off the sky" in off.text


@pytest.mark.parametrize("bands, mode", [("JHK", "RGB"), ("K", "RGB")])
def test_pictures_are_pngs_of_the_cutout(client, bands, mode):
    got = client.get("/images/picture.png", params={"ra": M31[0], "dec": M31[1], "size": 2,
                                                    "bands": bands, "grid": 1})
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(got.content))
    assert image.mode == mode and image.size[0] == image.size[1] >= 120   # 2' at 1"/px
    bad = client.get("/images/picture.png", params={"ra": M31[0], "dec": M31[1],
                                                    "overlay": "j_mm < 3"})
    assert bad.status_code == 400 and "j_mm" in bad.text


def test_the_image_atlas_server_gives_catscan_cutouts(client, web_db):
    page = client.get("/atlas", params={"pos": f"{M31[0]} {M31[1]}", "size": 3})
    assert page.status_code == 200 and page.text.count('class="fits"') == 3
    got = client.get("/images/cutout.fits", params={"ra": M31[0], "dec": M31[1], "size": 3,
                                                    "band": "H"})
    assert got.headers["content-disposition"].startswith("attachment")
    served = fits.open(io.BytesIO(got.content))[0]
    [expected] = cutout(M31[0], M31[1], 3, bands="H", db=web_db)
    assert np.array_equal(served.data, expected.data, equal_nan=True)
    too_big = client.get("/atlas", params={"pos": f"{M31[0]} {M31[1]}", "size": 8})
    assert too_big.status_code == 400 and "5'" in too_big.text


def test_the_gallery_shows_a_composite_per_field(client, web_db):
    con = connect(web_db)
    try:
        fields = con.execute("SELECT count(DISTINCT coadd_key) FROM atlas_images").fetchall()
    finally:
        con.close()
    page = client.get("/gallery")
    assert page.status_code == 200
    assert page.text.count("<figure>") == min(fields[0][0], 12) > 0
