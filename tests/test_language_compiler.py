"""The CatScan compiler (catscan.language): each construct's SQL is pinned by a golden file
next to this test (tests/golden/language/NAME.sql, rewritten only with
CATSCAN_UPDATE_GOLDEN=1, never in CI); results equal hand-written SQL on the demo survey;
errors name the position and suggest the right name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catscan.language import Catalog, QueryError, compile_text

GOLDEN = Path(__file__).with_name("golden") / "language"

CONSTRUCTS = {
    "cone_m31": """select designation, ra, dec, j_m, h_m, k_m, j_m - k_m as jk
                   from psc
                   within 5 arcmin of 10.68479 +41.26906
                   where j_m < 14 and j_m - k_m > 1 and quality(j, h, k) >= 'B'
                   order by j_m
                   limit 100""",
    "cone_sexagesimal": "select designation from psc within 2\" of 00:42:44.3 +41:16:09",
    "cone_hms": "select designation from psc within 0.5deg of 00h42m44.3s +41d16m09s",
    "cone_galactic": "select designation from psc within 30' of galactic 121.17 -21.57",
    "box": "select designation from psc in box 275.12 -16.3 10 arcmin x 5 arcmin",
    "polygon": "select designation from psc in polygon 10.1 10.1, 10.0 10.1, 10 10",
    "in_tile": "select designation, tile from psc in tile 308165",
    "in_scan": "select count(*) from psc in scan 1998-04-16 n 64",
    "on_night": "select scan, status, qa_score from scans on night 1998-04-16 n order by scan",
    "observed": "select date, hemis from nights observed between 1997-01-01 and 1998-06-30",
    "hemisphere": "select count(*) from scans hemisphere south",
    "survey_terms": "select designation, date, hemis, scan, tile, score, version, night "
                    "from psc where score >= 8 limit 3",
    "presets": "select basic from psc limit 2",
    "photometry": "select photometry from psc limit 2",
    "flags": "select flags from psc limit 2",
    "star": "select * from tiles limit 2",
    "clean_detected": "select count(*) from psc where clean and detected(k) and not detected(j)",
    "quality_grades": "select count(*) from psc where quality(k) = 'A' or quality(j, h) < 'C'",
    "expressions": "select designation, round(j_m - k_m, 3) as jk, abs(glat) from psc "
                   "where j_m between 10 and 12 and cc_flg in ('000', '00c') "
                   "and designation like '004%' and ext_key is null and not (k_m > 14) "
                   "order by jk desc, designation limit 5",
    "aggregate": "select hemis, count(*) as n, avg(j_m - k_m) as mean_jk from psc "
                 "group by hemis order by hemis",
    "parameters": "select designation from psc within $radius of $ra $dec where j_m < $jmax "
                  "limit $n",
    "images": "select coadd_key, band, fname from images within 1 deg of 10.68 41.27",
    "xsc": "select designation, k_m_k20fe from xsc in box 9.8 0.9 0.5 deg x 0.5 deg "
           "where clean",
    # the catalog side of a cross-match: filters, no order or limit (they follow the match)
    "match": "select designation, j_m, j_m - k_m as jk, date from psc "
             "match 'list.csv' within 2 arcsec all where clean order by dist limit 5",
}
PARAMS = {"radius": "2arcmin", "ra": "10.68479", "dec": "+41.26906", "jmax": "15", "n": "10"}


@pytest.fixture(scope="module")
def catalog(schema_catalog) -> Catalog:
    return schema_catalog


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_each_construct_compiles_to_its_golden_sql(catalog, name):
    sql = compile_text(CONSTRUCTS[name], catalog, PARAMS).sql + "\n"
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("CATSCAN_UPDATE_GOLDEN") == "1":
        path.write_text(sql)
    assert path.exists(), f"no golden file {path}: run with CATSCAN_UPDATE_GOLDEN=1 once"
    assert sql == path.read_text()


# compiled against the demo survey: the survey words add the hpx29 ranges of their scans'
# footprints (catscan.language.sky); an unknown tile reads nothing
SKY_CONSTRUCTS = {
    "in_scan_sky": "select count(*) from psc in scan 1998-04-16 n 64",
    "on_night_sky": "select designation from psc on night 1997-10-24 n",
    "in_tile_sky": "select designation, tile from psc in tile 308165",
    "observed_sky": "select count(*) from xsc observed between 1997-01-01 and 1997-12-31",
    "in_tile_unknown": "select count(*) from psc in tile 123",
}


@pytest.mark.parametrize("name", sorted(SKY_CONSTRUCTS))
def test_survey_words_compile_to_their_golden_sql_on_the_demo_survey(demo_con, name):
    sql = compile_text(SKY_CONSTRUCTS[name], Catalog.from_connection(demo_con),
                       con=demo_con).sql + "\n"
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("CATSCAN_UPDATE_GOLDEN") == "1":
        path.write_text(sql)
    assert path.exists(), f"no golden file {path}: run with CATSCAN_UPDATE_GOLDEN=1 once"
    assert sql == path.read_text()


@pytest.fixture(scope="module")
def demo(demo_con):
    return demo_con, Catalog.from_connection(demo_con)


def rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


@pytest.mark.parametrize(("query", "hand_written"), [
    ("select designation, j_m from psc within 5 arcmin of 10.68479 +41.26906 where j_m < 15",
     "SELECT designation, j_m, ang_sep(ra, dec, 10.68479, 41.26906) * 3600 FROM psc "
     "WHERE ang_sep(ra, dec, 10.68479, 41.26906) <= 5/60.0 AND j_m < 15"),
    ("select designation from psc in tile 308165 where clean and detected(k)",
     "SELECT p.designation FROM psc p JOIN scans s USING (scan_key) WHERE s.tile = 308165 "
     "AND p.use_src = 1 AND p.cc_flg = '000' AND regexp_full_match(p.bl_flg, '[01]{3}') "
     "AND substr(p.rd_flg, 3, 1) IN ('1', '2', '3', '4')"),
    ("select designation from psc where quality(j, h, k) >= 'B' and j_m < 13",
     "SELECT designation FROM psc WHERE regexp_full_match(ph_qual, '[AB]{3}') AND j_m < 13"),
    ("select count(*) from psc in scan 1998-04-16 n 64",
     "SELECT count(*) FROM psc WHERE date = DATE '1998-04-16' AND hemis = 'n' AND scan = 64"),
    ("select scan, qa_score from scans on night 1998-04-16 n",
     "SELECT scan, qa_score FROM scans WHERE date = DATE '1998-04-16' AND hemis = 'n'"),
    ("select designation, score, night from psc in box 275.12 -16.3 20 arcmin x 20 arcmin",
     "SELECT p.designation, s.qa_score, strftime(s.date, '%Y-%m-%d') || s.hemis FROM psc p "
     "LEFT JOIN scans s USING (scan_key) WHERE abs(p.dec - -16.3) < 0.2 AND "
     "abs((p.ra - 275.12) * cos(radians(p.dec))) < 0.2 * 1.001 AND "
     "ang_sep(p.ra, p.dec, 275.12, -16.3) < 0.3 AND "
     "abs(cos(radians(p.dec)) * sin(radians(p.ra - 275.12)) / (sin(radians(-16.3)) * "
     "sin(radians(p.dec)) + cos(radians(-16.3)) * cos(radians(p.dec)) * "
     "cos(radians(p.ra - 275.12)))) <= tan(radians(10 / 60.0)) AND "
     "abs((cos(radians(-16.3)) * sin(radians(p.dec)) - sin(radians(-16.3)) * "
     "cos(radians(p.dec)) * cos(radians(p.ra - 275.12))) / (sin(radians(-16.3)) * "
     "sin(radians(p.dec)) + cos(radians(-16.3)) * cos(radians(p.dec)) * "
     "cos(radians(p.ra - 275.12)))) <= tan(radians(10 / 60.0))"),
    ("select hemis, count(*) from scans group by hemis",
     "SELECT hemis, count(*) FROM scans GROUP BY hemis"),
])
def test_results_equal_hand_written_sql_on_the_demo_survey(demo, query, hand_written):
    con, catalog = demo
    expected = rows(con, hand_written)
    assert expected, "the hand-written query should find something in the demo survey"
    assert rows(con, compile_text(query, catalog).sql) == expected


@pytest.mark.parametrize(("query", "message"), [
    ("select j_mm from psc",
     "line 1, column 8: psc has no column 'j_mm'\n  select j_mm from psc\n         ^\n"
     "did you mean j_m or j_msigcom?"),
    ("select ra from pcs",
     "line 1, column 16: unknown source 'pcs'\n  select ra from pcs\n                 ^\n"
     "did you mean psc?"),
    ("select date from nights within 1 deg of 10 10",
     "line 1, column 25: nights rows have no position\n"
     "  select date from nights within 1 deg of 10 10\n                          ^"),
    ("select ra from psc within 2 arcsec of 10 95",
     "line 1, column 39: cannot read the position 10 95 (icrs): Latitude angle(s) must be "
     "within -90 deg <= angle <= 90 deg, got 95.0 deg\n"
     "  select ra from psc within 2 arcsec of 10 95\n                                        ^"),
    ("select ra from psc in scan 1998-13-01 n 4",
     "line 1, column 28: not a date: '1998-13-01' (write 1998-04-16)\n"
     "  select ra from psc in scan 1998-13-01 n 4\n                             ^"),
    ("select ra from psc where quality(j) >= 'G'",
     "line 1, column 40: a photometric quality grade is one of A, B, C, D, E, F, U, X (A best)"
     "\n  select ra from psc where quality(j) >= 'G'\n                                         ^"),
    ("select ra from psc within $r of 10 20",
     "line 1, column 27: no value for the parameter $r\n"
     "  select ra from psc within $r of 10 20\n                            ^\n"
     "give it with --param r=VALUE"),
    ("select sqrtt(j_m) from psc",
     "line 1, column 8: unknown function 'sqrtt'\n  select sqrtt(j_m) from psc\n"
     "         ^\ndid you mean sqrt?"),
    ("select ra from psc in polygon 0 0, 1 1, 1 0, 0 1",
     "line 1, column 20: the polygon's edges cross: edge 1 (vertex 1 to 2) meets edge 3 "
     "(vertex 3 to 4)\n  select ra from psc in polygon 0 0, 1 1, 1 0, 0 1\n"
     "                     ^"),
])
def test_errors_point_at_the_problem(catalog, query, message):
    with pytest.raises(QueryError) as info:
        compile_text(query, catalog)
    assert str(info.value) == message


def test_a_match_clause_plans_the_cross_match(catalog):
    compiled = compile_text("select designation from xsc match $list within $r nearest "
                            "order by dist desc, designation limit 3", catalog,
                            {"list": "targets.vot", "r": "3arcsec"})
    plan = compiled.match
    assert (plan.path, plan.mode, plan.catalog, plan.limit) == ("targets.vot", "nearest", "xsc", 3)
    assert plan.radius_deg == pytest.approx(3 / 3600, rel=1e-15)
    assert [(name, desc) for name, desc, _ in plan.order_by] == \
        [("dist", True), ("designation", False)]
    assert [e.alias_or_name for e in compiled.expression.expressions] == \
        ["designation", "xm_hpx", "xm_cell", "xm_ra", "xm_dec", "xm_key"]
    assert compile_text("select designation from psc", catalog).match is None


@pytest.mark.parametrize("query, message", [
    ("select ra from scans match 'l.csv' within 2\"",
     "line 1, column 22: match cross-matches a list with psc or xsc, not scans"),
    ("select count(*) from psc match 'l.csv' within 2\"",
     "line 1, column 8: count() aggregates rows, which match cannot combine with one row per "
     "target"),
    ("select hemis from psc match 'l.csv' within 2\" group by hemis",
     "line 1, column 23: group by cannot be combined with match: the output has one row per "
     "target (or pair); aggregate the result instead"),
    ("select j_m from psc match 'l.csv' within 2\" order by j_m - k_m",
     "line 1, column 54: with match, order by names output columns (a selected name, a column "
     "of the list, dist or n_candidates)"),
    ("select j_m from psc match 'a.csv' within 2\" match 'b.csv' within 1\"",
     "line 1, column 45: one match clause per query"),
    ("select j_m from psc match 'a.csv' within 200 deg",
     "line 1, column 42: a match radius must be above 0 and at most 180 deg"),
])
def test_match_clause_errors(catalog, query, message):
    with pytest.raises(QueryError) as info:
        compile_text(query, catalog)
    assert str(info.value).splitlines()[0] == message
