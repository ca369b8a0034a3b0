"""The team password (catscan.web.access) and the guard in front of the server: salted
scrypt hashes in the private schema, 401 without detail, cookies for browsers, HTTP Basic
for VO clients, slower answers after failures, and the hash out of reach of any query."""

from __future__ import annotations

import base64

import httpx
import pytest

from catscan.db import connect
from catscan.language import QueryError
from catscan.safety import UnsafeQuery, allowed_tables, query_connection, validate_sql
from catscan.web.access import (
    PasswordError,
    TeamAccess,
    hash_password,
    set_password,
    verify_password,
)
from catscan.web.sessions import LiveSessions
from catscan.web.throttle import FIRST_DELAY_S, PasswordThrottle

from conftest import TEAM_PASSWORD


def test_hashes_are_salted_scrypt_and_verify_only_the_password():
    first, second = hash_password("s3cret pass"), hash_password("s3cret pass")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert "s3cret" not in first
    assert verify_password("s3cret pass", first) and verify_password("s3cret pass", second)
    assert not verify_password("s3cret pasS", first)
    assert not verify_password("s3cret pass", "scrypt$garbage")


def test_the_stored_hash_is_not_readable_by_user_queries(web_db):
    con = query_connection(web_db)
    try:
        assert not any("team_access" in t for t in allowed_tables(con))
        with pytest.raises(UnsafeQuery):
            validate_sql("SELECT password_hash FROM private.team_access",
                         allowed_tables(con))
    finally:
        con.close()
    import catscan

    with pytest.raises(QueryError, match="unknown source"):
        catscan.query("select * from team_access", web_db)


def test_set_password_refuses_short_ones_and_keeps_the_old(web_db, tmp_path):
    import shutil

    db = tmp_path / "copy.duckdb"
    shutil.copy(web_db, db)
    con = connect(db, read_only=False)
    try:
        with pytest.raises(PasswordError, match="at least 8 characters"):
            set_password(con, "short")
        access = TeamAccess.from_connection(con)
        assert access.check_password(TEAM_PASSWORD) and not access.check_password("short")
    finally:
        con.close()


def test_failures_slow_the_client_down():
    throttle = PasswordThrottle()
    assert throttle.delay("1.2.3.4") == 0
    for _ in range(3):
        throttle.record("1.2.3.4", ok=False)
    assert throttle.delay("1.2.3.4") == pytest.approx(4 * FIRST_DELAY_S)
    assert throttle.delay("5.6.7.8") == 0
    throttle.record("1.2.3.4", ok=True)
    assert throttle.delay("1.2.3.4") == 0


def test_waiting_clients_are_served_fewest_failures_first():
    """With the server-wide budget empty, a client that never failed gets the next token
    before clients that did, whatever the order they came in."""
    import anyio

    throttle = PasswordThrottle(rate=20.0, burst=1)
    for n in range(3):
        for _ in range(n + 1):
            throttle.record(f"10.0.0.{n}", ok=False)
    served: list[str] = []

    async def check(client: str, after: float) -> None:
        await anyio.sleep(after)
        await throttle.take_token(client)
        served.append(client)

    async def main() -> None:
        await throttle.take_token("first")                # empties the bucket
        async with anyio.create_task_group() as group:
            for n in (2, 0, 1):
                group.start_soon(check, f"10.0.0.{n}", 0.0)
            group.start_soon(check, "team", 0.01)

    anyio.run(main)
    assert served == ["team", "10.0.0.0", "10.0.0.1", "10.0.0.2"]


def test_sessions_end_at_logout_when_idle_after_their_lifetime_and_when_too_many():
    import time

    sessions = LiveSessions(idle_s=0.2, lifetime_s=0.5, max_sessions=3)
    ended, idle, kept = sessions.start(), sessions.start(), sessions.start()
    assert all(sessions.alive(s) for s in (ended, idle, kept))
    assert not sessions.alive("made up") and not sessions.alive(None)
    sessions.end(ended)
    assert not sessions.alive(ended)
    for _ in range(3):
        time.sleep(0.1)
        assert sessions.alive(kept)                       # used: stays alive
    assert not sessions.alive(idle)                       # 0.3 s unused
    time.sleep(0.25)
    assert not sessions.alive(kept)                       # past its lifetime, though used
    crowd = [sessions.start() for _ in range(4)]
    assert len(sessions) == 3 and not sessions.alive(crowd[0])
    assert all(sessions.alive(s) for s in crowd[1:])


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"team:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/scs/psc?RA=10.68&DEC=41.27&SR=0.01",
                                  "/catscan/download?q=select+designation+from+psc+limit+1",
                                  "/findtile?pos=10.68+41.27", "/catscan"])
def test_data_endpoints_need_the_password(web_server, path):
    """401 with the challenge; a VO endpoint adds a DALI error VOTable (tests/
    test_web_vo_auth.py), pages no body."""
    vo = path.startswith("/scs")
    with httpx.Client(base_url=web_server) as client:
        anonymous = client.get(path)
        assert anonymous.status_code == 401 and (anonymous.text == "") is not vo
        assert anonymous.headers["www-authenticate"].startswith('Basic realm="catscan team"')
        wrong = client.get(path, headers=_basic("not the password"))
        assert wrong.status_code == 401 and (wrong.text == "") is not vo
        assert ("wrong credentials" in wrong.text) is vo
        assert client.get(path, headers=_basic(TEAM_PASSWORD)).status_code == 200


def test_the_home_page_is_public_and_browsers_are_sent_to_log_in(web_server):
    with httpx.Client(base_url=web_server) as client:
        assert client.get("/").status_code == 200
        page = client.get("/findtile?pos=10.68+41.27", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"].endswith("/login?next=%2Ffindtile%3Fpos%3D10.68%2B41.27")
        bad = client.post("/login", data={"password": "nope", "next": "/findtile"})
        assert bad.status_code == 401 and "Wrong password." in bad.text
        good = client.post("/login", data={"password": TEAM_PASSWORD,
                                           "next": "https://evil.example/"})
        assert good.status_code == 303 and good.headers["location"] == "/"   # no open redirect
        cookie = client.cookies.get("catscan_session")
        assert cookie and TEAM_PASSWORD not in cookie
        assert client.get("/findtile?pos=10.68+41.27").status_code == 200
        client.post("/logout")
        assert client.get("/findtile?pos=10.68+41.27").status_code == 401


def test_a_saved_session_cookie_is_refused_after_logout(web_server):
    """Log in, keep a copy of the cookie, log out: the copy no longer opens anything."""
    with httpx.Client(base_url=web_server) as client:
        assert client.post("/login", data={"password": TEAM_PASSWORD}).status_code == 303
        saved = client.cookies.get("catscan_session")
        assert client.get("/findtile?pos=10.68+41.27").status_code == 200
        assert client.post("/logout").status_code == 303
    with httpx.Client(base_url=web_server, cookies={"catscan_session": saved}) as replay:
        assert replay.get("/findtile?pos=10.68+41.27").status_code == 401
        page = replay.get("/findtile?pos=10.68+41.27", headers={"Accept": "text/html"})
        assert page.status_code == 303 and "/login" in page.headers["location"]
        assert "log out" not in replay.get("/").text


def test_logging_in_again_ends_the_previous_session(web_server):
    with httpx.Client(base_url=web_server) as client:
        client.post("/login", data={"password": TEAM_PASSWORD})
        first = client.cookies.get("catscan_session")
        client.post("/login", data={"password": TEAM_PASSWORD})
        assert client.get("/findtile?pos=10.68+41.27").status_code == 200
    with httpx.Client(base_url=web_server, cookies={"catscan_session": first}) as replay:
        assert replay.get("/findtile?pos=10.68+41.27").status_code == 401
