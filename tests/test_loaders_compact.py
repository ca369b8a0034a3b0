"""``catscan compact``: a fresh copy swapped in, the same content, safe against SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

from catscan.db import connect
from catscan.loaders.compact import SUFFIX, compact
from catscan.loaders.optimize import blocks, row_group_extents

from conftest import database_checksums


def _checksums(db) -> dict:
    """Every table's content but the records of the compaction itself (catalog_state's
    optimized_at, storage_compacted) and of the new file's row groups (storage_blocks, and
    the marks asking to read them, which a kill right after the swap leaves)."""
    con = connect(db)
    try:
        sums = database_checksums(con)
        sums.pop("main.storage_compacted")
        sums.pop("main.storage_blocks")
        sums.pop("main.storage_marks")
        sums["main.catalog_state"] = con.execute(
            "SELECT list(table_name ORDER BY table_name), bool_and(sorted) FROM catalog_state"
        ).fetchall()
        return sums
    finally:
        con.close()


def test_compact_keeps_every_row_and_gives_back_deleted_space(demo_db, tmp_path):
    db = tmp_path / "c.duckdb"
    shutil.copyfile(demo_db, db)
    con = connect(db, read_only=False)
    con.execute("CREATE TABLE ballast AS SELECT range AS i, random() AS v FROM range(3000000)")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE ballast")
    con.execute("CHECKPOINT")
    con.close()
    before, size = _checksums(db), db.stat().st_size
    result = compact(db)
    assert _checksums(db) == before
    assert result.bytes_before == size and db.stat().st_size == result.bytes_after < size * 0.8
    con = connect(db)
    try:
        hpx = [r[0] for r in con.execute("SELECT hpx29 FROM psc ORDER BY rowid").fetchall()]
        assert hpx == sorted(hpx) and con.execute("SELECT bool_and(sorted) FROM catalog_state"
                                                  ).fetchall() == [(True,)]
        # the sequence carries on from where the original stood
        assert con.execute(
            "SELECT coalesce(last_value, start_value - 1) >= (SELECT max(load_id) FROM loads) "
            "FROM duckdb_sequences() WHERE sequence_name = 'loads_seq'").fetchall() == [(True,)]
        # the new file's blocks are its own row groups, read once it was in place
        for table in ("psc", "xsc"):
            assert [(lo, hi - 1) for lo, hi, _, _ in blocks(con, table)] == \
                sorted((lo, hi) for _, lo, hi in row_group_extents(con, table))
        assert con.execute("SELECT count(*) FROM storage_marks").fetchall() == [(0,)]
    finally:
        con.close()


def test_compact_killed_at_any_moment_leaves_a_whole_database(demo_db, tmp_path):
    db = tmp_path / "k.duckdb"
    shutil.copyfile(demo_db, db)
    before = _checksums(db)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "catscan", "compact", "--db", str(db)], check=True,
                   capture_output=True)
    full = time.perf_counter() - started
    rng = np.random.default_rng(19)
    for delay in rng.uniform(0.05, full, 6):
        proc = subprocess.Popen([sys.executable, "-m", "catscan", "compact", "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _checksums(db) == before, f"after a kill at {delay:.2f} s"
    compact(db)                                   # a stale .compact file is cleared
    assert not db.with_name(db.name + SUFFIX).exists()
    assert _checksums(db) == before


def test_info_says_when_a_compact_would_help(demo_db, tmp_path):
    db = tmp_path / "i.duckdb"
    shutil.copyfile(demo_db, db)
    compact(db)

    def info() -> str:
        out = subprocess.run([sys.executable, "-m", "catscan", "info", "--db", str(db)],
                             capture_output=True, text=True, check=True).stdout
        return " ".join(out.split())

    assert "catscan compact" not in info()
    con = connect(db, read_only=False)
    con.execute("CREATE TABLE ballast AS SELECT range AS i, random() AS v FROM range(4000000)")
    con.execute("CHECKPOINT")
    con.execute("CREATE TABLE after_it AS SELECT random() AS v FROM range(300000)")  # after it
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE ballast")
    con.execute("CHECKPOINT")
    con.close()
    assert "`catscan compact` would bring" in info()
    compact(db)
    assert "catscan compact" not in info()
