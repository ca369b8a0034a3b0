"""Designations match as printed: the same source is found with or without the trailing
blank by CatScan, ``catscan sql`` and TAP, on the real Gator rows (stored as IRSA gives them,
16 characters) and on the demo survey (release-style, 17 characters, blank-padded); exports
keep the stored 17 characters."""

from __future__ import annotations

import csv
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import catscan
from catscan.db import connect, init_database
from catscan.designation_match import compare_trimmed
from catscan.loaders import load_file

from conftest import REAL_2MASS, TEAM_PASSWORD

pyvo = pytest.importorskip("pyvo")
M31 = "firefly_2mass-m31-2412rows.tbl"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300)


def stored(db: Path, length: int) -> tuple[str, int]:
    """(designation as stored, ra: a key Gator rows have too) of one PSC row whose stored
    designation has ``length`` characters, read with plain SQL."""
    con = connect(db)
    try:
        return con.execute("SELECT designation, ra FROM psc WHERE length(designation) = ? "
                           "ORDER BY ra LIMIT 1", [length]).fetchone()
    finally:
        con.close()


def spellings(value: str) -> list[str]:
    printed = value.rstrip(" ")
    return [printed, printed + " "]


def found_by_catscan(db: Path, text: str) -> list[int]:
    table = catscan.query(f"select ra from psc where designation = '{text}'", db)
    return list(table["ra"])


def found_by_sql(db: Path, text: str) -> list[int]:
    done = cli("sql", f"SELECT ra FROM psc WHERE designation = '{text}'", "--db", str(db),
               "--format", "csv")
    assert done.returncode == 0, done.stderr
    return [float(r["ra"]) for r in csv.DictReader(done.stdout.splitlines())]


def found_by_tap(url: str, text: str) -> list[int]:
    import requests

    session = requests.Session()
    session.auth = ("team", TEAM_PASSWORD)
    tap = pyvo.dal.TAPService(f"{url}/tap", session=session)
    table = tap.run_sync(f"SELECT ra FROM psc WHERE designation = '{text}'").to_table()
    return [float(k) for k in table["ra"]]


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    """The real M31 Gator rows, loaded as they are, with the team password set."""
    from webserver import copy_with_password

    if not REAL_2MASS.is_dir():
        pytest.skip("../shared/real_2mass is not present")
    real_2mass = REAL_2MASS
    path = tmp_path_factory.mktemp("real") / "loaded.duckdb"
    init_database(path)
    con = connect(path, read_only=False)
    try:
        load_file(con, "psc", real_2mass / M31)
    finally:
        con.close()
    return copy_with_password(path, tmp_path_factory.mktemp("real-web"), TEAM_PASSWORD)


@pytest.fixture(scope="module")
def demo_web(demo_db, tmp_path_factory) -> Path:
    from webserver import copy_with_password

    return copy_with_password(demo_db, tmp_path_factory.mktemp("demo-web"), TEAM_PASSWORD)


@pytest.mark.parametrize("which, length", [("real", 16), ("demo", 17)])
def test_every_front_end_finds_the_designation_either_way(which, length, request):
    from webserver import running_server

    db = request.getfixturevalue("real_db" if which == "real" else "demo_web")
    value, key = stored(db, length)
    assert len(value) == length
    for text in spellings(value):
        assert found_by_catscan(db, text) == [key], text
        assert found_by_sql(db, text) == [key], text
    with running_server(db) as url:            # the server holds the file: TAP last
        for text in spellings(value):
            assert found_by_tap(url, text) == [key], text


def test_other_comparisons_and_joins_ignore_the_blank(demo_db):
    value, key = stored(demo_db, 17)
    printed = value.rstrip(" ")
    con = connect(demo_db)
    try:
        expected = con.execute("SELECT count(*) FROM psc WHERE designation < ?",
                               [value]).fetchone()[0]
    finally:
        con.close()
    for where, keys in ((f"designation in ('{printed}', 'nothing')", [key]),
                        (f"designation like '%{printed[-6:]}'", None),
                        (f"designation != '{printed}' and ra = {key!r}", [])):
        table = catscan.query(f"select ra from psc where {where}", demo_db)
        if keys is None:
            assert key in list(table["ra"])
        else:
            assert list(table["ra"]) == keys, where
    counted = catscan.query(f"select count(*) as n from psc where designation < '{printed} '",
                            demo_db)
    assert counted["n"][0] == expected


def test_the_rewrite_is_idempotent_and_leaves_other_columns_alone():
    import sqlglot

    tree = sqlglot.parse_one("SELECT 1 FROM psc p JOIN u ON p.designation = u.name "
                             "WHERE ph_qual = 'AAA ' AND designation = 'x '", read="duckdb")
    once = compare_trimmed(tree).sql("duckdb")
    assert compare_trimmed(tree).sql("duckdb") == once
    assert "RTRIM(p.designation) = u.name" in once and "ph_qual = 'AAA '" in once
    assert "designation IN ('x', 'x ')" in once      # the bare column: zone maps still prune


@pytest.mark.parametrize("suffix", ["xml", "parquet", "json", "fits"])
def test_exports_keep_the_seventeen_characters(demo_db, tmp_path, suffix):
    value, _ = stored(demo_db, 17)
    out = tmp_path / f"found.{suffix}"
    done = cli("query", f"select designation from psc where designation = '{value.rstrip()}'",
               "--db", str(demo_db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    if suffix == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(out)["designation"].to_pylist() == [value]
        return
    if suffix == "fits":
        from astropy.io import fits

        with fits.open(out) as hdus:
            assert hdus[1].columns["designation"].format == "17A"
        return
    text = out.read_text()
    if suffix == "csv":
        assert [r["designation"] for r in csv.DictReader(text.splitlines())] == [value]
    elif suffix == "xml":
        cells = [e.text for e in ET.fromstring(text).iter() if e.tag.endswith("TD")]
        assert cells == [value]
    else:
        assert f'"{value}"' in text
