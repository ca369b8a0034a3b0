"""The designation rule: truncation (not rounding) to 0.01 s of RA and 0.1" of Dec, checked
with exact rational arithmetic against the published 6-decimal positions."""

from __future__ import annotations

from fractions import Fraction

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan.designation import designation, designations
from catscan.udfs import register

MICRO = 10**6


def parse_designation(name: str) -> tuple[Fraction, int, Fraction]:
    """(RA in degrees, sign, |Dec| in degrees) that a designation stands for, exactly."""
    hh, mm, cs = int(name[0:2]), int(name[2:4]), int(name[4:8])
    sign = -1 if name[8] == "-" else 1
    dd, dm, ds = int(name[9:11]), int(name[11:13]), int(name[13:16])
    ra = (Fraction(hh * 3600 + mm * 60) + Fraction(cs, 100)) * 15 / 3600
    dec = Fraction(dd) + Fraction(dm, 60) + Fraction(ds, 36000)
    return ra, sign, dec


positions = st.tuples(st.integers(0, 360 * MICRO - 1), st.integers(-90 * MICRO, 90 * MICRO))


@settings(max_examples=400, deadline=None)
@given(positions)
def test_a_designation_truncates_the_published_position(micro):
    ra_micro, dec_micro = micro
    name = designation(ra_micro / MICRO, dec_micro / MICRO)
    assert len(name) == 16
    ra_d, sign, dec_d = parse_designation(name)
    ra, dec = Fraction(ra_micro, MICRO), Fraction(abs(dec_micro), MICRO)
    assert 0 <= ra - ra_d < Fraction(15, 360000)        # 0.01 s of time
    assert 0 <= dec - dec_d < Fraction(1, 36000)        # 0.1 arcsec
    assert sign == (-1 if dec_micro < 0 else 1)


def test_cases_where_plain_floating_point_floor_goes_wrong():
    """Positions whose scaled value is an exact integer in decimal but not in binary."""
    assert designation(10.538223, 41.18528) == "00420917+4111070"
    # 0.000125 deg = 0.03 s of time exactly; 0.1/3600 deg of Dec = exactly 0.1"
    assert designation(0.000125, 0.000028) == "00000003+0000001"
    assert designation(359.999999, -89.999999) == "23595999-8959599"


@settings(max_examples=40, deadline=None)
@given(st.lists(positions, min_size=1, max_size=50))
def test_the_sql_function_is_the_same_rule(micro_list):
    ra = [r / MICRO for r, _ in micro_list]
    dec = [d / MICRO for _, d in micro_list]
    con = duckdb.connect()
    register(con)
    try:
        con.execute("CREATE TEMP TABLE p (ra DOUBLE, dec DOUBLE)")
        con.executemany("INSERT INTO p VALUES (?, ?)", list(zip(ra, dec, strict=True)))
        sql = [r[0] for r in con.execute("SELECT tmass_designation(ra, dec) FROM p "
                                         "ORDER BY rowid").fetchall()]
    finally:
        con.close()
    assert sql == designations(ra, dec).to_pylist()
