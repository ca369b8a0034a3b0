"""Fuzzing both query languages on the demo survey (finding 5 of issue 18): every CatScan
text run through catscan.runner and every ADQL text translated by catscan.web.adql and
run either gives rows or ends in a typed error; a refusal of the text names its line and
column. Deep nesting of every kind, up to 5000 levels, is refused at the level that
passes the limit, before anything recurses. The generators are tests/fuzz_queries.py
(bench/fuzz.py draws tens of thousands from them)."""

from __future__ import annotations

import subprocess
import sys

import fuzz_queries as fq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catscan.language import QueryError, compile_text, parse, parser
from catscan.language import catalog as language_catalog
from catscan.runner import Session, run_text
from catscan.safety import QueryFailed, QueryTimeout, query_connection, run_readonly
from catscan.web import adql
from catscan.web.adql import AdqlError, translate
from catscan.web.tap_schema import TapCatalog

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
RUNTIME = (QueryFailed, QueryTimeout)
DEPTHS = (1, 30, 49, 100, 101, 5000)


@pytest.fixture(scope="module")
def con(demo_db):
    con = query_connection(demo_db)
    yield con
    con.close()


@pytest.fixture(scope="module")
def session(con) -> Session:
    return Session(con, read_files=False)


@pytest.fixture(scope="module")
def catalog(con) -> TapCatalog:
    catalog = TapCatalog.from_connection(con)
    catalog.register(con)
    return catalog


def run_catscan(session: Session, text: str, params: dict[str, str] | None = None) -> str:
    try:
        run_text(session, text, params or {}, limit=20, timeout=5.0)
    except Exception as exc:                      # noqa: BLE001 - the oracle judges it
        return fq.outcome(exc, located=(QueryError,), runtime=RUNTIME)
    return "ok"


def run_adql(con, catalog: TapCatalog, text: str) -> str:
    try:
        translation = translate(text, catalog, row_cap=21)
        run_readonly(con, translation.sql, timeout=5.0, limit=20)
    except Exception as exc:                      # noqa: BLE001 - the oracle judges it
        return fq.outcome(exc, located=(AdqlError,), runtime=RUNTIME)
    return "ok"


# ---- the examples of the issue --------------------------------------------------------------

@pytest.mark.parametrize(("text", "column", "message"), [
    ("select min() from psc", 8, "min() takes 1 argument, not 0"),
    ("select avg(j_m, k_m) from psc", 8, "avg() takes 1 argument, not 2"),
    ("select basic from psc within 2arcmin of 10.1e30868 41", 41,
     "'10.1e30868' is not a finite number"),
    ("select basic from psc within 1e400arcmin of 10 41", 30, "is not a finite number"),
    ("select 1e400 from psc", 8, "the number 1e400 is too large"),
    ("select ra from psc limit " + "9" * 60, 26, "is too large (at most 9223372036854775807)"),
    ("select ra from psc where j_m in (" + "9" * 5000 + ")", 34, "is too large"),
])
def test_the_examples_of_the_issue_are_refused_where_they_are(session, text, column,
                                                               message):
    with pytest.raises(QueryError) as info:
        run_text(session, text, {}, limit=5)
    assert (info.value.line, info.value.column) == (1, column)
    assert message in info.value.reason and len(str(info.value).splitlines()[0]) < 200


def test_the_cli_says_where_in_one_line(demo_db):
    for text, message in (("select min() from psc", "min() takes 1 argument, not 0"),
                          ("select avg(j_m, k_m) from psc", "avg() takes 1 argument, not 2")):
        done = subprocess.run([sys.executable, "-m", "catscan.cli", "query", text, "--db",
                               str(demo_db)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.splitlines()[0] == f"catscan: error: line 1, column 8: {message}"


def test_every_function_has_its_arity_and_each_count_in_it_runs(session):
    assert set(language_catalog.ARITY) == language_catalog.FUNCTIONS
    args = {"strftime": ["date", "'%Y'"], "substr": ["designation", "1", "2"],
            "substring": ["designation", "1", "2"], "trim": ["designation", "' '"],
            "upper": ["designation"], "lower": ["designation"], "length": ["designation"],
            "concat": ["designation", "'x'"], "year": ["date"], "month": ["date"],
            "day": ["date"], "quantile_cont": ["j_m", "0.5"], "count_if": ["j_m > 10"],
            "round": ["j_m", "1"], "log": ["2", "j_m"], "mod": ["scan", "7"],
            "ang_sep": ["ra", "dec", "10.68", "41.27"]}
    for name, (fewest, most) in sorted(language_catalog.ARITY.items()):
        for count in {fewest, most if most is not None else fewest + 2}:
            given_args = (args.get(name, []) + ["j_m"] * 4)[:count]
            text = f"select {name}({', '.join(given_args)}) as v from psc limit 1"
            assert run_catscan(session, text) == "ok", text
        wrong = fewest - 1 if most is None else most + 1
        with pytest.raises(QueryError, match=rf"^line 1, column 8: {name}\(\) takes"):
            compile_text(f"select {name}({', '.join(['j_m'] * wrong)}) from psc",
                         session.catalog)


def test_non_finite_parameters_are_refused_at_the_parameter(session):
    for value in ("nan", "inf", "-inf", "1e400", "9" * 5000):
        with pytest.raises(QueryError) as info:
            run_text(session, "select ra from psc where j_m < $p", {"p": value}, limit=5)
        assert (info.value.line, info.value.column) == (1, 32)
        assert "is not a finite number" in info.value.reason


def test_adql_with_49_nested_parentheses_is_refused_at_the_31st(con, catalog):
    text = "SELECT " + "(" * 49 + "1" + ")" * 49 + " FROM psc"
    with pytest.raises(AdqlError) as info:
        translate(text, catalog)
    assert (info.value.line, info.value.column) == (1, 8 + adql.MAX_NESTING)
    assert text[:info.value.column].count("(") == adql.MAX_NESTING + 1
    assert f"nests more than {adql.MAX_NESTING} levels" in info.value.reason
    deepest = adql.MAX_NESTING
    assert run_adql(con, catalog, "SELECT " + "(" * deepest + "1" + ")" * deepest +
                    " FROM psc") == "ok"


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT ra FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1e400, 41, "
     "0.1)) = 1", "not finite"),
    ("SELECT ra FROM psc WHERE DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 10.68, "
     "10.1e30868)) < 0.1", "not finite"),
    ("SELECT ra FROM psc WHERE name = 'x", "is not closed"),
    ("SELECT ra FROM psc /* a comment", "is not closed"),
    ("", "QUERY is empty"),
    ("t.dec", "only SELECT queries"),
])
def test_adql_refusals_say_where(catalog, text, message):
    with pytest.raises(AdqlError) as info:
        translate(text, catalog)
    assert message in info.value.reason and info.value.line >= 1 and info.value.column >= 1


# ---- fuzzing ----------------------------------------------------------------------------

@FUZZ
@given(fq.catscan_texts(), fq.cs_params)
def test_any_catscan_text_runs_or_is_refused_with_its_position(session, text, params):
    run_catscan(session, text, params)


@FUZZ
@given(fq.adql_texts())
def test_any_adql_text_runs_or_is_refused_with_its_position(con, catalog, text):
    run_adql(con, catalog, text)


# ---- deep nesting -----------------------------------------------------------------------

# chains: sqlglot reads and writes them without recursing
CHAINS = {"plus chain", "and chain", "unions", "geometry chain"}


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", list(fq.CATSCAN_NESTING))
def test_deep_catscan_runs_or_is_refused_where_it_passes_the_limit(session, kind, depth):
    text = fq.nested(fq.CATSCAN_NESTING, depth, kind)
    try:
        parse(text)
    except QueryError as exc:
        assert exc.reason == f"the query nests more than {parser.MAX_DEPTH} levels deep here"
        assert exc.line == 1 and 1 <= exc.column <= len(text) and depth > parser.MAX_DEPTH - 10
        if kind == "calls":                           # at the call that passes the limit
            assert text[exc.column - 1:].startswith("abs(")
            assert parser.MAX_DEPTH - 10 < text[:exc.column].count("abs(") <= parser.MAX_DEPTH
    else:
        assert depth < parser.MAX_DEPTH or kind == "parentheses"
    assert run_catscan(session, text) in ("ok", "refused", "QueryFailed")


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", list(fq.ADQL_NESTING))
def test_deep_adql_runs_or_is_refused_where_it_passes_the_limit(con, catalog, kind, depth):
    text = fq.nested(fq.ADQL_NESTING, depth, kind)
    try:
        translate(text, catalog)
    except AdqlError as exc:
        assert exc.line == 1 and 1 <= exc.column <= len(text)
        if "nests more than" in exc.reason:
            assert kind not in CHAINS and depth > adql.MAX_NESTING - 3
            if kind in ("parentheses", "calls", "subqueries"):
                assert text[:exc.column].count("(") == adql.MAX_NESTING + 1
    else:
        assert depth <= adql.MAX_NESTING or kind in CHAINS
    assert run_adql(con, catalog, text) in ("ok", "refused", "QueryFailed")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(list(fq.CATSCAN_NESTING)), st.integers(1, 5000),
       st.sampled_from(list(fq.ADQL_NESTING)), st.integers(1, 5000))
def test_nesting_of_any_depth_is_typed_in_both_languages(session, con, catalog, cs_kind,
                                                         cs_depth, adql_kind, adql_depth):
    run_catscan(session, fq.nested(fq.CATSCAN_NESTING, cs_depth, cs_kind))
    run_adql(con, catalog, fq.nested(fq.ADQL_NESTING, adql_depth, adql_kind))
