"""Who holds the database: a writing command waits (``--wait``) for a file another process
holds and names that process; a reader refused because the server holds the file is told
to query the server (docs/serving.md)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from catscan.db import init_database

from webserver import serve_process


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "catscan.duckdb"
    init_database(path)
    return path


def holder(db: Path, read_only: bool, seconds: float | None) -> subprocess.Popen:
    """A notebook-like process holding ``db`` open for ``seconds`` (None: until a line on
    its stdin); returns once it holds."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        import catscan
        con = catscan.connect({str(db)!r}, read_only={read_only})
        print("open", flush=True)
        if {seconds} is None:
            sys.stdin.readline()                 # held until told
        else:
            time.sleep({seconds})
        con.close()
    """)], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "open"
    return process


def test_a_reader_makes_a_write_wait_and_is_named(db):
    reader = holder(db, read_only=True, seconds=60)
    try:
        started = time.monotonic()
        done = cli("init", "--db", str(db), "--wait", "1")
        waited = time.monotonic() - started
    finally:
        reader.kill()
        reader.wait()
    assert done.returncode == 1
    assert f"open read-only by PID {reader.pid} (" in done.stderr
    assert "catscan.connect(" in done.stderr                 # its command line
    assert "open for writing" not in done.stderr
    assert "waiting up to 1 s (--wait)" in done.stderr and "(waited 1 s)" in done.stderr
    assert waited >= 1


def test_a_write_goes_through_when_the_reader_closes_within_the_wait(db):
    reader = holder(db, read_only=True, seconds=None)
    write = subprocess.Popen([sys.executable, "-m", "catscan.cli", "init", "--db", str(db),
                              "--wait", "120"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    said = write.stderr.readline()                 # it says what it waits for, and waits
    reader.stdin.write("close\n")
    reader.stdin.flush()
    reader.wait()
    out, err = write.communicate(timeout=120)
    assert write.returncode == 0, said + err
    assert f"open read-only by PID {reader.pid}" in said and "waiting up to 120 s" in said
    assert "already a catscan database" in out


def test_a_writer_is_named_as_one(db):
    writer = holder(db, read_only=False, seconds=60)
    try:
        done = cli("init", "--db", str(db), "--wait", "0")
        read = cli("sql", "SELECT 1", "--db", str(db))
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 1 and read.returncode == 1
    for message in (done.stderr, read.stderr):
        assert f"open for writing by PID {writer.pid} (" in message


def test_a_reader_refused_because_the_server_holds_the_file_is_sent_there(db):
    with serve_process(db) as (server, url):
        probe = subprocess.run([sys.executable, "-c",
                                f"import catscan; catscan.connect({str(db)!r})"],
                               capture_output=True, text=True, timeout=60)
        read = cli("sql", "SELECT 1", "--db", str(db))
    for message in (probe.stderr, read.stderr):
        assert f"held by `catscan serve` (PID {server.pid}, {url}/)" in message
        assert "query it through the server" in message
    assert read.returncode == 1 and read.stderr.startswith("catscan: error: database busy")


def test_the_server_waits_for_a_load_to_finish_before_it_starts(db):
    writer = holder(db, read_only=False, seconds=5)
    try:
        with serve_process(db) as (server, url):
            assert server.poll() is None
    finally:
        writer.wait()
