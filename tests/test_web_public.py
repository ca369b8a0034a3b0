"""Released nights (catscan.web.public, ``catscan release``): visitors without the team
password see the data of released nights only, through CatScan, Simple Cone Search, TAP
and SIA/SODA; the team sees everything; bookkeeping stays private."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import httpx
import pytest
from astropy.io.votable import parse

import catscan

from conftest import TEAM_PASSWORD

RELEASED = "1997-10-24n"           # the night with the M31 scan and its Atlas Images


@pytest.fixture(scope="module")
def public_db(web_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("public") / "catscan.duckdb"
    shutil.copy(web_db, path)
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", RELEASED,
                           "--db", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{RELEASED} released; 1 night(s) public\n"
    return path


@pytest.fixture(scope="module")
def public_server(public_db):
    from webserver import running_server

    with running_server(public_db, timeout=5.0) as url:
        yield url


def _votable_rows(content: bytes):
    return parse(io.BytesIO(content)).get_first_table().to_table()


def test_visitors_query_released_nights_only(public_server, public_db):
    query = "select count(*) as n from psc"
    every = int(catscan.query(query, public_db)["n"][0])
    released = int(catscan.query(query + " on night 1997-10-24 n", public_db)["n"][0])
    assert 0 < released < every
    got = httpx.get(f"{public_server}/catscan/download", params={"q": query,
                                                               "format": "votable"})
    assert got.status_code == 200 and int(_votable_rows(got.content)["n"][0]) == released
    team = httpx.get(f"{public_server}/catscan/download", params={"q": query,
                                                                "format": "votable"},
                     auth=("team", TEAM_PASSWORD))
    assert int(_votable_rows(team.content)["n"][0]) == every
    nights = httpx.get(f"{public_server}/catscan/download",
                       params={"q": "select night from night_status", "format": "votable"})
    assert [str(n) for n in _votable_rows(nights.content)["night"]] == [RELEASED]


def test_visitors_cone_search_tap_and_sia(public_server, public_db):
    scs = httpx.get(f"{public_server}/scs/psc", params={"RA": 10.68479, "DEC": 41.26906,
                                                      "SR": 0.05})
    assert scs.status_code == 200 and len(_votable_rows(scs.content)) > 0
    elsewhere = httpx.get(f"{public_server}/scs/psc", params={"RA": 275.1, "DEC": -16.2,
                                                            "SR": 0.2})
    assert len(_votable_rows(elsewhere.content)) == 0                 # M17: not released
    team = httpx.get(f"{public_server}/scs/psc", params={"RA": 275.1, "DEC": -16.2, "SR": 0.2},
                     auth=("team", TEAM_PASSWORD))
    assert len(_votable_rows(team.content)) > 0
    released = int(catscan.query("select count(*) as n from psc on night 1997-10-24 n",
                                 public_db)["n"][0])
    tap = httpx.post(f"{public_server}/tap/sync", data={
        "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM psc"})
    assert tap.status_code == 200 and int(_votable_rows(tap.content)["n"][0]) == released
    nights = httpx.post(f"{public_server}/tap/sync", data={
        "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT xdate, hemis FROM nights"})
    assert [str(d) for d in _votable_rows(nights.content)["xdate"]] == ["1997-10-24"]
    sia = httpx.get(f"{public_server}/sia/query", params={"POS": "CIRCLE 10.68479 41.26906 0.1"})
    assert sia.status_code == 200 and len(_votable_rows(sia.content)) >= 3


def test_pages_that_are_not_released_still_need_the_password(public_server):
    for path in ("/findtile?pos=10.68+41.27", "/images?pos=10.68+41.27", "/status"):
        assert httpx.get(f"{public_server}{path}").status_code == 401
    wrong = httpx.get(f"{public_server}/scs/psc", params={"RA": 10, "DEC": 41, "SR": 0.1},
                      auth=("team", "not the password"))
    assert wrong.status_code == 401
