"""DuckDB's worker threads: one thread for a read-only database, all of DuckDB's for the
blocks that read many rows, and back to one when the last such block ends."""

from __future__ import annotations

import math
import threading

import duckdb
import pytest

from catscan import spatial
from catscan.db import connect
from catscan.parallelism import (
    PARALLEL_MIN_ROWS,
    SKY_INDEX_LENGTH,
    parallel,
    rows_in_ranges,
    table_rows,
)
from catscan.runner import Session
from catscan.safety import query_connection


def threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


@pytest.fixture(scope="module")
def duckdb_default() -> int:
    """The thread count DuckDB gives a new database on this machine."""
    with duckdb.connect() as con:
        found = threads(con)
    if found < 2:
        pytest.skip("DuckDB runs one thread on this machine: nothing to switch")
    return found


def test_a_read_only_database_runs_on_one_thread_a_read_write_one_on_duckdbs(
        db_path, duckdb_default):
    with connect(db_path, read_only=False) as con:
        assert threads(con) == duckdb_default
    with connect(db_path) as con:
        assert threads(con) == 1


def test_parallel_gives_the_threads_back_for_big_reads_only(db_path, duckdb_default):
    with connect(db_path) as con:
        with parallel(con):                              # unknown size: taken as big
            assert threads(con) == duckdb_default
        assert threads(con) == 1
        with parallel(con, PARALLEL_MIN_ROWS):
            assert threads(con) == 1
        with parallel(con, PARALLEL_MIN_ROWS + 1):
            assert threads(con) == duckdb_default
        with pytest.raises(duckdb.CatalogException), parallel(con):
            con.execute("SELECT * FROM no_such_table")
        assert threads(con) == 1


def test_overlapping_parallel_blocks_keep_the_threads_until_the_last_ends(
        db_path, duckdb_default):
    con = connect(db_path)
    entered, first_left, seen = threading.Event(), threading.Event(), []

    def second() -> None:
        cur = con.cursor()
        with parallel(cur):
            entered.set()
            first_left.wait(10)
            seen.append(threads(cur))
        cur.close()

    try:
        with parallel(con):
            worker = threading.Thread(target=second)
            worker.start()
            assert entered.wait(10)
        first_left.set()
        worker.join(10)
        assert seen == [duckdb_default]                  # the other block was still running
        assert threads(con) == 1
    finally:
        con.close()


def test_a_result_being_read_survives_the_switch(db_path, duckdb_default):
    with connect(db_path) as con:
        with parallel(con):
            result = con.execute("SELECT range FROM range(100000)")
        assert [r[0] for r in result.fetchall()] == list(range(100000))


def test_a_query_connection_locks_the_thread_count_with_the_configuration(
        db_path, duckdb_default):
    with query_connection(db_path, one_thread=True) as con:        # the server's
        with parallel(con):
            assert threads(con) == 1
        assert threads(con) == 1
    with query_connection(db_path) as con:                          # the CLI's: one query each
        assert threads(con) == duckdb_default
        with parallel(con):
            assert threads(con) == duckdb_default
        assert threads(con) == duckdb_default


def test_a_database_catscan_did_not_open_is_left_alone(duckdb_default):
    with duckdb.connect() as con:
        con.execute("SET threads = 1")
        with parallel(con):
            assert threads(con) == 1


def test_rows_in_ranges_is_the_covered_share_of_the_sky():
    assert rows_in_ranges(1000, None) == 1000
    assert rows_in_ranges(1000, [(0, SKY_INDEX_LENGTH // 4)]) == 250
    assert rows_in_ranges(1000, []) == 0
    # a 1-degree cone's cover: at least the cone's share of the sky, at most ~10 times it
    sky_deg2 = 4 * math.pi * (180 / math.pi) ** 2
    share = 2 * math.pi * (1 - math.cos(math.radians(1.0))) * (180 / math.pi) ** 2 / sky_deg2
    covered = rows_in_ranges(10**9, spatial.merge_ranges(spatial.cone_ranges(150, -30, 1.0)))
    assert share * 10**9 <= covered <= 10 * share * 10**9


def test_a_query_reads_its_table_narrowed_by_its_regions(demo_con):
    psc = demo_con.execute("SELECT count(*) FROM psc").fetchall()[0][0]
    assert table_rows(demo_con, "psc") == psc > 0
    ses = Session(demo_con)
    whole, _ = ses.prepared("select ra, dec from psc where j_m < 12", None)
    assert ses.read_rows(whole) == psc
    cone, _ = ses.prepared("select ra, dec from psc within 2arcmin of 10.68 41.27", None)
    [region] = cone.regions
    assert ses.read_rows(cone) == rows_in_ranges(psc, region.ranges) < psc / 1000
