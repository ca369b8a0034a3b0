"""The CatScan grammar (catscan.language.parser): what each clause parses to, keywords that
stay column names, and syntax errors that say where and what was expected. A fuzz test
shows any input either parses and compiles to one SELECT or raises QueryError."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from catscan.language import Catalog, QueryError, compile_text, ir, parse


def test_the_example_of_the_issue_parses_into_its_parts():
    q = parse("""select designation, ra, dec, j_m, h_m, k_m, j_m - k_m as jk
                 from psc
                 within 5 arcmin of 10.68479 +41.26906   -- a cone
                 where j_m < 14 and j_m - k_m > 1 and quality(j, h, k) >= 'B'
                 order by j_m
                 limit 100""")
    assert q.source == "psc"
    assert [i.alias for i in q.select] == [None] * 6 + ["jk"]
    assert q.select[6].expr == ir.Binary("-", ir.Column("j_m"), ir.Column("k_m"))
    assert q.regions == (ir.Cone(ir.Angle("5 arcmin"), ir.Position("10.68479", "+41.26906")),)
    assert q.order_by == (ir.OrderItem(ir.Column("j_m")),)
    assert q.limit == ir.Integer(100)
    assert q.where.op == "and" and q.where.right.left == ir.Call(
        "quality", (ir.Column("j"), ir.Column("h"), ir.Column("k")))


@pytest.mark.parametrize(("clause", "region"), [
    ("within 2\" of 00:42:44.3 +41:16:09",
     ir.Cone(ir.Angle('2"'), ir.Position("00:42:44.3", "+41:16:09"))),
    ("within 0.5deg of 00h42m44.3s +41d16m09s",
     ir.Cone(ir.Angle("0.5deg"), ir.Position("00h42m44.3s", "+41d16m09s"))),
    ("within 5' of galactic 121.17 -21.57",
     ir.Cone(ir.Angle("5'"), ir.Position("121.17", "-21.57", "galactic"))),
    ("within 1 deg of '00:42:44.3 +41:16:09'",
     ir.Cone(ir.Angle("1 deg"), ir.Position("00:42:44.3 +41:16:09"))),
    ("in box 10 20 1 deg x 30 arcmin",
     ir.Box(ir.Position("10", "20"), ir.Angle("1 deg"), ir.Angle("30 arcmin"))),
    ("in polygon 1 2, 3 4, 5 6",
     ir.Polygon((ir.Position("1", "2"), ir.Position("3", "4"), ir.Position("5", "6")))),
    ("in tile 308165", ir.InTile(ir.Integer(308165))),
    ("in scan 1998-04-16 n 64", ir.InScan(ir.Date("1998-04-16"), "n", ir.Integer(64))),
    ("on night 1998-04-16 S", ir.OnNight(ir.Date("1998-04-16"), "s")),
    ("observed between 1997-06-01 and '1998-01-31'",
     ir.ObservedBetween(ir.Date("1997-06-01"), ir.Date("1998-01-31"))),
    ("hemisphere north", ir.Hemisphere("n")),
    ("match 'list.csv' within 2 arcsec all", ir.Match("list.csv", ir.Angle("2 arcsec"), "all")),
    ("within $r of $ra $dec", ir.Cone(ir.Angle(ir.Param("r")),
                                      ir.Position(ir.Param("ra"), ir.Param("dec")))),
])
def test_every_region_clause_parses(clause, region):
    assert parse(f"select ra from psc {clause}").regions == (region,)


def test_keywords_are_still_column_names_where_a_name_is_expected():
    q = parse("SELECT scan, date, tile, night, box FROM scans WHERE scan > 3 ORDER BY date DESC")
    assert [i.expr for i in q.select] == [ir.Column(n) for n in
                                          ("scan", "date", "tile", "night", "box")]
    assert q.order_by == (ir.OrderItem(ir.Column("date"), True),)


@pytest.mark.parametrize(("text", "message"), [
    ("select ra from psc where j_m <",
     "line 1, column 30: the query ends too early"),
    ("select ra from psc within 5 of 10 20",
     "line 1, column 27: unexpected '5'\n  select ra from psc within 5 of 10 20\n"
     "                            ^\nexpected a $parameter, an angle such as 2arcsec"),
    ("select ra\nfrom psc\nwhere j_m < 14;",
     "line 3, column 15: unexpected character ';'\n  where j_m < 14;\n                ^"),
    ("select ra from psc in scan 1998-04-16 x 4",
     "line 1, column 39: unexpected 'x'\n"
     "  select ra from psc in scan 1998-04-16 x 4\n                                        ^\n"
     "expected "),
])
def test_syntax_errors_say_where_and_what_was_expected(text, message):
    with pytest.raises(QueryError) as info:
        parse(text)
    assert str(info.value).startswith(message)


@pytest.fixture(scope="module")
def catalog(schema_catalog) -> Catalog:
    return schema_catalog


WORDS = ["select", "from", "psc", "xsc", "scans", "where", "within", "of", "in", "box",
         "polygon", "tile", "scan", "night", "on", "and", "or", "not", "between", "like",
         "is", "null", "order", "by", "limit", "group", "ra", "dec", "j_m", "k_m", "*", ",",
         "(", ")", "-", "+", "=", "<", "'A'", "'x''y'", "2arcsec", "5'", "10.5", "-3",
         "00:42:44", "1998-04-16", "n", "x", "quality", "detected", "clean", "$p", ";",
         "drop table psc", "read_csv('/etc/passwd')", "copy", "--", '"', "\\", "\x00"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join),
                 st.text(max_size=80),
                 st.lists(st.sampled_from(WORDS), max_size=20).map(
                     lambda w: "select ra from psc " + " ".join(w))))
def test_any_input_compiles_to_one_select_or_raises_a_query_error(catalog, text):
    try:
        compiled = compile_text(text, catalog, {"p": "1"})
    except QueryError:
        return
    statements = sqlglot.parse(compiled.sql, dialect="duckdb")
    assert len(statements) == 1 and isinstance(statements[0], exp.Select)
    tables = {t.name for t in statements[0].find_all(exp.Table)}
    assert tables <= {"psc", "xsc", "scans", "nights", "tiles", "atlas_images",
                      "processing_history", "night_qa"}
