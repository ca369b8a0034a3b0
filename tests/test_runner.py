"""Running CatScan queries (catscan.runner): the Python API returns an astropy Table with the
rows hand-written SQL finds, the provenance, and an explicit overflow; bad queries raise
QueryError, unsafe ones never run."""

from __future__ import annotations

import numpy as np
import pytest

import catscan
from catscan.db import connect
from catscan.language import QueryError


def test_the_python_api_returns_the_rows_of_the_hand_written_sql(demo_db):
    table = catscan.query("select designation, j_m from psc within $r of 10.68479 +41.26906 "
                          "where j_m < $jmax order by j_m", demo_db, r="5arcmin", jmax=15)
    con = connect(demo_db)
    try:
        expected = con.execute("SELECT designation, j_m FROM psc WHERE ang_sep(ra, dec, "
                               "10.68479, 41.26906) <= 5 / 60.0 AND j_m < 15 "
                               "ORDER BY j_m").fetchall()
    finally:
        con.close()
    assert len(expected) > 0
    assert [(str(d).rstrip(), float(j)) for d, j in zip(table["designation"], table["j_m"],
                                                 strict=True)] == \
        [(d.rstrip(), j) for d, j in expected]
    assert table["j_m"].unit == "mag"
    prov = table.meta["provenance"]
    assert prov["status"] == "OK" and prov["row_count"] == len(expected)
    assert prov["parameters"] == {"r": "5arcmin", "jmax": "15"}
    assert prov["sql"].startswith('SELECT "psc"."designation"')


def test_a_capped_result_says_so(demo_db):
    table = catscan.query("select designation from psc order by designation", demo_db,
                          limit=7)
    assert len(table) == 7
    assert table.meta["provenance"]["status"] == "OVERFLOW"
    assert table.meta["provenance"]["notice"] == "result truncated at 7 rows; use --limit"


def test_survey_terms_and_nulls_come_through(demo_db):
    table = catscan.query("select scan, tile, score, night from psc in scan 1998-04-16 n 64 "
                          "limit 5", demo_db)
    assert set(table["night"]) == {"1998-04-16n"} and set(table["scan"]) == {64}
    scans = catscan.query("select scan, qa_score from scans on night 1998-11-23 n "
                          "order by scan", demo_db)
    assert np.ma.is_masked(scans["qa_score"][list(scans["scan"]).index(76)])   # not processed


def test_bad_queries_raise_query_errors_with_the_position(demo_db):
    with pytest.raises(QueryError, match=r"line 1, column 8: psc has no column 'j_mm'"):
        catscan.query("select j_mm from psc", demo_db)


def test_a_session_compiles_a_query_once_and_gives_the_same_rows(demo_db):
    from catscan.runner import Session, run_text
    from catscan.safety import query_connection

    con = query_connection(demo_db)
    try:
        ses = Session(con)
        text = "select designation from psc within $r of 10.68479 +41.26906 order by designation"
        first = run_text(ses, text, {"r": "3arcmin"})
        again = run_text(ses, text, {"r": "3arcmin"})
        other = run_text(ses, text, {"r": "1arcmin"})
        assert again.compiled is first.compiled and other.compiled is not first.compiled
        assert again.table.equals(first.table) and 0 < other.table.num_rows < \
            first.table.num_rows
        assert run_text(con, text, {"r": "3arcmin"}).table.equals(first.table)
    finally:
        con.close()
