"""Running CatScan queries (catscan.runner): the Python API returns an astropy Table with the
rows hand-written SQL finds, the provenance, and an explicit overflow; bad queries raise
QueryError, unsafe ones never run."""

from __future__ import annotations

import numpy as np
import pytest

import catscan
from catscan.db import connect
from catscan.language import QueryError


def test_the_python_api_returns_the_rows_of_the_hand_written_sql(demo_db):
    table = catscan.query("select designation, j_m from psc within $r of 10.68479 +41.26906 "
                          "where j_m < $jmax order by j_m", demo_db, r="5arcmin", jmax=15)
    con = connect(demo_db)
    try:
        expected = con.execute("SELECT designation, j_m FROM psc WHERE ang_sep(ra, dec, "
                               "10.68479, 41.26906) <= 5 / 60.0 AND j_m < 15 "
                               "ORDER BY j_m").fetchall()
    finally:
        con.close()
    assert len(expected) > 0
    assert [(str(d).rstrip(), float(j)) for d, j in zip(table["designation"], table["j_m"],
                                                 strict=True)] == \
        [(d.rstrip(), j) for d, j in expected]
    assert table["j_m"].unit == "mag"
    prov = table.meta["provenance"]
    assert prov["status"] == "OK" and prov["row_count"] == len(expected)
    assert prov["parameters"] == {"r": "5arcmin", "jmax": "15"}
    assert prov["sql"].startswith('SELECT "psc"."designation"')


def test_a_capped_result_says_so(demo_db):
    table = catscan.query("select designation from psc order by designation", demo_db,
                          limit=7)
    assert len(table) == 7
    assert table.meta["provenance"]["status"] == "OVERFLOW"
    assert table.meta["provenance"]["notice"] == "result truncated at 7 rows; use --limit"


def test_survey_terms_and_nulls_come_through(demo_db):
    table = catscan.query("select scan, tile, score, night from psc in scan 1998-04-16 n 64 "
                          "limit 5", demo_db)
    assert set(table["night"]) == {"1998-04-16n"} and set(table["scan"]) == {64}
    scans = catscan.query("select scan, qa_score from scans on night 1998-11-23 n "
                          "order by scan", demo_db)
    assert np.ma.is_masked(scans["qa_score"][list(scans["scan"]).index(76)])   # not processed


def test_bad_queries_raise_query_errors_with_the_position(demo_db):
    with pytest.raises(QueryError, match=r"line 1, column 8: psc has no column 'j_mm'"):
        catscan.query("select j_mm from psc", demo_db)


def test_a_session_compiles_a_query_once_and_gives_the_same_rows(demo_db):
    from catscan.runner import Session, run_text
    from catscan.safety import query_connection

    con = query_connection(demo_db)
    try:
        ses = Session(con)
        text = "select designation from psc within $r of 10.68479 +41.26906 order by designation"
        first = run_text(ses, text, {"r": "3arcmin"})
        again = run_text(ses, text, {"r": "3arcmin"})
        other = run_text(ses, text, {"r": "1arcmin"})
        assert again.compiled is first.compiled and other.compiled is not first.compiled
        assert again.table.equals(first.table) and 0 < other.table.num_rows < \
            first.table.num_rows
        assert run_text(con, text, {"r": "3arcmin"}).table.equals(first.table)
    finally:
        con.close()


# ---- the match clause: a list cross-matched against the filtered catalog -------------------

@pytest.fixture(scope="module")
def match_list(demo_db, tmp_path_factory):
    """40 targets: 30 within 0-3" of PSC sources (seeded), 10 in empty sky; as a CSV file."""
    from astropy.table import Table

    con = connect(demo_db)
    try:
        ra, dec = np.array(con.execute("SELECT ra, dec FROM psc ORDER BY pts_key").fetchall()).T
    finally:
        con.close()
    rng = np.random.default_rng(7)
    pick = rng.choice(len(ra), 30, replace=False)
    offset, angle = rng.uniform(0, 3, 30) / 3600, rng.uniform(0, 2 * np.pi, 30)
    t_dec = dec[pick] + offset * np.sin(angle)
    t_ra = ra[pick] + offset * np.cos(angle) / np.cos(np.radians(t_dec))
    t_ra = np.concatenate([t_ra, rng.uniform(120, 150, 10)])          # no survey data there
    t_dec = np.concatenate([t_dec, rng.uniform(-10, 10, 10)])
    path = tmp_path_factory.mktemp("match") / "targets.csv"
    Table({"name": [f"t{i:02d}" for i in range(40)], "ra": t_ra, "dec": t_dec}).write(path)
    return path


def _astropy_matches(demo_db, path, where_sql: str, radius_arcsec: float):
    """Per target: every (designation, separation in arcsec) within the radius, nearest first,
    among the PSC rows that pass ``where_sql``: astropy's search_around_sky."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    targets = Table.read(path)
    con = connect(demo_db)
    try:
        rows = con.execute(f"SELECT designation, ra, dec FROM psc WHERE {where_sql}").fetchall()
    finally:
        con.close()
    names = [r[0] for r in rows]
    catalog = SkyCoord([r[1] for r in rows], [r[2] for r in rows], unit="deg")
    t = SkyCoord(targets["ra"], targets["dec"], unit="deg")
    i_t, i_c, sep, _ = catalog.search_around_sky(t, radius_arcsec * u.arcsec)
    out: list[list[tuple[str, float]]] = [[] for _ in range(len(targets))]
    for a, b, s in zip(i_t, i_c, sep.to_value(u.arcsec), strict=True):
        out[a].append((names[b], s))
    return [sorted(m, key=lambda p: p[1]) for m in out]


def test_match_keeps_every_target_and_finds_what_astropy_finds(demo_db, match_list):
    table = catscan.query(f"select designation, j_m, k_m, j_m - k_m as jk from psc "
                          f"match '{match_list}' within 2.5 arcsec where j_m < 15.5", demo_db)
    expected = _astropy_matches(demo_db, match_list, "j_m < 15.5", 2.5)
    assert list(table["name"]) == [f"t{i:02d}" for i in range(40)]         # input order
    assert list(table["n_candidates"]) == [len(m) for m in expected]
    assert 5 < sum(1 for m in expected if m) < 30          # the filter removed some sources
    for row, matches in zip(table, expected, strict=True):
        if matches:
            assert row["designation"].rstrip() == matches[0][0].rstrip()
            assert row["dist"] == pytest.approx(matches[0][1], abs=1e-6)
            assert row["jk"] == pytest.approx(row["j_m"] - row["k_m"], abs=1e-9)
        else:
            assert np.ma.is_masked(row["designation"]) and np.ma.is_masked(row["dist"])
    assert table["dist"].unit == "arcsec" and table["j_m"].unit == "mag"


def test_match_all_gives_a_row_per_pair_and_orders_the_output(demo_db, match_list):
    every = catscan.query(f"select designation from psc match '{match_list}' within 3\" all",
                          demo_db)
    expected = _astropy_matches(demo_db, match_list, "TRUE", 3)
    assert len(every) == sum(max(1, len(m)) for m in expected)
    pairs = sorted((str(r["name"]), str(r["designation"]).rstrip()) for r in every
                   if not np.ma.is_masked(r["designation"]))
    assert pairs == sorted((f"t{i:02d}", d.rstrip()) for i, m in enumerate(expected)
                           for d, _ in m)
    top = catscan.query(f"select designation from psc match '{match_list}' within 3\" "
                        "order by dist desc limit 4", demo_db)
    seps = sorted((m[0][1] for m in expected if m), reverse=True)[:4]
    assert list(top["dist"]) == pytest.approx(seps, abs=1e-6)


def test_match_records_the_list_in_the_provenance(demo_db, match_list):
    import hashlib

    table = catscan.query(f"select designation from psc match '{match_list}' within 1\"",
                          demo_db)
    digest = hashlib.sha256(match_list.read_bytes()).hexdigest()
    assert table.meta["provenance"]["inputs"] == {str(match_list): f"sha256:{digest}, 40 rows"}


def test_match_errors_point_at_the_clause(demo_db, match_list, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(QueryError, match=r"line 1, column 29: .*nope\.csv"):
        catscan.query(f"select designation from psc match '{missing}' within 1\"", demo_db)
    with pytest.raises(QueryError) as info:
        catscan.query(f"select designation from psc match '{match_list}' within 1\" "
                      "order by dits", demo_db)
    column = len(f"select designation from psc match '{match_list}' within 1\" order by ") + 1
    assert str(info.value).splitlines()[0] == \
        f"line 1, column {column}: the matched output has no column 'dits'"
    assert "did you mean dist?" in str(info.value)


def test_a_server_session_matches_uploaded_lists_only(demo_db, match_list):
    from astropy.table import Table

    from catscan.runner import Session, run_text
    from catscan.safety import query_connection

    con = query_connection(demo_db)
    try:
        ses = Session(con, lists={"mine": Table.read(match_list)}, read_files=False)
        uploaded = run_text(ses, "select designation from psc match 'mine' within 2\"")
        from_file = catscan.query(f"select designation from psc match '{match_list}' "
                                  "within 2\"", demo_db)
        assert uploaded.table.column("designation").to_pylist() == \
            [None if np.ma.is_masked(d) else d for d in from_file["designation"]]
        with pytest.raises(QueryError, match=r"no list named '/etc/passwd' was uploaded"):
            run_text(ses, "select designation from psc match '/etc/passwd' within 2\"")
    finally:
        con.close()


def test_a_language_query_is_interrupted_at_its_timeout(demo_db, tmp_path):
    """A cross-match at 40 deg against the whole PSC takes seconds; the timeout stops it
    cleanly and the connection answers the next query."""
    import time

    from astropy.table import Table

    from catscan.runner import Session, run_text
    from catscan.safety import QueryTimeout, query_connection

    path = tmp_path / "many.csv"
    Table({"ra": np.linspace(0, 359, 400), "dec": np.linspace(-60, 60, 400)}).write(path)
    con = query_connection(demo_db)
    try:
        ses = Session(con)
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="interrupted after 0.3 s"):
            run_text(ses, f"select designation from psc match '{path}' within 40 deg all",
                     timeout=0.3)
        assert time.monotonic() - started < 5
        assert run_text(ses, "select count(*) as n from psc").table.column("n")[0].as_py() > 0
    finally:
        con.close()


def test_images_within_a_cone_are_those_whose_footprint_reaches_it(image_db):
    """`from images within R of POS` uses the footprint test of the SQL macro images_near,
    not the image centres."""
    from catscan.images import images_near

    con = connect(image_db)
    try:
        for radius in (0.0001, 3 / 60, 0.3):
            table = catscan.query(f"select coadd_key, band from images within {radius} deg "
                                  "of 10.68479 41.26906", con_db := image_db)
            got = sorted((int(k), str(b)) for k, b in zip(table["coadd_key"], table["band"],
                                                          strict=True))
            expected = sorted((i.coadd_key, i.band) for i in images_near(
                con, 10.68479, 41.26906, radius))
            assert got == expected and len(expected) >= 3, radius
            # centres alone would miss images whose footprint reaches the position
            centres = catscan.query(f"select count(*) as n from images where ang_sep(crval1, "
                                    f"crval2, 10.68479, 41.26906) <= {radius}", con_db)
            assert centres["n"][0] < len(expected) or radius == 0.3
    finally:
        con.close()


def test_the_operations_views_are_sources(demo_db):
    """night_status and scan_status (docs/operations.md) from the language: the rows of the
    views, survey regions and terms included."""
    con = connect(demo_db)
    try:
        nights = con.execute("SELECT night, scans, loaded FROM night_status "
                             "ORDER BY night").fetchall()
        scans = con.execute("SELECT scan, qa_score FROM scan_status WHERE date = "
                            "'1998-04-16' AND hemis = 'n' ORDER BY scan").fetchall()
    finally:
        con.close()
    table = catscan.query("select night, scans, loaded from night_status order by night",
                          demo_db)
    assert [tuple(r) for r in table.as_array().tolist()] == nights and len(nights) >= 5
    table = catscan.query("select scan, score from scan_status on night 1998-04-16 n "
                          "order by scan", demo_db)
    assert [(r["scan"], None if np.ma.is_masked(r["score"]) else r["score"])
            for r in table] == scans
