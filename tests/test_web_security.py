"""Hostile requests to the server: SQL injection through the query inputs and path
traversal through paths and IDs are refused with a clear message, and the data stay
unchanged. (A query running past the timeout: tests/test_web_tap.py.)"""

from __future__ import annotations

import httpx
import pytest

from catscan.db import connect

from conftest import TEAM_PASSWORD, table_checksum


@pytest.fixture(scope="module")
def client(web_server):
    with httpx.Client(base_url=web_server, auth=("team", TEAM_PASSWORD), timeout=60) as c:
        yield c


@pytest.mark.parametrize("text", [
    "select designation from psc; drop table psc",
    "select designation from psc where j_m < 10; copy psc to '/tmp/x.csv'",
    "select * from read_csv('/etc/passwd')",
    "select designation from psc where designation = '' or 1=1; --'",
])
def test_catscan_injections_are_refused_and_change_nothing(client, web_db, text):
    con = connect(web_db)
    try:
        before = table_checksum(con, "psc")
    finally:
        con.close()
    page = client.post("/catscan", data={"q": text, "action": "run"})
    assert page.status_code == 400 and 'class="error"' in page.text
    download = client.get("/catscan/download", params={"q": text, "format": "csv"})
    assert download.status_code == 400
    con = connect(web_db)
    try:
        assert table_checksum(con, "psc") == before
    finally:
        con.close()


def test_scs_parameters_are_numbers_only(client):
    for params in ({"RA": "10; drop table psc", "DEC": "41", "SR": "0.1"},
                   {"RA": "10", "DEC": "41", "SR": "0.1) or (1=1"}):
        got = client.get("/scs/psc", params=params)
        assert 'name="Error"' in got.text and "is not a number of degrees" in got.text


@pytest.mark.parametrize("path", [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd", "/qa/..%2f..%2fetc%2fpasswd",
    "/status/..%2F..%2Fetc%2Fpasswd",
    "/soda/sync?ID=../../etc/passwd", "/soda/sync?ID=ivo://catscan/2mass?atlas/../../x",
])
def test_path_traversal_finds_nothing(client, path):
    got = client.get(path)
    assert got.status_code in (400, 404) and "root:" not in got.text
