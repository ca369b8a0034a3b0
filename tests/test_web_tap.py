"""TAP 1.1 (catscan.web.tap, vosi) through real clients, pyvo and astroquery, against the
server on the demo survey: results equal the CLI's, MAXREC overflows, TAP_SCHEMA and VOSI
describe the tables, uploads cross-match, errors name the problem, the team password is
required, and a query that runs too long is stopped while the server keeps answering."""

from __future__ import annotations

import io
import threading
import time
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord, search_around_sky
from astropy.io.votable import parse_single_table
from astropy.table import Table

import catscan
from catscan.safety import query_connection

from conftest import TEAM_PASSWORD

pyvo = pytest.importorskip("pyvo")
M31 = (10.68479, 41.26906)
M17 = (275.2, -16.1)
CONE = ("SELECT designation, ra, dec, j_m, xdate FROM psc WHERE CONTAINS(POINT('ICRS', ra, "
        "dec), CIRCLE('ICRS', {}, {}, {})) = 1")


@pytest.fixture(scope="module")
def tap(web_server, vo_session):
    return pyvo.dal.TAPService(f"{web_server}/tap", session=vo_session)


def cli(db, text: str) -> Table:
    return catscan.query(text, db)


def test_pyvo_cone_equals_the_cli_with_units_ucds_and_types(tap, web_db):
    results = tap.run_sync(CONE.format(*M31, 0.05) + " ORDER BY designation")
    expected = cli(web_db, f"select designation, j_m from psc within 0.05 deg of {M31[0]} "
                           f"{M31[1]} order by designation")
    table = results.to_table()
    # (VOTable readers strip the blank that pads designations without a suffix)
    assert len(expected) > 5 and list(table["designation"]) == [
        str(d).rstrip() for d in expected["designation"]]
    assert np.allclose(table["j_m"], expected["j_m"])
    fields = {f.name: f for f in results.fielddescs}
    assert table["ra"].unit == "deg" and table["j_m"].unit == "mag"
    assert fields["ra"].ucd == "pos.eq.ra;meta.main" and fields["j_m"].ucd == "phot.mag;em.IR.J"
    assert (fields["xdate"].datatype, fields["xdate"].xtype) == ("char", "timestamp")
    assert (fields["designation"].datatype, fields["designation"].arraysize) == ("char", "17")
    # the FIELD types are TAP_SCHEMA's
    schema = tap.run_sync("SELECT column_name, datatype, arraysize, xtype FROM "
                          "TAP_SCHEMA.columns WHERE table_name = 'psc'").to_table()
    declared = {r["column_name"]: r for r in schema}
    for name in ("designation", "ra", "j_m", "xdate"):
        assert fields[name].datatype == declared[name]["datatype"]
        assert (fields[name].arraysize or "") == str(declared[name]["arraysize"] or "")
    assert results.query_status == "OK"


def test_box_and_distance_equal_hand_written_sql(tap, web_db):
    box = tap.run_sync("SELECT COUNT(*) AS n FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
                       f"BOX('ICRS', {M17[0]}, {M17[1]}, 0.2, 0.1)) = 1").to_table()
    near = tap.run_sync(f"SELECT pts_key FROM psc WHERE DISTANCE(POINT('ICRS', ra, dec), "
                        f"POINT('ICRS', {M17[0]}, {M17[1]})) < 0.03").to_table()
    con = query_connection(web_db)
    try:
        ra, dec = M17
        rows = con.execute("SELECT pts_key, ra, dec FROM psc WHERE dec BETWEEN ? AND ?",
                           [dec - 1, dec + 1]).fetchnumpy()
    finally:
        con.close()
    sep = SkyCoord(rows["ra"], rows["dec"], unit="deg").separation(
        SkyCoord(ra, dec, unit="deg")).deg
    assert set(near["pts_key"]) == set(rows["pts_key"][sep < 0.03]) and len(near) > 20
    # the box: sides along and across the meridian of the centre, 0.2 x 0.1 deg
    offsets = SkyCoord(ra, dec, unit="deg").skyoffset_frame()
    local = SkyCoord(rows["ra"], rows["dec"], unit="deg").transform_to(offsets)
    xi = np.tan(local.lon.rad)                     # gnomonic coordinates at the centre
    eta = np.tan(local.lat.rad) / np.cos(local.lon.rad)
    inside = (np.abs(xi) <= np.tan(np.radians(0.1))) & (np.abs(eta) <= np.tan(np.radians(0.05)))
    assert box["n"][0] == inside.sum() > 50


def test_maxrec_overflow_and_formats(tap, web_server, vo_session):
    query = CONE.format(*M17, 0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # pyvo warns of cuts below the asked MAXREC
        truncated = tap.run_sync(query, maxrec=7)
    assert len(truncated) == 7 and truncated.query_status == "OVERFLOW"
    whole = tap.run_sync(query)
    assert whole.query_status == "OK" and len(whole) > 7
    top = tap.run_sync(query.replace("SELECT", "SELECT TOP 5"), maxrec=7)
    assert len(top) == 5 and top.query_status == "OK"          # TOP below MAXREC: no overflow
    # pyvo does not send MAXREC=0: ask by hand for the columns only
    metadata = parse_single_table(io.BytesIO(vo_session.post(f"{web_server}/tap/sync", data={
        "LANG": "ADQL", "QUERY": query, "MAXREC": "0"}).content))
    assert len(metadata.array) == 0 and "j_m" in [f.name for f in metadata.fields]
    csv = vo_session.get(f"{web_server}/tap/sync", params={
        "REQUEST": "doQuery", "LANG": "ADQL", "RESPONSEFORMAT": "csv",
        "QUERY": "SELECT TOP 2 pts_key, xdate FROM psc ORDER BY pts_key"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "pts_key,xdate" and len(lines) == 3 and "-" in lines[1]
    fits = vo_session.post(f"{web_server}/tap/sync", data={
        "LANG": "ADQL", "FORMAT": "fits", "MAXREC": "2", "QUERY": "SELECT pts_key FROM psc"})
    assert fits.headers["content-type"] == "application/fits" and fits.content[:6] == b"SIMPLE"


def test_tap_schema_vosi_tables_and_capabilities(tap, web_server):
    columns = tap.run_sync("SELECT column_name, unit FROM TAP_SCHEMA.columns WHERE "
                           "table_name = 'psc'").to_table()
    assert len(columns) == 60 and dict(zip(columns["column_name"], columns["unit"],
                                           strict=True))["ra"] == "deg"    # 63 less internal
    assert "psc" in tap.tables and "TAP_SCHEMA.columns" in tap.tables
    assert [c.name for c in tap.tables["psc"].columns][:2] == ["ra", "dec"]
    assert "team_access" not in list(tap.tables.keys())
    assert tap.maxrec == 100_000 and tap.hardlimit == 1_000_000
    assert [m.ivo_id for m in tap.upload_methods] == [
        f"ivo://ivoa.net/std/TAPRegExt#upload-{m}" for m in ("inline", "http", "https")]
    # anonymous, as TAP 1.1 asks; sync and async (UWS) are offered
    document = requests.get(f"{web_server}/tap/capabilities")
    assert document.status_code == 200
    ids = [c.get("standardID") for c in ET.fromstring(document.content)]
    assert "ivo://ivoa.net/std/TAP" in ids and "ivo://ivoa.net/std/TAP#sync-1.1" in ids
    assert "ivo://ivoa.net/std/TAP#async-1.1" in ids
    available = requests.get(f"{web_server}/tap/availability")
    assert b"<vosi:available>true</vosi:available>" in available.content


def test_astroquery_irsa_pointed_at_the_server(web_server, web_db):
    from astroquery.ipac.irsa import IrsaClass

    irsa = IrsaClass()
    irsa.tap_url = f"{web_server}/tap"
    irsa._session.auth = ("team", TEAM_PASSWORD)     # astroquery's requests session
    table = irsa.query_region(SkyCoord(*M31, unit="deg"), catalog="psc", spatial="Cone",
                              radius=3 * u.arcmin)
    expected = cli(web_db, f"select designation from psc within 3 arcmin of {M31[0]} "
                           f"{M31[1]} order by designation")
    assert sorted(table["designation"]) == [str(d).rstrip() for d in expected["designation"]]
    assert len(table) > 5
    # SELECT *: every TAP column, none of the internal ones
    assert len(table.colnames) == 60 and not {"hpx29", "hpx11", "load_id"} & set(table.colnames)
    assert "xdate" in table.colnames and "date" not in table.colnames
    assert "psc" in irsa.list_catalogs() and "nights" not in irsa.list_catalogs()
    assert "j_m" in irsa.list_columns("psc")
    result = irsa.query_tap("SELECT TOP 3 tile FROM tiles ORDER BY tile").to_table()
    assert list(result["tile"]) == sorted(result["tile"]) and len(result) == 3


def test_upload_cross_match_keeps_every_target(tap, web_db):
    con = query_connection(web_db)
    try:
        near = con.execute("SELECT ra, dec, pts_key FROM psc WHERE dec BETWEEN -16.3 AND "
                           "-15.9 AND ra BETWEEN 275.0 AND 275.4").fetchnumpy()
    finally:
        con.close()
    picked = np.argsort(near["pts_key"])[:20]
    targets = Table({"ra": np.append(near["ra"][picked] + 0.5 / 3600, 100.0),
                     "dec": np.append(near["dec"][picked], 0.0),
                     "name": [f"t{i:02d}" for i in range(21)]})
    results = tap.run_sync(
        "SELECT u.name, p.pts_key, DISTANCE(POINT(u.ra, u.dec), POINT(p.ra, p.dec)) * 3600 "
        "AS sep FROM TAP_UPLOAD.targets AS u LEFT JOIN psc AS p ON CONTAINS(POINT('ICRS', "
        "p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 1.5 / 3600)) = 1 ORDER BY u.name",
        uploads={"targets": targets}).to_table()
    assert sorted(set(results["name"])) == list(targets["name"])          # every target kept
    found = {(r["name"], int(r["pts_key"])): r["sep"] for r in results
             if not np.ma.is_masked(r["pts_key"])}
    mine = SkyCoord(targets["ra"], targets["dec"], unit="deg")
    theirs = SkyCoord(near["ra"], near["dec"], unit="deg")
    i, j, sep, _ = search_around_sky(mine, theirs, 1.5 * u.arcsec)
    expected = {(targets["name"][a], int(near["pts_key"][b])): s.arcsec
                for a, b, s in zip(i, j, sep, strict=True)}
    assert found.keys() == expected.keys() and len(expected) >= 20
    assert max(abs(found[k] - expected[k]) for k in found) < 1e-6
    assert results[results["name"] == "t20"]["pts_key"].mask.all()       # kept, unmatched


@pytest.mark.parametrize("query, message", [
    ("SELECT ra FROM psc WHERE INTERSECTS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1, 2, 3)) "
     "= 1", "ADQL error at line 1, column 26: INTERSECTS is not supported"),
    ("SELECT * FROM private.team_access", "unknown table private.team_access"),
    ("SELECT nonsense FROM psc", "ADQL error at line 1, column 8: unknown column nonsense"),
    ("SELECT p.glonx FROM psc AS p", "column 8: p (psc) has no column glonx; did you mean glon?"),
    ("SELECT ra FROM psc WHERE", "WHERE needs a condition"),
])
def test_errors_are_votables_with_the_adql_message(tap, web_server, vo_session, query, message):
    with pytest.raises(pyvo.dal.DALQueryError) as error:
        tap.run_sync(query)
    assert message in str(error.value) and "Traceback" not in str(error.value)
    assert "Binder" not in str(error.value) and "Candidate" not in str(error.value)
    raw = vo_session.post(f"{web_server}/tap/sync", data={"LANG": "ADQL", "QUERY": query})
    assert raw.status_code == 400 and b'value="ERROR"' in raw.content


def test_bad_requests_and_the_password(web_server, vo_session):
    url = f"{web_server}/tap/sync"
    for params, message in (({"QUERY": "SELECT 1"}, "LANG is required"),
                            ({"LANG": "SQL", "QUERY": "SELECT 1"}, "unknown query language"),
                            ({"LANG": "ADQL"}, "QUERY is required"),
                            ({"LANG": "ADQL", "QUERY": "SELECT ra FROM psc", "MAXREC": "-1"},
                             "MAXREC=-1 is negative"),
                            ({"LANG": "ADQL", "QUERY": "SELECT ra FROM psc", "FORMAT": "xls"},
                             "RESPONSEFORMAT=xls is not supported")):
        answer = vo_session.get(url, params=params)
        assert answer.status_code == 400 and message in answer.text
    plain = requests.get(url, params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 ra FROM psc"})
    assert plain.status_code == 401 and b"ra" not in plain.content
    wrong = requests.post(url, data={"LANG": "ADQL", "QUERY": "SELECT 1"},
                          auth=("team", "not the password"))
    assert wrong.status_code == 401


def test_a_long_query_is_stopped_while_others_are_answered(tap, web_server, vo_session):
    long_query = ("SELECT COUNT(*) AS n FROM psc AS a, psc AS b "
                  "WHERE MOD(a.pts_key + b.pts_key, 7) = 0")
    outcome: dict = {}

    def slow() -> None:
        started = time.monotonic()
        try:
            tap.run_sync(long_query)
        except pyvo.dal.DALQueryError as exc:
            outcome["error"] = str(exc)
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    quick = tap.run_sync("SELECT TOP 1 tile FROM tiles")
    quick_seconds = time.monotonic() - started
    worker.join(timeout=30)
    assert len(quick) == 1 and quick_seconds < 1.5
    assert "ran longer than this service's limit of 2 s and was stopped" in outcome["error"]
    assert 1.9 < outcome["seconds"] < 10
