"""Opening the database: where it is, its schema version, transactions, persistent macros."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

import catscan
from catscan.config import resolve_db_path
from catscan.db import (
    apply_schema,
    connect,
    init_database,
    schema_files,
    schema_version,
    transaction,
)
from catscan.errors import DatabaseBusy, SchemaError


def test_the_database_path_is_the_option_else_the_environment_else_the_default(monkeypatch):
    monkeypatch.setenv("CATSCAN_DB", "/data/survey.duckdb")
    assert resolve_db_path("x.duckdb") == Path("x.duckdb")
    assert resolve_db_path(None) == Path("/data/survey.duckdb")
    monkeypatch.delenv("CATSCAN_DB")
    assert resolve_db_path(None) == Path("catscan.duckdb")


def test_init_creates_every_table_and_a_second_init_does_nothing(tmp_path):
    path = tmp_path / "new.duckdb"
    _, applied = init_database(path)
    assert applied == [f.name for f in schema_files()]
    _, again = init_database(path)
    assert again == []
    con = catscan.connect(path)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert {"tiles", "nights", "processing_history", "scans", "night_qa", "psc", "xsc",
                "atlas_images", "loads", "schema_version"} <= tables
        assert [c[0] for c in con.execute("DESCRIBE psc").fetchall()][:6] == [
            "ra", "dec", "err_maj", "err_min", "err_ang", "designation"]
        # the release columns plus hpx29, load_id and the cross-match cell hpx11
        assert len(con.execute("DESCRIBE psc").fetchall()) == 60 + 3
        assert len(con.execute("DESCRIBE xsc").fetchall()) == 389 + 3
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == \
            schema_version()
    finally:
        con.close()


def test_a_missing_file_or_a_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(SchemaError, match="no catscan database .* `catscan init"):
        connect(tmp_path / "absent.duckdb")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(SchemaError, match="not a catscan database"):
        connect(other)


def test_a_newer_database_is_refused(db_path):
    raw = duckdb.connect(str(db_path))
    raw.execute("INSERT INTO schema_version VALUES (9999, '9999_future.sql', now(), '9.9')")
    raw.close()
    with pytest.raises(SchemaError, match="newer than this catscan"):
        connect(db_path)
    with pytest.raises(SchemaError, match="newer"):
        init_database(db_path)


def test_an_older_database_is_refused_until_init_upgrades_it(tmp_path):
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    steps = schema_files()
    for step in steps[:2]:                      # a database made by an older catscan
        raw.execute(step.sql)
        raw.execute("INSERT INTO schema_version VALUES (?, ?, now(), '0.0')",
                    [step.version, step.name])
    raw.close()
    with pytest.raises(SchemaError, match="older .* `catscan init"):
        connect(path)
    _, applied = init_database(path)
    assert applied == [s.name for s in steps[2:]]
    connect(path).close()


def test_a_failed_transaction_leaves_nothing_behind(con):
    with pytest.raises(duckdb.Error), transaction(con):
        con.execute("INSERT INTO tiles (tile, hemis, ra, dec) VALUES (308165, 's', 275.1, -15)")
        con.execute("INSERT INTO tiles (tile, hemis, ra, dec) VALUES (1, 'x', 0, 0)")
    assert con.execute("SELECT count(*) FROM tiles").fetchone()[0] == 0


def test_a_writer_makes_other_processes_wait_with_a_clear_message(db_path):
    import subprocess
    import sys

    writer = connect(db_path, read_only=False)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import catscan, sys\n"
             f"try:\n    catscan.connect({str(db_path)!r})\n"
             "except catscan.errors.DatabaseBusy as e:\n    print(e)\n    sys.exit(3)"],
            capture_output=True, text=True, timeout=60)
    finally:
        writer.close()
    assert probe.returncode == 3, probe.stderr
    assert "database busy" in probe.stdout and "retry" in probe.stdout
    assert DatabaseBusy.__mro__[1] is catscan.errors.CatscanError


def test_ang_sep_agrees_with_astropy_from_tiny_to_antipodal(con):
    rng = np.random.default_rng(11)
    n = 2000
    ra1, dec1 = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    scale = 10.0 ** rng.uniform(-9, 2.3, n)             # 3.6 µas ... 200 deg
    ra2, dec2 = (ra1 + scale * rng.normal(size=n)) % 360, np.clip(dec1 + scale * rng.normal(
        size=n), -90, 90)
    ra2[:5], dec2[:5] = (ra1[:5] + 180) % 360, -dec1[:5]  # antipodes
    con.execute("CREATE TEMP TABLE pairs AS SELECT * FROM (SELECT unnest(?) a, unnest(?) b, "
                "unnest(?) c, unnest(?) d)", [ra1.tolist(), dec1.tolist(), ra2.tolist(),
                                              dec2.tolist()])
    ours = np.array([r[0] for r in con.execute(
        "SELECT ang_sep(a, b, c, d) FROM pairs ORDER BY rowid").fetchall()])
    theirs = SkyCoord(ra1 * u.deg, dec1 * u.deg).separation(SkyCoord(ra2 * u.deg,
                                                                      dec2 * u.deg)).deg
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-13)
    assert np.allclose(ours[:5], 180.0, atol=1e-9)


def test_the_persistent_macros_work_in_a_plain_duckdb_session(db_path):
    raw = duckdb.connect(str(db_path), read_only=True)
    try:
        sep = raw.execute("SELECT ang_sep(10.68479, 41.26906, 10.538223, 41.18528)").fetchone()
    finally:
        raw.close()
    expected = SkyCoord(10.68479, 41.26906, unit="deg").separation(
        SkyCoord(10.538223, 41.18528, unit="deg")).arcsec
    assert abs(sep[0] * 3600 - expected) < 1e-6


def test_udfs_are_registered_on_read_only_connections(db_path):
    con = connect(db_path)
    try:
        assert con.execute("SELECT tmass_designation(10.538223, 41.18528)").fetchone() == (
            "00420917+4111070",)
    finally:
        con.close()


def test_apply_schema_is_idempotent_on_an_up_to_date_connection(con):
    assert apply_schema(con) == []


def test_two_connections_to_one_file_in_one_process_both_work(db_path):
    """They share DuckDB's catalog, so the second must not register the UDFs again."""
    first = connect(db_path)
    try:
        second = connect(db_path)
        try:
            values = [c.execute("SELECT hpx29(10.0, 20.0)").fetchone()[0]
                      for c in (first, second)]
        finally:
            second.close()
        assert values[0] == values[1] == first.execute("SELECT hpx29(10.0, 20.0)").fetchone()[0]
    finally:
        first.close()


def test_many_threads_connecting_at_once_all_get_working_udfs(db_path, tmp_path):
    """connect() from many threads at once: each round opens a new DuckDB instance (a
    fresh copy of the file, nothing registered yet), so every thread races to register the
    UDFs in the shared catalog; none may fail ("hpx29 already exists") and all compute."""
    import shutil
    import threading

    threads, rounds = 8, 6
    first = connect(db_path)
    try:
        expected = first.execute("SELECT hpx29(10.0, 20.0)").fetchone()[0]
    finally:
        first.close()
    failures, values = [], []

    def open_and_use(db: Path, start: threading.Barrier) -> None:
        start.wait()
        try:
            con = connect(db)
            try:
                values.append(con.execute("SELECT hpx29(10.0, 20.0)").fetchone()[0])
            finally:
                con.close()
        except Exception as exc:   # noqa: BLE001 -- collected, asserted below
            failures.append(repr(exc))

    for n in range(rounds):
        db = tmp_path / f"round{n}.duckdb"
        shutil.copy(db_path, db)
        start = threading.Barrier(threads)
        workers = [threading.Thread(target=open_and_use, args=(db, start))
                   for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    assert failures == []
    assert values == [expected] * threads * rounds


def test_a_schema_step_numbered_below_the_latest_is_still_applied(tmp_path):
    """Work merged out of order: a database that has the latest step but never got an
    earlier one is refused by connect() until `catscan init` applies the missing step."""
    from catscan import __version__
    from catscan.db import SchemaError, connect, init_database, schema_files

    steps = schema_files()
    skipped = steps[-2]                    # later steps must not need it (true for 120)
    db = tmp_path / "c.duckdb"
    con = duckdb.connect(str(db))
    try:
        for step in steps:
            if step is not skipped:
                con.execute(step.sql)
                con.execute("INSERT INTO schema_version (version, name, catscan_version) "
                            "VALUES (?, ?, ?)", [step.version, step.name, __version__])
    finally:
        con.close()
    with pytest.raises(SchemaError, match=f"lacks schema step\\(s\\) {skipped.name}"):
        connect(db)
    assert init_database(db)[1] == [skipped.name]
    connect(db).close()
