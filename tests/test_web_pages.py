"""The server's pages over HTTP (catscan.web.pages): CatScan runs the query the CLI runs,
pages through it, downloads every format with its provenance, shows syntax errors at their
position and explains; FindTile shows what catscan.findtile finds."""

from __future__ import annotations

import html
import io
import re

import httpx
import pytest
from astropy.io.votable import parse

import catscan
from catscan.db import connect
from catscan.findtile import find_tiles, parse_positions
from catscan.web.builder import build_query

from conftest import TEAM_PASSWORD

M31 = ("select designation, j_m from psc within 3 arcmin of 10.68479 +41.26906 "
       "order by j_m, designation")


@pytest.fixture(scope="module")
def client(web_server):
    with httpx.Client(base_url=web_server, auth=("team", TEAM_PASSWORD), timeout=60) as c:
        yield c


def _cells(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in body.split("</tr>")
            if "<td>" in row]


def test_the_catscan_page_shows_the_rows_of_the_cli_query_page_by_page(client, web_db):
    expected = catscan.query(M31, web_db)
    assert len(expected) > 12
    first = client.post("/catscan", data={"q": M31, "action": "run", "page_size": "10"})
    assert first.status_code == 200
    rows = _cells(first.text)
    assert [r[0].strip() for r in rows] == [str(d).strip() for d in expected["designation"][:10]]
    assert f"{len(expected):,} row(s)" in first.text
    second = client.get("/catscan", params={"q": M31, "page_size": 10, "page": 2})
    assert [r[0].strip() for r in _cells(second.text)] == \
        [str(d).strip() for d in expected["designation"][10:20]]


@pytest.mark.parametrize("fmt", ["votable", "csv", "fits", "json", "ipac", "parquet", "ecsv"])
def test_downloads_carry_the_rows_and_the_provenance(client, web_db, fmt):
    expected = catscan.query(M31, web_db)
    got = client.get("/catscan/download", params={"q": M31, "format": fmt})
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith('attachment; filename="catscan.')
    if fmt == "votable":
        vot = parse(io.BytesIO(got.content))
        infos = {i.name: i.value for i in vot.resources[0].infos}
        assert infos["QUERY_STATUS"] == "OK" and infos["query"] == M31
        assert len(vot.get_first_table().array) == len(expected)
    elif fmt == "fits":
        from astropy.table import Table

        assert len(Table.read(io.BytesIO(got.content), format="fits")) == len(expected)
    else:
        assert len(got.content) > 100


def test_errors_show_the_position_and_bad_formats_are_refused(client):
    page = client.post("/catscan", data={"q": "select j_mm from psc", "action": "run"})
    assert page.status_code == 400
    assert "line 1, column 8: psc has no column 'j_mm'" in html.unescape(page.text)
    assert "did you mean j_m" in page.text
    bad = client.get("/catscan/download", params={"q": M31, "format": "xls"})
    assert bad.status_code == 400 and "unknown format 'xls'" in bad.text


def test_explain_and_saved_queries(client):
    page = client.post("/catscan", data={"q": M31, "action": "explain"})
    assert "region 1: cone within 180\" of (10.684790, +41.269060)" in html.unescape(page.text)
    saved = client.get("/catscan", params={"saved": "m31_clean_cone"})
    assert "within $radius of 00:42:44.3 +41:16:09" in saved.text
    file = client.post("/catscan", data={"q": M31, "action": "save"})
    assert file.text.startswith("-- title: my query\n") and M31 in file.text
    opened = client.post("/catscan", data={"action": "open"},
                         files={"upload": ("mine.catscan", file.content)})
    assert M31 in html.unescape(opened.text)


def test_the_form_builder_writes_a_query_that_runs(client, web_db):
    fields = {"source": "psc", "pos": "00:42:44.3 +41:16:09", "radius": "3arcmin",
              "jmin": "12", "jmax": "15.5", "quality": "B", "clean": "1"}
    text = build_query(fields)
    assert text == ("select basic from psc\nwithin 180\" of 10.684583 +41.269167\n"
                    "where j_m between 12.0 and 15.5 and quality(j, h, k) >= 'B' and clean\n"
                    "order by j_m")
    built = client.get("/catscan/build", params=fields, follow_redirects=True)
    assert "select basic from psc" in built.text
    assert len(catscan.query(text, web_db)) > 0


def test_findtile_page_lists_the_tiles_findtile_finds(client, web_db):
    page = client.get("/findtile", params={"pos": "00:42:44.3 +41:16:09"})
    assert page.status_code == 200
    con = connect(web_db)
    try:
        results = find_tiles(con, parse_positions(["00:42:44.3", "+41:16:09"]))
    finally:
        con.close()
    assert results[0].tiles
    for tile in results[0].tiles:
        assert f"Tile {tile.tile}" in page.text
    bad = client.get("/findtile", params={"pos": "25:99:00 +95:00:00"})
    assert bad.status_code == 400 and "cannot read" in bad.text
