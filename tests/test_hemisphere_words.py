"""A hemisphere is n, s, north or south wherever one is taken: the CatScan language
(``hemisphere``, ``on night``, ``in scan``), the CLI's night arguments and the web forms
(CatScan builder, Survey Visualizer), as nights are written ``1999-05-02s``."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

import catscan
from catscan.db import connect
from catscan.errors import CatscanError
from catscan.language import ir, parse
from catscan.operations.status import parse_night
from catscan.web.builder import build_query

from conftest import TEAM_PASSWORD


def sql_count(db, sql: str, params=()) -> int:
    con = connect(db)
    try:
        return con.execute(sql, list(params)).fetchone()[0]
    finally:
        con.close()


def southern_night(db) -> str:
    con = connect(db)
    try:
        (date,) = con.execute("SELECT min(date) FROM nights WHERE hemis = 's'").fetchone()
    finally:
        con.close()
    assert date is not None, "the demo observes a southern night"
    return f"{date:%Y-%m-%d}"


@pytest.mark.parametrize("word, hemis", [("s", "s"), ("N", "n"), ("south", "s"),
                                         ("North", "n")])
def test_the_language_takes_every_spelling(word, hemis):
    assert parse(f"select ra from psc hemisphere {word}").regions == (ir.Hemisphere(hemis),)
    assert parse(f"select ra from psc on night 1999-05-02 {word}").regions == (
        ir.OnNight(ir.Date("1999-05-02"), hemis),)
    assert parse(f"select ra from psc in scan 1999-05-02 {word} 7").regions == (
        ir.InScan(ir.Date("1999-05-02"), hemis, ir.Integer(7)),)


def test_hemisphere_s_counts_what_sql_counts(demo_db):
    date = southern_night(demo_db)
    expected = sql_count(demo_db, "SELECT count(*) FROM scans WHERE hemis = 's'")
    assert expected > 0
    for word in ("s", "south"):
        got = catscan.query(f"select count(*) as n from scans hemisphere {word}", demo_db)
        assert got["n"][0] == expected
    rows = sql_count(demo_db, "SELECT count(*) FROM psc p JOIN scans s ON p.scan_key = "
                     "s.scan_key WHERE s.date = ? AND s.hemis = 's'", [date])
    for text in (f"{date}s", f"{date} south"):
        day, word = text[:10], text[10:].strip()
        got = catscan.query(f"select count(*) as n from psc on night {day} {word}", demo_db)
        assert got["n"][0] == rows


def test_a_wrong_word_names_every_spelling():
    with pytest.raises(CatscanError, match="n, s, north or south"):
        parse("select ra from psc hemisphere east")


@pytest.mark.parametrize("text", ["1999-05-02s", "1999-05-02 south", "990502S",
                                  "19990502 South"])
def test_night_arguments_take_every_spelling(text):
    assert parse_night(text) == parse_night("1999-05-02s")


def test_the_cli_status_of_a_night_written_south(demo_db):
    date = southern_night(demo_db)
    outputs = []
    for text in (f"{date}s", f"{date} south", f"{date}South"):
        done = subprocess.run([sys.executable, "-m", "catscan.cli", "status", text, "--db",
                               str(demo_db), "--format", "csv"], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    scans = sql_count(demo_db, "SELECT count(*) FROM scans WHERE date = ? AND hemis = 's'",
                      [date])
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0].strip().splitlines()) == scans + 1        # header + one per scan


@pytest.mark.parametrize("night", ["1999-05-02s", "1999-05-02 south", "1999-05-02 S"])
def test_the_builder_writes_the_night_for_every_spelling(night):
    assert build_query({"night": night}) == ("select basic from psc\non night 1999-05-02 s\n"
                                             "order by j_m")
    assert "in scan 1999-05-02 s 3" in build_query({"night": night, "scan": "3"})


def test_the_web_forms_take_south(demo_db, tmp_path):
    from webserver import copy_with_password, running_server

    db = copy_with_password(demo_db, tmp_path, TEAM_PASSWORD)
    date = southern_night(db)
    with running_server(db) as url, httpx.Client(base_url=url, auth=("team", TEAM_PASSWORD),
                                                 timeout=60) as client:
        built = client.get("/catscan/build", params={"source": "psc",
                                                     "night": f"{date} south"})
        assert built.status_code == 303
        assert f"on night {date} s" in httpx.URL(built.headers["location"]).params["q"]
        for word in ("s", " south"):
            page = client.get("/images", params={"night": f"{date}{word}"})
            assert page.status_code == 200
            assert "no night" not in page.text and "write a date" not in page.text
