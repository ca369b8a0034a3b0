"""TAP metadata and answers that VO clients accept (issue 20), against a real server on the
demo survey (every night released: the team's queries and the public service's in one):
ADQL-safe names that read the database's columns, internal columns out of TAP and cone
searches, VOUnit units, TAPRegExt capabilities whose formats and uploads (by URL too) work,
the DALI examples (each one run), FIELD declarations that do not depend on the rows, and
ADQL-level errors naming where and what."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import re
import threading
import xml.etree.ElementTree as ET

import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.io.votable import parse, parse_single_table
from astropy.table import Table

import catscan
from catscan.safety import query_connection

from conftest import TEAM_PASSWORD

AUTH = ("team", TEAM_PASSWORD)          # the team: the whole survey, not the public copy
M31 = (10.68479, 41.26906)
EMPTY = (80.0, -70.0)                      # no survey data there in the demo survey
INTERNAL = {"hpx29", "hpx11", "load_id", "fits"}
REGEXT = "ivo://ivoa.net/std/TAPRegExt"
VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def tap(url: str, query: str, auth=AUTH, **params) -> httpx.Response:
    return httpx.post(f"{url}/tap/sync", data={"LANG": "ADQL", "QUERY": query, **params},
                      auth=auth, timeout=60)


def rows(answer: httpx.Response) -> Table:
    assert answer.status_code == 200, answer.text[-500:]
    return parse_single_table(io.BytesIO(answer.content)).to_table()


def fields(content: bytes) -> list[dict[str, str]]:
    """The FIELD declarations of a VOTable answer (attributes, without the row data)."""
    root = ET.fromstring(content)
    return [dict(f.attrib) for f in root.iter(f"{VOTABLE_NS}FIELD")]


def sql(db, query: str) -> list[tuple]:
    con = query_connection(db)          # as the server's own connections are configured
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def survey_tables(url: str) -> list[str]:
    listed = rows(tap(url, "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = "
                           "'main' ORDER BY table_index"))
    return [str(t) for t in listed["table_name"]]


# ---- names ---------------------------------------------------------------------------------

def test_adql_names_are_safe_and_read_the_database_columns(server, released_db):
    columns = rows(tap(server, "SELECT table_name, column_name FROM TAP_SCHEMA.columns "
                                   "WHERE table_name NOT LIKE 'TAP_SCHEMA.%'"))
    names = {(str(t), str(c)) for t, c in zip(columns["table_name"], columns["column_name"],
                                              strict=True)}
    assert not {c for _, c in names} & {"date", "value"}
    assert {("nights", "xdate"), ("psc", "xdate"), ("night_qa", "metric_value")} <= names
    nights = rows(tap(server, "SELECT xdate, hemis FROM nights ORDER BY xdate, hemis"))
    stored = sql(released_db, "SELECT date, hemis FROM nights ORDER BY date, hemis")
    assert [(str(d), str(h)) for d, h in zip(nights["xdate"], nights["hemis"], strict=True)] \
        == [(d.isoformat(), h) for d, h in stored] and len(stored) >= 5
    qa = rows(tap(server, "SELECT metric, metric_value FROM night_qa WHERE xdate = "
                              "'1998-04-16' ORDER BY metric"))
    assert [float(v) for v in qa["metric_value"] if v is not None] == [
        v for (v,) in sql(released_db, "SELECT value FROM night_qa WHERE date = '1998-04-16' "
                                  "ORDER BY metric") if v is not None] and len(qa) > 0
    # a join on the aliased names, and the database's name quoted still reads the column
    joined = rows(tap(server, "SELECT COUNT(*) AS n FROM scans JOIN nights USING "
                                  "(xdate, hemis)"))
    assert int(joined["n"][0]) == sql(released_db, "SELECT COUNT(*) FROM scans JOIN nights "
                                              "USING (date, hemis)")[0][0] > 0
    quoted = rows(tap(server, 'SELECT "date" FROM nights ORDER BY "date"'))
    assert [str(d) for d in quoted["date"]] == sorted(d.isoformat() for d, _ in stored)


def test_internal_columns_stay_out_of_tap_and_cone_searches(server):
    declared = rows(tap(server, "SELECT table_name, column_name FROM TAP_SCHEMA.columns "
                                    "ORDER BY table_name, column_index"))
    assert not INTERNAL & {str(c) for c in declared["column_name"]}
    for table in survey_tables(server):
        star = rows(tap(server, f"SELECT TOP 1 * FROM {table}"))
        listed = [str(c) for t, c in zip(declared["table_name"], declared["column_name"],
                                         strict=True) if str(t) == table]
        assert star.colnames == listed, table           # SELECT * is TAP_SCHEMA's columns
    refused = tap(server, "SELECT hpx29 FROM psc")
    assert refused.status_code == 400 and b"hpx29 is an internal column of psc" in \
        refused.content
    for catalog in ("psc", "xsc"):
        cone = httpx.get(f"{server}/scs/{catalog}", params={
            "RA": M31[0], "DEC": M31[1], "SR": 0.05, "VERB": 3}, auth=AUTH)
        assert not INTERNAL & {f["name"] for f in fields(cone.content)}


# ---- units ---------------------------------------------------------------------------------

def test_every_unit_is_vounit(server):
    declared = rows(tap(server, "SELECT table_name, column_name, unit FROM "
                                    "TAP_SCHEMA.columns WHERE unit IS NOT NULL"))
    units = {(str(t), str(c)): str(x) for t, c, x in zip(
        declared["table_name"], declared["column_name"], declared["unit"], strict=True)}
    assert units[("psc", "jdate")] == "d" and units[("psc", "ra")] == "deg"
    for unit in set(units.values()):
        u.Unit(unit, format="vounit")                  # raises on anything not VOUnit
    answers = [tap(server, f"SELECT TOP 1 * FROM {t}").content
               for t in survey_tables(server)]
    answers += [httpx.get(f"{server}/scs/{c}", params={"RA": M31[0], "DEC": M31[1],
                                                           "SR": 0.02, "VERB": 3},
                          auth=AUTH).content for c in ("psc", "xsc")]
    found = {f["unit"] for answer in answers for f in fields(answer) if "unit" in f}
    assert {"d", "deg", "mag"} <= found
    for unit in found:
        u.Unit(unit, format="vounit")


# ---- capabilities, formats, uploads ----------------------------------------------------------

def test_capabilities_declare_features_by_version_and_formats_that_work(server):
    document = ET.fromstring(httpx.get(f"{server}/tap/capabilities").content)
    tap_cap = next(c for c in document if c.get("standardID") == "ivo://ivoa.net/std/TAP")
    by_version = {}
    for language in tap_cap.iter("language"):
        version = language.find("version").get("ivo-id")
        by_version[version] = {f.get("type") for f in language.iter("languageFeatures")}
    # ADQL 2.0 defines only the geometry (and UDF) feature types; the others are ADQL 2.1's
    assert by_version["ivo://ivoa.net/std/ADQL#v2.0"] == {f"{REGEXT}#features-adqlgeo"}
    assert by_version["ivo://ivoa.net/std/ADQL#v2.1"] == {
        f"{REGEXT}#features-{k}" for k in ("adqlgeo", "adql-string", "adql-offset",
                                           "adql-type", "adql-sets", "adql-common-table")}
    methods = {m.get("ivo-id") for m in tap_cap.iter("uploadMethod")}
    assert {f"{REGEXT}#upload-inline", f"{REGEXT}#upload-http"} <= methods
    examples = [c for c in document if c.get("standardID") == "ivo://ivoa.net/std/DALI#examples"]
    assert examples[0].find("interface/accessURL").text == f"{server}/tap/examples"
    formats = [(f.find("mime").text, [a.text for a in f.iter("alias")])
               for f in tap_cap.iter("outputFormat")]
    assert len(formats) == 6
    for mime, aliases in formats:
        for name in [mime, *aliases]:
            answer = tap(server, "SELECT TOP 2 designation, j_m FROM psc",
                         RESPONSEFORMAT=name)
            assert answer.status_code == 200, (name, answer.text[:300])
            assert answer.headers["content-type"].split(";")[0] == mime.split(";")[0], name


@contextlib.contextmanager
def file_server(directory):
    """A plain HTTP server on the loopback, serving ``directory``: its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


XMATCH = ("SELECT u.name, p.designation FROM TAP_UPLOAD.t AS u JOIN psc AS p ON "
          "CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 30.0 / 3600)) = 1 "
          "ORDER BY u.name, p.designation")


def test_uploads_by_url_equal_inline_uploads(server, released_db, tmp_path):
    (ra1, dec1), (ra2, dec2) = sql(released_db, "SELECT ra, dec FROM psc WHERE dec > 40 "
                                                 "ORDER BY pts_key LIMIT 2")
    targets = Table({"name": ["a", "b", "c"], "ra": [ra1 + 1e-4, ra2, EMPTY[0]],
                     "dec": [dec1, dec2 - 1e-4, EMPTY[1]]})
    targets.write(tmp_path / "t.xml", format="votable")
    inline = rows(httpx.post(f"{server}/tap/sync", auth=AUTH, timeout=60, data={
        "LANG": "ADQL", "QUERY": XMATCH, "UPLOAD": "t,param:t"},
        files={"t": ("t.xml", (tmp_path / "t.xml").read_bytes())}))
    assert len(inline) >= 2 and set(inline["name"]) == {"a", "b"}
    with file_server(tmp_path) as base:
        fetched = rows(tap(server, XMATCH, UPLOAD=f"t,{base}/t.xml"))
        assert list(fetched["designation"]) == list(inline["designation"])
        # a visitor may not make the server read the loopback (or any private address)
        private = tap(server, XMATCH, auth=None, UPLOAD=f"t,{base}/t.xml")
        assert private.status_code == 400 and b"private address" in private.content
        missing = tap(server, XMATCH, UPLOAD=f"t,{base}/nothing.xml")
        assert missing.status_code == 400 and b"answered 404" in missing.content
    own = tap(server, XMATCH.replace("u.name", "u.ra"), auth=None,
              UPLOAD=f"t,{server}/tap/examples/targets.xml")
    assert own.status_code == 200                       # the server's own example list
    other = tap(server, XMATCH, UPLOAD="t,ftp://example.org/t.xml")
    assert other.status_code == 400 and b"neither param:part" in other.content


# ---- examples ------------------------------------------------------------------------------

def test_examples_document_lists_queries_that_run(server, released_db):
    answer = httpx.get(f"{server}/tap/examples")
    assert answer.status_code == 200
    root = ET.fromstring(answer.content)
    ns = "{http://www.w3.org/1999/xhtml}"
    body = root.find(f"{ns}body")
    assert body.get("vocab") == "http://www.ivoa.net/rdf/examples#"
    examples = [e for e in root.iter() if e.get("typeof") == "example"]
    assert [e.get("id") for e in examples] == ["cone", "crossmatch", "tile", "night"]
    counts = {}
    for example in examples:
        query = "".join(next(e for e in example.iter() if e.get("property") == "query")
                        .itertext())
        params = {}
        for p in example.iter():
            if p.get("property") == "generic-parameter":
                key = next(e for e in p.iter() if e.get("property") == "key").text
                params[key] = next(e for e in p.iter() if e.get("property") == "value").text
        result = rows(tap(server, query, **params))
        counts[example.get("id")] = len(result)
    cone = catscan.query(f"select count(*) as n from psc within 2 arcmin of {M31[0]} "
                         f"{M31[1]}", released_db)
    assert counts["cone"] == int(cone["n"][0]) > 0
    night = sql(released_db, "SELECT COUNT(*) FROM scans WHERE date = '1998-04-16' AND hemis = 'n'")
    assert counts["night"] == night[0][0] > 0
    assert counts["crossmatch"] >= 5 and counts["tile"] > 0      # every target kept


# ---- column types --------------------------------------------------------------------------

def test_cone_search_fields_do_not_depend_on_the_rows(server):
    for catalog in ("psc", "xsc"):
        for verb in (1, 2, 3):
            declared = []
            for (ra, dec), sr in ((M31, 0.05), (EMPTY, 0.01), (M31, 0)):
                answer = httpx.get(f"{server}/scs/{catalog}", auth=AUTH, params={
                    "RA": ra, "DEC": dec, "SR": sr, "VERB": verb})
                table = parse_single_table(io.BytesIO(answer.content)).to_table()
                if catalog == "psc":                     # a full, an empty, a zero cone
                    assert (len(table) > 0) == (sr == 0.05)
                declared.append(fields(answer.content))
            assert declared[0] == declared[1] == declared[2], (catalog, verb)
            by_name = {f["name"]: f for f in declared[0]}
            assert (by_name["designation"]["datatype"], by_name["designation"]["arraysize"]) \
                == ("char", "17")
            assert not any(f["datatype"] == "unicodeChar" for f in declared[0])
            if catalog == "psc" and verb > 1:
                assert by_name["ph_qual"]["arraysize"] == "3"


def test_tap_fields_do_not_depend_on_the_rows(server):
    cone = ("SELECT * FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
            "CIRCLE('ICRS', {}, {}, 0.02)) = 1")
    full = tap(server, cone.format(*M31))
    empty = tap(server, cone.format(*EMPTY))
    assert len(rows(full)) > 0 and len(rows(empty)) == 0
    assert fields(full.content) == fields(empty.content)
    zero = tap(server, cone.format(*M31), MAXREC="0")
    assert fields(zero.content) == fields(full.content)
    by_name = {f["name"]: f for f in fields(full.content)}
    assert (by_name["designation"]["datatype"], by_name["designation"]["arraysize"]) == \
        ("char", "17")
    assert by_name["ph_qual"]["arraysize"] == "3" and by_name["ndet"]["arraysize"] == "6"
    assert not any(f["datatype"] == "unicodeChar" for f in by_name.values())
    # TAP_SCHEMA says the same
    schema = rows(tap(server, "SELECT column_name, datatype, arraysize FROM "
                                  "TAP_SCHEMA.columns WHERE table_name = 'psc'"))
    for name, datatype, arraysize in zip(schema["column_name"], schema["datatype"],
                                         schema["arraysize"], strict=True):
        assert by_name[str(name)]["datatype"] == str(datatype)
        assert by_name[str(name)].get("arraysize", "") == (
            "" if np.ma.is_masked(arraysize) else str(arraysize))


# ---- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("SELECT designation, j_mag FROM psc",
     "ADQL error at line 1, column 21: unknown column j_mag; did you mean j_m"),
    ("SELECT p.designation\nFROM psc AS p WHERE p.glonx > 3",
     "ADQL error at line 2, column 21: p (psc) has no column glonx; did you mean glon?"),
    ("SELECT ra FROM psc JOIN xsc ON psc.ext_key = xsc.ext_key",
     "ADQL error at line 1, column 8: column ra is in more than one table: write psc.ra or "
     "xsc.ra"),
    ("SELECT s.d FROM (SELECT xdate AS d FROM scans) AS s WHERE s.e > 0",
     "ADQL error at line 1, column 59: s has no column e"),
    ("SELECT LOWER(j_m) FROM psc", "LOWER does not take (DOUBLE)"),
    ("SELECT j_m, COUNT(*) AS n FROM psc",
     "j_m must be in the GROUP BY list or inside an aggregate"),
    ("SELECT q.x FROM psc", "q.x: no table or alias q in this query (tables here: psc)"),
])
def test_adql_errors_name_the_position_and_a_suggestion(server, query, message):
    answer = tap(server, query)
    assert answer.status_code == 400
    status = parse(io.BytesIO(answer.content)).resources[0].infos[0]
    text = status.content or ""
    assert status.value == "ERROR" and message in text, text
    assert not re.search(r"Binder|Candidate|Error:|LINE \d", text)


@pytest.fixture(scope="module")
def server(released_server):
    return released_server
