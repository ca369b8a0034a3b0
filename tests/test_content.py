"""The content version and the answers cached by it (catscan/content.py): a cached answer
equals the computation, and a real write (a night load, a release) changes the version and
the answer, also for a reader that was open before the write (a server's session)."""

from __future__ import annotations

import json
import shutil

import pytest

from catscan import content
from catscan.cli import main
from catscan.db import connect, init_database
from catscan.info import database_info, source_area
from catscan.loaders.night import load_nights
from catscan.operations import area, coverage
from catscan.runner import Session
from catscan.web.pages import survey_totals
from catscan.web.survey_pages import _draw_map, coverage_map

FIRST, SECOND = "970521n", "971024n"


@pytest.fixture(autouse=True)
def empty_caches():
    content.clear()
    yield
    content.clear()


@pytest.fixture
def growing(image_survey, tmp_path):
    """A new database holding the demo's first night: its writer, and a reader made before
    any later write (a cursor on the same DuckDB instance, as a server's sessions are)."""
    db = tmp_path / "catscan.duckdb"
    init_database(db)
    writer = connect(db, read_only=False)
    load_nights(writer, [image_survey.outdir / FIRST])
    reader = writer.cursor()
    yield db, writer, reader
    reader.close()
    writer.close()


def _info(con, db):
    return database_info(con, str(db), db.stat().st_size)


def _answers(con, db) -> dict:
    """Every cached whole-survey answer, through its cache."""
    info = _info(con, db)
    return {"scan_area": (info.scan_area_deg2, info.scan_area_depth),
            "source_area": info.source_area_deg2,
            "coverage": coverage.whole_sky_summary(con, coverage.load_tiles(con)).to_pylist(),
            "home": content.cached(con, "web.home", lambda: survey_totals(con)),
            "map": coverage_map(Session(con, read_files=False)).png}


def _computed(con) -> dict:
    """The same answers computed afresh, without any cache."""
    tiles = coverage.load_tiles(con)
    built = area.from_scratch(con, tiles)
    return {"scan_area": (area.area_deg2(built["n.loaded"].union(built["s.loaded"])),
                          area.AREA_DEPTH),
            "source_area": source_area(con),
            "coverage": coverage.coverage_table(coverage.compute_coverage(
                tiles, area.AREA_DEPTH, built=built)).to_pylist(),
            "home": survey_totals(con), "map": _draw_map(con).png}


def test_a_night_load_and_a_release_change_the_version_a_reader_sees(growing, image_survey):
    db, writer, reader = growing
    session = Session(reader, read_files=False)
    first = session.content_version
    assert first == content.content_version(writer)
    assert first.startswith("schema ") and ", 1 load, last load 1, 0 released," in first

    load_nights(writer, [image_survey.outdir / SECOND])
    second = session.content_version          # the same session, after the commit
    assert second != first and ", 2 loads, last load 2, 0 released," in second

    reader.close()
    writer.close()
    assert main(["release", "1997-10-24n", "--db", str(db)]) == 0
    con = connect(db)
    try:
        released = content.content_version(con)
    finally:
        con.close()
    assert released != second and ", 2 loads, last load 2, 1 released," in released
    assert main(["release", "--withdraw", "1997-10-24n", "--db", str(db)]) == 0
    con = connect(db)
    try:
        assert content.content_version(con) == second     # the same content as before
    finally:
        con.close()


def test_cached_answers_equal_the_computation_before_and_after_a_load(growing, image_survey):
    db, writer, reader = growing
    before = _answers(reader, db)
    assert before == _computed(reader)
    assert _answers(reader, db) == before                   # now from the caches

    load_nights(writer, [image_survey.outdir / SECOND])     # M31: new tiles loaded
    after = _answers(reader, db)
    assert after == _computed(reader)
    for name in before:
        assert after[name] != before[name], name


def test_the_next_process_reads_the_answers_of_this_version_only(demo_db, tmp_path):
    db = tmp_path / "catscan.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        version = content.content_version(con)
        info = _info(con, db)
        stored = json.loads(content.cache_file(db).read_text())
        assert stored["area.loaded"] == {"version": version, "value": info.scan_area_deg2}
        assert stored["info.source_area"] == {"version": version,
                                              "value": info.source_area_deg2}
        # another process: nothing in memory; a wrong value under the right version is
        # what it would use, a wrong value under another version is not
        content.clear()
        stored["info.source_area"]["value"] = 1.5
        stored["area.loaded"] = {"version": "schema 1, no loads", "value": 2.5}
        content.cache_file(db).write_text(json.dumps(stored))
        again = _info(con, db)
        assert again.source_area_deg2 == 1.5
        assert again.scan_area_deg2 == area.loaded_area(con)
    finally:
        con.close()


def test_an_answer_computed_across_a_commit_is_not_kept(growing, image_survey):
    db, writer, reader = growing
    calls = []

    def during_a_load():
        calls.append(1)
        if len(calls) == 1:
            load_nights(writer, [image_survey.outdir / SECOND])
        return len(calls)

    assert content.cached(reader, "test.answer", during_a_load, persist=True) == 1
    assert content.cached(reader, "test.answer", during_a_load, persist=True) == 2
    assert content.cached(reader, "test.answer", during_a_load, persist=True) == 2
    stored = json.loads(content.cache_file(db).read_text())["test.answer"]
    assert stored == {"version": content.content_version(reader), "value": 2}
