"""The fast results VOTable writer (catscan.web.tabledata): the same bytes as astropy's
document writer (catscan.results.votable_chunks) for every kind of column, null,
provenance, empty, truncated and stopped answer; and through a real server, SCS and TAP
cones whose rows astropy and STILTS read back equal to a cone computed here with numpy."""

from __future__ import annotations

import datetime
import math
import re
import shutil
import subprocess
import time
from decimal import Decimal
from io import BytesIO

import httpx
import numpy as np
import pyarrow as pa
import pytest
from astropy.io.votable import parse, parse_single_table

from catscan.budget import Budget, spending
from catscan.db import connect
from catscan.results import CHUNK_VALUES, Provenance, votable_chunks
from catscan.tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY
from catscan.votable_types import ARRAYSIZE_KEY, XTYPE_KEY
from catscan.web import tabledata

STILTS = shutil.which("stilts")
TEAM = ("team", "correct horse battery")        # conftest.TEAM_PASSWORD


def fast(table: pa.Table, provenance: Provenance) -> bytes:
    return b"".join(tabledata.results_votable(table, provenance))


def by_astropy(table: pa.Table, provenance: Provenance) -> bytes:
    return b"".join(votable_chunks(table, provenance))


def meta(unit=None, ucd=None, text=None, width=None, xtype=None) -> dict[bytes, bytes]:
    pairs = {UNIT_KEY: unit, UCD_KEY: ucd, DESCRIPTION_KEY: text, ARRAYSIZE_KEY: width,
             XTYPE_KEY: xtype}
    return {k: str(v).encode() for k, v in pairs.items() if v is not None}


def every_type(rows: int) -> pa.Table:
    """A column of each type the server writes, with nulls, NaN and infinities, and text
    that needs escaping."""
    rng = np.random.default_rng(1998)
    ints = rng.integers(-30000, 30000, rows)
    floats = rng.normal(0, 1e3, rows)
    floats[::7] = np.nan
    floats[3::11] = np.inf
    nulls = [i % 5 == 2 for i in range(rows)]

    def pairs(values):
        return zip(values, nulls, strict=True)

    words = ["a<b", "x & y", 'q"uote', "plain", "t\u00e9l\u00e9", "'s", ""]
    columns = {
        "designation": pa.array([f"{i:08d}+{i % 9999999:07d} " for i in range(rows)]),
        "i16": pa.array(ints.astype(np.int16), mask=np.array(nulls, dtype=bool)),
        "i32": pa.array(ints.astype(np.int32)),
        "i64": pa.array([None if n else int(v) * 10**12 for v, n in pairs(ints)],
                        pa.int64()),
        "u8": pa.array((ints % 256).astype(np.uint8)),
        "f32": pa.array(floats.astype(np.float32)),
        "f64": pa.array([None if n else v for v, n in pairs(floats)], pa.float64()),
        "flag": pa.array([None if n else bool(v % 2) for v, n in pairs(ints)]),
        "text": pa.array([None if n else words[i % len(words)] for i, n in
                          enumerate(nulls)]),
        "when": pa.array([datetime.datetime(1998, 4, 16, 3, i % 60, 7) for i in range(rows)],
                         pa.timestamp("us")),
        "day": pa.array([datetime.date(1997, 10, 24) + datetime.timedelta(i % 400)
                         for i in range(rows)]),
        "total": pa.array([Decimal(i * 3) for i in range(rows)], pa.decimal128(20, 0)),
        "ratio": pa.array([Decimal(i) / 4 for i in range(rows)], pa.decimal128(12, 2)),
        "raw": pa.array([bytes([i % 256, 7]) for i in range(rows)]),
    }
    fields = [pa.field(name, column.type, metadata=meta(
        unit="deg" if name == "f64" else None, ucd="pos.eq.ra" if name == "f64" else None,
        text="an <escaped> & described column" if name == "text" else None,
        width=17 if name == "designation" else None)) for name, column in columns.items()]
    return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields))


def provenance(table: pa.Table, *, truncated=False, query="SELECT *\n  FROM psc -- <&\">",
               limit=None) -> Provenance:
    return Provenance(sql="SELECT \"a\" FROM psc WHERE x < 3 AND y > 'b'", query=query,
                      row_count=table.num_rows, parameters={"LANG": "ADQL", "MAXREC": "9"},
                      inputs={"TAP_UPLOAD.t": "3 rows, sha256:ab"}, elapsed_s=0.0123,
                      truncated=truncated, limit=limit, content_version="schema 1, x")


@pytest.mark.parametrize("rows", [0, 1, 9, 3 * CHUNK_VALUES // 14 + 5])
@pytest.mark.parametrize("truncated", [False, True])
def test_same_bytes_as_astropys_document_writer(rows, truncated):
    table = every_type(rows)
    prov = provenance(table, truncated=truncated, limit=rows)
    assert fast(table, prov) == by_astropy(table, prov)
    again = every_type(rows).slice(0, max(0, rows - 1))      # the shape kept, other rows
    prov = provenance(again, truncated=truncated, limit=rows, query="one line")
    assert fast(again, prov) == by_astropy(again, prov)


def test_the_rows_read_back_as_written_and_empty_answers_declare_the_same_fields():
    table = every_type(40)
    full = parse_single_table(BytesIO(fast(table, provenance(table))))
    empty = parse_single_table(BytesIO(fast(table.slice(0, 0), provenance(table))))
    declared = [(f.name, f.datatype, f.arraysize, f.xtype) for f in full.fields]
    assert declared == [(f.name, f.datatype, f.arraysize, f.xtype) for f in empty.fields]
    assert dict((n, (d, a)) for n, d, a, _ in declared)["designation"] == ("char", "17")
    got = full.to_table()
    for name in ("i16", "i32", "i64", "u8", "f64", "flag", "text"):
        expected = table.column(name).to_pylist()
        column = got[name]
        for i, value in enumerate(expected):
            if value is None:
                assert bool(np.ma.getmaskarray(column)[i]) or column[i] == "", (name, i)
            elif isinstance(value, float) and math.isnan(value):
                assert math.isnan(np.ma.filled(column, np.nan)[i])
            else:
                assert column[i] == value, (name, i, column[i], value)
    np.testing.assert_array_equal(np.ma.filled(got["f32"], np.nan),     # NaN reads masked
                                  table.column("f32").to_numpy())
    assert [str(v) for v in got["when"]][:2] == ["1998-04-16T03:00:07", "1998-04-16T03:01:07"]


def test_a_text_longer_than_its_declared_width_makes_the_field_variable():
    table = pa.table({"designation": pa.array(["short", "a value longer than 17"])})
    table = table.cast(pa.schema([pa.field("designation", pa.string(),
                                           metadata=meta(width=17))]))
    prov = provenance(table)
    assert fast(table, prov) == by_astropy(table, prov)
    assert parse_single_table(BytesIO(fast(table, prov))).fields[0].arraysize == "*"
    short = table.slice(0, 1)
    assert parse_single_table(BytesIO(fast(short, prov))).fields[0].arraysize == "17"


def test_an_answer_out_of_time_ends_as_astropys_does():
    table = every_type(3 * CHUNK_VALUES // 14 + 5)       # three chunks
    prov = provenance(table)
    ends = []
    for write in (tabledata.results_votable, votable_chunks):
        budget = Budget(0.3)
        with spending(budget):
            pieces = write(table, prov)
            first = next(pieces)
            time.sleep(0.35)
            rest = b"".join(pieces)
        ends.append(first + rest)
    assert ends[0] == ends[1]
    assert b'<INFO name="QUERY_STATUS" value="ERROR">' in ends[0]
    assert ends[0].count(b"<TR>") == CHUNK_VALUES // 14


# ---- through a real server ---------------------------------------------------------------

def cone_by_numpy(db, ra: float, dec: float, radius: float) -> dict[str, tuple]:
    """designation -> (ra, dec, j_m) of the rows within ``radius`` degrees, by haversine."""
    con = connect(db)
    try:
        rows = con.execute("SELECT designation, ra, dec, j_m FROM psc WHERE dec BETWEEN ? "
                           "AND ?", [dec - 2 * radius, dec + 2 * radius]).fetchall()
    finally:
        con.close()
    out = {}
    for name, r, d, j in rows:
        a = math.sin(math.radians(d - dec) / 2) ** 2 + math.cos(math.radians(d)) * \
            math.cos(math.radians(dec)) * math.sin(math.radians(r - ra) / 2) ** 2
        if 2 * math.degrees(math.asin(math.sqrt(a))) <= radius:
            out[name.rstrip()] = (r, d, j)
    return out


EMPTY = (200.0, -60.0, 1 / 60)                     # no survey data there


def cones(db) -> list[tuple[float, float, float]]:
    """1' and 2' cones centred on sources of the M31 field, and an empty one."""
    con = connect(db)
    try:
        (ra, dec), = con.execute("SELECT ra, dec FROM psc WHERE ra BETWEEN 10.5 AND 10.9 "
                                 "AND dec BETWEEN 41.1 AND 41.5 ORDER BY designation "
                                 "LIMIT 1").fetchall()
    finally:
        con.close()
    return [(ra, dec, 1 / 60), (ra + 0.01, dec - 0.01, 2 / 60), EMPTY]


TAP = ("SELECT designation, ra, dec, j_m FROM psc WHERE CONTAINS(POINT('ICRS', ra, dec), "
       "CIRCLE('ICRS', {ra}, {dec}, {r})) = 1")


@pytest.fixture(scope="module")
def server(web_db):
    """``catscan serve`` on web_db with a timeout long enough for a machine under load (the
    session's web_server has 2 s: a cone over it answers with an error document)."""
    from webserver import running_server

    with running_server(web_db, timeout=60.0) as url:
        yield url


def served(web_server: str, kind: str, ra: float, dec: float, r: float, **extra) -> bytes:
    with httpx.Client(auth=TEAM, timeout=60) as http:
        if kind == "scs":
            answer = http.get(f"{web_server}/scs/psc", params={"RA": ra, "DEC": dec, "SR": r,
                                                               "VERB": 1})
        else:
            answer = http.post(f"{web_server}/tap/sync", data={
                "REQUEST": "doQuery", "LANG": "ADQL",
                "QUERY": TAP.format(ra=ra, dec=dec, r=r), **extra})
    assert answer.status_code == 200 and b"<TABLE>" in answer.content, answer.text
    return answer.content


@pytest.mark.parametrize("kind", ["scs", "tap"])
def test_served_cones_hold_the_rows_numpy_finds(server, web_db, kind, tmp_path):
    declared = []
    for ra, dec, r in cones(web_db):
        content = served(server, kind, ra, dec, r)
        table = next(parse(BytesIO(content)).iter_tables())       # empty ones too
        expected = cone_by_numpy(web_db, ra, dec, r)
        got = table.to_table()
        assert {str(d).rstrip() for d in got["designation"]} == set(expected)
        for row in got:
            assert (row["ra"], row["dec"]) == expected[str(row["designation"]).rstrip()][:2]
        declared.append([(f.name, f.datatype, f.arraysize) for f in table.fields])
        if STILTS:                          # STILTS reads the same rows
            path = tmp_path / f"{kind}.xml"
            path.write_bytes(content)
            done = subprocess.run([STILTS, "tpipe", f"in={path}", "ifmt=votable",
                                   "omode=count"], capture_output=True, text=True,
                                  timeout=240)
            assert done.returncode == 0, done.stderr
            assert re.search(r"rows: (\d+)", done.stdout).group(1) == str(len(expected))
    assert len(cone_by_numpy(web_db, *cones(web_db)[0])) > 0
    assert cone_by_numpy(web_db, *EMPTY) == {}
    assert declared[0] == declared[2]                  # the same FIELDs, empty or not


def test_served_tap_cone_over_maxrec_overflows(server, web_db):
    ra, dec, r = cones(web_db)[1]
    expected = cone_by_numpy(web_db, ra, dec, r)
    assert len(expected) > 3
    content = served(server, "tap", ra, dec, r, MAXREC="3")
    table = parse_single_table(BytesIO(content))
    assert len(table.array) == 3
    assert {str(d).rstrip() for d in table.array["designation"]} <= set(expected)
    after = content[content.rindex(b"</TABLE>"):]
    assert b'<INFO name="QUERY_STATUS" value="OVERFLOW">' in after
