"""Generators of query texts for the fuzz tests (tests/test_fuzz_languages.py) and the
fuzz campaign (bench/fuzz.py): CatScan and ADQL built from their grammars with values at
the edges (huge, non-finite, 60-digit numbers, bad dates, wrong arities), texts mutated
from those, and deep nesting of every kind that nests. One implementation, two uses: the
suite draws a few hundred examples, the campaign tens of thousands.

:func:`outcome` says what a run must end in: rows, or a typed CatscanError; anything else
is a crash, and a compile-time refusal must say where (line and column)."""

from __future__ import annotations

from hypothesis import strategies as st

from catscan.language.catalog import FUNCTIONS

# ---- shared values -----------------------------------------------------------------------

NUMBERS = ["0", "1", "2", "14", "15.5", "0.5", ".5", "3.", "1e3", "1E-3", "1e308", "1e309",
           "1e400", "10.1e30868", "1e-400", "00", "90", "91", "180", "359.99", "360", "361",
           "4294967296", "9" * 20, "9" * 60]
# whole numbers of 19 to 5000 digits (Python's int() stops at 4300), made when drawn
huge = st.tuples(st.sampled_from("19"), st.sampled_from([19, 60, 400, 4400, 5000])).map(
    lambda t: t[0] + "0" * t[1] if t[0] == "1" else "9" * t[1])
number = st.one_of(st.sampled_from(NUMBERS), huge)
NAMES = ["x", "jk", "n", "select", "from", "count", "a1"]
STRINGS = ["''", "'A'", "'B'", "'x''y'", "'%'", "'1998-04-16'", "'10.68 41.27'", "'nan'",
           "'00:42:44.3 +41:16:09'", "'" + "a" * 300 + "'"]
PARAM_VALUES = ["1", "0", "-1", "10.68", "41.27", "2arcmin", "0.1", "1e400", "10.1e30868",
                "nan", "inf", "-inf", "9" * 60, "1998-04-16", "1998-02-30", "x", "", "'",
                "00:42:44.3", "10.68 41.27", "list.csv"]
param_value = st.one_of(st.sampled_from(PARAM_VALUES), huge)
PARAMS = ("p", "q", "r")


def _join(parts) -> str:
    return " ".join(p for p in parts if p)


def _call(name: str, args) -> str:
    return f"{name}({', '.join(args)})"


# ---- CatScan -----------------------------------------------------------------------------

CS_SOURCES = ["psc", "xsc", "scans", "nights", "tiles", "images", "history", "night_status",
              "scan_status", "night_qa", "nosuch"]
CS_COLUMNS = ["ra", "dec", "j_m", "h_m", "k_m", "j_m_k20fe", "designation", "ph_qual",
              "rd_flg", "cc_flg", "bl_flg", "use_src", "date", "hemis", "scan", "tile", "score",
              "night", "version", "qa_score", "status", "loaded", "band", "metric", "value",
              "clean", "basic", "flags", "j", "h", "k", "ks", "nosuch"]
CS_FUNCTIONS = sorted(FUNCTIONS) + ["quality", "detected", "nosuch", "read_csv", "query"]
CS_BINARY = ["+", "-", "*", "/", "%", "||", "=", "!=", "<>", "<", "<=", ">", ">=", "and",
             "or"]
UNITS = ["arcsec", "arcmin", "deg", "degrees", "mas", '"', "'", " arcsec", " deg"]

cs_number = number
cs_param = st.sampled_from([f"${p}" for p in PARAMS] + ["$missing"])
cs_atom = st.one_of(cs_number, st.sampled_from(CS_COLUMNS), st.sampled_from(STRINGS), cs_param,
                    st.sampled_from(["true", "false", "null"]))


def _cs_extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(CS_BINARY), inner).map(" ".join),
        st.tuples(st.sampled_from(["- ", "+ ", "not "]), inner).map("".join),
        inner.map(lambda e: f"({e})"),
        st.tuples(st.sampled_from(CS_FUNCTIONS), st.lists(inner, max_size=5)).map(
            lambda t: _call(*t)),
        st.sampled_from(CS_FUNCTIONS).map(lambda f: f"{f}(*)"),
        st.tuples(inner, st.sampled_from(["", "not "]), inner, inner).map(
            lambda t: f"{t[0]} {t[1]}between {t[2]} and {t[3]}"),
        st.tuples(inner, st.sampled_from(["", "not "]), st.lists(inner, min_size=1,
                                                                 max_size=3)).map(
            lambda t: f"{t[0]} {t[1]}in ({', '.join(t[2])})"),
        st.tuples(inner, st.sampled_from(["like", "not like"]), inner).map(" ".join),
        st.tuples(inner, st.sampled_from(["is null", "is not null"])).map(" ".join),
        st.tuples(st.lists(st.sampled_from(["j", "h", "k", "ks", "x", "1"]), max_size=4),
                  st.sampled_from(["=", ">=", "<", "!="]), st.sampled_from(STRINGS + ["1"])).map(
            lambda t: f"quality({', '.join(t[0])}) {t[1]} {t[2]}"),
    )


cs_expr = st.recursive(cs_atom, _cs_extend, max_leaves=10)
cs_coord = st.one_of(
    cs_number, cs_number.map(lambda n: "-" + n), cs_number.map(lambda n: "+" + n), cs_param,
    st.tuples(st.integers(0, 999), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}.5"),
    st.sampled_from(["00h42m44.3s", "+41d16m09s", "-89:59:59", "24h00m00s", "99d99m"]))
cs_position = st.one_of(
    st.tuples(st.sampled_from(["", "icrs ", "galactic "]), cs_coord, cs_coord).map(
        lambda t: f"{t[0]}{t[1]} {t[2]}"),
    st.sampled_from(STRINGS))
cs_angle = st.one_of(st.tuples(cs_number, st.sampled_from(UNITS)).map("".join), cs_param)
cs_date = st.one_of(
    st.tuples(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"),
    st.sampled_from(["1998-04-16", "'1998-04-16'", "'yesterday'", "$p"]))
cs_integer = st.one_of(st.sampled_from(["0", "1", "64", "308165"]), huge, cs_param)
cs_hemis = st.sampled_from(["n", "s", "N"])
cs_region = st.one_of(
    st.tuples(cs_angle, cs_position).map(lambda t: f"within {t[0]} of {t[1]}"),
    st.tuples(cs_position, cs_angle, cs_angle).map(lambda t: f"in box {t[0]} {t[1]} x {t[2]}"),
    st.lists(cs_position, min_size=1, max_size=5).map(lambda p: "in polygon " + ", ".join(p)),
    cs_integer.map(lambda i: f"in tile {i}"),
    st.tuples(cs_date, cs_hemis, cs_integer).map(lambda t: "in scan {} {} {}".format(*t)),
    st.tuples(cs_date, cs_hemis).map(lambda t: "on night {} {}".format(*t)),
    st.tuples(cs_date, cs_date).map(lambda t: "observed between {} and {}".format(*t)),
    st.sampled_from(["hemisphere north", "hemisphere south"]),
    st.tuples(st.sampled_from(["'list.csv'", "$p", "'/etc/passwd'"]), cs_angle,
              st.sampled_from(["", "nearest", "all"])).map(
        lambda t: "match {} within {} {}".format(*t)))
cs_item = st.tuples(cs_expr, st.sampled_from([""] + [f"as {n}" for n in NAMES])).map(_join)
cs_query = st.builds(
    lambda items, source, regions, where, group, order, limit: _join([
        "select", items, "from", source, *regions, where, group, order, limit]),
    st.one_of(st.just("*"), st.lists(cs_item, min_size=1, max_size=4).map(", ".join)),
    st.sampled_from(CS_SOURCES), st.lists(cs_region, max_size=3),
    st.one_of(st.just(""), cs_expr.map(lambda e: f"where {e}")),
    st.one_of(st.just(""), st.lists(cs_expr, min_size=1, max_size=2).map(
        lambda g: "group by " + ", ".join(g))),
    st.one_of(st.just(""), st.lists(st.tuples(cs_expr, st.sampled_from(["", "asc", "desc"])),
                                    min_size=1, max_size=2).map(
        lambda o: "order by " + ", ".join(_join(x) for x in o))),
    st.one_of(st.just(""), cs_integer.map(lambda i: f"limit {i}")))
cs_params = st.fixed_dictionaries({p: param_value for p in PARAMS})

CS_NOISE = ["select", "from", "psc", "where", "within", "of", "in", "box", "x", "(", ")", ",",
            "'", "$", "--", "\n", "1e400", "9" * 60, "min()", "avg(j_m, k_m)", "and", "not",
            "*", ";", "\x00", "é", "10.1e30868"]

# ---- ADQL --------------------------------------------------------------------------------

ADQL_TABLES = ["psc", "xsc", "scans", "nights", "tiles", "atlas_images", "night_status",
               "TAP_SCHEMA.tables", "TAP_SCHEMA.columns", "TAP_UPLOAD.up", "nosuch",
               "private.x", "main.psc"]
ADQL_COLUMNS = ["ra", "dec", "j_m", "k_m", "designation", "pts_key", "ph_qual", "date", "hemis",
                "scan", "tile", "table_name", "column_name", '"ra"', "t.ra", "t.dec", "u.ra",
                "t.j_m", "u.name", "nosuch", "t.nosuch", "*"]
ADQL_FUNCTIONS = ["ABS", "ACOS", "ASIN", "ATAN", "ATAN2", "CEILING", "COS", "COT", "DEGREES",
                  "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS", "RAND",
                  "ROUND", "SIN", "SQRT", "TAN", "TRUNCATE", "LOWER", "UPPER", "COALESCE",
                  "COUNT", "SUM", "AVG", "MIN", "MAX", "POINT", "CIRCLE", "BOX", "POLYGON",
                  "DISTANCE", "CONTAINS", "INTERSECTS", "COORD1", "COORD2", "AREA", "REGION",
                  "NOSUCH", "read_csv", "ang_sep"]
ADQL_BINARY = ["+", "-", "*", "/", "||", "=", "<>", "!=", "<", "<=", ">", ">=", "AND", "OR"]
ADQL_TYPES = ["INTEGER", "SMALLINT", "BIGINT", "REAL", "DOUBLE PRECISION", "CHAR(3)",
              "VARCHAR", "TIMESTAMP", "POINT"]

adql_number = number
adql_signed = st.one_of(adql_number, adql_number.map(lambda n: "-" + n))
adql_systems = st.sampled_from(["", "'ICRS', ", "'GALACTIC', ", "'', ", "'ICRS GEOCENTER', "])
adql_point = st.tuples(adql_systems, adql_signed, adql_signed).map(
    lambda t: f"POINT({t[0]}{t[1]}, {t[2]})")
adql_column_point = st.tuples(adql_systems, st.sampled_from(["ra", "t.ra", "u.ra", "dec"]),
                              st.sampled_from(["dec", "t.dec", "u.dec", "ra"])).map(
    lambda t: f"POINT({t[0]}{t[1]}, {t[2]})")
adql_shape = st.one_of(
    st.tuples(adql_systems, adql_signed, adql_signed, adql_signed).map(
        lambda t: f"CIRCLE({t[0]}{t[1]}, {t[2]}, {t[3]})"),
    st.tuples(adql_systems, adql_point, adql_signed).map(
        lambda t: f"CIRCLE({t[0]}{t[1]}, {t[2]})"),
    st.tuples(adql_systems, st.lists(adql_signed, min_size=3, max_size=5)).map(
        lambda t: f"BOX({t[0]}{', '.join(t[1])})"),
    st.tuples(adql_systems, st.lists(adql_signed, min_size=4, max_size=9)).map(
        lambda t: f"POLYGON({t[0]}{', '.join(t[1])})"),
    st.sampled_from(["CIRCLE('ICRS', u.ra, u.dec, 0.01)", "CIRCLE(t.ra, t.dec, 1e400)"]))
adql_geometry = st.one_of(
    st.tuples(st.one_of(adql_column_point, adql_point), adql_shape,
              st.sampled_from(["= 1", "= 0", "= 2", "", "> 0"])).map(
        lambda t: f"CONTAINS({t[0]}, {t[1]}) {t[2]}"),
    st.tuples(st.one_of(adql_column_point, adql_point), adql_point,
              st.sampled_from(["<", "<=", ">", "="]), adql_signed).map(
        lambda t: f"DISTANCE({t[0]}, {t[1]}) {t[2]} {t[3]}"))
adql_atom = st.one_of(adql_number, st.sampled_from(ADQL_COLUMNS[:-1]), st.sampled_from(STRINGS),
                      st.sampled_from(["NULL", "PI()", "RAND()"]))


def _adql_extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(ADQL_BINARY), inner).map(" ".join),
        st.tuples(st.sampled_from(["- ", "+ ", "NOT "]), inner).map("".join),
        inner.map(lambda e: f"({e})"),
        st.tuples(st.sampled_from(ADQL_FUNCTIONS), st.lists(inner, max_size=4)).map(
            lambda t: _call(*t)),
        st.sampled_from(["COUNT(*)", "COUNT(DISTINCT ra)"]),
        st.tuples(inner, st.sampled_from(ADQL_TYPES)).map(lambda t: f"CAST({t[0]} AS {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: "CASE WHEN {} THEN {} ELSE {} END".format(
            *t)),
        st.tuples(inner, st.sampled_from(["", "NOT "]), inner, inner).map(
            lambda t: f"{t[0]} {t[1]}BETWEEN {t[2]} AND {t[3]}"),
        st.tuples(inner, st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from(["LIKE", "NOT LIKE"]), inner).map(" ".join),
        st.tuples(inner, st.sampled_from(["IS NULL", "IS NOT NULL"])).map(" ".join),
        adql_geometry,
        st.sampled_from(["(SELECT MAX(j_m) FROM psc)", "ra IN (SELECT ra FROM psc)",
                         "EXISTS (SELECT 1 FROM scans)"]))


adql_expr = st.recursive(adql_atom, _adql_extend, max_leaves=10)
adql_item = st.tuples(adql_expr, st.sampled_from([""] + [f"AS {n}" for n in NAMES] +
                                                 ['AS "x y"'])).map(_join)
adql_table = st.tuples(st.sampled_from(ADQL_TABLES), st.sampled_from(["", "AS t", "t", "AS u"]))


def _adql_select(subquery):
    from_item = st.one_of(adql_table.map(_join),
                          subquery.map(lambda q: f"({q}) AS t"))
    join = st.tuples(st.sampled_from(["JOIN", "LEFT JOIN", "INNER JOIN", "NATURAL JOIN",
                                      "LEFT OUTER JOIN", "FULL OUTER JOIN", ","]),
                     adql_table.map(_join), st.one_of(st.just(""), adql_expr.map(
                         lambda e: f"ON {e}"))).map(_join)
    return st.builds(
        lambda distinct, top, items, source, joins, where, group, having, order: _join([
            "SELECT", distinct, top, items, "FROM", source, *joins, where, group, having,
            order]),
        st.sampled_from(["", "DISTINCT", "ALL"]),
        st.one_of(st.just(""), st.sampled_from(["0", "1", "10", "9" * 20, "9" * 60, "-1",
                                                "1.5"]).map(lambda n: f"TOP {n}")),
        st.lists(adql_item, min_size=1, max_size=4).map(", ".join),
        from_item, st.lists(join, max_size=2),
        st.one_of(st.just(""), adql_expr.map(lambda e: f"WHERE {e}")),
        st.one_of(st.just(""), st.lists(adql_expr, min_size=1, max_size=2).map(
            lambda g: "GROUP BY " + ", ".join(g))),
        st.one_of(st.just(""), adql_expr.map(lambda e: f"HAVING {e}")),
        st.one_of(st.just(""), st.lists(st.tuples(adql_expr, st.sampled_from(["", "ASC",
                                                                               "DESC"])),
                                        min_size=1, max_size=2).map(
            lambda o: "ORDER BY " + ", ".join(_join(x) for x in o))))


adql_query = st.deferred(lambda: st.one_of(
    _adql_select(adql_query), _adql_select(adql_query),
    st.tuples(adql_query, st.sampled_from(["UNION", "UNION ALL", "EXCEPT", "INTERSECT"]),
              adql_query).map(" ".join),
    st.tuples(adql_query, adql_query).map(lambda t: f"WITH c AS ({t[0]}) {t[1]}")))

ADQL_NOISE = ["SELECT", "FROM", "WHERE", "TOP", "(", ")", ",", "'", '"', "--", "/*", ";", "\n",
              "1e400", "9" * 60, "CONTAINS", "POINT", "CIRCLE", "AND", "NOT", "*", "\x00", "é",
              "[", "{", "$1", "?", "::", "||"]

# ---- mutations and deep nesting ----------------------------------------------------------


@st.composite
def mutated(draw, base, noise: list[str]) -> str:
    """``base`` with up to three edits: a span deleted, a noise token inserted, a span
    repeated."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        if not text:
            break
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        kind = draw(st.sampled_from(["delete", "insert", "repeat"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(noise)) + text[i:]
        else:
            text = text[:j] + text[i:j] * draw(st.integers(1, 4)) + text[j:]
    return text


# queries that mostly run: psc columns, functions with their arity, sane regions
PSC_COLUMNS = ["ra", "dec", "j_m", "h_m", "k_m", "j_msigcom", "k_snr", "designation",
               "ph_qual", "use_src", "date", "scan", "tile", "score", "night"]
cs_run_atom = st.one_of(st.sampled_from(PSC_COLUMNS[:7]), st.sampled_from(NUMBERS[:12]))


def _cs_run_extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(" ".join),
        inner.map(lambda e: f"({e})"), inner.map(lambda e: f"- {e}"),
        st.tuples(st.sampled_from(["abs", "sqrt", "floor", "sign", "log10", "radians"]),
                  inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["round", "greatest", "least", "coalesce", "pow"]), inner,
                  inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"))


cs_run_expr = st.recursive(cs_run_atom, _cs_run_extend, max_leaves=6)
cs_run_condition = st.one_of(
    st.tuples(cs_run_expr, st.sampled_from(["<", ">", "=", ">=", "!="]), cs_run_expr).map(
        " ".join),
    st.sampled_from(["clean", "quality(j, h, k) >= 'B'", "detected(k)", "use_src = 1",
                     "designation like '004%'", "night = '1997-10-24n'", "j_m is null"]))
cs_run_query = st.builds(
    lambda items, region, where, order, limit: _join([
        "select", items, "from psc", region, where, order, limit]),
    st.one_of(st.sampled_from(["*", "basic", "photometry", "flags", "count(*) as n"]),
              st.lists(st.one_of(st.sampled_from(PSC_COLUMNS), cs_run_expr.map(
                  lambda e: f"{e} as x")), min_size=1, max_size=4).map(", ".join)),
    st.sampled_from(["within 2arcmin of 10.68 41.27", "within 30\" of 00:42:44.3 +41:16:09",
                     "in box 275.2 -16.1 6 arcmin x 4 arcmin", "in tile 1",
                     "on night 1997-10-24 n", "within 1 deg of galactic 121.17 -21.57",
                     "in polygon 10.6 41.2, 10.8 41.2, 10.7 41.35", "hemisphere south"]),
    st.one_of(st.just(""), st.lists(cs_run_condition, min_size=1, max_size=3).map(
        lambda c: "where " + " and ".join(c))),
    st.sampled_from(["", "order by j_m", "order by ra desc"]),
    st.sampled_from(["", "limit 5", "limit 0"]))


def catscan_texts():
    """CatScan texts: grammar-built queries (some made to run), their mutations, token
    soup, any text."""
    return st.one_of(cs_query, cs_run_query, mutated(cs_query, CS_NOISE),
                     mutated(cs_run_query, CS_NOISE),
                     st.lists(st.sampled_from(CS_NOISE + CS_COLUMNS), max_size=20).map(" ".join),
                     st.text(max_size=60))


adql_run_query = st.builds(
    lambda top, items, region, where, order: _join([
        "SELECT", top, items, "FROM psc", region, where, order]),
    st.sampled_from(["", "TOP 5", "TOP 0", "DISTINCT TOP 3"]),
    st.one_of(st.sampled_from(["*", "COUNT(*) AS n", "ra, dec, j_m - k_m AS jk"]),
              st.lists(st.sampled_from(["ra", "dec", "j_m", "designation", "ph_qual",
                                        "ABS(dec)", "ROUND(j_m, 1)", "j_m - k_m",
                                        "DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', "
                                        "10.68, 41.27))"]),
                       min_size=1, max_size=3, unique=True).map(", ".join)),
    st.sampled_from(["WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10.68, 41.27, "
                     "0.05)) = 1", "WHERE DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', "
                     "275.2, -16.1)) < 0.05", "WHERE CONTAINS(POINT('ICRS', ra, dec), BOX("
                     "'ICRS', 275.2, -16.1, 0.1, 0.1)) = 1", "WHERE CONTAINS(POINT('ICRS', "
                     "ra, dec), POLYGON('ICRS', 10.6, 41.2, 10.8, 41.2, 10.7, 41.35)) = 1",
                     "WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10.68, 41.27, 1.0 / 60))"]),
    st.sampled_from(["", "AND j_m < 15", "AND ph_qual LIKE 'A%'", "AND k_m IS NOT NULL"]),
    st.sampled_from(["", "ORDER BY j_m", "ORDER BY 1 DESC"]))


def adql_texts():
    """ADQL texts: grammar-built queries (some made to run), their mutations, token soup,
    any text."""
    return st.one_of(adql_query, adql_run_query, mutated(adql_query, ADQL_NOISE),
                     mutated(adql_run_query, ADQL_NOISE),
                     st.lists(st.sampled_from(ADQL_NOISE + ADQL_COLUMNS), max_size=20).map(
                         " ".join),
                     st.text(max_size=60))


def nest(pattern: str, depth: int, core: str) -> str:
    """``pattern`` ({} marks the hole) wrapped ``depth`` times around ``core``."""
    before, after = pattern.split("{}")
    return before * depth + core + after * depth


# kind -> (query with {} for the nested part, pattern around the hole, core)
CATSCAN_NESTING = {
    "parentheses": ("select {} from psc limit 1", "({})", "j_m"),
    "calls": ("select {} from psc limit 1", "abs({})", "j_m"),
    "minus": ("select {} from psc limit 1", "- {}", "j_m"),
    "not": ("select ra from psc where {} limit 1", "not {}", "clean"),
    "plus chain": ("select {} from psc limit 1", "{} + 1", "j_m"),
    "and chain": ("select ra from psc where {} limit 1", "{} and clean", "clean"),
    "in lists": ("select ra from psc where {} limit 1", "j_m in ({})", "1"),
    "parenthesised ors": ("select ra from psc where {} limit 1", "(clean or {})", "clean"),
}
ADQL_NESTING = {
    "parentheses": ("SELECT TOP 1 {} FROM psc", "({})", "j_m"),
    "calls": ("SELECT TOP 1 {} FROM psc", "ABS({})", "j_m"),
    "minus": ("SELECT TOP 1 {} FROM psc", "- {}", "j_m"),
    "not": ("SELECT TOP 1 ra FROM psc WHERE {}", "NOT {}", "j_m > 1"),
    "plus chain": ("SELECT TOP 1 {} FROM psc", "{} + 1", "j_m"),
    "and chain": ("SELECT TOP 1 ra FROM psc WHERE {}", "{} AND j_m > 1", "j_m > 1"),
    "subqueries": ("SELECT TOP 1 * FROM {}", "(SELECT * FROM {}) AS t", "psc"),
    "scalar subqueries": ("SELECT TOP 1 {} FROM psc", "(SELECT TOP 1 {} FROM scans)", "1"),
    "in subqueries": ("SELECT TOP 1 ra FROM psc WHERE {}",
                      "pts_key IN (SELECT pts_key FROM psc WHERE {})", "j_m > 1"),
    "case": ("SELECT TOP 1 {} FROM psc", "CASE WHEN j_m > 1 THEN {} ELSE 0 END", "1"),
    "unions": ("{}", "{} UNION SELECT ra FROM psc", "SELECT TOP 1 ra FROM psc"),
    "ctes": ("{}", "WITH c AS ({}) SELECT * FROM c", "SELECT TOP 1 ra FROM psc"),
    "geometry": ("SELECT TOP 1 ra FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
                 "CIRCLE('ICRS', {}, 41.27, 0.1)) = 1", "({})", "10.68"),
    "geometry chain": ("SELECT TOP 1 ra FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
                       "CIRCLE('ICRS', {}, 41.27, 0.1)) = 1", "{} + 0", "10.68"),
}


def nested(kinds: dict, depth: int, kind: str) -> str:
    query, pattern, core = kinds[kind]
    return query.format(nest(pattern, depth, core))


# ---- the oracle --------------------------------------------------------------------------

def outcome(exc: BaseException | None, *, located: tuple[type, ...],
            runtime: tuple[type, ...] = ()) -> str:
    """What a run ended in: "ok" (no exception), "refused" (an error of the ``located``
    kinds, compile-time refusals, which must say where: line and column from 1) or the
    name of a ``runtime`` kind (DuckDB's refusals while running, the timeout: typed, but
    about the data, so without a place in the text). Anything else raises AssertionError."""
    if exc is None:
        return "ok"
    if isinstance(exc, located):
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        assert line and column and line >= 1 and column >= 1, \
            f"{type(exc).__name__} without a position: {exc}"
        return "refused"
    if isinstance(exc, runtime):
        return type(exc).__name__
    raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
