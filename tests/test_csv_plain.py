"""CSV that every tool reads (issue 20, item 5): ``catscan query --out x.csv`` and the web's
CSV download are a header line and the rows, nothing else, and read back with the same
column names and values (nulls included) through astropy, pyarrow and STILTS as DuckDB
gives them; the provenance goes to ``x.csv.provenance.json`` when asked for."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pyarrow.csv as pacsv
import pytest
from astropy.io.votable import parse_single_table
from astropy.table import Table

from webserver import running_server

COLUMNS = ["designation", "ra", "dec", "j_m", "j_msigcom", "ph_qual", "use_src", "pts_key"]
WHERE = "ra BETWEEN 10.6 AND 10.75 AND dec BETWEEN 41.2 AND 41.3"
QUERY = f"select {', '.join(COLUMNS)} from psc where {WHERE} order by designation"
STILTS = shutil.which("stilts")


def expected(db: Path) -> list[tuple]:
    """The rows as DuckDB gives them (designations without the padding blank)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM psc WHERE {WHERE} "
                           "ORDER BY designation").fetchall()
    finally:
        con.close()
    return [(r[0].strip(), *r[1:]) for r in rows]


def same(got: list, want: list, rel: float = 1e-9) -> bool:
    """Values equal column by column: floats to ``rel`` (STILTS reads short decimals as
    32-bit floats), booleans as True/False or their text, nulls as None."""
    for g, w in zip(got, want, strict=True):
        if w is None:
            if g is not None:
                return False
        elif isinstance(w, bool):
            if str(g).lower() != str(w).lower():
                return False
        elif isinstance(w, float):
            if g is None or not math.isclose(float(g), w, rel_tol=rel, abs_tol=1e-9):
                return False
        elif str(g).strip() != str(w).strip():
            return False
    return True


def by_pyarrow(path: Path) -> tuple[list[str], list[list]]:
    table = pacsv.read_csv(path)
    return table.column_names, [list(r.values()) for r in table.to_pylist()]


def by_stilts(path: Path, tmp_path: Path) -> tuple[list[str], list[list]]:
    out = tmp_path / "copy.vot"
    done = subprocess.run([STILTS, "tcopy", f"in={path}", "ifmt=csv", f"out={out}",
                           "ofmt=votable"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    table = parse_single_table(str(out)).to_table()
    return by_astropy_table(table)


def by_astropy_table(table: Table) -> tuple[list[str], list[list]]:
    rows = []
    for i in range(len(table)):
        row = []
        for name in table.colnames:
            column = table[name]
            masked = bool(getattr(column, "mask", None) is not None and column.mask[i])
            value = column[i]
            row.append(None if masked else value.item() if hasattr(value, "item") else value)
        rows.append(row)
    return table.colnames, rows


READERS = ["astropy", "pyarrow"] + (["stilts"] if STILTS else [])


def read(reader: str, path: Path, tmp_path: Path) -> tuple[list[str], list[list]]:
    if reader == "astropy":
        return by_astropy_table(Table.read(path, format="csv"))
    if reader == "pyarrow":
        return by_pyarrow(path)
    return by_stilts(path, tmp_path)


def check(path: Path, reader: str, want: list[tuple], tmp_path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == len(want) + 1
    assert not any(line.startswith("#") for line in lines)
    names, rows = read(reader, path, tmp_path)
    assert names == COLUMNS
    assert len(rows) == len(want) > 5
    assert any(r[COLUMNS.index("j_msigcom")] is None for r in want)     # nulls are tested
    for got, row in zip(rows, want, strict=True):
        assert same(got, list(row), 1e-6 if reader == "stilts" else 1e-9), (got, row)


@pytest.fixture(scope="module")
def cli_csv(demo_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csv") / "x.csv"
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "query", QUERY, "--db",
                           str(demo_db), "--out", str(out), "--provenance"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def web_csv(demo_db, tmp_path_factory) -> Path:
    """The CSV download of the CatScan page, from a server on a copy without a password."""
    folder = tmp_path_factory.mktemp("csv_web")
    db = folder / "catscan.duckdb"
    shutil.copy(demo_db, db)
    with running_server(db) as url:
        answer = httpx.get(f"{url}/catscan/download", params={"q": QUERY, "format": "csv"},
                           timeout=60)
        provenance = httpx.get(f"{url}/catscan/download",
                               params={"q": QUERY, "format": "provenance"}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert provenance.status_code == 200 and \
        json.loads(provenance.content)["provenance"]["query"] == QUERY
    out = folder / "download.csv"
    out.write_bytes(answer.content)
    return out


@pytest.mark.parametrize("reader", READERS)
def test_the_cli_csv_reads_back_identically(cli_csv, demo_db, reader, tmp_path):
    check(cli_csv, reader, expected(demo_db), tmp_path)


@pytest.mark.parametrize("reader", READERS)
def test_the_web_csv_download_reads_back_identically(web_csv, demo_db, reader, tmp_path):
    check(web_csv, reader, expected(demo_db), tmp_path)


def test_the_provenance_of_a_csv_file_is_a_file_of_its_own(cli_csv, demo_db):
    document = json.loads(Path(f"{cli_csv}.provenance.json").read_text())
    provenance = document["provenance"]
    assert provenance["query"] == QUERY and provenance["status"] == "OK"
    assert provenance["row_count"] == len(expected(demo_db))
    assert "FROM" in provenance["sql"] and provenance["content_version"].startswith("schema")
    assert list(document["columns"]) == COLUMNS
    assert document["columns"]["ra"]["unit"] == "deg"
    assert document["columns"]["j_m"]["unit"] == "mag"


def test_provenance_needs_a_file(demo_db):
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "query", QUERY, "--db",
                           str(demo_db), "--format", "csv", "--provenance"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "give --out" in done.stderr
    assert "Traceback" not in done.stderr
