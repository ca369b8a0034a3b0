"""A real browser (headless Chromium driven by Playwright) uses the pages as a team member
would: logs in, runs a CatScan query, pages, downloads a VOTable. Skipped, with the reason,
when Chromium is not installed (.ci/run installs the Debian package)."""

from __future__ import annotations

import io
import shutil

import pytest
from astropy.io.votable import parse

import catscan

from conftest import TEAM_PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(apt-get install chromium; .ci/run does it)")
playwright_api = pytest.importorskip("playwright.sync_api")

QUERY = "select designation, j_m, k_m from psc within 4 arcmin of 10.68479 +41.26906 order by j_m"


@pytest.fixture(scope="module")
def page(web_server, tmp_path_factory):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox"])
        context = browser.new_context(base_url=web_server, accept_downloads=True,
                                      viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def test_a_team_member_logs_in_runs_a_query_and_downloads_it(page, web_db, tmp_path):
    page.goto("/catscan")
    assert page.url.endswith("/login?next=%2Fcatscan")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong password."
    page.fill("input[name=password]", TEAM_PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/catscan")
    page.fill("#q", QUERY)
    page.fill("input[name=page_size]", "5")
    page.click("#run")
    expected = catscan.query(QUERY, web_db)
    cells = page.locator("#result tbody tr td:first-child").all_inner_texts()
    assert cells == [str(d).strip() for d in expected["designation"][:5]]
    page.screenshot(path=str(tmp_path / "catscan.png"), full_page=True)
    with page.expect_download() as info:
        page.click("a.download:text('votable')")
    data = info.value.path().read_bytes()
    table = parse(io.BytesIO(data)).get_first_table().to_table()
    assert len(table) == len(expected)
    page.click("text=next →")
    cells = page.locator("#result tbody tr td:first-child").all_inner_texts()
    assert cells == [str(d).strip() for d in expected["designation"][5:10]]


def log_in(page) -> None:
    """Each test may run alone: log in unless the session cookie is there."""
    page.goto("/catscan")
    if "/login" in page.url:
        page.fill("input[name=password]", TEAM_PASSWORD)
        page.click("button[type=submit]")


def test_a_syntax_error_is_shown_at_its_position(page):
    log_in(page)
    page.goto("/catscan")
    page.fill("#q", "select designation from psc wher j_m < 10")
    page.click("#run")
    error = page.locator("#error").inner_text()
    assert error.startswith("line 1, column 29: unexpected 'wher'")
    assert "select designation from psc wher j_m < 10\n" in error
    # the box's cursor is put on the error
    assert page.evaluate("[document.activeElement.id, document.getElementById('q')"
                         ".selectionStart]") == ["q", 28]


def test_the_visualizer_shows_a_cutout_with_the_grid_and_takes_map_clicks(page, web_db,
                                                                            tmp_path):
    """Ask by position: the picture loads; click M31 on the sky map: the same images."""
    import numpy as np

    from catscan.operations.projection import hammer_aitoff, wrap
    from catscan.runner import Session
    from catscan.safety import query_connection
    from catscan.web.survey_pages import coverage_map

    log_in(page)
    page.goto("/images")
    page.fill("input[name=pos]", "00:42:44.3 +41:16:09")
    page.click("#show")
    picture = page.locator("#picture")
    picture.wait_for()
    page.wait_for_function("document.getElementById('picture').complete")
    assert page.evaluate("document.getElementById('picture').naturalWidth") >= 290
    asked = page.locator("#found").inner_text()
    page.screenshot(path=str(tmp_path / "visualizer.png"), full_page=True)
    con = query_connection(web_db)
    try:
        drawn = coverage_map(Session(con))
    finally:
        con.close()
    x, y = hammer_aitoff(wrap(np.array([10.68479])), np.array([41.26906]))
    px, py = drawn.centre_px[0] - x[0] / drawn.scale, drawn.centre_px[1] - y[0] / drawn.scale
    page.click("#skymap input[type=image]", position={"x": px, "y": py})
    clicked = page.locator("#found").inner_text()
    assert "the position clicked on the map" in clicked and int(clicked.split()[0]) >= \
        int(asked.split()[0]) == 3
    page.wait_for_function("document.getElementById('picture').complete")
    assert page.evaluate("document.getElementById('picture').naturalWidth") >= 290
