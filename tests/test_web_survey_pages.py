"""The survey operations pages (catscan.web.survey_pages): the coverage map is public and
redrawn only when the database changes, the status pages show the rows catscan.operations
computes, the health page draws its plot."""

from __future__ import annotations

import html
import io
import re

import httpx
import pytest
from PIL import Image

from catscan.db import connect
from catscan.operations.status import night_status, scan_status

from conftest import TEAM_PASSWORD


@pytest.fixture(scope="module")
def client(web_server):
    with httpx.Client(base_url=web_server, auth=("team", TEAM_PASSWORD), timeout=60) as c:
        yield c


def test_the_coverage_map_is_public_and_clicks_give_positions(web_server, web_db):
    from catscan.runner import Session
    from catscan.safety import query_connection
    from catscan.web.survey_pages import coverage_map

    png = httpx.get(f"{web_server}/coverage.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.size[0] == 1000 and image.mode == "RGB"
    con = query_connection(web_db)
    try:
        drawn = coverage_map(Session(con))
        assert coverage_map(Session(con)) is drawn           # kept until a load
    finally:
        con.close()
    assert drawn.png == png.content
    # a click on the map's centre is (0, 0); the pixel of a position comes back to it
    ra, dec = drawn.position(*drawn.centre_px)
    assert min(ra, 360 - ra) < 0.2 and abs(dec) < 0.2
    import numpy as np

    from catscan.operations.projection import hammer_aitoff, wrap

    x, y = hammer_aitoff(wrap(np.array([275.1])), np.array([-16.2]))
    px = drawn.centre_px[0] - x[0] / drawn.scale
    py = drawn.centre_px[1] - y[0] / drawn.scale
    back = drawn.position(px, py)
    assert back[0] == pytest.approx(275.1, abs=1e-6) and back[1] == pytest.approx(-16.2, abs=1e-6)
    assert drawn.position(2, 2) is None                       # a corner, off the sky


def test_the_status_page_lists_every_night(client, web_db):
    con = connect(web_db)
    try:
        nights = night_status(con).column("night").to_pylist()
        [(date, hemis)] = con.execute("SELECT date, hemis FROM nights ORDER BY date "
                                      "LIMIT 1").fetchall()
        scans = scan_status(con, date, hemis)
    finally:
        con.close()
    page = client.get("/status")
    assert page.status_code == 200
    for night in nights:
        assert f'/status/{night}">{night}</a>' in page.text
    name = f"{date:%Y-%m-%d}{hemis}"
    detail = client.get(f"/status/{name}")
    cells = re.findall(r"<tr>(.*?)</tr>", detail.text.split("<tbody>")[1], re.S)
    assert len(cells) == scans.num_rows
    assert "24-hour health summary" in detail.text
    missing = client.get("/status/2001-01-01n")
    assert missing.status_code == 404 and "2001-01-01" in html.unescape(missing.text)
    history = client.get("/status", params={"history": 1})
    assert "Every processing event, oldest first." in history.text


def test_the_health_page_shows_the_metrics_and_the_plot(client, web_db):
    con = connect(web_db)
    try:
        [(date, hemis, metrics)] = con.execute(
            "SELECT date, hemis, count(*) FROM night_qa GROUP BY ALL ORDER BY date "
            "LIMIT 1").fetchall()
    finally:
        con.close()
    name = f"{date:%Y-%m-%d}{hemis}"
    page = client.get(f"/qa/{name}")
    assert page.status_code == 200
    from catscan import __version__

    assert f"catscan {__version__} ·" in page.text          # not the night's 2MAPPS version
    body = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == metrics
    plot = client.get(f"/qa/{name}.png")
    assert plot.status_code == 200
    assert Image.open(io.BytesIO(plot.content)).size == (1000, 900)
    assert httpx.get(f"{str(client.base_url).rstrip('/')}/qa/{name}.png").status_code == 401
