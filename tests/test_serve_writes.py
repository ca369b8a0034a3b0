"""Writes while serving (docs/serving.md): a real ``catscan serve`` process, real ``catscan
load night`` processes handing their job to it, real HTTP clients reading meanwhile."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from catscan.channel import live_server, peer_allowed, serve_dir, submit
from catscan.db import connect, init_database

from conftest import database_checksums
from webserver import running_server, serve_process

HELD = ["980416n", "981123n"]          # the nights loaded while the server runs


def cli(*args: str, cwd: Path | None = None, stdin: str | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd, input=stdin)


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    from catscan.survey.generate import generate

    return generate(tmp_path_factory.mktemp("serve-survey"), scale="demo", seed=1,
                    image_scans=0).outdir


@pytest.fixture(scope="module")
def base_db(survey, tmp_path_factory) -> Path:
    """The demo survey but the HELD nights (and the reprocessing)."""
    from catscan.loaders.night import load_nights

    db = tmp_path_factory.mktemp("serve-base") / "catscan.duckdb"
    init_database(db)
    con = connect(db, read_only=False)
    try:
        load_nights(con, [survey / n for n in sorted(os.listdir(survey))
                          if n not in HELD and n != "reprocessed"])
    finally:
        con.close()
    return db


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    path = tmp_path / "served" / "catscan.duckdb"
    path.parent.mkdir()
    shutil.copy(base_db, path)
    return path


@pytest.fixture
def alone(base_db, tmp_path) -> Path:
    """Another copy, for the same command run with no server."""
    path = tmp_path / "alone" / "catscan.duckdb"
    path.parent.mkdir()
    shutil.copy(base_db, path)
    return path


def count(db: Path, sql: str = "SELECT count(*) FROM psc") -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def tap_count(url: str, client: httpx.Client | None = None) -> int:
    """The PSC's row count as the server's TAP service answers it."""
    get = client or httpx
    answer = get.post(f"{url}/tap/sync", data={
        "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM psc", "RESPONSEFORMAT": "csv"},
        timeout=60)
    assert answer.status_code == 200, answer.text
    return int(answer.text.splitlines()[1])


def untimed(text: str) -> str:
    """A command's output without its durations (the only thing two runs differ in)."""
    return re.sub(r"\d+(\.\d+)? s\b", "N s", text)


def test_a_night_loads_through_the_server_while_it_answers(survey, db, alone):
    """The load goes through the server (same output and exit code as alone); meanwhile
    every answer is 200 and shows the state before the night or after it, never between;
    right after the command ends every new query sees the whole night."""
    expected = cli("load", "night", str(survey / HELD[0]), "--db", str(alone))
    assert expected.returncode == 0, expected.stderr
    before, after = count(db), count(alone)
    assert after > before
    with serve_process(db) as (_, url):
        assert tap_count(url) == before
        seen, errors, stop = [], [], threading.Event()

        def reader() -> None:
            with httpx.Client() as client:
                while not stop.is_set():
                    try:
                        seen.append(tap_count(url, client))
                    except Exception as exc:             # noqa: BLE001 (counted, shown)
                        errors.append(repr(exc))

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            done = cli("load", "night", str(survey / HELD[0]), "--db", str(db))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert done.returncode == 0 and done.stderr == expected.stderr, done.stderr
        assert untimed(done.stdout).splitlines() == untimed(expected.stdout).splitlines()
        assert tap_count(url) == after
        assert errors == []
        assert seen and set(seen) <= {before, after}, sorted(set(seen))
        assert before in seen                           # it answered while the night loaded
        served_rows = count_through(url, "SELECT count(*) FROM scans WHERE loaded")
    assert count(db) == after
    assert served_rows == count(alone, "SELECT count(*) FROM scans WHERE loaded")


def count_through(url: str, sql: str) -> int:
    answer = httpx.post(f"{url}/tap/sync", data={"LANG": "ADQL", "QUERY": sql,
                                                 "RESPONSEFORMAT": "csv"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return int(answer.text.splitlines()[1])


def test_a_query_begun_before_the_commit_sees_the_old_state(survey, db, alone):
    """A reader's snapshot (a pooled session's read-only transaction) opened before the
    night commits keeps seeing the state before it after the commit; a new one sees the
    whole night. (The job's final CHECKPOINT waits for the old snapshot to end.)"""
    from catscan.cli import run_job

    assert cli("load", "night", str(survey / HELD[0]), "--db", str(alone)).returncode == 0
    before, after = count(db), count(alone)
    with running_server(db, jobs=run_job, url="in-process"):
        served = _served(db)
        old = served.cursor()
        old.execute("BEGIN TRANSACTION READ ONLY")
        assert old.execute("SELECT count(*) FROM psc").fetchone()[0] == before
        load = subprocess.Popen([sys.executable, "-m", "catscan.cli", "load", "night",
                                 str(survey / HELD[0]), "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = set()
        deadline = time.monotonic() + 300
        while after not in seen and time.monotonic() < deadline:
            new = served.cursor()
            new.execute("BEGIN TRANSACTION READ ONLY")
            seen.add(new.execute("SELECT count(*) FROM psc").fetchone()[0])
            new.execute("COMMIT")
            new.close()
            time.sleep(0.05)
        assert seen <= {before, after} and after in seen       # whole, after the commit
        assert old.execute("SELECT count(*) FROM psc").fetchone()[0] == before
        old.execute("COMMIT")
        old.close()
        out, err = load.communicate(timeout=300)
        assert load.returncode == 0, err


def _served(db: Path):
    from catscan.web.served import ServedDatabase

    return ServedDatabase(db, files=True)       # shares the in-process server's instance


def test_bad_input_through_the_server_says_what_it_says_alone_and_changes_nothing(
        survey, db, alone, tmp_path):
    bad = tmp_path / "psc_bad.tbl"
    bad.write_text("1|2|3\n")
    night = tmp_path / "980416n"
    shutil.copytree(survey / HELD[0], night)
    import gzip

    sources = sorted(night.glob("s*/psc_*.gz"))[0]          # a bad number on line 3
    lines = gzip.decompress(sources.read_bytes()).decode().splitlines(keepends=True)
    fields = lines[2].split("|")
    fields[0] = "north"                                      # column ra
    lines[2] = "|".join(fields)
    sources.write_bytes(gzip.compress("".join(lines).encode()))
    commands = [("load", "psc", "psc_bad.tbl"), ("load", "night", "nowhere"),
                ("load", "night", str(night)), ("release", "1990-01-01n")]
    expected = [cli(*c, "--db", str(alone), cwd=tmp_path) for c in commands]
    unchanged = _checksums(db)
    with serve_process(db):
        got = [cli(*c, "--db", str(db), cwd=tmp_path) for c in commands]
    for command, want, have in zip(commands, expected, got, strict=True):
        assert want.returncode == 1, (command, want.stdout, want.stderr)
        assert (have.returncode, have.stdout, have.stderr) == \
            (want.returncode, want.stdout, want.stderr), command
    assert "psc_bad.tbl:1: " in got[0].stderr
    assert f"{sources.name}:3: column ra" in got[2].stderr, got[2].stderr
    assert _checksums(db) == unchanged


def _checksums(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: v for t, v in database_checksums(con).items() if t != "main.loads"}
    finally:
        con.close()


def test_a_server_killed_during_a_load_leaves_whole_nights(survey, db, alone, tmp_path):
    """SIGKILL while the second of two nights loads: reopened, the database holds the first
    night whole (as loaded alone) and nothing of the second."""
    assert cli("load", "night", str(survey / HELD[0]), "--db", str(alone)).returncode == 0
    first = count(alone)
    with serve_process(db) as (server, _):
        load = subprocess.Popen(
            [sys.executable, "-m", "catscan.cli", "load", "night", str(survey / HELD[0]),
             str(survey / HELD[1]), "--db", str(db)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        line = load.stdout.readline()               # the first night's summary: committed
        assert HELD[0] in line, line
        time.sleep(0.3)                             # into the second night
        server.send_signal(signal.SIGKILL)
        server.wait()
        out, err = load.communicate(timeout=60)
        assert load.returncode == 1 and "ended the job without an exit code" in err
    con = connect(db)
    try:
        nights = {n for (n,) in con.execute(
            "SELECT strftime(date, '%y%m%d') || hemis FROM nights").fetchall()}
        assert HELD[0] in nights and HELD[1] not in nights
        assert con.execute("SELECT count(*) FROM psc").fetchone()[0] == first
        orphans = con.execute("SELECT count(*) FROM psc WHERE scan_key NOT IN "
                              "(SELECT scan_key FROM scans)").fetchone()[0]
        assert orphans == 0
    finally:
        con.close()
    assert live_server(db) is None                  # a dead server's state is not trusted


def test_the_server_exits_0_after_sigterm_and_removes_its_channel(db):
    with serve_process(db) as (server, _):
        state = live_server(db)
        assert state is not None and state.pid == server.pid
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    assert not (serve_dir(db) / "state.json").exists()
    assert not Path(state.socket).exists()


def test_passwd_through_the_server_applies_at_once(db):
    with serve_process(db) as (_, url):
        assert httpx.get(f"{url}/status").status_code == 200            # no password yet
        done = cli("passwd", "--db", str(db), stdin="a new team password\n")
        assert done.returncode == 0, done.stderr
        assert "team password set" in done.stderr
        assert httpx.get(f"{url}/scs/psc", params={"RA": 10, "DEC": 41, "SR": 0.01}
                         ).status_code == 401
        assert httpx.get(f"{url}/scs/psc", params={"RA": 10, "DEC": 41, "SR": 0.01},
                         auth=("team", "a new team password")).status_code == 200


# ---------------------------------------------------------------- the channel's security


def test_the_channel_is_the_owners_alone(db):
    with serve_process(db):
        state = live_server(db)
        assert os.stat(state.socket).st_mode & 0o777 == 0o600
        assert os.stat(serve_dir(db)).st_mode & 0o777 == 0o700


def test_the_peer_uid_check():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_allowed(left)                               # the same user
        assert not peer_allowed(left, uid=os.getuid() + 1)      # anyone else


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_another_user_is_refused_even_through_an_open_socket():
    """With the directory and the socket opened up by mistake, the channel still refuses a
    job from another uid (SO_PEERCRED), and runs nothing."""
    import tempfile

    from catscan.channel import Listener

    ran = []
    where = Path(tempfile.mkdtemp(prefix="catscan-peer-"))
    try:
        os.chmod(where, 0o755)
        channel = Listener(where / "catscan.duckdb", "in-process",
                           lambda request, reply, gone: ran.append(request) or 0)
        channel.start()
        try:
            os.chmod(serve_dir(where / "catscan.duckdb"), 0o755)
            os.chmod(channel.socket_path, 0o666)
            probe = subprocess.run([sys.executable, "-c", f"""
import json, os, socket
os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX); s.connect({str(channel.socket_path)!r})
print(s.recv(4096).decode())        # refused before it could send its job
"""], capture_output=True, text=True, timeout=30)
        finally:
            channel.close()
    finally:
        shutil.rmtree(where)
    assert "refused" in probe.stdout and "own user" in probe.stdout, probe.stderr
    assert ran == []


def test_the_channel_runs_only_writing_commands(db):
    with serve_process(db):
        state = live_server(db)
        out, err = io.StringIO(), io.StringIO()
        code = submit(state, {"argv": ["serve", "--db", str(db)], "cwd": "/", "env": {},
                              "tty": {}}, out, err)
        assert code == 1 and "does not write the database" in err.getvalue()


# ---------------------------------------------------------------- reads stay reads


WRITES = ["INSERT INTO nights (date, hemis) VALUES ('2001-01-01', 'n')",
          "WITH x AS (DELETE FROM psc RETURNING 1) SELECT * FROM x",
          "ATTACH '/tmp/catscan-attack.duckdb' AS a",
          "COPY psc TO '/tmp/catscan-attack.csv'",
          "SET lock_configuration = false",
          "SELECT * FROM read_csv('/etc/passwd')",
          "CHECKPOINT"]


def test_web_queries_never_write_though_the_instance_is_read_write(db):
    from catscan.cli import run_job

    unchanged = _checksums(db)
    with running_server(db, jobs=run_job, url="in-process") as url:
        for sql in WRITES:
            tap = httpx.post(f"{url}/tap/sync", data={"LANG": "ADQL", "QUERY": sql},
                             timeout=30)
            assert tap.status_code == 400 and "QUERY_STATUS" in tap.text, sql
            page = httpx.post(f"{url}/catscan", data={"q": sql}, timeout=30)
            assert 'id="error"' in page.text, sql
    assert not Path("/tmp/catscan-attack.csv").exists()
    assert not Path("/tmp/catscan-attack.duckdb").exists()
    assert _checksums(db) == unchanged


def test_a_session_cannot_write_even_with_sql_that_skips_the_checks(db):
    """The second wall: a pooled session runs in a read-only transaction, so DuckDB refuses
    a write it binds even if the SQL never went through validation."""
    from catscan.web.pool import _read_only, _session
    from catscan.web.served import ServedDatabase

    served = ServedDatabase(db, files=True)
    try:
        ses = _session(served.cursor(), 0)
        for sql in WRITES[:2]:
            with pytest.raises(duckdb.TransactionException, match="read-only"):
                _read_only(ses, lambda s, sql=sql: s.con.execute(sql).fetchall())
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            _read_only(ses, lambda s: s.con.execute("SET threads = 4"))
    finally:
        served.close()
    assert count(db, "SELECT count(*) FROM nights WHERE date = '2001-01-01'") == 0


def test_compact_runs_through_the_server_with_the_file_to_itself(db):
    """``catscan compact`` needs the file exclusively (it swaps a new file in): the server
    closes its instance for the job, runs it, reopens the new file and keeps answering
    with the same rows; a reader meanwhile waits instead of failing."""
    rows = count(db)
    with serve_process(db, "--timeout", "120") as (server, url):
        answers: list[int] = []
        reader = threading.Thread(target=lambda: answers.extend(
            tap_count(url) for _ in range(20)))
        reader.start()
        done = cli("compact", "--db", str(db))
        reader.join()
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip(), done.stdout
        assert tap_count(url) == rows
        assert answers == [rows] * 20
        assert server.poll() is None
    assert count(db) == rows
    assert not Path(f"{db}.compact").exists()


def test_release_through_the_server_publishes_on_its_own_connections(db):
    """The first release while serving makes the public copy through the server's write
    job; the server opens it for visitors at once, and they see exactly that night."""
    night_rows = count(db, "SELECT count(*) FROM psc WHERE scan_key IN (SELECT scan_key "
                           "FROM scans WHERE date = '1997-10-24' AND hemis = 'n')")
    assert night_rows > 0
    with serve_process(db) as (_, url):
        assert cli("passwd", "--db", str(db), stdin="a new team password\n").returncode == 0
        assert httpx.post(f"{url}/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT 1"}
                          ).status_code == 401                   # nothing public yet
        done = cli("release", "1997-10-24n", "--db", str(db))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "1997-10-24n released; 1 night(s) public\n"
        assert count_through(url, "SELECT count(*) FROM psc") == night_rows   # a visitor
    assert count(Path(str(db).replace(".duckdb", ".public.duckdb"))) == night_rows


def test_a_hook_runs_after_each_write_job_before_the_command_ends(survey, db):
    """``after_write_job``: what another part of the server caches of the database is
    forgotten after a job, before the command gets its exit code (so its next query sees
    the new state)."""
    from catscan.cli import run_job
    from catscan.web import after_write_job, create_app

    from webserver import running_app

    app = create_app(db, jobs=run_job, url="in-process")
    calls: list[int] = []
    after_write_job(app, lambda: calls.append(len(calls) + 1))
    with running_app(app):
        assert calls == []
        assert cli("load", "night", str(survey / HELD[0]), "--db", str(db)).returncode == 0
        assert calls == [1]
        assert cli("load", "night", "nowhere", "--db", str(db)).returncode == 1
        assert calls == [1, 2]                        # whatever the job's exit code
