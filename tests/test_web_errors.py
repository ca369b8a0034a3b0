"""No request gets a traceback, a 500 for its own mistake or a reset connection (finding 5
of issue 18), on a real server with a released night, for the team and for visitors: the
examples of the issue, fuzzed CatScan and ADQL texts and VO parameters, deep nesting, and
the last resort for errors no handler expected (a 503 answer, the connection kept, the
traceback in the server log only)."""

from __future__ import annotations

import html
import http.client
import logging
import shutil
import subprocess
import sys
from urllib.parse import urlencode, urlsplit

import fuzz_queries as fq
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import Response
from starlette.routing import Route

from catscan.web import adql, create_app
from catscan.web.sia import DID_PREFIX

from conftest import TEAM_PASSWORD
from webserver import running_app, running_server

TEAM = ("team", TEAM_PASSWORD)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
M31 = "CIRCLE 10.68 41.27 0.2"


@pytest.fixture(scope="module")
def released_db(web_db, tmp_path_factory):
    """The web survey with the M31 night released: visitors may query it."""
    path = tmp_path_factory.mktemp("errors") / "catscan.duckdb"
    shutil.copy(web_db, path)
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", "1997-10-24n",
                           "--db", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def server(released_db):
    with running_server(released_db, timeout=5.0) as url:
        yield url


@pytest.fixture(scope="module")
def team(server):
    with httpx.Client(base_url=server, auth=TEAM, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def visitor(server):
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def answered(response: httpx.Response) -> httpx.Response:
    """A response that is the service's own answer: not 500, no traceback."""
    assert response.status_code < 500 or "ran longer than" in response.text, \
        (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response


def on_one_connection(url: str, *paths: str) -> list[tuple[int, bytes]]:
    """(status, body) of GET requests sent one after the other on one kept-alive HTTP/1.1
    connection; fails if the server closed it in between."""
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    out, local = [], None
    try:
        for path in paths:
            con.request("GET", path)
            response = con.getresponse()
            out.append((response.status, response.read()))
            assert local in (None, con.sock.getsockname()), "the connection was replaced"
            local = con.sock.getsockname()
    finally:
        con.close()
    return out


# ---- the examples of the issue --------------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ("select min() from psc", "line 1, column 8: min() takes 1 argument, not 0"),
    ("select avg(j_m, k_m) from psc", "line 1, column 8: avg() takes 1 argument, not 2"),
    ("select basic from psc within 2arcmin of 10.1e30868 41",
     "line 1, column 41: cannot read the position 10.1e30868 41 (icrs): '10.1e30868' is "
     "not a finite number"),
])
def test_the_catscan_examples_are_400_with_the_position(team, visitor, text, where):
    for client in (team, visitor):
        page = answered(client.get("/catscan", params={"q": text}))
        assert page.status_code == 400 and where in html.unescape(page.text)
        download = answered(client.get("/catscan/download", params={"q": text}))
        assert download.status_code == 400 and where in download.text


def test_adql_with_49_parentheses_is_400_with_the_position(team, visitor):
    query = "SELECT " + "(" * 49 + "ra" + ")" * 49 + " FROM psc"
    for client in (team, visitor):
        got = answered(client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query}))
        assert got.status_code == 400
        assert f"ADQL error at line 1, column {8 + adql.MAX_NESTING}: the query nests more than " \
               f"{adql.MAX_NESTING} levels deep here" in got.text


def test_sia_maxrec_of_60_nines_is_read_as_the_limit_and_the_connection_stays(server):
    query = urlencode({"POS": M31, "MAXREC": "9" * 60})
    [(status, body), (again, _)] = on_one_connection(
        server, f"/sia/query?{query}", f"/sia/query?{urlencode({'POS': M31})}")
    assert status == again == 200
    assert b'value="OK"' in body and b"<TR>" in body and b"OVERFLOW" not in body
    [(status, body)] = on_one_connection(server, "/sia/query?" + urlencode(
        {"POS": M31, "MAXREC": "-" + "9" * 60}))
    assert status == 200 and b"(61 characters) is negative" in body


def test_soda_id_with_a_60_digit_number_is_a_usage_error_and_the_connection_stays(server):
    ident = f"{DID_PREFIX}{'9' * 60}/j"
    [(status, body), (again, fits)] = on_one_connection(
        server, f"/soda/sync?{urlencode({'ID': ident})}",
        f"/soda/sync?{urlencode({'ID': ident.replace('9' * 60, '9' * 18)})}")
    assert status == 400 and body.startswith(b"UsageError: ID=") and \
        b"is not an Atlas Image of this service" in body
    assert again == 404 and fits.startswith(b"NotFoundFault: no Atlas Image")


def test_the_first_request_of_a_server_to_the_status_page_answers(released_db):
    with running_server(released_db) as url, httpx.Client(auth=TEAM) as client:
        page = answered(client.get(f"{url}/status"))
        assert page.status_code == 200 and "1997-10-24n" in page.text


# ---- the last resort ------------------------------------------------------------------------

def test_an_unexpected_error_is_a_503_answer_on_a_kept_connection(released_db, caplog):
    def fails(request):
        raise RuntimeError("a bug the handler did not expect")

    async def works(request):
        return Response("fine")

    app = create_app(released_db)
    app.router.routes[:0] = [Route(path, fails) for path in ("/tap/fails", "/soda/fails",
                                                              "/fails")] + \
        [Route("/works", works)]
    with caplog.at_level(logging.ERROR, logger="catscan.web"), running_app(app) as url:
        answers = on_one_connection(url, "/tap/fails", "/soda/fails", "/fails", "/works")
    (vo, vo_body), (soda, soda_body), (page, page_body), (fine, fine_body) = answers
    assert vo == soda == page == 503 and (fine, fine_body) == (200, b"fine")
    assert b'<INFO name="QUERY_STATUS" value="ERROR">internal error' in vo_body
    assert soda_body.startswith(b"Error: internal error")
    assert b"<h1>Internal error</h1>" in page_body
    for body in (vo_body, soda_body, page_body):
        assert b"a bug the handler" not in body and b"Traceback" not in body
    logged = [r for r in caplog.records if r.name == "catscan.web" and r.exc_info]
    assert len(logged) == 3 and all("a bug the handler did not expect" in str(r.exc_info[1])
                                    for r in logged)


# ---- fuzzing over HTTP ----------------------------------------------------------------------

@FUZZ
@given(fq.adql_texts(), st.booleans())
def test_tap_sync_answers_any_adql_without_500(team, visitor, text, as_team):
    got = answered((team if as_team else visitor).post(
        "/tap/sync", data={"LANG": "ADQL", "QUERY": text or " ", "MAXREC": "5"}))
    assert 'name="QUERY_STATUS"' in got.text


@FUZZ
@given(fq.catscan_texts(), st.booleans())
def test_the_catscan_page_answers_any_text_without_500(team, visitor, text, as_team):
    got = answered((team if as_team else visitor).post("/catscan", data={"q": text,
                                                                         "limit": "5"}))
    assert got.status_code in (200, 400, 413)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.sampled_from(list(fq.CATSCAN_NESTING)), st.sampled_from(list(fq.ADQL_NESTING)),
       st.integers(1, 5000))
def test_nesting_of_any_depth_is_answered_in_both_languages(team, cs_kind, adql_kind, depth):
    page = answered(team.post("/catscan", data={"q": fq.nested(fq.CATSCAN_NESTING, depth,
                                                               cs_kind)}))
    assert page.status_code in (200, 400)
    answered(team.post("/tap/sync", data={"LANG": "ADQL", "QUERY": fq.nested(
        fq.ADQL_NESTING, depth, adql_kind)}))


VALUES = st.one_of(fq.number, fq.param_value, st.sampled_from([
    "-1", "1.5", "NaN", "-Inf", "+Inf", M31, "RANGE 10 11 41 42", "POLYGON 10 41 11 41 11 42",
    "CIRCLE 1e400 41 0.1", "RANGE 0 360 -90 90", "POLYGON 1 2 3", f"{DID_PREFIX}1/j",
    f"{DID_PREFIX}{'9' * 60}/h", "1.2e-6 2.2e-6", "50000 60000", "NaN 1e-6"]),
    st.text(max_size=20))
VO_PARAMETERS = {
    "/sia/query": ["POS", "BAND", "TIME", "ID", "MAXREC", "COLLECTION", "CALIB", "FACILITY"],
    "/soda/sync": ["ID", "CIRCLE", "POS"], "/scs/psc": ["RA", "DEC", "SR", "VERB"],
    "/scs/xsc": ["RA", "DEC", "SR", "VERB"],
    "/tap/sync": ["LANG", "QUERY", "MAXREC", "RESPONSEFORMAT", "REQUEST"]}


@FUZZ
@given(st.sampled_from(sorted(VO_PARAMETERS)), st.data())
def test_vo_endpoints_answer_any_parameters_without_500(team, path, data):
    names = data.draw(st.lists(st.sampled_from(VO_PARAMETERS[path]), unique=True))
    params = {name: data.draw(VALUES) for name in names}
    if path == "/tap/sync":
        params = {"LANG": "ADQL", "QUERY": "SELECT TOP 3 ra FROM psc"} | params
    answered(team.get(path, params=params))


def test_sia_maxrec_of_any_size_is_capped_at_the_servers_limit(released_db):
    from catscan.web.limits import Limits

    with running_server(released_db, limits=Limits(max_rows=2)) as url:
        got = answered(httpx.get(f"{url}/sia/query", auth=TEAM,
                                 params={"POS": M31, "MAXREC": "9" * 60}))
    assert got.status_code == 200 and got.text.count("<TR>") == 2 and "OVERFLOW" in got.text
