"""A command imports only what it uses: astropy, cdshealpix, mocpy, the web server, Pillow
and the query language each cost from 0.1 s to over 1 s of start-up, and a command that
does not need one must not pay for it (issue 19: whole-survey commands under 1 s warm;
docs/performance.md, "Start-up"). The modules a real ``catscan`` process imported are read
from the process itself, at its exit; bench/startup.py measures the times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catscan.db import memory_database
from catscan.loaders.release_format import write_release_file
from catscan.survey.synthetic_psc import synthetic_psc

# python -c WRAPPER OUT ARGS...: ``python -m catscan ARGS...``, writing the names of the
# modules imported to OUT when the interpreter exits
WRAPPER = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
runpy.run_module("catscan", run_name="__main__", alter_sys=True)
"""
ASTROPY = ("astropy", "astropy.units", "astropy.coordinates", "astropy.table",
           "astropy.io.votable", "astropy.io.fits", "astropy.wcs", "erfa")
HEAVY = ASTROPY + ("cdshealpix", "mocpy", "polars", "starlette", "uvicorn", "jinja2", "PIL")
LANGUAGE = ("lark", "sqlglot")
ARRAYS = ("numpy", "pyarrow")


def imported(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"}
    run = subprocess.run([sys.executable, "-c", WRAPPER, str(out), *args],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return set(json.loads(out.read_text())), run


def check(modules: set[str], absent: tuple[str, ...], present: tuple[str, ...] = ()) -> None:
    assert sorted(m for m in absent if m in modules) == []
    assert sorted(m for m in present if m not in modules) == []   # the wrapper works


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> str:
    """A catscan database with the whole-sky tile grid and 500 PSC rows."""
    tmp = tmp_path_factory.mktemp("startup")
    db = tmp / "small.duckdb"
    scratch = memory_database()
    try:
        scratch.register("rows", synthetic_psc(500, seed=3))
        release = write_release_file(scratch, "psc", "rows", tmp / "small.psc.gz")
    finally:
        scratch.close()
    for args in (["init"], ["load", "psc", str(release)]):
        run = subprocess.run([sys.executable, "-m", "catscan", *args, "--db", str(db)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    return str(db)


def test_help_imports_no_arrays_language_or_astropy(tmp_path):
    modules, run = imported(tmp_path, "--help")
    assert "findtile" in run.stdout
    check(modules, HEAVY + LANGUAGE + ARRAYS + ("rich",), present=("catscan.cli", "duckdb"))


def test_serve_help_imports_no_web_server(tmp_path):
    modules, run = imported(tmp_path, "serve", "--help")
    assert "--behind-proxy" in run.stdout
    check(modules, HEAVY + LANGUAGE + ARRAYS, present=("catscan.cli_web",))


@pytest.mark.parametrize("command", [["info"], ["status"], ["coverage"]])
def test_whole_survey_commands_import_no_astropy_or_language(tmp_path, small_db, command):
    """Warm (the second run): the costly answers come from the content-version cache."""
    imported(tmp_path, *command, "--db", small_db)
    modules, run = imported(tmp_path, *command, "--db", small_db)
    assert run.stdout.strip()
    check(modules, HEAVY + LANGUAGE, present=("catscan.db",))


def test_findtile_of_decimal_degrees_imports_no_astropy(tmp_path, small_db):
    modules, run = imported(tmp_path, "findtile", "--db", small_db, "10.68479", "+41.26906")
    assert "tile" in run.stdout
    check(modules, HEAVY + LANGUAGE, present=("catscan.findtile",))


def test_query_imports_the_language_but_no_astropy(tmp_path, demo_db):
    modules, run = imported(tmp_path, "query", "--db", str(demo_db),
                            "select designation, ra, dec from psc within 2arcmin of "
                            "10.68479 +41.26906")
    assert "designation" in run.stdout
    check(modules, HEAVY, present=("lark", "sqlglot", "catscan.runner"))


def test_sql_imports_no_query_language_or_astropy(tmp_path, demo_db):
    modules, run = imported(tmp_path, "sql", "--db", str(demo_db), "--format", "json",
                            "select count(*) as n from psc")
    assert json.loads(run.stdout)["rows"] == [[_count(demo_db)]]
    check(modules, HEAVY + ("lark", "catscan.language"), present=("sqlglot",))


def test_a_votable_still_imports_astropy(tmp_path, demo_db):
    """The formats that need astropy import it when asked for (the control)."""
    modules, run = imported(tmp_path, "sql", "--db", str(demo_db), "--format", "votable",
                            "select count(*) as n from psc")
    assert "<VOTABLE" in run.stdout
    check(modules, ("starlette", "mocpy"), present=("astropy.io.votable",))


def _count(db) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM psc").fetchall()[0][0]
