"""The safety layer for user SQL: what validate_sql lets through runs, what it refuses says
why and where, the locked connection refuses files even for SQL never validated, timeouts
interrupt cleanly, row caps are announced. Real DuckDB files, no mocks."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from catscan import spatial
from catscan.db import connect
from catscan.errors import CatscanError
from catscan.loaders.tile_states import ensure_tiles
from catscan.safety import (
    QueryFailed,
    QueryTimeout,
    UnsafeQuery,
    allowed_functions,
    allowed_tables,
    query_connection,
    run_readonly,
    validate_sql,
)

SLOW = "SELECT count(*) FROM range(100000) a(x), range(100000) b(y) WHERE a.x + b.y = -1"


@pytest.fixture
def qcon(db_path: Path):
    con = query_connection(db_path)
    yield con
    con.close()


@pytest.fixture
def tiles_db(db_path: Path) -> Path:
    """A database whose tiles table holds the whole-sky grid (56,774 rows with hpx29)."""
    con = connect(db_path, read_only=False)
    try:
        ensure_tiles(con)
    finally:
        con.close()
    return db_path


def check(con, sql: str) -> str:
    return validate_sql(sql, allowed_tables(con), allowed_functions(con))


def run(con, sql: str, **kwargs):
    return run_readonly(con, check(con, sql), **kwargs)


# ---------------------------------------------------------------- allowed


ALLOWED = [
    "SELECT 1",
    "FROM psc",
    "SELECT p.designation, x.designation FROM psc p JOIN xsc x ON p.ra = x.ra",
    "SELECT s.scan, n.date FROM scans s LEFT JOIN nights n USING (date, hemis)",
    "WITH bright AS (SELECT * FROM psc WHERE j_m < 10) SELECT count(*) FROM bright",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) "
    "SELECT sum(n) FROM r",
    "SELECT hemis, count(*), avg(dec), max(ra) FROM tiles GROUP BY hemis HAVING count(*) > 0",
    "SELECT tile, row_number() OVER (PARTITION BY hemis ORDER BY dec) FROM tiles",
    "SELECT ang_sep(ra, dec, 10.68479, 41.26906) AS d FROM tiles ORDER BY d LIMIT 3",
    "SELECT hpx29(10.0, 41.0), tmass_designation(10.538223, 41.18528)",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT * FROM psc WHERE ra IN (SELECT ra FROM xsc)",
    "SELECT * FROM main.psc",
    "SELECT * FROM night_processing",
    "SELECT * FROM range(10) t(x)",
    "SELECT unnest([1, 2, 3])",
    "SELECT list_transform([1, 2], lambda x: x + 1), {'a': 1}, [1, 2][1], 2::DOUBLE",
    "SELECT COLUMNS('j_.*') FROM psc",
    "SELECT * EXCLUDE (ra) FROM psc",
    "SELECT 1 AS a; ",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed_queries_validate_and_run(qcon, sql):
    table, truncated = run(qcon, sql, limit=100)
    assert not truncated and table.num_columns >= 1


def test_validate_sql_returns_the_normalised_query(qcon):
    out = check(qcon, "select  designation from psc where j_m<10")
    assert out == "SELECT designation FROM psc WHERE j_m < 10"


def test_spatial_fragments_run_and_count_right(tiles_db):
    con = query_connection(tiles_db)
    try:
        brute = run(con, "SELECT count(*) FROM tiles WHERE ang_sep(ra, dec, 10.68479, 41.26906)"
                    " <= 3")[0].column(0)[0].as_py()
        cone = run(con, "SELECT count(*) FROM tiles WHERE "
                   + spatial.cone_sql(10.68479, 41.26906, 3))[0].column(0)[0].as_py()
        box = run(con, "SELECT count(*) FROM tiles WHERE "
                  + spatial.box_sql(275.12, -16.3, 3, 8))[0].column(0)[0].as_py()
        polygon = run(con, "SELECT count(*) FROM tiles WHERE " + spatial.polygon_sql(
            [(20, 0), (10, 12), (10, 0)]))[0].column(0)[0].as_py()
    finally:
        con.close()
    assert brute == cone > 10 and box > 0 and polygon > 0


# ---------------------------------------------------------------- refused


REFUSED = [
    ("SELECT 1; DROP TABLE psc", "line 1, column 11: only one statement is allowed, found 2"),
    ("DROP TABLE psc", "not DROP"),
    ("DELETE FROM psc", "not DELETE"),
    ("INSERT INTO psc (ra) VALUES (1)", "not INSERT"),
    ("UPDATE psc SET ra = 1", "not UPDATE"),
    ("CREATE TABLE x AS SELECT 1", "not CREATE"),
    ("ATTACH 'other.duckdb' AS other", "not ATTACH"),
    ("COPY psc TO 'out.csv'", "not COPY"),
    ("COPY (SELECT * FROM psc) TO '/tmp/out.parquet'", "not COPY"),
    ("PRAGMA database_size", "not PRAGMA"),
    ("SET threads = 1", "not SET"),
    ("SET enable_external_access = true", "not SET"),
    ("INSTALL spatial", "not INSTALL or LOAD"),
    ("LOAD spatial", "not INSTALL or LOAD"),
    ("EXPORT DATABASE 'dump'", "not EXPORT"),
    ("CHECKPOINT", "not CALL or CHECKPOINT"),
    ("SELECT 1 INTO t", 'line 1, column 10: cannot parse the SQL: syntax error at or near "INTO"'),
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv is not allowed"),
    ("SELECT * FROM '/etc/passwd'", "files cannot be read: '/etc/passwd' is not a table"),
    ("SELECT * FROM 'x.csv'", "files cannot be read"),
    ("FROM 'data/*.parquet'", "files cannot be read"),
    ("SELECT * FROM glob('*')", "table function glob is not allowed (reads files)"),
    ("SELECT glob('*')", "function glob is not allowed: it reads files"),
    ("WITH a AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM a", "read_csv"),
    ("SELECT * FROM (SELECT * FROM read_csv_auto('x.csv'))", "read_csv_auto"),
    ("SELECT * FROM psc WHERE ra IN (SELECT 1 FROM read_parquet('x'))", "read_parquet"),
    ("SELECT (SELECT count(*) FROM read_text('/etc/passwd'))", "read_text"),
    ("SELECT * FROM psc JOIN LATERAL read_csv('y') AS r ON true", "read_csv"),
    ("WITH x AS (COPY psc TO 'x.csv') SELECT 1", "COPY inside a query is not allowed"),
    ("WITH x AS (DELETE FROM psc RETURNING *) SELECT 1", "DELETE is not allowed in a query"),
    ("WITH x AS (INSERT INTO psc (ra) VALUES (1) RETURNING *) SELECT * FROM x", "INSERT"),
    ("SELECT * FROM (WITH y AS (UPDATE psc SET ra = 1 RETURNING *) SELECT 1)", "UPDATE"),
    ("SELECT * FROM (COPY psc TO 'x.csv')", "cannot parse the SQL"),
    ("SELECT * FROM query('DROP TABLE psc')", "table function query is not allowed"),
    ("SELECT * FROM query_table('psc')", "runs SQL text"),
    ("SELECT * FROM duckdb_settings()", "shows the server's configuration"),
    ("SELECT current_setting('temp_directory')", "function current_setting is not allowed"),
    ("SELECT nextval('loads_seq')", "changes the database's state"),
    ("SELECT * FROM nowhere", "unknown table nowhere"),
    ("SELECT * FROM other.main.psc", "only the catalog's own tables"),
    ("SELECT * FROM information_schema.tables", "only the catalog's own tables"),
    ("SELECT no_such_function(1)", "unknown function no_such_function"),
    ("SELECT $1", "parameters"),
    ("", "no SQL statement given"),
    ("SELECT a,\n  b FROM psc WHERE ra >> <",
     'line 2, column 26: cannot parse the SQL: syntax error at or near "<"'),
]


@pytest.mark.parametrize("sql, message", REFUSED)
def test_refused(qcon, sql, message):
    with pytest.raises(UnsafeQuery, match="^SQL refused") as info:
        check(qcon, sql)
    assert message in str(info.value)


def test_a_refusal_says_where(qcon):
    with pytest.raises(UnsafeQuery) as info:
        check(qcon, "SELECT designation\nFROM psc, read_csv('/etc/passwd')")
    assert str(info.value) == ("SQL refused at line 2, column 11: table function read_csv is "
                               "not allowed (reads files)")
    assert (info.value.line, info.value.column) == (2, 11)


def test_a_cte_is_a_table_only_in_its_scope(qcon):
    assert check(qcon, 'WITH "a.csv" AS (SELECT 1 AS x) SELECT x FROM "a.csv"')
    with pytest.raises(UnsafeQuery, match="files cannot be read"):
        check(qcon, 'SELECT * FROM (WITH "a.csv" AS (SELECT 1) SELECT 1), "a.csv"')


def test_the_function_list_defaults_to_builtins_and_catscans_own(qcon):
    tables = allowed_tables(qcon)
    assert validate_sql("SELECT ang_sep(ra, dec, 1, 2), abs(j_m) FROM psc", tables)
    with pytest.raises(UnsafeQuery, match="unknown function nope"):
        validate_sql("SELECT nope(1)", tables)


def test_allowed_tables_are_the_catalog(qcon):
    tables = allowed_tables(qcon)
    assert {"psc", "xsc", "scans", "nights", "tiles", "atlas_images", "loads",
            "processing_history", "night_qa", "night_processing"} <= tables
    assert not any(name.startswith("duckdb_") for name in tables)


def test_allowed_functions_leave_out_the_dangerous_ones(qcon):
    functions = allowed_functions(qcon)
    assert {"ang_sep", "hpx29", "tmass_designation", "sky_polygon_contains", "abs", "count",
            "row_number", "list_transform"} <= functions
    assert not functions & {"read_csv", "glob", "current_setting", "query", "nextval",
                            "getenv", "read_text"}


# ---------------------------------------------------------------- the locked connection


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('{csv}')",
    "SELECT * FROM '{csv}'",
    "SELECT * FROM glob('{dir}/*')",
    "SELECT * FROM read_text('{csv}')",
    "COPY (SELECT 1) TO '{dir}/out.csv'",
    "ATTACH '{dir}/other.duckdb' AS other",
    "INSTALL spatial",
    "LOAD spatial",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET memory_limit = '10GB'",
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO loads (load_id) VALUES (1)",
    "WITH x AS (COPY (SELECT 1) TO '{dir}/out.csv') SELECT 1",     # a SELECT to DuckDB 2.0
    "WITH x AS (DELETE FROM tiles RETURNING *) SELECT count(*) FROM x",
])
def test_the_connection_refuses_without_validation(qcon, tmp_path, sql):
    csv = tmp_path / "secret.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(duckdb.Error):
        qcon.execute(sql.format(csv=csv, dir=tmp_path)).fetchall()
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_the_connection_still_reads_tables_macros_and_udfs(qcon):
    assert qcon.execute("SELECT count(*) FROM psc").fetchone() == (0,)
    assert qcon.execute("SELECT round(ang_sep(0, 0, 1, 0), 9), tmass_designation(10.538223, "
                        "41.18528), hpx29(0, 0) >= 0").fetchone() == (1.0, "00420917+4111070",
                                                                      True)


def test_two_query_connections_to_one_file(db_path):
    first = query_connection(db_path)
    try:
        second = query_connection(db_path)       # the instance is shared and already locked
        try:
            assert run(second, "SELECT count(*) FROM psc")[0].num_rows == 1
        finally:
            second.close()
        assert run(first, "SELECT 1")[0].num_rows == 1
    finally:
        first.close()


# ---------------------------------------------------------------- running


def test_a_slow_query_is_interrupted_and_the_connection_still_works(qcon):
    sql = check(qcon, SLOW)
    start = time.perf_counter()
    with pytest.raises(QueryTimeout, match=r"^query interrupted after 1 s$"):
        run_readonly(qcon, sql, timeout=1, limit=10)
    assert time.perf_counter() - start < 2.0          # uninterrupted it runs far longer
    assert run(qcon, "SELECT count(*) AS n FROM tiles")[0].column_names == ["n"]
    table, truncated = run(qcon, "SELECT 42 AS x", timeout=5)
    assert table.to_pylist() == [{"x": 42}] and not truncated


@pytest.mark.parametrize("rows, limit, expected", [
    (10, 10, (10, False)), (11, 10, (10, True)), (200_000, 150_000, (150_000, True)),
    (200_000, None, (200_000, False)), (5, 0, (0, True)), (0, 3, (0, False)),
])
def test_the_row_cap(qcon, rows, limit, expected):
    table, truncated = run(qcon, f"SELECT x FROM range({rows}) t(x)", limit=limit)
    assert (table.num_rows, truncated) == expected
    assert table.column_names == ["x"]


def test_a_capped_query_does_not_compute_everything(qcon):
    start = time.perf_counter()
    table, truncated = run(qcon, "SELECT x FROM range(1000000000000) t(x)", limit=5,
                           timeout=30)
    assert truncated and table.column("x").to_pylist() == [0, 1, 2, 3, 4]
    assert time.perf_counter() - start < 5


def test_run_readonly_runs_queries_only(qcon):
    with pytest.raises(UnsafeQuery):
        run_readonly(qcon, "DROP TABLE psc")
    with pytest.raises(UnsafeQuery):
        run_readonly(qcon, "SELECT 1; SELECT 2")
    assert run(qcon, "SELECT count(*) FROM psc")[0].num_rows == 1


def test_a_failing_query_is_one_clean_error(qcon):
    with pytest.raises(QueryFailed) as info:
        run(qcon, "SELECT jm FROM psc")
    assert str(info.value).startswith('query failed: Binder Error: Referenced column "jm"')
    assert "LINE" not in str(info.value) and isinstance(info.value, CatscanError)


# ---------------------------------------------------------------- fuzz

TABLES = {"psc", "xsc", "scans", "tiles"}
TOKENS = ["SELECT", "FROM", "WHERE", "psc", "xsc", "read_csv", "'/etc/passwd'", "(", ")", ",",
          ";", "*", "1", "COPY", "TO", "DROP", "TABLE", "WITH", "AS", "a", "UNION", "ALL", "JOIN",
          "ON", "=", "glob", "'*'", "ATTACH", "INSERT", "INTO", "VALUES", "ang_sep", "ra", "dec",
          "LIMIT", "ORDER", "BY", "--", "/*", "*/", '"x.csv"', "query", "LATERAL", "range",
          "unnest", "[", "]", "{", "}", ":", "$1", "?", "lambda", "x", "CASE", "WHEN", "THEN",
          "END", "::", "INTEGER", "PRAGMA", "SET", "LOAD", "INSTALL", "'", '"', "\\", "\n",
          "PIVOT", "EXPLAIN", "CONNECT", "getenv", "current_setting"]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def one_query_or_refused(sql: str) -> None:
    """validate_sql either returns one query sqlglot reads back, or raises UnsafeQuery."""
    try:
        out = validate_sql(sql, TABLES)
    except UnsafeQuery:
        return
    trees = [t for t in sqlglot.parse(out, dialect="duckdb") if t is not None]
    assert len(trees) == 1 and isinstance(trees[0], exp.Query), (sql, out)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_fuzz_token_soup(tokens):
    one_query_or_refused(" ".join(tokens))


@FUZZ
@given(st.binary(max_size=100))
def test_fuzz_random_bytes(data):
    one_query_or_refused(data.decode("utf-8", errors="surrogateescape"))


@FUZZ
@given(st.text(max_size=100))
def test_fuzz_random_text(text):
    one_query_or_refused(text)


# ---------------------------------------------------------------- the command


def cli(*args: str):
    env = {k: v for k, v in os.environ.items() if k not in ("CATSCAN_DB", "PAGER")}
    return subprocess.run([sys.executable, "-m", "catscan.cli", "sql", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_cli_refused_sql_exits_1_with_one_message(db_path):
    result = cli("SELECT 1; DROP TABLE psc", "--db", str(db_path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("catscan: error: SQL refused at line 1, column 11: only one "
                             "statement is allowed, found 2\n")
    result = cli("SELECT * FROM read_csv('/etc/passwd')", "--db", str(db_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["catscan: error: SQL refused at line 1, column 15: "
                                          "table function read_csv is not allowed (reads files)"]
    result = cli("LOAD spatial", "--db", str(db_path))            # no sqlglot warning either
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1


def test_cli_prints_rows_and_announces_truncation(db_path):
    result = cli("SELECT x FROM range(5) t(x)", "--db", str(db_path), "--format", "csv",
                 "--limit", "3")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["x", "0", "1", "2"]       # plain CSV
    assert result.stderr == "catscan: result truncated at 3 rows; use --limit\n"
    table = cli("SELECT x FROM range(5) t(x)", "--db", str(db_path), "--limit", "3")
    assert table.returncode == 0 and "result truncated at 3 rows; use --limit" in table.stdout
    whole = cli("SELECT x FROM range(5) t(x)", "--db", str(db_path), "--format", "csv")
    assert whole.returncode == 0 and whole.stderr == "" and "OVERFLOW" not in whole.stdout


def test_cli_writes_a_file(db_path, tmp_path):
    from astropy.table import Table

    out = tmp_path / "r.fits"
    result = cli("SELECT tile, ra, dec FROM tiles ORDER BY tile LIMIT 0", "--db", str(db_path),
                 "--out", str(out))
    assert result.returncode == 0 and f"0 row(s) written to {out}" in result.stdout
    assert Table.read(out).colnames == ["tile", "ra", "dec"]


def test_cli_timeout(db_path):
    start = time.perf_counter()
    result = cli(SLOW, "--db", str(db_path), "--timeout", "0.5")
    assert result.returncode == 1
    assert result.stderr == "catscan: error: query interrupted after 0.5 s\n"
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("args, message", [
    (["--limit", "-1"], "--limit"), (["--timeout", "0"], "--timeout"),
    (["--format", "xls"], "unknown output format 'xls'"),
])
def test_cli_bad_options(db_path, args, message):
    result = cli("SELECT 1", "--db", str(db_path), *args)
    assert result.returncode == 1 and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_cli_timeout_default_is_none_and_limit_default_is_100000(db_path):
    from catscan.cli import build_parser

    args = build_parser().parse_args(["sql", "SELECT 1"])
    assert (args.limit, args.timeout, args.out, args.format) == (100_000, None, None, None)
    assert math.isclose(build_parser().parse_args(["sql", "SELECT 1", "--timeout", "2.5"]
                                                  ).timeout, 2.5)
