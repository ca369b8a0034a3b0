"""Real 2MASS rows (IRSA Gator IPAC tables and VOTables in ../shared/real_2mass) load with
every value equal to the file, read here by an independent text parser."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from catscan.designation import designation
from catscan.errors import LoadError
from catscan.loaders import load_file
from catscan.loaders.schema_info import table_columns
from catscan.loaders.tables import RULES

M31 = "firefly_2mass-m31-2412rows.tbl"
HCG7 = "stak-notebooks_HCG7_2MASS_fp_xsc.tbl"
CONE, POLYGON = "astroquery_irsa_Cone.xml", "astroquery_irsa_Polygon.xml"


def parse_ipac_text(path: Path) -> list[dict[str, str | None]]:
    """IPAC fixed-width table by hand: '|' positions of the header give the columns."""
    lines = path.read_text().splitlines()
    headers = [line for line in lines if line.startswith("|")]
    bars = [i for i, ch in enumerate(headers[0]) if ch == "|"]
    names = [headers[0][a + 1:b].strip() for a, b in zip(bars, bars[1:], strict=False)]
    rows = []
    for line in lines:
        if not line.strip() or line[0] in "\\|":
            continue
        cells = [line[a + 1:b + 1].strip() for a, b in zip(bars, bars[1:], strict=False)]
        rows.append({n: (None if c == "null" else c) for n, c in zip(names, cells, strict=True)})
    return rows


def parse_votable_text(path: Path) -> list[dict[str, str | None]]:
    """VOTable TABLEDATA by hand: FIELD names and TD texts, empty cell = null."""
    root = ET.parse(path).getroot()
    names = [f.get("name") for f in root.iter() if f.tag.endswith("FIELD")]
    rows = []
    for tr in (e for e in root.iter() if e.tag.endswith("TR")):
        cells = [td.text for td in tr if td.tag.endswith("TD")]
        rows.append({n: (c if c not in (None, "") else None)
                     for n, c in zip(names, cells, strict=True)})
    return rows


def assert_same_value(text: str | None, value, sql_type: str, where: str) -> None:
    if text is None:
        assert value is None, where
    elif sql_type == "DOUBLE":
        assert value == float(text), where
    elif sql_type in ("SMALLINT", "INTEGER", "BIGINT"):
        assert value == int(text), where
    elif sql_type == "DATE":
        assert value == dt.date.fromisoformat(text), where
    else:
        assert value == text, where


def check_table_against_file(con, table: str, rows: list[dict], match_on: str) -> int:
    """Every cell of the file equals the database value of the same name; returns cells."""
    types = {c.name: c.type for c in table_columns(con, table)}
    aliases = RULES[table].aliases
    db_rows = con.execute(f"SELECT * FROM {table}").fetchall()
    names = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    by_key = {}
    for r in db_rows:
        record = dict(zip(names, r, strict=True))
        by_key[(record[match_on].strip(), record["ra"])] = record
    assert len(by_key) == len(rows)
    compared = 0
    for row in rows:
        record = by_key[(row[match_on].strip(), float(row["ra"]))]
        for name, text in row.items():
            ours = aliases.get(name, name)
            if ours in types:
                assert_same_value(text, record[ours], types[ours], f"{row[match_on]} {name}")
                compared += 1
    return compared


def test_the_m31_gator_table_loads_every_value(con, real_2mass):
    rows = parse_ipac_text(real_2mass / M31)
    result = load_file(con, "psc", real_2mass / M31)
    assert result.rows == len(rows) == 2412 and result.format == "ipac"
    assert set(result.ignored_columns) == {"clon", "clat", "dist", "angle", "j_h", "h_k", "j_k"}
    assert check_table_against_file(con, "psc", rows, "designation") == 2412 * 37


def test_the_m31_rows_are_where_gator_says(con, real_2mass):
    """Gator's dist (arcsec from the cone centre) equals our ang_sep to 1.3e-5 arcsec, and
    the three scans named in the README are the only ones."""
    load_file(con, "psc", real_2mass / M31)
    rows = {(r["designation"].strip(), float(r["ra"])): float(r["dist"])
            for r in parse_ipac_text(real_2mass / M31)}
    ours = con.execute("SELECT rtrim(designation), ra, "
                       "ang_sep(ra, dec, 10.68479, 41.26906) * 3600 FROM psc").fetchall()
    worst = max(abs(rows[(d, ra)] - sep) for d, ra, sep in ours)
    assert worst < 1.3e-5 + 1e-6
    assert con.execute("SELECT DISTINCT date, scan FROM psc ORDER BY 1, 2").fetchall() == [
        (dt.date(1997, 10, 24), 8), (dt.date(1997, 10, 24), 9), (dt.date(1998, 11, 23), 72)]
    # staged loads (Gator tables) fill the cross-match cell too
    assert con.execute("SELECT count(*), count(*) FILTER (hpx11 = hpx29 >> 36) FROM psc"
                       ).fetchall() == [(len(rows), len(rows))]


def test_the_hcg7_xsc_gator_table_loads_every_value(con, real_2mass):
    rows = parse_ipac_text(real_2mass / HCG7)
    result = load_file(con, "xsc", real_2mass / HCG7)
    assert result.rows == len(rows) == 23
    assert check_table_against_file(con, "xsc", rows, "designation") == 23 * 25


@pytest.mark.parametrize("name, count", [(CONE, 1), (POLYGON, 7)])
def test_gator_votables_load_every_value_at_full_precision(con, real_2mass, name, count):
    """ra/dec are declared 4-byte floats in Gator's VOTables: all six decimals must survive."""
    rows = parse_votable_text(real_2mass / name)
    result = load_file(con, "psc", real_2mass / name)
    assert result.rows == len(rows) == count and result.format == "votable"
    check_table_against_file(con, "psc", rows, "designation")


@pytest.mark.parametrize("name", [M31, HCG7])
def test_every_real_designation_follows_the_truncation_rule(real_2mass, name):
    rows = parse_ipac_text(real_2mass / name)
    wrong = [r["designation"] for r in rows
             if designation(float(r["ra"]), float(r["dec"])) != r["designation"].strip()[:16]]
    assert wrong == [] and len(rows) > 0


def test_a_bad_value_in_a_gator_table_is_reported_at_its_file_line(con, real_2mass, tmp_path):
    lines = (real_2mass / M31).read_text().splitlines(keepends=True)
    data = [i for i, line in enumerate(lines) if line.strip() and line[0] not in "\\|"]
    target = data[100]                                  # the 101st record
    dec_text = lines[target].split()[1]
    lines[target] = lines[target].replace(dec_text, "95.000000", 1)
    bad = tmp_path / "m31_bad.tbl"
    bad.write_text("".join(lines))
    with pytest.raises(LoadError) as err:
        load_file(con, "psc", bad)
    assert (err.value.line, err.value.column) == (target + 1, "dec")
    assert con.execute("SELECT count(*) FROM psc").fetchone()[0] == 0


def test_a_bad_value_in_a_votable_is_reported_at_its_row(con, real_2mass, tmp_path):
    text = (real_2mass / POLYGON).read_text()
    rows = text.split("<TR>")
    rows[3] = rows[3].replace("<TD>n</TD>", "<TD>x</TD>", 1)   # hemis of the 3rd row
    bad = tmp_path / "poly_bad.xml"
    bad.write_text("<TR>".join(rows))
    with pytest.raises(LoadError, match=r"poly_bad\.xml \(row 3\): column hemis"):
        load_file(con, "psc", bad)
