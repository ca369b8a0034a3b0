"""`catscan load night` killed with SIGKILL at any moment leaves whole nights only (each night
is one transaction), a later run completes the survey, and a reader in another process during
a load gets either consistent data or "database busy", never a crash.

The loader is a real subprocess; kills are placed after it has reported k nights (each report
is printed after its night committed) and at fractions of a measured full run.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import catscan
from catscan.errors import DatabaseBusy
from catscan.loaders import delivery
from catscan.loaders.optimize import pending_sorts
from catscan.survey.generate import generate

pytestmark = pytest.mark.slow
TIMEOUT = 180.0


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crash-survey")
    generate(out, scale="demo", seed=1, image_scans=0)
    return out


def start(db: Path, survey: Path, logs: Path) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"}
    out = logs / "stdout.txt"
    with open(out, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "catscan.cli", "load", "night", str(survey), "--db", str(db)],
            stdout=handle, stderr=subprocess.STDOUT, env=env)
    return process, out


def fresh_db(path: Path) -> Path:
    catscan.db.init_database(path)
    return path


def file_rows(night_dir: Path, scan: int) -> int:
    with gzip.open(night_dir / delivery.psc_file(scan), "rt") as handle:
        return sum(1 for _ in handle)


def check_whole_nights(db: Path, survey: Path) -> set[str]:
    """Every night present is complete; no rows without their night. Returns the nights."""
    con = catscan.connect(db)
    try:
        nights = con.execute("SELECT date, hemis, load_id FROM nights").fetchall()
        present = set()
        for date, hemis, load_id in nights:
            name = delivery.night_name(date, hemis)
            path = con.execute("SELECT path FROM loads WHERE load_id = ?",
                               [load_id]).fetchone()[0]
            present.add(name)
            for scan, scan_key in con.execute(
                    "SELECT scan, scan_key FROM scans WHERE date = ? AND hemis = ? AND loaded",
                    [date, hemis]).fetchall():
                count = con.execute("SELECT count(*) FROM psc WHERE scan_key = ?",
                                    [scan_key]).fetchone()[0]
                assert count == file_rows(Path(path), scan), (name, scan)
        orphans = con.execute("SELECT count(*) FROM scans s WHERE NOT EXISTS (SELECT 1 FROM "
                              "nights n WHERE n.date = s.date AND n.hemis = s.hemis)"
                              ).fetchone()[0]
        assert orphans == 0
        assert con.execute("SELECT count(*) FROM psc WHERE scan_key NOT IN "
                           "(SELECT scan_key FROM scans WHERE loaded)").fetchone()[0] == 0
        return present
    finally:
        con.close()


def flags(db: Path) -> list[tuple]:
    con = catscan.connect(db)
    try:
        return con.execute("SELECT pts_key, use_src, dup_src, ra, dec FROM psc ORDER BY pts_key"
                           ).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(survey, tmp_path_factory) -> tuple[Path, float]:
    """An uninterrupted load, and how long it took."""
    db = fresh_db(tmp_path_factory.mktemp("ref") / "ref.duckdb")
    began = time.monotonic()
    process, out = start(db, survey, db.parent)
    assert process.wait(TIMEOUT) == 0, out.read_text()
    return db, time.monotonic() - began


@pytest.mark.parametrize("fraction", [0.15, 0.3, 0.45, 0.6, 0.75, 0.9])
def test_a_kill_at_any_moment_leaves_whole_nights(survey, reference, tmp_path, fraction):
    ref_db, seconds = reference
    db = fresh_db(tmp_path / "k.duckdb")
    process, out = start(db, survey, tmp_path)
    time.sleep(seconds * fraction)
    process.kill()
    process.wait(TIMEOUT)
    check_whole_nights(db, survey)
    rerun, _ = start(db, survey, tmp_path)
    assert rerun.wait(TIMEOUT) == 0
    assert check_whole_nights(db, survey) == check_whole_nights(ref_db, survey)
    assert flags(db) == flags(ref_db)        # duplicate flags as if never interrupted


def test_a_kill_after_each_reported_night_keeps_the_reported_ones(survey, reference,
                                                                 tmp_path):
    db = fresh_db(tmp_path / "k.duckdb")
    process, out = start(db, survey, tmp_path)
    deadline = time.monotonic() + TIMEOUT
    while out.read_text().count("Quality Review") < 2:
        assert process.poll() is None and time.monotonic() < deadline, out.read_text()
        time.sleep(0.005)
    process.kill()
    process.wait(TIMEOUT)
    reported = {line.split("night ")[1].split()[0] for line in out.read_text().splitlines()
                if "Quality Review" in line}
    assert reported <= check_whole_nights(db, survey)


def unsorted_tables(db: Path) -> list[str]:
    """Tables with a settle (or a whole re-sort) pending."""
    con = catscan.connect(db)
    try:
        return pending_sorts(con)
    finally:
        con.close()


def catscan_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"}
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT)


def test_a_kill_during_the_re_sort_is_reported_and_finished_by_the_next_load(
        survey, reference, tmp_path):
    """`catscan load night` is SIGKILLed as soon as it has reported its last night, while it
    settles the sky cells of psc and xsc. The nights stay whole and the cells stay marked;
    `catscan info` says so and names `catscan optimize`; running the same load again (every
    night "nothing changed") finishes the sort, with the content of an uninterrupted load."""
    ref_db, _ = reference
    db = fresh_db(tmp_path / "k.duckdb")
    nights = len(delivery.find_deliveries([survey]))
    process, out = start(db, survey, tmp_path)
    deadline = time.monotonic() + TIMEOUT
    while out.read_text().count("Quality Review") < nights:
        assert process.poll() is None and time.monotonic() < deadline, out.read_text()
        time.sleep(0.002)
    process.kill()
    process.wait(TIMEOUT)
    assert check_whole_nights(db, survey) == check_whole_nights(ref_db, survey)
    assert "psc" in unsorted_tables(db), "the kill came after the settle had committed"

    info = catscan_cli("info", "--db", str(db))
    assert info.returncode == 0, info.stderr
    assert "not in hpx29 order: psc" in " ".join(info.stdout.split())
    assert "catscan optimize" in " ".join(info.stdout.split())

    rerun = catscan_cli("load", "night", str(survey), "--db", str(db))
    assert rerun.returncode == 0, rerun.stderr
    assert f"0 night(s) loaded, {nights} unchanged" in rerun.stdout
    assert unsorted_tables(db) == []
    assert flags(db) == flags(ref_db)
    assert "hpx29" not in catscan_cli("info", "--db", str(db)).stdout


def holds_write_lock(pid: int, db: Path) -> bool:
    """Whether process ``pid`` holds DuckDB's write lock on ``db`` (Linux /proc/locks)."""
    st = os.stat(db)
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with open("/proc/locks") as locks:
        return any(f[1] != "->" and f[4] == str(pid) and f[5] == device
                   for f in (line.split() for line in locks))


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="watches the lock in /proc")
def test_readers_get_consistent_data_or_busy_during_a_load(survey, tmp_path):
    db = fresh_db(tmp_path / "r.duckdb")
    process, _ = start(db, survey, tmp_path)
    deadline = time.monotonic() + TIMEOUT
    # a reader open first would keep the loader out (DuckDB: one writer xor readers)
    while not holds_write_lock(process.pid, db):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    busy = consistent = 0
    while process.poll() is None and time.monotonic() < deadline:
        try:
            check_whole_nights(db, survey)
            consistent += 1
        except DatabaseBusy as exc:
            assert "retry" in str(exc)
            busy += 1
        time.sleep(0.01)
    assert process.wait(TIMEOUT) == 0
    assert busy > 0
    check_whole_nights(db, survey)
