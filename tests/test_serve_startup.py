"""``catscan serve`` says at start, before any request: its URL, the database, whether a
team password is set (and how to set one) and the released nights (count and range)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from catscan.db import connect

from conftest import TEAM_PASSWORD
from webserver import stop

LINES = 4


def first_lines(db: Path, count: int = LINES) -> list[str]:
    """The first ``count`` lines ``catscan serve`` prints (no request is sent), then stop it."""
    from webserver import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "catscan.cli", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if len(lines) == count:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=120)
    stop(process, timeout=30)
    assert len(lines) == count, lines
    return [line.replace(str(port), "PORT") for line in lines]


def nights_of(db: Path, released: bool | None = None) -> list[str]:
    con = connect(db)
    try:
        where = "" if released is None else f"WHERE released = {released}"
        return [f"{d:%Y-%m-%d}{h}" for d, h in con.execute(
            f"SELECT date, hemis FROM nights {where} ORDER BY date, hemis").fetchall()]
    finally:
        con.close()


def test_an_open_server_says_so_and_how_to_set_a_password(demo_db, tmp_path):
    import shutil

    db = tmp_path / "catscan.duckdb"
    shutil.copy(demo_db, db)
    lines = first_lines(db)
    assert lines[0] == "catscan serve: http://127.0.0.1:PORT/"
    assert lines[1] == f"database: {db.resolve()}"
    assert lines[2].startswith("team password: not set")
    assert f"`catscan passwd --db {db.resolve()}`" in lines[2]
    assert lines[3] == "released nights: none"


def test_a_team_server_names_the_login_and_its_released_nights(demo_db, tmp_path):
    from webserver import copy_with_password

    db = copy_with_password(demo_db, tmp_path, TEAM_PASSWORD)
    every = nights_of(db)
    chosen = [every[0], every[2], every[1]]
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", *chosen, "--db",
                           str(db)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    released = nights_of(db, released=True)
    assert sorted(released) == sorted(chosen)
    lines = first_lines(db)
    assert lines[2].startswith("team password: set (browsers log in at "
                               "http://127.0.0.1:PORT/login")
    assert "user 'team'" in lines[2] and "catscan passwd" in lines[2]
    assert lines[3] == (f"released nights: {len(released)} ({released[0]} to {released[-1]}), "
                        "public to visitors")
