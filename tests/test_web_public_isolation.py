"""No anonymous answer holds a row of an unreleased night, whatever the query's shape.

An attacker without the team password writes queries of every shape they can think of
(CTEs named like catalog tables at every level, subqueries, set operations, lateral joins,
schema- and catalog-qualified names, views, uploads, table functions) and sends them through
TAP, CatScan, Simple Cone Search, SIA and SODA. The oracle is independent of the server: the
keys of every row of the released night, read from the team's database with plain SQL.
One night is released here, 1998-11-23n, which has no Atlas Images: every image is
unreleased, so SIA and SODA must find none.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from dataclasses import dataclass

import httpx
import pytest
from astropy.io.votable import parse
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catscan.db import connect

RELEASED = ("1998-11-23", "n")
DATE = "xdate"                        # the TAP name of the night's date column
# table -> the key column its rows are checked by: scans by scan_key, nights by date
PER_SCAN = ("psc", "xsc", "atlas_images", "scans", "scan_status")
PER_NIGHT = ("nights", "night_qa", "processing_history", "night_processing")
DECOY_NAMES = ("psc", "xsc", "scans", "nights", "atlas_images", "night_qa", "tiles", "x")


@dataclass(frozen=True)
class Oracle:
    scan_keys: frozenset       # of the released night's scans
    dates: frozenset           # the released night's date
    designations: frozenset    # of its point sources
    counts: dict               # table -> rows of the released night
    every_scan_key: frozenset
    image_ids: tuple           # (coadd_key, band) of every Atlas Image (all unreleased)
    scan_centres: tuple        # (ra, dec) of every scan's sources, one each


@pytest.fixture(scope="module")
def released_db(web_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("isolation") / "catscan.duckdb"
    shutil.copy(web_db, path)
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", "1998-11-23n",
                           "--db", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def oracle(released_db) -> Oracle:
    con = connect(released_db)
    try:
        night = "date = DATE '{}' AND hemis = '{}'".format(*RELEASED)
        scans = {k for (k,) in con.execute(f"SELECT scan_key FROM scans WHERE {night}")
                 .fetchall()}
        keyed = f"scan_key IN (SELECT scan_key FROM scans WHERE {night})"
        counts = {t: con.execute(f"SELECT count(*) FROM {t} WHERE {keyed}").fetchone()[0]
                  for t in ("psc", "xsc", "atlas_images", "scans")}
        counts |= {t: con.execute(f"SELECT count(*) FROM {t} WHERE {night}").fetchone()[0]
                   for t in ("nights", "night_qa", "processing_history")}
        assert counts["psc"] < con.execute("SELECT count(*) FROM psc").fetchone()[0]
        return Oracle(
            scan_keys=frozenset(scans),
            dates=frozenset({RELEASED[0]}),
            designations=frozenset(d.strip() for (d,) in con.execute(
                f"SELECT designation FROM psc WHERE {keyed}").fetchall()),
            counts=counts,
            every_scan_key=frozenset(k for (k,) in con.execute(
                "SELECT scan_key FROM scans").fetchall()),
            image_ids=tuple(con.execute("SELECT coadd_key, band FROM atlas_images "
                                        "ORDER BY 1, 2").fetchall()),
            scan_centres=tuple(con.execute(
                "SELECT any_value(ra ORDER BY pts_key), any_value(dec ORDER BY pts_key) "
                "FROM psc GROUP BY scan_key ORDER BY scan_key").fetchall()))
    finally:
        con.close()


@pytest.fixture(scope="module")
def server(released_db):
    from webserver import running_server

    with running_server(released_db, timeout=5.0) as url:
        yield url


# ---- query shapes ----------------------------------------------------------------------

def key_of(table: str) -> str:
    return "scan_key" if table in PER_SCAN else DATE


@st.composite
def table_refs(draw, table: str) -> str:
    return draw(st.sampled_from([
        table, f"main.{table}", f'"{table}"', f'main."{table}"', f"catscan.main.{table}",
        f"catscan.{table}", f'"catscan"."main"."{table}"', f"memory.main.{table}",
        f"temp.main.{table}", f"system.main.{table}"]))


@st.composite
def shapes(draw, depth: int = 0) -> tuple[str, str]:
    """(ADQL selecting the leaf table's key as k, the leaf table). Every wrapper keeps
    the leaf's rows or a subset of them, and adds none of its own."""
    table = draw(st.sampled_from(PER_SCAN + PER_NIGHT))
    query = f"SELECT {key_of(table)} AS k FROM {draw(table_refs(table))}"
    for _ in range(draw(st.integers(0, 3))):
        decoy = draw(st.sampled_from(DECOY_NAMES))
        query = draw(st.sampled_from([
            f"SELECT k FROM ({query}) AS s",
            f"WITH {decoy} AS ({query}) SELECT k FROM {decoy}",
            f"SELECT p.k FROM (WITH {decoy} AS (SELECT 1 AS x) SELECT x FROM {decoy}) AS t, "
            f"({query}) AS p",
            f"SELECT k FROM ({query}) AS a UNION SELECT k FROM ({query}) AS b",
            f"SELECT k FROM ({query}) AS a INTERSECT SELECT k FROM ({query}) AS b",
            f"SELECT k FROM ({query}) AS s WHERE k IN (SELECT k FROM ({query}) AS r)",
            f"SELECT l.k FROM (SELECT 1 AS one) AS o, LATERAL ({query}) AS l",
            f"SELECT k FROM ({query}) AS s WHERE EXISTS (SELECT 1 FROM {decoy})",
            f"WITH {table} AS (SELECT 1 AS y) SELECT k FROM ({query}) AS s",
        ]))
    return query, table


def votable(content: bytes) -> Table | None:
    """The result table, or None for an error answer (no rows)."""
    try:
        tables = parse(io.BytesIO(content)).iter_tables()
        return next(tables).to_table()
    except (StopIteration, Exception):
        return None


def check_keys(values, table: str, oracle: Oracle) -> None:
    if table in PER_SCAN:
        leaked = {int(v) for v in values} - oracle.scan_keys
        assert not leaked, f"unreleased scan_key(s) {sorted(leaked)[:5]} from {table}"
    else:
        leaked = {str(v)[:10] for v in values} - oracle.dates
        assert not leaked, f"unreleased night(s) {sorted(leaked)[:5]} from {table}"


def tap(server: str, query: str, **extra) -> httpx.Response:
    return httpx.post(f"{server}/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL",
                                                  "QUERY": query, "MAXREC": "200000"},
                      timeout=30, **extra)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=shapes())
def test_no_tap_query_shape_reaches_an_unreleased_row(server, oracle, shape):
    query, table = shape
    got = tap(server, query)
    assert got.status_code != 500, got.text
    rows = votable(got.content) if got.status_code == 200 else None
    if rows is not None and "k" in rows.colnames:
        check_keys(rows["k"], table, oracle)
    counted = tap(server, f"SELECT COUNT(*) AS n FROM ({query}) AS c")
    rows = votable(counted.content) if counted.status_code == 200 else None
    if rows is not None and "n" in rows.colnames and table in oracle.counts:
        assert int(rows["n"][0]) <= oracle.counts[table], query


def test_the_reported_exploit_sees_the_released_night_only(server, oracle):
    """issue 18: a CTE named psc inside a subquery made every psc in the query escape."""
    query = ("SELECT COUNT(*) AS n FROM (WITH psc AS (SELECT 1 AS x) SELECT x FROM psc) "
             "AS t, psc AS p")
    got = tap(server, query)
    assert got.status_code == 200
    assert int(votable(got.content)["n"][0]) == oracle.counts["psc"]
    for table in ("scans", "nights", "atlas_images", "night_processing"):
        got = tap(server, f"SELECT COUNT(*) AS n FROM (WITH {table} AS (SELECT 1 AS x) "
                          f"SELECT x FROM {table}) AS t, {table} AS p")
        want = oracle.counts.get(table, 1 if table == "night_processing" else None)
        assert int(votable(got.content)["n"][0]) == want, table


def test_table_functions_and_uploads_reach_no_unreleased_row(server, oracle):
    for query in ("SELECT * FROM read_parquet('catscan.duckdb')",
                  "SELECT * FROM query('SELECT * FROM psc')",
                  "SELECT * FROM query_table('psc')",
                  "SELECT * FROM duckdb_tables()",
                  "SELECT * FROM range(3) AS r, psc AS p"):
        got = tap(server, query)
        assert got.status_code != 500
        rows = votable(got.content) if got.status_code == 200 else None
        if rows is not None and "scan_key" in rows.colnames:
            check_keys(rows["scan_key"], "psc", oracle)
    targets = Table(rows=[(ra, dec) for ra, dec in oracle.scan_centres], names=("ra", "dec"))
    data = io.BytesIO()
    targets.write(data, format="votable")
    got = httpx.post(f"{server}/tap/sync", data={
        "REQUEST": "doQuery", "LANG": "ADQL", "UPLOAD": "t,param:t", "MAXREC": "100000",
        "QUERY": "SELECT p.scan_key FROM TAP_UPLOAD.t AS u JOIN psc AS p ON "
                 "1 = CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 0.05))"},
        files={"t": ("t.xml", data.getvalue())}, timeout=60)
    assert got.status_code == 200, got.text
    keys = votable(got.content)["scan_key"]
    assert len(keys) > 0                                # the released night is found ...
    check_keys(keys, "psc", oracle)                     # ... and nothing else


CATSCAN_SOURCES = {"psc": "scan_key", "xsc": "scan_key", "scans": "scan_key",
                   "images": "scan_key", "scan_status": "scan_key", "nights": "date",
                   "history": "date", "night_qa": "date"}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(sorted(CATSCAN_SOURCES)),
       where=st.sampled_from(["", " on night 1999-05-02 s", " on night 1997-10-24 n",
                              " on night 1998-11-23 n", " hemisphere south",
                              " observed between 1997-01-01 and 2000-01-01"]))
def test_no_catscan_query_reaches_an_unreleased_row(server, oracle, source, where):
    key = CATSCAN_SOURCES[source]
    got = httpx.get(f"{server}/catscan/download", params={
        "q": f"select {key} from {source}{where}", "format": "votable"}, timeout=30)
    assert got.status_code in (200, 400), got.text
    rows = votable(got.content) if got.status_code == 200 else None
    if rows is not None:
        check_keys(rows[key], "psc" if key == "scan_key" else "nights", oracle)


def test_cone_search_sia_and_soda_find_only_the_released_night(server, oracle):
    found = set()
    for ra, dec in oracle.scan_centres:
        got = httpx.get(f"{server}/scs/psc", params={"RA": ra, "DEC": dec, "SR": 0.1},
                        timeout=30)
        assert got.status_code == 200
        names = {str(d).strip() for d in votable(got.content)["designation"]}
        assert names <= oracle.designations
        found |= names
        sia = httpx.get(f"{server}/sia/query", params={"POS": f"CIRCLE {ra} {dec} 1"},
                        timeout=30)
        assert sia.status_code == 200 and len(votable(sia.content)) == 0
    assert found                                       # the released night is served
    for coadd_key, band in oracle.image_ids[:12]:
        got = httpx.get(f"{server}/soda/sync",
                        params={"ID": f"ivo://catscan/2mass?atlas/{coadd_key}/{band}"},
                        timeout=30)
        assert got.status_code == 404, (coadd_key, band)


def test_the_home_page_counts_released_nights_only(server, oracle):
    page = httpx.get(f"{server}/", timeout=30).text
    assert f"{oracle.counts['psc']:,}" in page or str(oracle.counts["psc"]) in page
