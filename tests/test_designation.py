"""The designation rule: truncation (not rounding) to 0.01 s of RA and 0.1" of Dec, checked
with exact rational arithmetic against the published 6-decimal positions."""

from __future__ import annotations

from fractions import Fraction

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan.designation import designation, designation_matches_sql, designations
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


def _matches(rows: list[tuple]) -> list[bool | None]:
    """designation_matches_sql over (designation, ra, dec) rows, in order."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE p (d VARCHAR, ra DOUBLE, dec DOUBLE)")
        con.executemany("INSERT INTO p VALUES (?, ?, ?)", rows)
        return [r[0] for r in con.execute(
            f"SELECT {designation_matches_sql('d', 'ra', 'dec')} FROM p ORDER BY rowid"
        ).fetchall()]
    finally:
        con.close()


def test_the_sql_check_accepts_the_rules_designation_and_nothing_else():
    """The loaders' plain-SQL check (no Python per row) agrees with the Python rule on any
    double, on positions exactly half a micro-degree between two published ones (where the
    rounding to 6 decimals must go to even, as numpy's), at 0/24 h and +-0 Dec; it accepts
    the release's padding blank and a suffix letter, and refuses every one-character change
    of the 16."""
    rng = np.random.default_rng(5)
    ra = np.concatenate([rng.uniform(0, 360, 300),
                         (rng.integers(0, 360 * MICRO, 300) + 0.5) / MICRO,
                         [0.0, 359.9999994, 359.9999996, 1e-9, 15.0, 0.000125]])
    dec = np.concatenate([rng.uniform(-90, 90, 300),
                          (rng.integers(-90 * MICRO, 90 * MICRO, 300) + 0.5) / MICRO,
                          [-0.0, 0.0, -1e-9, 90.0, -90.0, -0.000028]])
    names = designations(ra, dec).to_pylist()
    rows, expected = [], []
    for r, d, name in zip(ra.tolist(), dec.tolist(), names, strict=True):
        rows += [(name, r, d), (name + " ", r, d), (name + "A", r, d)]
        expected += [True] * 3
        k = int(rng.integers(0, 16))
        changed = name[:k] + ("+" if name[k] == "-" else "-" if name[k] == "+"
                              else str((int(name[k]) + 1) % 10)) + name[k + 1:]
        rows.append((changed, r, d))
        expected.append(False)
    assert _matches(rows) == expected


def test_the_sql_check_says_nothing_where_the_rule_does_not_apply():
    """NULL (no verdict, as the UDF's NULL) for a NULL designation, a position that is NULL
    or not finite, or an RA outside [0, 360): other checks refuse those rows."""
    name = designation(10.5, 41.2)
    rows = [(None, 10.5, 41.2), (name, None, 41.2), (name, 10.5, float("nan")),
            (name, float("inf"), 41.2), (name, -1.0, 41.2), (name, 360.0, 41.2)]
    assert _matches(rows) == [None] * len(rows)
    assert _matches([("garbage", 10.5, 41.2), ("", 10.5, 41.2)]) == [False, False]
