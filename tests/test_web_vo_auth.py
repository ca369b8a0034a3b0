"""Java VO clients log in (issue 20, item 1): every VO endpoint answers a request without
the password with 401, a Basic challenge and a DALI error VOTable, whatever its Accept
header (TOPCAT's and STILTS's contain text/html), while HTML pages still send browsers to
the login form; STILTS with ``-Dstar.basicauth.user/password`` (a java.net.Authenticator,
which answers challenges only) runs sync TAP queries, with and without an upload, and cone
searches, and gets the rows DuckDB finds in the same database."""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from pathlib import Path

import duckdb
import httpx
import pytest
from astropy.io.votable import parse, parse_single_table
from astropy.table import Table

from catscan.web.parking import PARK_MAX, ParkedRequest, ParkedRequests

from webserver import copy_with_password, running_server

PASSWORD = "stilts-pass-2mass"         # no blanks: STILTS passes it as one -D option
STILTS = shutil.which("stilts")
needs_stilts = pytest.mark.skipif(STILTS is None, reason="stilts is not on PATH")
TOPCAT_ACCEPT = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"   # Java's default
ACCEPTS = [TOPCAT_ACCEPT, "*/*", None]
CENTRE = (10.9, 35.95)                  # a field of the demo survey


@pytest.fixture(scope="module")
def vo_db(demo_db, tmp_path_factory) -> Path:
    """A copy of the demo survey with a team password STILTS can pass."""
    return copy_with_password(demo_db, tmp_path_factory.mktemp("vo_auth"), PASSWORD)


@pytest.fixture(scope="module")
def server(vo_db):
    with running_server(vo_db, timeout=30.0) as url:
        yield url


def duck(demo_db: Path, sql: str) -> list[tuple]:
    """The independent answer: DuckDB itself on the same survey (the original file; the
    server holds its copy)."""
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def cone_sql(ra: float, dec: float, radius_deg: float, columns: str) -> str:
    """Sources within ``radius_deg`` of (ra, dec): the haversine distance, in DuckDB."""
    r, d = math.radians(ra), math.radians(dec)
    return (f"SELECT {columns} FROM psc WHERE 2 * asin(sqrt(pow(sin((radians(dec) - {d}) / 2)"
            f", 2) + cos({d}) * cos(radians(dec)) * pow(sin((radians(ra) - {r}) / 2), 2))) "
            f"<= {math.radians(radius_deg)!r}")


def stilts(*args: str, tmp_path: Path) -> Table:
    """``stilts -Dstar.basicauth.user=team -Dstar.basicauth.password=... ARGS`` writing a
    VOTable, read back with astropy."""
    out = tmp_path / "out.vot"
    done = subprocess.run(
        [STILTS, "-Dstar.basicauth.user=team", f"-Dstar.basicauth.password={PASSWORD}",
         *args, f"out={out}", "ofmt=votable"],
        capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return parse_single_table(str(out)).to_table()


def designations(table: Table) -> list[str]:
    return sorted(str(v).strip() for v in table["designation"])


# ---- STILTS with the password ----------------------------------------------------------

@needs_stilts
def test_stilts_tapquery_sync_returns_duckdbs_rows(server, demo_db, tmp_path):
    adql = ("SELECT TOP 7 designation, ra, dec, j_m FROM psc "
            "WHERE ra BETWEEN 10.8 AND 11.0 AND dec BETWEEN 35.9 AND 36.0 ORDER BY designation")
    table = stilts("tapquery", f"tapurl={server}/tap", "sync=true", f"adql={adql}",
                   tmp_path=tmp_path)
    expected = duck(demo_db, "SELECT designation, ra, dec, j_m FROM psc WHERE ra BETWEEN 10.8 "
                    "AND 11.0 AND dec BETWEEN 35.9 AND 36.0 ORDER BY designation LIMIT 7")
    assert len(expected) == 7
    assert [str(v).strip() for v in table["designation"]] == [r[0].strip() for r in expected]
    assert list(table["ra"]) == pytest.approx([r[1] for r in expected], abs=1e-9)
    assert list(table["j_m"]) == pytest.approx([r[3] for r in expected], abs=1e-5)


@needs_stilts
def test_stilts_tapquery_sync_with_an_upload(server, demo_db, tmp_path):
    """The upload is a streamed multipart POST: STILTS cannot answer a challenge to it, so
    the server parks it and the client fetches the answer with a challenged GET."""
    picked = duck(demo_db, cone_sql(*CENTRE, 0.05, "designation, ra, dec") +
                  " ORDER BY designation LIMIT 3")
    targets = tmp_path / "targets.csv"
    Table(rows=[(f"t{i}", ra, dec) for i, (_, ra, dec) in enumerate(picked)],
          names=["name", "ra", "dec"]).write(targets, format="csv")
    adql = ("SELECT u.name, p.designation FROM TAP_UPLOAD.t AS u JOIN psc AS p "
            "ON CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 2.0/3600)) = 1")
    table = stilts("tapquery", f"tapurl={server}/tap", "sync=true", f"adql={adql}",
                   "nupload=1", f"upload1={targets}", "ufmt1=csv", "upname1=t",
                   tmp_path=tmp_path)
    expected = set()
    for i, (_, ra, dec) in enumerate(picked):
        expected |= {(f"t{i}", d.strip()) for (d,) in
                     duck(demo_db, cone_sql(ra, dec, 2.0 / 3600, "designation"))}
    assert {(str(n), str(d).strip()) for n, d in zip(table["name"], table["designation"],
                                                      strict=True)} == expected
    assert {f"t{i}" for i in range(3)} <= {n for n, _ in expected}
    echo = stilts("tapquery", f"tapurl={server}/tap", "sync=true",
                  "adql=SELECT TOP 5 * FROM TAP_UPLOAD.t", "nupload=1",
                  f"upload1={targets}", "ufmt1=csv", "upname1=t", tmp_path=tmp_path)
    assert list(echo["name"]) == ["t0", "t1", "t2"]
    assert list(echo["ra"]) == pytest.approx([r[1] for r in picked], abs=1e-9)


@needs_stilts
def test_stilts_cone_returns_duckdbs_rows(server, demo_db, tmp_path):
    ra, dec = CENTRE
    table = stilts("cone", f"serviceurl={server}/scs/psc?", f"lon={ra}", f"lat={dec}",
                   "radius=0.03", "verb=1", tmp_path=tmp_path)
    expected = sorted(d.strip() for (d,) in duck(demo_db, cone_sql(ra, dec, 0.03,
                                                                  "designation")))
    assert len(expected) > 3 and designations(table) == expected


# ---- without credentials ---------------------------------------------------------------

VO_PATHS = ["/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+ra+FROM+psc",
            "/scs/psc?RA=10.9&DEC=35.95&SR=0.01", "/sia/query?POS=CIRCLE+10.68+41.27+0.1",
            "/soda/sync?ID=ivo://catscan/2mass?atlas/1/j", "/tap/abc.parked"]


def assert_challenged(answer: httpx.Response, message: str) -> None:
    assert answer.status_code == 401, (answer.status_code, answer.text[:200])
    assert answer.headers["www-authenticate"] == 'Basic realm="catscan team", charset="UTF-8"'
    assert answer.headers["content-type"].startswith("application/x-votable+xml")
    document = parse(io.BytesIO(answer.content))
    resource = document.resources[0]
    assert resource.type == "results"
    status = [i for i in resource.infos if i.name == "QUERY_STATUS"]
    assert [i.value for i in status] == ["ERROR"] and message in status[0].content


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("path", VO_PATHS)
def test_vo_paths_challenge_whatever_the_accept_header(server, path, accept):
    headers = {} if accept is None else {"Accept": accept}
    with httpx.Client(base_url=server, headers=headers) as client:
        if accept is None:
            client.headers.pop("accept", None)
        assert_challenged(client.get(path), "needs the team password")


def test_vo_paths_challenge_wrong_credentials(server):
    """A wrong password or user: the same challenge, saying so (each followed by the right
    one, which the throttle takes as the end of this client's failures)."""
    with httpx.Client(base_url=server, headers={"Accept": TOPCAT_ACCEPT}, timeout=30) as client:
        for path, wrong in zip(VO_PATHS, [("team", "wrong"), ("someone", PASSWORD)] * 3,
                               strict=False):
            assert_challenged(client.get(path, auth=wrong), "wrong credentials")
            assert client.get(path, auth=("team", PASSWORD)).status_code != 401


@pytest.mark.parametrize("accept", ACCEPTS)
def test_vosi_endpoints_stay_open_and_pages_keep_the_login_form(server, accept):
    headers = {} if accept is None else {"Accept": accept}
    with httpx.Client(base_url=server, headers=headers) as client:
        if accept is None:
            client.headers.pop("accept", None)
        for path in ("/tap/capabilities", "/tap/availability", "/tap/tables",
                     "/sia/capabilities"):
            assert client.get(path).status_code == 200, path
        page = client.get("/status")
        if accept == TOPCAT_ACCEPT:          # a browser-like Accept: the login form
            assert page.status_code == 303
            assert page.headers["location"].endswith("/login?next=%2Fstatus")
        else:
            assert page.status_code == 401 and page.text == ""


def test_a_parked_upload_runs_once_with_the_password(server):
    """The server side of the upload dance, with httpx: a multipart POST without
    credentials gets 303 to a parked URL; a GET there is challenged, runs the query once
    with the password, and is gone afterwards."""
    votable = (b'<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/'
               b'VOTable/v1.3"><RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA>'
               b'<TABLEDATA><TR><TD>41</TD></TR><TR><TD>42</TD></TR></TABLEDATA></DATA>'
               b'</TABLE></RESOURCE></VOTABLE>')
    with httpx.Client(base_url=server) as client:
        posted = client.post("/tap/sync", data={
            "LANG": "ADQL", "QUERY": "SELECT x FROM TAP_UPLOAD.t ORDER BY x",
            "UPLOAD": "t,param:t", "RESPONSEFORMAT": "csv"},
            files={"t": ("t.xml", votable, "application/x-votable+xml")})
        assert posted.status_code == 303
        location = posted.headers["location"]
        assert location.startswith(f"{server}/tap/") and location.endswith(".parked")
        assert_challenged(client.get(location), "needs the team password")
        answer = client.get(location, auth=("team", PASSWORD))
        assert answer.status_code == 200 and answer.text.splitlines() == ["x", "41", "42"]
        again = client.get(location, auth=("team", PASSWORD))
        assert again.status_code == 404 and "no such parked request" in again.text
        plain = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT 1"})
        assert_challenged(plain, "needs the team password")     # retried by any client


def test_parking_is_bounded():
    parked = ParkedRequests()
    tokens = [parked.park(ParkedRequest("/tap/sync", b"", "multipart/form-data", b"x"))
              for _ in range(PARK_MAX + 1)]
    assert None not in tokens[:PARK_MAX] and tokens[PARK_MAX] is None
    assert len(set(tokens[:PARK_MAX])) == PARK_MAX and len(parked) == PARK_MAX
    assert parked.take(tokens[0]).body == b"x" and parked.take(tokens[0]) is None
    big = ParkedRequest("/tap/sync", b"", "multipart/form-data", b"x" * (65 * 2 ** 20))
    assert ParkedRequests().park(big) is None
