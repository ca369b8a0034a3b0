"""VOTable FIELDs from the columns, never from the rows (catscan.votable_types), as every
VOTable catscan writes declares them: an empty and a full table of the same columns declare
the same FIELDs (astropy reads both, STILTS too), text is ``char`` with the fixed width a
column declares, units are VOUnit, and the values read back are the rows written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.io.votable import parse
from stilts import needs_stilts, votable_meta, votable_rows

from catscan.results import Provenance, write_result
from catscan.tablefile import DESCRIPTION_KEY, UCD_KEY, UNIT_KEY
from catscan.votable_types import (
    ARRAYSIZE_KEY,
    XTYPE_KEY,
    field_type,
    votable_type,
    vounit,
    width_metadata,
)

ROWS = {
    "designation": ["00424455+4116103", None, "00424512+4117017"],
    "ph_qual": ["AAB", "UUU", None],
    "hemis": ["n", "s", "n"],
    "ra": [10.685625, 10.688, None],
    "j_m": [12.5, None, 14.25],
    "err_ang": [12, None, 179],
    "pts_key": [999999, None, 1234567890123],
    "flag": [True, None, False],
    "date": [date(1998, 4, 16), None, date(2000, 10, 1)],
    "stamp": [datetime(2000, 10, 1, 3, 4, 5, tzinfo=UTC), None, None],
    "total": [Decimal(7), None, Decimal(12)],
    "counts": [3, 0, None],
}
TYPES = {"designation": pa.string(), "ph_qual": pa.string(), "hemis": pa.string(),
         "ra": pa.float64(), "j_m": pa.float32(), "err_ang": pa.int16(),
         "pts_key": pa.int64(), "flag": pa.bool_(), "date": pa.date32(),
         "stamp": pa.timestamp("us", tz="UTC"), "total": pa.decimal128(38, 0),
         "counts": pa.uint8()}
# what VOTable 1.4 and DALI say each of these is (independent of the module's table)
EXPECTED = {"designation": ("char", "17", None), "ph_qual": ("char", "3", None),
            "hemis": ("char", "*", None), "ra": ("double", None, None),
            "j_m": ("float", None, None), "err_ang": ("short", None, None),
            "pts_key": ("long", None, None), "flag": ("boolean", None, None),
            "date": ("char", "*", "timestamp"), "stamp": ("char", "*", "timestamp"),
            "total": ("long", None, None), "counts": ("unsignedByte", None, None)}
UNITS = {"ra": "deg", "j_m": "mag", "date": None, "err_ang": "deg"}


def schema() -> pa.Schema:
    fields = []
    for name, kind in TYPES.items():
        meta = width_metadata("psc", name)
        if name in UNITS and UNITS[name]:
            meta[UNIT_KEY] = UNITS[name].encode()
        if name == "ra":
            meta |= {UCD_KEY: b"pos.eq.ra;meta.main", DESCRIPTION_KEY: b"right ascension"}
        fields.append(pa.field(name, kind, metadata=meta or None))
    fields.append(pa.field("jdate", pa.float64(), metadata={UNIT_KEY: b"day"}))
    return pa.schema(fields)


def table(rows: int) -> pa.Table:
    columns = [pa.array(ROWS[name][:rows], TYPES[name]) for name in TYPES]
    columns.append(pa.array([2450919.75, 2451818.5, None][:rows], pa.float64()))
    return pa.Table.from_arrays(columns, schema=schema())


def declared(path: Path) -> list[tuple]:
    """Each FIELD as astropy reads it: name, datatype, arraysize, xtype, unit, UCD."""
    fields = parse(str(path), verify="exception").get_first_table().fields
    return [(f.name, f.datatype, f.arraysize, f.xtype, str(f.unit) if f.unit else None,
             f.ucd) for f in fields]


def write(tmp_path: Path, name: str, rows: int) -> Path:
    provenance = Provenance(sql="SELECT 1", row_count=rows, query="a test")
    return write_result(table(rows), tmp_path / name, provenance=provenance)


def test_empty_and_full_tables_declare_the_same_fields(tmp_path):
    full = declared(write(tmp_path, "full.vot", 3))
    assert declared(write(tmp_path, "empty.vot", 0)) == full
    assert declared(write(tmp_path, "one.xml", 1)) == full
    by_name = {f[0]: f for f in full}
    for name, (datatype, arraysize, xtype) in EXPECTED.items():
        assert by_name[name][1:4] == (datatype, arraysize, xtype), name
    assert not any(f[1] == "unicodeChar" for f in full)
    assert by_name["ra"][5] == "pos.eq.ra;meta.main"
    # VOUnit: the schema's "day" is d (VOUnit would read "day" as deca-years)
    jdate = by_name["jdate"][4]
    assert u.Unit(jdate, format="vounit") == u.day
    for name, unit in UNITS.items():
        if unit:
            assert u.Unit(by_name[name][4], format="vounit") == u.Unit(unit)


def test_the_values_read_back_are_the_rows(tmp_path):
    read = parse(str(write(tmp_path, "full.vot", 3)), verify="exception") \
        .get_first_table().to_table()
    assert len(read) == 3
    assert [str(v).strip() for v in read["designation"][[0, 2]]] == \
        [ROWS["designation"][0], ROWS["designation"][2]]
    assert list(read["ph_qual"][:2]) == ["AAB", "UUU"]
    assert np.ma.getmaskarray(read["j_m"]).tolist() == [False, True, False]
    assert read["j_m"][2] == pytest.approx(14.25)
    assert read["pts_key"][2] == 1234567890123
    assert np.ma.getmaskarray(read["pts_key"]).tolist() == [False, True, False]
    assert [bool(read["flag"][i]) for i in (0, 2)] == [True, False]
    assert np.ma.getmaskarray(read["flag"]).tolist() == [False, True, False]
    assert [str(v) for v in read["date"][[0, 2]]] == ["1998-04-16", "2000-10-01"]
    assert str(read["stamp"][0]) == "2000-10-01T03:04:05Z"      # DALI: UTC with a Z
    assert read["total"][2] == 12 and read["counts"][0] == 3


@needs_stilts
def test_stilts_reads_empty_and_full_tables_alike(tmp_path):
    """STILTS sees the same columns (class, unit) in both files, and the full one's values."""
    metas = [votable_meta(write(tmp_path, name, rows)) for name, rows in (("full.vot", 3),
                                                                            ("empty.vot", 0))]
    assert [m[0] for m in metas] == [3, 0]
    assert metas[0][1] == metas[1][1] and len(metas[0][1]) == len(TYPES) + 1
    rows = votable_rows(tmp_path / "full.vot", tmp_path / "full.csv")
    assert [r["designation"].strip() for r in rows] == ["00424455+4116103", "",
                                                         "00424512+4117017"]
    assert [r["pts_key"] for r in rows] == ["999999", "", "1234567890123"]
    assert [float(r["ra"]) for r in rows[:2]] == ROWS["ra"][:2] and rows[2]["ra"] == ""
    assert [r["date"] for r in rows] == ["1998-04-16", "", "2000-10-01"]


def test_votable_type_follows_the_arrow_type_only():
    for name, kind in TYPES.items():
        datatype, arraysize, xtype = votable_type(kind)
        assert datatype == EXPECTED[name][0]
        assert (arraysize, xtype) == (("*", EXPECTED[name][2]) if datatype == "char"
                                      else (None, None))
    assert votable_type(pa.large_string()) == ("char", "*", None)
    assert votable_type(pa.decimal128(18, 3))[0] == "double"


def test_a_declared_width_holds_unless_a_value_is_longer():
    f = pa.field("designation", pa.string(), metadata=width_metadata("psc", "designation"))
    assert f.metadata[ARRAYSIZE_KEY] == b"17"
    assert field_type(f, pa.chunked_array([pa.array([], pa.string())])) == ("char", "17", None)
    assert field_type(f, pa.chunked_array([pa.array(["x" * 17])])) == ("char", "17", None)
    # a UNION with longer text: variable length, never a cut value
    assert field_type(f, pa.chunked_array([pa.array(["x" * 18])])) == ("char", "*", None)
    upload = pa.field("t", pa.string(), metadata={XTYPE_KEY: b"timestamp"})
    assert field_type(upload) == ("char", "*", "timestamp")
    assert width_metadata("scans", "designation") == {}


def test_units_are_vounit():
    assert vounit("deg") == "deg" and vounit("mag") == "mag" and vounit(None) is None
    assert u.Unit(vounit("day"), format="vounit") == u.day
    assert vounit("DN") == "'DN'"                     # quoted: VOUnit's unknown unit
    assert vounit(vounit("DN")) == "'DN'"
