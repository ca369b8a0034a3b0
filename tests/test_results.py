"""Result outputs (catscan.results): every format, read back with astropy (pyarrow for
Parquet, json for JSON), keeps the values, nulls, units and descriptions, and says how the
result was made (query, SQL, versions, rows) and whether it was truncated."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table
from rich.console import Console

from catscan import __version__
from catscan.loaders import load_file
from catscan.results import (
    OUTPUT_FORMATS,
    PROVENANCE_SUFFIX,
    Provenance,
    ResultError,
    as_astropy,
    cap_rows,
    content_version,
    output_format,
    parse_lines,
    write_result,
)
from catscan.tablefile import arrow_to_astropy, read_table

from rowgen import random_rows

QUERY = ("select designation, ra, j_m, pts_key, use_src, date\nfrom psc\n"
         "within 5 arcmin of 10.68479 +41.26906   -- M31\nlimit 3")
SQL = ("SELECT designation, ra, j_m, pts_key, use_src, date\nFROM psc\n"
       "WHERE ang_sep(ra, dec, 10.68479, 41.26906) < 0.0833 AND ph_qual LIKE 'A%'\nLIMIT 4")
DESIGNATIONS = ["00424455+4116103", None, "00424512+4117017"]
RA = [10.685625, 10.688, 10.687833]
J_M = [12.5, None, 14.25]
PTS_KEY = [999999, None, 1234567890123]         # 999999: astropy's default FITS TNULL
USE_SRC = [True, None, False]
DATES = [date(1998, 4, 16), None, date(2000, 10, 1)]


def sample() -> pa.Table:
    def meta(unit, text):
        return {b"unit": unit.encode(), b"description": text.encode()}

    return pa.table(
        [pa.array(DESIGNATIONS), pa.array(RA), pa.array(J_M), pa.array(PTS_KEY, pa.int64()),
         pa.array(USE_SRC), pa.array(DATES, pa.date32())],
        schema=pa.schema([
            pa.field("designation", pa.string()),
            pa.field("ra", pa.float64(), metadata=meta("deg", "right ascension (ICRS)")),
            pa.field("j_m", pa.float64(), metadata=meta("mag", "default J magnitude")),
            pa.field("pts_key", pa.int64()), pa.field("use_src", pa.bool_()),
            pa.field("date", pa.date32())]))


def provenance(truncated: bool = True) -> Provenance:
    return Provenance(query=QUERY, parameters={"radius": "5arcmin", "min_j": "14"}, sql=SQL,
                      content_version="schema 100, 7 loads, last load 9", row_count=3,
                      elapsed_s=0.0421, truncated=truncated, limit=3 if truncated else None)


def masked(column) -> list[bool]:
    return np.ma.getmaskarray(column).tolist()


# --- reading each format back: (astropy table, provenance items, QUERY_STATUS values) ---

def _from_comments(table: Table) -> dict[str, str]:
    return parse_lines(table.meta.get("comments", []))


def read_csv(path: Path):
    """Plain CSV; the provenance and units from the file beside it (--provenance)."""
    table = Table.read(path, format="csv")
    document = json.loads(Path(f"{path}{PROVENANCE_SUFFIX}").read_text())
    p = document["provenance"]
    items = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in p.items()}
    items |= {f"parameter.{k}": v for k, v in p["parameters"].items()}
    items |= {f"column.{name}": " ".join(filter(None, [f"[{c['unit']}]" if c["unit"] else "",
                                                         c["description"] or ""]))
              for name, c in document["columns"].items()}
    return table, items, [p["status"]]


def read_ipac(path: Path):
    table = Table.read(path, format="ascii.ipac")
    items = _from_comments(table)
    return table, items, [table.meta["keywords"]["QUERY_STATUS"]["value"]]


def read_votable(path: Path):
    votable = parse(str(path), verify="exception")
    infos = votable.resources[0].infos
    items = {i.name: i.content or i.value for i in infos if i.name != "QUERY_STATUS"}
    return votable.get_first_table().to_table(), items, \
        [i.value for i in infos if i.name == "QUERY_STATUS"]


def read_fits(path: Path):
    header = fits.getheader(path, 1)
    items = {}
    for key in ("query", "sql"):
        lines, n = [], 1
        while f"CATSCAN {key.upper()} {n}" in header:
            lines.append(header[f"CATSCAN {key.upper()} {n}"])
            n += 1
        items[key] = "\n".join(lines)
    items |= {"catscan_version": header["CATSCAN VERSION"],
              "row_count": str(header["CATSCAN ROWS"]),
              "content_version": header["CATSCAN CONTENT"],
              "truncated": "true" if header["CATSCAN TRUNCATED"] else "false"}
    items |= {f"parameter.{card.keyword.split()[-1]}": card.value for card in header.cards
              if card.keyword.startswith("CATSCAN PARAM ")}
    if "CATSCAN NOTICE" in header:
        items["notice"] = header["CATSCAN NOTICE"]
    return read_table(path), items, [header["CATSCAN STATUS"]]


def read_ecsv(path: Path):
    table = Table.read(path, format="ascii.ecsv")
    p = table.meta["provenance"]
    items = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in p.items()
             if k != "parameters"}
    items |= {f"parameter.{k}": v for k, v in p["parameters"].items()}
    items |= {k: "\n".join(p[k]) for k in ("query", "sql") if p[k] is not None}
    return table, items, [p["status"]]


def read_parquet(path: Path):
    arrow = pq.read_table(path)
    p = json.loads(arrow.schema.metadata[b"catscan.provenance"])
    items = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in p.items()}
    items |= {f"parameter.{k}": v for k, v in p["parameters"].items()}
    return arrow_to_astropy(arrow), items, [p["status"]]


READERS = {"csv": read_csv, "ipac": read_ipac, "votable": read_votable, "fits": read_fits,
           "ecsv": read_ecsv, "parquet": read_parquet}
SUFFIX = {"csv": ".csv", "ipac": ".tbl", "votable": ".xml", "fits": ".fits", "ecsv": ".ecsv",
          "parquet": ".parquet", "json": ".json", "table": ".txt"}


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_each_format_keeps_values_nulls_units_and_provenance(tmp_path, fmt):
    path = write_result(sample(), tmp_path / f"m31{SUFFIX[fmt]}", format=None,
                        provenance=provenance(), provenance_file=fmt == "csv")
    assert path == tmp_path / f"m31{SUFFIX[fmt]}" and not list(tmp_path.glob("*.part"))
    table, items, status = READERS[fmt](path)

    assert table.colnames == ["designation", "ra", "j_m", "pts_key", "use_src", "date"]
    assert np.allclose(table["ra"], RA, rtol=0, atol=1e-9)
    assert table["j_m"][0] == 12.5 and table["j_m"][2] == 14.25
    assert masked(table["j_m"]) == [False, True, False]
    assert table["pts_key"][0] == 999999 and table["pts_key"][2] == 1234567890123
    assert masked(table["pts_key"]) == [False, True, False]
    assert masked(table["use_src"]) == [False, True, False]
    # text formats may read a boolean column holding nulls back as text; FITS as 1/0 int16
    assert [str(table["use_src"][i]) for i in (0, 2)] in (["True", "False"], ["1", "0"])
    assert table["designation"][0] == DESIGNATIONS[0]
    assert str(table["date"][2]) == "2000-10-01"
    if fmt == "votable":      # astropy reads empty VOTable strings as "", not as masked
        assert str(table["designation"][1]) == ""
    else:
        assert masked(table["designation"]) == [False, True, False]
        assert masked(table["date"]) == [False, True, False]
    if fmt == "csv":          # CSV has no place for units: the provenance file has them
        assert items["column.j_m"] == "[mag] default J magnitude"
    else:
        assert table["ra"].unit == u.deg and table["j_m"].unit == u.mag
    if fmt in ("votable", "fits", "ecsv", "parquet"):
        assert table["j_m"].description == "default J magnitude"
    else:
        assert items["column.ra"] == "[deg] right ascension (ICRS)"

    assert items["query"] == QUERY
    assert items["sql"] == SQL
    assert items["parameter.radius"] == "5arcmin"
    assert items["catscan_version"] == __version__
    assert items["content_version"] == "schema 100, 7 loads, last load 9"
    assert items["row_count"] == "3" and items["truncated"] == "true"
    assert items["notice"] == "result truncated at 3 rows; use --limit"
    assert "OVERFLOW" in status


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_a_complete_result_says_ok(tmp_path, fmt):
    path = write_result(sample(), tmp_path / f"all{SUFFIX[fmt]}", format=fmt,
                        provenance=provenance(truncated=False), provenance_file=fmt == "csv")
    _, items, status = READERS[fmt](path)
    assert status == ["OK"]
    assert items["truncated"] == "false" and items.get("notice") in (None, "None")


def test_votable_status_follows_dali_ok_before_the_table_overflow_after(tmp_path):
    path = write_result(sample(), tmp_path / "r.vot", format=None, provenance=provenance())
    xml = path.read_text()
    ok = xml.index('<INFO name="QUERY_STATUS" value="OK"/>')
    overflow = xml.index('<INFO name="QUERY_STATUS" value="OVERFLOW">result truncated at 3 '
                         'rows; use --limit</INFO>')
    assert ok < xml.index("<TABLE>") < xml.index("</TABLE>") < overflow
    assert '<RESOURCE type="results">' in xml
    votable = parse(str(path), verify="exception")
    [query] = [i for i in votable.resources[0].infos if i.name == "query"]
    assert query.content == QUERY                      # exact, newlines kept
    assert query.value == QUERY.replace("\n", " ")


def test_fits_header_holds_long_sql_over_several_cards_and_escapes_non_ascii(tmp_path):
    sql = "SELECT " + ", ".join(f"col_{i}" for i in range(40)) + " FROM psc WHERE x = 'é'"
    p = Provenance(sql=sql, row_count=3, query="select * from psc -- Andromède")
    path = write_result(sample(), tmp_path / "r.fits", format=None, provenance=p)
    header = fits.getheader(path, 1)
    assert header["CATSCAN SQL 1"] == sql.replace("é", "\\xe9")
    assert header["CATSCAN QUERY 1"] == "select * from psc -- Androm\\xe8de"
    assert header.tostring().count("CONTINUE") >= 3
    assert header["CATSCAN STATUS"] == "OK" and "COMMENT" not in header
    assert header["TCOMM2"] == "right ascension (ICRS)"
    with fits.open(path) as hdul:                      # TNULL chosen clear of 999999
        assert hdul[1].header["TNULL4"] != 999999 and hdul[1].data["pts_key"][0] == 999999


def test_json_shape(tmp_path):
    table = sample().append_column("ratio", pa.array([1.0, float("nan"), float("inf")]))
    path = write_result(table, tmp_path / "r.json", format=None, provenance=provenance())
    doc = json.loads(path.read_text())
    assert list(doc) == ["provenance", "columns", "rows"]
    p = doc["provenance"]
    assert p["query"] == QUERY and p["sql"] == SQL and p["status"] == "OVERFLOW"
    assert p["truncated"] is True and p["limit"] == 3 and p["row_count"] == 3
    assert p["parameters"] == {"radius": "5arcmin", "min_j": "14"}
    assert p["catscan_version"] == __version__ and p["elapsed_s"] == 0.0421
    assert doc["columns"][2] == {"name": "j_m", "datatype": "double", "unit": "mag",
                                 "description": "default J magnitude"}
    assert doc["columns"][5]["datatype"] == "date32[day]"
    assert doc["rows"] == [
        ["00424455+4116103", 10.685625, 12.5, 999999, True, "1998-04-16", 1.0],
        [None, 10.688, None, None, None, None, None],
        ["00424512+4117017", 10.687833, 14.25, 1234567890123, False, "2000-10-01", None]]
    assert len(path.read_text().splitlines()) == 3 + 3 + 1     # a row a line


def test_the_text_table_into_a_file_has_every_row_and_the_provenance(tmp_path):
    path = write_result(sample(), tmp_path / "r.txt", format=None, provenance=provenance())
    text = path.read_text()
    items = parse_lines([line[2:] for line in text.splitlines() if line.startswith("# ")])
    assert items["query"] == QUERY and items["status"] == "OVERFLOW"
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    assert rows[0].split() == ["designation", "ra", "j_m", "pts_key", "use_src", "date"]
    assert rows[1].split() == ["[deg]", "[mag]"]
    assert rows[3].split() == ["00424455+4116103", "10.68562", "12.5", "999999", "True",
                               "1998-04-16"]
    assert rows[4].split() == ["null", "10.688", "null", "null", "null", "null"]


def test_the_terminal_table_shows_nulls_units_rows_and_the_overflow(tmp_path):
    out = io.StringIO()
    console = Console(file=out, width=120, height=40, force_terminal=False)
    assert write_result(sample(), None, format=None, provenance=provenance(),
                        console=console) is None
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["designation", "ra", "j_m", "pts_key", "use_src", "date"]
    assert lines[1].split() == ["[deg]", "[mag]"]
    assert lines[3].split()[:3] == ["00424455+4116103", "10.68562", "12.5"]
    assert lines[4].split() == ["null", "10.688", "null", "null", "null", "null"]
    assert lines[6:] == ["3 rows in 0.04 s", "result truncated at 3 rows; use --limit"]


def _long() -> pa.Table:
    return pa.table({"n": list(range(200)), "name": [f"source {i}" for i in range(200)]})


def test_a_long_terminal_result_goes_through_the_pager(tmp_path):
    out = io.StringIO()
    console = Console(file=out, width=80, height=20, force_terminal=True)
    paged = tmp_path / "paged.txt"
    write_result(_long(), None, format="table", console=console, pager=f"cat > '{paged}'",
                 provenance=Provenance(sql="SELECT 1", row_count=200, truncated=True,
                                       limit=200))
    text = paged.read_text()
    assert "source 0" in text and "source 199" in text and "\x1b[1m" in text   # bold header
    assert "source" not in out.getvalue()
    assert "result truncated at 200 rows; use --limit" in out.getvalue()


def test_without_a_pager_the_terminal_shows_a_screenful_and_says_what_is_left():
    out = io.StringIO()
    console = Console(file=out, width=80, height=20, force_terminal=True, color_system=None)
    write_result(_long(), None, format="table", console=console, pager=None)
    lines = out.getvalue().splitlines()
    assert len(lines) <= 20 and "source 0" in lines[2]
    assert lines[-1].startswith("... ") and "more rows: set $PAGER or use --out FILE" in lines[-1]


def test_a_wide_result_keeps_the_columns_that_fit_on_a_terminal():
    table = pa.table({f"column_{i}": [i] for i in range(20)})
    out = io.StringIO()
    write_result(table, None, format="table", pager=None,
                 console=Console(file=out, width=60, height=40, force_terminal=True))
    assert "column_0" in out.getvalue() and "column_19" not in out.getvalue()
    assert "more columns: use --out FILE to get them all" in out.getvalue()
    piped = io.StringIO()                                     # a pipe gets every column
    write_result(table, None, format="table", stream=piped)
    assert "column_19" in piped.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "ipac", "votable", "json", "ecsv"])
def test_text_formats_go_to_a_stream(fmt):
    """Each with its truncation notice, but CSV: plain, it has no place for one (the
    command says it on stderr, tests/test_safety.py)."""
    out = io.StringIO()
    write_result(sample(), None, format=fmt, provenance=provenance(), stream=out)
    assert ("result truncated at 3 rows; use --limit" in out.getvalue()) is (fmt != "csv")
    assert out.getvalue().startswith("designation,ra,") is (fmt == "csv")


@pytest.mark.parametrize("fmt", ["fits", "parquet"])
def test_binary_formats_go_to_a_binary_stream_but_not_to_a_terminal(fmt):
    out = io.BytesIO()
    write_result(sample(), None, format=fmt, provenance=provenance(), stream=out)
    assert out.getvalue()[:4] in (b"SIMP", b"PAR1")
    master, slave = os.openpty()
    try:
        with open(slave, "w") as terminal, pytest.raises(ResultError, match="--out FILE"):
            write_result(sample(), None, format=fmt, stream=terminal)
    finally:
        os.close(master)


def test_the_format_comes_from_the_suffix_unless_given(tmp_path):
    assert output_format("r.xml", None) == "votable"
    assert output_format("r.TBL", None) == "ipac"
    assert output_format("r.parquet", None) == "parquet"
    assert output_format("r.dat", "csv") == "csv"
    assert output_format(None, None) == "table"
    assert set(OUTPUT_FORMATS) == {"table", "csv", "ipac", "votable", "fits", "parquet",
                                   "json", "ecsv"}
    with pytest.raises(ResultError, match="cannot tell the format from the suffix"):
        output_format("r.xyz", None)
    with pytest.raises(ResultError, match="unknown output format 'xls'"):
        write_result(sample(), tmp_path / "r.csv", format="xls")
    with pytest.raises(ResultError, match="cannot write it"):
        write_result(sample(), tmp_path / "missing" / "r.csv", format=None)


@pytest.mark.parametrize("fmt", sorted(READERS) + ["json", "table"])
def test_an_empty_result_is_still_a_valid_file(tmp_path, fmt):
    path = write_result(sample().slice(0, 0), tmp_path / f"none{SUFFIX[fmt]}", format=fmt,
                        provenance=Provenance(sql="SELECT 1 WHERE false", row_count=0),
                        provenance_file=fmt == "csv")
    if fmt in READERS:
        table, items, status = READERS[fmt](path)
        assert len(table) == 0 and status == ["OK"] and items["row_count"] == "0"
    elif fmt == "json":
        assert json.loads(path.read_text())["rows"] == []


def test_provenance_lines_read_back_exactly():
    p = provenance()
    items = dict(p.items())
    assert parse_lines(p.lines()) == items
    assert parse_lines([line.strip() for line in p.lines()]) == items    # as IPAC reads it
    assert p.lines()[:3] == ["status: OVERFLOW", "notice: result truncated at 3 rows; use "
                             "--limit", "query: select designation, ra, j_m, pts_key, "
                             "use_src, date"]
    assert "  | from psc" in p.lines()
    assert Provenance(sql="SELECT 1", row_count=1).timestamp.endswith("Z")


def test_cap_rows_cuts_at_the_limit_and_says_so():
    table = pa.table({"n": list(range(5))})
    assert cap_rows(table, 5) == (table, False)
    assert cap_rows(table, None) == (table, False)
    cut, truncated = cap_rows(table, 4)
    assert truncated and cut.column("n").to_pylist() == [0, 1, 2, 3]


def test_content_version_follows_the_loads_and_a_real_query_keeps_it(con, write_release,
                                                                     tmp_path):
    [(schema,)] = con.execute("SELECT max(version) FROM schema_version").fetchall()
    versions = [content_version(con)]
    assert versions[0].startswith(f"schema {schema}, no loads, 0 released, state ")
    load_file(con, "psc", write_release("psc", random_rows(con, "psc", 50, seed=3), "a.gz"))
    versions.append(content_version(con))
    assert versions[1].startswith(f"schema {schema}, 1 load, last load 1, 0 released, state ")
    load_file(con, "psc", write_release("psc", random_rows(con, "psc", 50, seed=4), "b.gz"))
    versions.append(content_version(con))
    assert versions[2].startswith(f"schema {schema}, 2 loads, last load 2, 0 released, state ")
    assert len(set(versions)) == 3

    sql = "SELECT designation, j_m, hemis, sum(pts_key) OVER () AS total FROM psc LIMIT 41"
    result, truncated = cap_rows(con.sql(sql).to_arrow_table(), 40)
    p = Provenance.record(con, sql=sql, row_count=result.num_rows, elapsed_s=0.5,
                          parameters={"n": 40}, truncated=truncated, limit=40)
    assert p.content_version == versions[2]
    assert p.parameters == {"n": "40"} and p.truncated
    path = write_result(result, tmp_path / "real.vot", format=None, provenance=p)
    table, items, status = read_votable(path)
    assert len(table) == 40 and status == ["OK", "OVERFLOW"] and items["sql"] == sql
    assert table["total"].dtype.kind == "i"           # DuckDB's decimal sum, as an integer
    # the file keeps the 17-character blank-padded designation; astropy's readers strip it
    padded = [d for d in result.column("designation").to_pylist() if d.endswith(" ")]
    assert padded and all(f"<TD>{d}</TD>" in path.read_text() for d in padded)
    assert table["designation"].tolist() == [d.rstrip() for d in
                                             result.column("designation").to_pylist()]


def test_the_python_result_is_an_astropy_table_with_its_provenance():
    table = as_astropy(sample(), provenance())
    assert table.meta["provenance"]["query"] == QUERY
    assert table.meta["provenance"]["status"] == "OVERFLOW"
    assert table["j_m"].unit == u.mag and masked(table["j_m"]) == [False, True, False]
