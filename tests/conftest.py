"""Shared fixtures: fresh databases, release files written by catscan's own writer, and the
real 2MASS rows in ../shared/real_2mass (tests that need them skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from catscan.db import connect, init_database, memory_database
from catscan.loaders.release_format import write_release_file

REAL_2MASS = Path(__file__).resolve().parents[1].parent / "shared" / "real_2mass"


@pytest.fixture
def real_2mass() -> Path:
    if not REAL_2MASS.is_dir():
        pytest.skip("../shared/real_2mass is not present")
    return REAL_2MASS


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "catscan.duckdb"
    init_database(path)
    return path


@pytest.fixture
def con(db_path: Path):
    connection = connect(db_path, read_only=False)
    yield connection
    connection.close()


@pytest.fixture
def write_release(tmp_path: Path):
    """write_release(table, arrow_table, name, trailing_bar=False) -> path of a release file."""
    def write(table: str, rows, name: str, trailing_bar: bool = False) -> Path:
        scratch = memory_database()
        try:
            scratch.register("rows", rows)
            return write_release_file(scratch, table, "rows", tmp_path / name,
                                      trailing_bar=trailing_bar)
        finally:
            scratch.close()
    return write


def table_checksum(con, table: str) -> tuple:
    """(rows, order-independent hash of every value): equal before and after = unchanged."""
    return con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t").fetchone()


def database_checksums(con) -> dict:
    """Every table of every schema (main, private), by qualified name."""
    tables = [f"{r[0]}.{r[1]}" for r in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary ORDER BY 1, 2").fetchall()]
    return {t: table_checksum(con, t) for t in tables}


@pytest.fixture(scope="session")
def image_survey(tmp_path_factory):
    """The demo survey with Atlas Images for one scan (971024n scan 8): a GenerateResult."""
    from catscan.survey.generate import generate

    return generate(tmp_path_factory.mktemp("image-survey"), scale="demo", seed=1,
                    image_scans=1)


@pytest.fixture(scope="session")
def image_db(image_survey, tmp_path_factory) -> Path:
    """The demo survey with Atlas Images for one scan (971024n scan 8), loaded night by
    night once per session. Tests open it read-only (or copy it)."""
    from catscan.loaders.night import load_nights

    db = tmp_path_factory.mktemp("image_db") / "catscan.duckdb"
    init_database(db)
    con = connect(db, read_only=False)
    try:
        load_nights(con, [image_survey.outdir])
    finally:
        con.close()
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo survey (no images), generated and loaded night by night, once per session.
    Tests open it read-only."""
    from catscan.demo import quiet_demo_database

    return quiet_demo_database(tmp_path_factory.mktemp("demo_survey"))


@pytest.fixture(scope="session")
def schema_catalog():
    """The CatScan catalog of an empty database: every table and column of the schema."""
    from catscan.db import memory_database
    from catscan.language import Catalog

    con = memory_database()
    try:
        return Catalog.from_connection(con)
    finally:
        con.close()


TEAM_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def web_db(image_db, tmp_path_factory) -> Path:
    """A copy of the demo survey with Atlas Images for one scan (the M31 field) and the
    team password TEAM_PASSWORD set."""
    from webserver import copy_with_password

    return copy_with_password(image_db, tmp_path_factory.mktemp("web"), TEAM_PASSWORD)


@pytest.fixture(scope="session")
def web_server(web_db):
    """``catscan serve`` on 127.0.0.1 (a free port) in this process: its base URL."""
    from webserver import running_server

    with running_server(web_db, timeout=2.0) as url:
        yield url


@pytest.fixture(scope="session")
def released_db(web_db, tmp_path_factory) -> Path:
    """A copy of web_db with every night released (``catscan release``): its public copy
    is what visitors (and clients without the password) query."""
    import shutil
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("released") / "catscan.duckdb"
    shutil.copy(web_db, path)
    con = connect(path)
    try:
        nights = [f"{d:%Y-%m-%d}{h}" for d, h in con.execute(
            "SELECT date, hemis FROM nights ORDER BY date, hemis").fetchall()]
    finally:
        con.close()
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "release", *nights, "--db",
                           str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="session")
def released_server(released_db):
    """``catscan serve`` on released_db: the public service of every night."""
    from webserver import running_server

    with running_server(released_db, timeout=10.0) as url:
        yield url


@pytest.fixture(scope="module")
def demo_con(demo_db):
    """A catscan connection to the demo survey, one per test module."""
    con = connect(demo_db)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_tiles(demo_db):
    """The demo survey's tiles as catscan.operations.coverage reads them."""
    from catscan.operations import coverage

    con = connect(demo_db)
    try:
        return coverage.load_tiles(con)
    finally:
        con.close()


@pytest.fixture(scope="session")
def vo_session():
    """A requests session with the team's HTTP Basic credentials, for pyvo clients."""
    import requests

    session = requests.Session()
    session.auth = ("team", TEAM_PASSWORD)
    return session
