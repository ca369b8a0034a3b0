"""Saved queries (catscan.language.saved): the header, typed parameters, and every query
shipped in queries/ runs on the demo survey."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from catscan.db import memory_database
from catscan.language import Catalog, QueryError, compile_text
from catscan.language.saved import find_saved, load_saved, parse_saved, shipped

EXAMPLE = """-- title: Clean photometry around M31
-- description: Point sources near M31.
-- author: someone
-- param: radius angle 5 arcmin
-- param: jmax number 15 mag

select designation from psc
within $radius of 10.68479 +41.26906
where j_m < $jmax
"""


def test_the_header_gives_title_description_author_and_typed_parameters():
    saved = parse_saved(EXAMPLE, "m31")
    assert (saved.title, saved.description, saved.author) == (
        "Clean photometry around M31", "Point sources near M31.", "someone")
    assert {n: (p.type, p.default, p.unit) for n, p in saved.params.items()} == {
        "radius": ("angle", "5", "arcmin"), "jmax": ("number", "15", "mag")}
    assert saved.values() == {"radius": "300.0arcsec", "jmax": "15"}
    assert saved.values({"radius": "2", "jmax": "14.5"}) == {"radius": "120.0arcsec",
                                                            "jmax": "14.5"}
    assert saved.values({"radius": "0.1deg"})["radius"] == "360.0arcsec"


def test_errors_in_the_query_point_at_the_line_of_the_file():
    saved = parse_saved(EXAMPLE.replace("where j_m", "where j_mm"), "m31")
    con = memory_database()
    try:
        catalog = Catalog.from_connection(con)
    finally:
        con.close()
    with pytest.raises(QueryError, match=r"^line 9, column 7: psc has no column 'j_mm'"):
        compile_text(saved.text, catalog, saved.values())


@pytest.mark.parametrize(("given", "message"), [
    ({"jmax": "bright"}, r"\$jmax must be a number, not 'bright'"),
    ({"radius": "far"}, r"\$radius must be an angle, not 'far'"),
    ({"colour": "1"}, r"m31 has no parameter colour \(it has radius, jmax\)"),
])
def test_bad_parameter_values_are_refused(given, message):
    with pytest.raises(QueryError, match=message):
        parse_saved(EXAMPLE, "m31").values(given)


def test_a_bad_parameter_line_says_how_to_write_one():
    with pytest.raises(QueryError, match=r"line 1: a parameter line is '-- param: NAME TYPE"):
        parse_saved("-- param: x colour 3\nselect ra from psc", "bad")


def test_files_and_shipped_names_are_found(tmp_path):
    path = tmp_path / "mine.catscan"
    path.write_text(EXAMPLE)
    assert load_saved(path).title == "Clean photometry around M31"
    assert find_saved(str(path)).name == "mine"
    assert find_saved("tile_states").title == "Tiles by state"
    with pytest.raises(QueryError, match="did you mean tile_states"):
        find_saved("tile_state")


def test_at_least_ten_queries_ship_each_with_a_title_and_description():
    queries = shipped()
    assert len(queries) >= 10
    assert all(q.title and q.description for q in queries.values())


@pytest.fixture(scope="module")
def demo(demo_con):
    return demo_con, Catalog.from_connection(demo_con)


@pytest.mark.parametrize("name", sorted(shipped()))
def test_every_shipped_query_runs_on_the_demo_survey(demo, name):
    from catscan.runner import Session, run_text

    con, catalog = demo
    saved = shipped()[name]
    # the runner, with the query's folder as the base for a match clause's list
    result = run_text(Session(con, base=saved.path.parent), saved.text, saved.values()).table
    if name == "atlas_images_near":          # this demo database has no Atlas Images
        assert result.num_rows == 0
    elif name == "list_crossmatch":          # every object of the list, some matched
        assert result.column("name").unique().to_pylist() == \
            ["M31 nucleus", "M32", "NGC 205", "Mayall II (G1)"]
        assert 0 < pc.sum(pc.is_valid(result.column("designation"))).as_py() < result.num_rows
    else:
        assert result.num_rows, f"{name} found nothing in the demo survey"
