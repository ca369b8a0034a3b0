"""The night_status / scan_status views and the history, on the demo survey.

Expected values are worked out by hand from catscan.survey.plan.demo_plan (its comments
give each scan's fate) and the 1998 QA rules: score = base x photometric x sensitivity,
base 10 after 1997-06-06 (5 before), loaded when the score is above 3; tapes reach IPAC
1 day after a northern night and 3 after a southern one, validation a day later.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from astropy.time import Time

from catscan.db import connect, init_database, schema_files
from catscan.operations import status
from catscan.operations.status import NightError, parse_night, resolve_night

D = dt.date

# night: (facility, tape, validated, processed, version, kind, scans, P, F, R, -, loaded,
#         scored, mean QA score, processing events)
NIGHTS = {
    # cal 1, cal 2, scan 17 (5 x 1 x 1 = 5), scan 18 (5 x 1 x 0.5 = 2.5: too low)
    "1997-05-21n": ("Mt Hopkins", D(1997, 5, 22), D(1997, 5, 23), D(1997, 5, 24), "2.0x",
                    "operational", 4, 4, 0, 0, 0, 1, 2, (5 + 2.5) / 2, 1),
    # cal x3, 8 (10), 9 (10 x 0.8 = 8), 10 (10 x 0.8 = 8), 11 (10 x 0.7 x 0.3 = 2.1), 12 F
    "1997-10-24n": ("Mt Hopkins", D(1997, 10, 25), D(1997, 10, 26), D(1997, 10, 28), "2.0x",
                    "operational", 8, 7, 1, 0, 0, 3, 4, (10 + 8 + 8 + 2.1) / 4, 1),
    # reprocessed with 2.1 on 1999-01-20: cal, 64 (10), 65 (10 x 0.9 x 0.5 = 4.5: now loaded)
    "1998-04-16n": ("Mt Hopkins", D(1998, 4, 17), D(1998, 4, 18), D(1999, 1, 20), "2.1",
                    "reprocessing", 3, 3, 0, 0, 0, 2, 2, (10 + 4.5) / 2, 2),
    # cal x2, 72 (10), 73 (9.5), 74 (10), 75 (score 0: rescan), 76 -, 77 R
    "1998-11-23n": ("Mt Hopkins", D(1998, 11, 24), D(1998, 11, 25), D(1998, 11, 26), "2.1",
                    "operational", 8, 6, 0, 1, 1, 3, 4, (10 + 9.5 + 10 + 0) / 4, 1),
    # cal, 142 (10 x 0.8 = 8), 143 (10)
    "1999-05-02s": ("CTIO", D(1999, 5, 5), D(1999, 5, 6), D(1999, 5, 6), "2.1",
                    "operational", 3, 3, 0, 0, 0, 2, 2, (8 + 10) / 2, 1),
}
NIGHT_FIELDS = ("facility", "tape_received", "validated", "processed", "version", "kind",
                "scans", "scans_p", "scans_f", "scans_r", "scans_dash", "loaded", "scored",
                "mean_qa", "events")


def test_one_row_per_night_with_hand_computed_counts_dates_and_versions(demo_con):
    rows = status.night_status(demo_con).to_pylist()
    assert [r["night"] for r in rows] == list(NIGHTS)            # date order
    for row in rows:
        expected = dict(zip(NIGHT_FIELDS, NIGHTS[row["night"]], strict=True))
        got = {k: row[k] for k in NIGHT_FIELDS}
        assert got == pytest.approx(expected), row["night"]
        assert row["health_command"] == f"catscan qa {row['night']}"


def test_a_reprocessed_night_shows_the_new_processing_and_keeps_the_old_in_its_history(demo_con):
    [row] = [r for r in status.night_status(demo_con).to_pylist() if r["night"] == "1998-04-16n"]
    assert (row["processed"], row["version"], row["kind"]) == \
        (D(1999, 1, 20), "2.1", "reprocessing")
    assert row["first_processed"] == D(1998, 4, 19)              # the 2.0x processing
    events = status.night_history(demo_con, (D(1998, 4, 16), "n")).to_pylist()
    assert [(e["version"], e["kind"], e["processed"], e["current"], e["load_status"])
            for e in events] == [
        ("2.0x", "operational", D(1998, 4, 19), False, "replaced"),
        ("2.1", "reprocessing", D(1999, 1, 20), True, "loaded")]
    # 2.0x: scan 65 scored 10 x 0.7 x 0.3 = 2.1, so only scan 64 loaded; 2.1 loads both
    assert [(e["scans"], e["loaded"]) for e in events] == [(3, 1), (3, 2)]
    assert events[1]["replaced_by"] is None and events[0]["replaced_by"] == events[1]["load_id"]


def test_the_whole_history_has_one_event_per_delivery(demo_con):
    events = status.night_history(demo_con).to_pylist()
    assert len(events) == 6                                       # five nights, one twice
    assert sum(e["current"] for e in events) == 5
    assert [e["night"] for e in events] == sorted(e["night"] for e in events)


def test_health_is_the_worst_status_of_the_nights_summary(demo_con):
    worst = dict(demo_con.execute(
        "SELECT strftime(date, '%Y-%m-%d') || hemis, CASE WHEN bool_or(status = 'fail') THEN "
        "'fail' WHEN bool_or(status = 'warn') THEN 'warn' ELSE 'pass' END FROM night_qa "
        "GROUP BY ALL").fetchall())
    rows = status.night_status(demo_con).to_pylist()
    assert {r["night"]: r["health"] for r in rows} == worst
    # 1997-10-24n: 2 of its 7 processed scans have a photometric factor >= 0.9 (scans 8 and
    # 10), 2/7 < 0.4: fail
    assert worst["1997-10-24n"] == "fail"


def test_a_nights_scans_with_status_tile_qa_factors_and_loading(demo_con):
    rows = status.scan_status(demo_con, D(1998, 4, 16), "n").to_pylist()
    assert [(r["scan"], r["status"], r["scan_type"], r["loaded"]) for r in rows] == [
        (63, "P", "cal", False), (64, "P", "sci", True), (65, "P", "sci", True)]
    cal, first, second = rows
    assert cal["qa_score"] is None and "calibration" in cal["load_reason"]
    assert cal["tile"] < 100000 and cal["tile_state"] == "processed"
    assert (second["qa_base"], second["qa_phot"], second["qa_sens"], second["qa_score"]) == \
        pytest.approx((10, 0.9, 0.5, 4.5))
    assert second["load_reason"].startswith("passed Quality Review")
    assert {r["version"] for r in rows} == {"2.1"}
    assert first["tile_state"] == second["tile_state"] == "loaded"
    assert {r["health_command"] for r in rows} == {"catscan qa 1998-04-16n"}
    # ut: the Julian date of the scan's start, to the second
    ut = Time(first["jdate"], format="jd").to_datetime()
    assert abs((first["ut"] - ut).total_seconds()) <= 0.5


def test_every_pipeline_status_and_reason_shows(demo_con):
    rows = {r["scan"]: r for r in status.scan_status(demo_con, D(1998, 11, 23), "n").to_pylist()}
    assert (rows[76]["status"], rows[76]["status_text"]) == ("-", "not processed")
    assert (rows[77]["status"], rows[77]["status_text"]) == ("R", "running")
    assert rows[75]["qa_score"] == 0 and rows[75]["tile_state"] == "rescan"
    assert "rescan requested" in rows[75]["load_reason"]
    failed = status.scan_status(demo_con, D(1997, 10, 24), "n").to_pylist()
    assert [r["status_text"] for r in failed if r["scan"] == 12] == ["failed"]


@pytest.mark.parametrize("text", ["1998-04-16n", "980416n", "19980416n", "1998-04-16 N",
                                  "1998-04-16"])
def test_nights_are_named_as_the_language_and_the_deliveries_name_them(demo_con, text):
    assert resolve_night(demo_con, text) == (D(1998, 4, 16), "n")


def test_bad_or_unknown_nights_are_clear_errors(demo_con):
    with pytest.raises(NightError, match="write a date and hemisphere"):
        parse_night("yesterday")
    with pytest.raises(NightError, match="month must be in 1..12"):
        parse_night("1998-13-01n")
    with pytest.raises(NightError, match=r"no night 1998-04-16s .*nearest: .*1998-04-16n"):
        resolve_night(demo_con, "1998-04-16s")
    assert parse_night("010203s") == (D(2001, 2, 3), "s")


def test_the_views_reach_a_database_made_before_them(tmp_path):
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    for step in [s for s in schema_files() if s.version < 120]:
        raw.execute(step.sql)
        raw.execute("INSERT INTO schema_version VALUES (?, ?, now(), '0.0')",
                    [step.version, step.name])
    raw.close()
    _, applied = init_database(path)
    assert "120_operations.sql" in applied
    con = connect(path)
    try:
        assert status.night_status(con).num_rows == 0
        assert status.scan_status(con, D(1998, 4, 16), "n").num_rows == 0
    finally:
        con.close()
