"""``catscan query / run / explain / queries`` as a user runs them (subprocess, demo survey):
rows equal the hand-written SQL, files carry the provenance, errors are one message."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io.votable import parse
from stilts import needs_stilts, votable_meta, votable_rows

from catscan.db import connect
from catscan.safety import query_connection
from catscan.web.tap_schema import TapCatalog


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_query_prints_a_table_of_the_rows_sql_finds(demo_db):
    done = cli("query", "select scan, qa_score from scans on night 1998-04-16 n order by scan",
               "--db", str(demo_db))
    assert done.returncode == 0, done.stderr
    con = connect(demo_db)
    try:
        expected = con.execute("SELECT scan, qa_score FROM scans WHERE date = '1998-04-16' "
                               "AND hemis = 'n' ORDER BY scan").fetchall()
    finally:
        con.close()
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["scan", "qa_score"]
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    body = [line.split() for line in lines[start:start + len(expected)]]
    assert [int(b[0]) for b in body] == [s for s, _ in expected]
    assert f"{len(expected)} rows" in done.stdout


def test_run_writes_a_votable_with_the_query_and_its_parameters(demo_db, tmp_path):
    out = tmp_path / "m31.xml"
    done = cli("run", "m31_clean_cone", "--param", "radius=4arcmin", "--out", str(out),
               "--db", str(demo_db))
    assert done.returncode == 0, done.stderr
    vot = parse(str(out))
    infos = {i.name: i.value for i in vot.resources[0].infos}
    assert infos["QUERY_STATUS"] == "OK"
    assert "$radius" in infos["query"] and "parameter.radius" in infos
    table = vot.get_first_table().to_table()
    assert len(table) == int(infos["row_count"]) > 0
    assert table["j_m"].unit == "mag"


def test_explain_shows_the_cover_the_row_groups_and_the_sql(demo_db):
    done = cli("explain", "select basic from psc within 5 arcmin of 10.68479 +41.26906",
               "--db", str(demo_db))
    assert done.returncode == 0, done.stderr
    assert "region 1: cone within 300\" of (10.684790, +41.269060)" in done.stdout
    assert "reads 1 of" in done.stdout and "SELECT \"psc\".\"designation\"" in done.stdout


def test_queries_lists_the_shipped_ones(demo_db):
    done = cli("queries", "--db", str(demo_db))
    assert done.returncode == 0
    assert done.stdout.count("\n") >= 10 and "m31_clean_cone" in done.stdout


def test_errors_are_one_message_with_the_caret(demo_db):
    done = cli("query", "select j_mm from psc", "--db", str(demo_db))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("catscan: error: line 1, column 8: psc has no column 'j_mm'\n"
                           "  select j_mm from psc\n         ^\ndid you mean j_m or j_msigcom?\n")
    done = cli("run", "m31_clean_cone", "--param", "radius", "--db", str(demo_db))
    assert done.returncode == 1 and "write NAME=VALUE" in done.stderr


def test_run_reads_a_match_list_next_to_the_query_file(demo_db, tmp_path):
    """From another directory, the shipped list query finds its list beside it; explain
    reports the list's cover."""
    from astropy.table import Table

    out = tmp_path / "matched.csv"
    done = cli("run", "list_crossmatch", "--out", str(out), "--provenance", "--db",
               str(demo_db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = Table.read(out, format="csv")
    assert sorted(set(table["name"])) == ["M31 nucleus", "M32", "Mayall II (G1)", "NGC 205"]
    inputs = json.loads(Path(f"{out}.provenance.json").read_text())["provenance"]["inputs"]
    assert [Path(p).name for p in inputs] == ["m31_neighbours.csv"]
    assert all(v.startswith("sha256:") for v in inputs.values())
    listed = str(tmp_path / "list.csv")
    Table({"ra": [10.68479, 10.6743], "dec": [41.26906, 40.8653]}).write(listed)
    done = cli("explain", f"select designation from psc match '{listed}' within 5\" all",
               "--db", str(demo_db))
    assert done.returncode == 0, done.stderr
    assert "2 target(s), a row per pair" in done.stdout and "reads 1 of" in done.stdout


def test_timeout_stops_a_long_query(demo_db, tmp_path):
    import numpy as np
    from astropy.table import Table

    listed = str(tmp_path / "many.csv")
    Table({"ra": np.linspace(0, 359, 400), "dec": np.linspace(-60, 60, 400)}).write(listed)
    done = cli("query", f"select designation from psc match '{listed}' within 40 deg all",
               "--timeout", "0.5", "--db", str(demo_db))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "catscan: error: query interrupted after 0.5 s\n"


# ---- VOTable files: FIELDs from the columns, never from the rows ---------------------------

BOX_COLUMNS = ("designation, ra, dec, j_m, ph_qual, ndet, hemis, date, jdate, pts_key, "
               "ext_key, b_m_opt")
BOX = "ra between 10.6 and 10.8 and dec between 41.2 and 41.35"


def box_votables(demo_db, tmp_path: Path) -> tuple[Path, Path]:
    """``catscan query --out`` of a box with rows and of the same columns with none."""
    paths = []
    for name, where in (("full.vot", BOX), ("empty.vot", f"{BOX} and j_m < -50")):
        out = tmp_path / name
        done = cli("query", f"select {BOX_COLUMNS} from psc where {where} order by designation",
                   "--out", str(out), "--db", str(demo_db))
        assert done.returncode == 0, done.stderr
        paths.append(out)
    return paths[0], paths[1]


def field_declarations(path: Path) -> list[tuple]:
    fields = parse(str(path), verify="exception").get_first_table().fields
    return [(f.name, f.datatype, f.arraysize, f.xtype, f.unit.to_string("vounit")
             if f.unit else None, f.ucd) for f in fields]


def box_rows(demo_db) -> list[tuple]:
    con = connect(demo_db)
    try:
        return con.execute(f"SELECT {BOX_COLUMNS} FROM psc WHERE {BOX} "
                           "ORDER BY designation").fetchall()
    finally:
        con.close()


def test_cli_votables_declare_the_same_fields_empty_or_full(demo_db, tmp_path):
    full, empty = box_votables(demo_db, tmp_path)
    declared = field_declarations(full)
    assert field_declarations(empty) == declared
    by_name = {f[0]: f for f in declared}
    assert by_name["designation"][1:3] == ("char", "17")
    assert by_name["ph_qual"][1:3] == ("char", "3") and by_name["ndet"][1:3] == ("char", "6")
    assert by_name["date"][1:4] == ("char", "*", "timestamp")
    assert not any(f[1] == "unicodeChar" for f in declared)
    assert u.Unit(by_name["jdate"][4], format="vounit") == u.day     # "day" is deca-years
    # one typing: what TAP_SCHEMA declares for these columns of psc
    con = query_connection(demo_db)
    try:
        psc = TapCatalog.from_connection(con).table(None, "psc")
    finally:
        con.close()
    for name, datatype, arraysize, xtype, unit, _ in declared:
        column = psc.by_sql_name(name)
        assert (datatype, arraysize, xtype) == column.votable, name
        assert unit == column.unit, name

    table = parse(str(full), verify="exception").get_first_table().to_table()
    expected = box_rows(demo_db)
    assert len(table) == len(expected) > 10
    assert len(parse(str(empty)).get_first_table().array) == 0
    for row, want in zip(table, expected, strict=True):
        for name, value in zip(table.colnames, want, strict=True):
            got = row[name]
            if value is None:
                assert np.ma.is_masked(got), name
            elif isinstance(value, float):
                assert math.isclose(got, value, rel_tol=0, abs_tol=1e-9), name
            else:
                assert str(got).rstrip() == str(value).rstrip(), name


@needs_stilts
def test_stilts_reads_the_cli_votables(demo_db, tmp_path):
    full, empty = box_votables(demo_db, tmp_path)
    expected = box_rows(demo_db)
    (n_full, columns), (n_empty, empty_columns) = votable_meta(full), votable_meta(empty)
    assert (n_full, n_empty) == (len(expected), 0)
    assert columns == empty_columns and len(columns) == len(BOX_COLUMNS.split(","))
    records = votable_rows(full, tmp_path / "full.csv")
    names = [c.strip() for c in BOX_COLUMNS.split(",")]
    assert records and list(records[0]) == names
    rows = [names] + [[r[n] for n in names] for r in records]
    assert len(rows) == len(expected) + 1
    for got, want in zip(rows[1:], expected, strict=True):
        for text, value in zip(got, want, strict=True):
            if value is None:
                assert text == ""
            elif isinstance(value, float):
                assert math.isclose(float(text), value, rel_tol=1e-12, abs_tol=1e-9)
            else:
                assert text.rstrip() == str(value).rstrip()
