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
    access = TeamAccess(hash_password("right password"))
    assert access.delay("1.2.3.4") == 0
    for _ in range(3):
        access.failed("1.2.3.4")
    assert access.delay("1.2.3.4") == pytest.approx(1.0) and access.delay("5.6.7.8") == 0
    access.succeeded("1.2.3.4")
    assert access.delay("1.2.3.4") == 0


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"team:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/scs/psc?RA=10.68&DEC=41.27&SR=0.01",
                                  "/catscan/download?q=select+designation+from+psc+limit+1",
                                  "/findtile?pos=10.68+41.27", "/catscan"])
def test_data_endpoints_need_the_password(web_server, path):
    with httpx.Client(base_url=web_server) as client:
        anonymous = client.get(path)
        assert anonymous.status_code == 401 and anonymous.text == ""
        assert anonymous.headers["www-authenticate"].startswith('Basic realm="catscan team"')
        wrong = client.get(path, headers=_basic("not the password"))
        assert wrong.status_code == 401 and wrong.text == ""
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
