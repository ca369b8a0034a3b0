"""The survey words (``in scan``, ``on night``, ``in tile``, ``observed between``) prune by
the sky of their scans (catscan.language.sky): compiled against the database they add the
hpx29 ranges of the scans' footprints, give exactly the rows of the plain filter (the same
query compiled without a database) and read fewer row groups. The databases are copies of
real catscan files written with small row groups (2,048 rows), so that a demo-sized catalog
spans ~80 of them the way the full PSC spans ~3,800."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from pathlib import Path

import cdshealpix.nested as hp
import duckdb
import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan import spatial
from catscan.db import connect
from catscan.language import Catalog, QueryError, compile_text
from catscan.web.builder import build_query

from conftest import TEAM_PASSWORD

ROW_GROUP_SIZE = 2048
SCANNED = re.compile(r"Row Groups Scanned:\s*([\d,]+)\s*/\s*([\d,]+)")


def small_groups_copy(src: Path, dst: Path) -> Path:
    """A copy of a catscan database with row groups of ROW_GROUP_SIZE rows, psc and xsc
    still in hpx29 order (COPY FROM DATABASE keeps each table's row order)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{dst}' AS dst (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute("COPY FROM DATABASE src TO dst")
    finally:
        con.close()
    return dst


@pytest.fixture(scope="module")
def demo_small(demo_db, tmp_path_factory) -> Path:
    return small_groups_copy(demo_db, tmp_path_factory.mktemp("regions") / "demo.duckdb")


@pytest.fixture(scope="module")
def demo(demo_small):
    con = connect(demo_small)
    yield con, Catalog.from_connection(con)
    con.close()


# ---- the nights at the edges of the sky: RA 0/360 and both poles -------------------------

def polar_tile(ra: float, north: bool) -> int:
    """The tile reaching a pole whose centre is nearest ``ra`` (the generator's tile_near
    misses the polar strips: their centres are not at the strip's middle)."""
    from catscan.survey.plan import grid

    g = grid()
    reach = np.maximum(g["dec_3"], g["dec_1"]) if north else np.minimum(g["dec_3"], g["dec_1"])
    polar = np.flatnonzero(reach > 89.99 if north else reach < -89.99)
    delta = np.abs((g["ra"][polar] - ra + 180.0) % 360.0 - 180.0)
    return int(g["tile"][polar[np.argmin(delta)]])


def edge_plan():
    """Two generated nights whose science scans sit on RA 0/360 and at the poles."""
    from catscan.survey.plan import NightPlan, ScanPlan, tile_near

    north = NightPlan(dt.date(1998, 1, 10), "n", "2.0x", "operational", dt.date(1998, 1, 12), (
        ScanPlan(1, tile_near(0.02, 30.0), "n"),          # centre just east of RA 0
        ScanPlan(2, tile_near(359.97, 12.0), "s"),        # just west of it
        ScanPlan(3, polar_tile(40.0, True), "n"),          # reaches the north pole
        ScanPlan(4, polar_tile(220.0, True), "s"),
    ))
    south = NightPlan(dt.date(1998, 3, 20), "s", "2.0x", "operational", dt.date(1998, 3, 22), (
        ScanPlan(7, tile_near(0.01, -33.0), "n"),
        ScanPlan(8, polar_tile(120.0, False), "s"),        # reaches the south pole
    ))
    return [north, south]


@pytest.fixture(scope="module")
def edge_db(tmp_path_factory) -> Path:
    from catscan.demo import load_into
    from catscan.survey.generate import night_jobs, write_night

    root = tmp_path_factory.mktemp("edge")
    for job in night_jobs(edge_plan(), root / "survey", 5):
        write_night(job)
    db = load_into(root / "loaded.duckdb", [root / "survey"])
    return small_groups_copy(db, root / "edge.duckdb")


@pytest.fixture(scope="module")
def edge(edge_db):
    con = connect(edge_db)
    yield con, Catalog.from_connection(con)
    con.close()


# ---- helpers -------------------------------------------------------------------------------

def rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def scanned(con, sql: str) -> tuple[int, int]:
    """(row groups scanned, row groups) of the catalog's table scan (EXPLAIN ANALYZE; the
    scan of the table with most row groups: a tile's join also scans ``scans``); (0, 0)
    when DuckDB plans no scan at all."""
    plan = "\n".join(r[-1] for r in con.execute("EXPLAIN ANALYZE " + sql).fetchall())
    found = [tuple(int(x.replace(",", "")) for x in f) for f in SCANNED.findall(plan)]
    return max(found, key=lambda f: f[1]) if found else (0, 0)


ALL_GROUPS = "SELECT sum(j_m) FROM psc"


def both(con, catalog, text: str):
    """(pruned, plain): the query compiled against the database and without it."""
    return compile_text(text, catalog, con=con), compile_text(text, catalog)


def words_of(con) -> list[str]:
    """Every scan, night and tile of the database's scans, and its first two dates."""
    scans = con.execute("SELECT date, hemis, scan, tile FROM scans ORDER BY scan_key").fetchall()
    first, second = sorted({d for d, *_ in scans})[:2]
    return sorted({f"in scan {d} {h} {s}" for d, h, s, _ in scans}
                  | {f"on night {d} {h}" for d, h, _, _ in scans}
                  | {f"in tile {t}" for *_, t in scans}
                  | {f"observed between {first} and {second}"})


def row_groups_holding(con, table: str, where: str) -> int:
    """How many row groups hold a row the plain filter keeps: computed from the rows'
    hpx29 and each row group's hpx29 statistics, without the compiler."""
    stats = con.execute(
        "SELECT row_group_id, stats FROM pragma_storage_info(?) WHERE column_name = 'hpx29' "
        "AND segment_type NOT IN ('VALIDITY')", [table]).fetchall()
    bounds: dict[int, tuple[int, int]] = {}
    for group, s in stats:
        lo, hi = int(s["min"]), int(s["max"])
        old = bounds.get(group, (lo, hi))
        bounds[group] = (min(old[0], lo), max(old[1], hi))
    keys = [r[0] for r in con.execute(f"SELECT hpx29 FROM {table} p WHERE {where}").fetchall()]
    return sum(1 for lo, hi in bounds.values() if any(lo <= k <= hi for k in keys))


# ---- results: exactly the plain filter's ----------------------------------------------------

def test_every_word_of_the_demo_survey_gives_the_plain_filters_rows(demo):
    con, catalog = demo
    for word in words_of(con):
        for source, columns in (("psc", "designation, ra, dec, j_m"),
                                ("xsc", "designation, ra, dec")):
            pruned, plain = both(con, catalog, f"select {columns} from {source} {word}")
            assert "hpx29" in pruned.sql and "hpx29" not in plain.sql, word
            assert rows(con, pruned.sql) == rows(con, plain.sql), (source, word)


def test_each_scan_night_and_tile_reads_about_the_row_groups_holding_its_rows(demo):
    """Counted against the groups that hold the word's rows (an independent count from the
    storage statistics) and against the plain filter. In the demo survey each night has
    its own part of the sky, so the zone maps of ``date`` and ``scan_key`` (DuckDB pushes
    a tile's join key into the scan) already prune the plain filters here; at scale, where
    a row group's rows come from nights months apart, they do not (bench/regions.py)."""
    con, catalog = demo
    total = scanned(con, ALL_GROUPS)[1]
    assert total >= 60
    checked = 0
    for d, h, s, t in con.execute("SELECT date, hemis, scan, tile FROM scans WHERE loaded "
                                  "AND scan_type = 'sci' ORDER BY scan_key").fetchall():
        for word, where in ((f"in scan {d} {h} {s}",
                             f"date = DATE '{d}' AND hemis = '{h}' AND scan = {s}"),
                            (f"on night {d} {h}", f"date = DATE '{d}' AND hemis = '{h}'"),
                            (f"in tile {t}", "scan_key IN (SELECT scan_key FROM scans "
                                             f"WHERE tile = {t})")):
            pruned, plain = both(con, catalog, f"select count(*) from psc {word}")
            read, _ = scanned(con, pruned.sql)
            read_plain, _ = scanned(con, plain.sql)
            needed = row_groups_holding(con, "psc", where)
            assert 1 <= needed <= read <= read_plain, (word, needed, read, read_plain)
            if not word.startswith("on night"):
                assert read <= needed + 4, (word, needed, read)
            checked += 1
    assert checked >= 30


dates = st.dates(dt.date(1997, 5, 1), dt.date(1999, 6, 1))


@st.composite
def survey_words(draw, pool: list[tuple]) -> str:
    """A word over the demo survey: mostly its scans, nights and tiles, sometimes another
    number, night or any date range (reversed and empty ones too)."""
    d, h, s, t = draw(st.sampled_from(pool))
    kind = draw(st.sampled_from(["scan", "night", "tile", "between"]))
    if kind == "scan":
        scan = draw(st.one_of(st.just(s), st.integers(0, 1000)))
        day = draw(st.one_of(st.just(d), dates))
        return f"in scan {day} {draw(st.sampled_from([h, 'n', 's']))} {scan}"
    if kind == "night":
        return f"on night {draw(st.one_of(st.just(d), dates))} {draw(st.sampled_from('ns'))}"
    if kind == "tile":
        return f"in tile {draw(st.one_of(st.just(t), st.integers(0, 400_000)))}"
    return f"observed between {draw(st.one_of(st.just(d), dates))} and {draw(dates)}"


@pytest.fixture(scope="module")
def pool(demo):
    return demo[0].execute("SELECT date, hemis, scan, tile FROM scans ORDER BY scan_key"
                           ).fetchall()


def test_any_word_and_clause_mix_gives_the_plain_filters_rows(demo, pool):
    con, catalog = demo

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(words=st.lists(survey_words(pool), min_size=1, max_size=2),
           source=st.sampled_from(["psc", "xsc"]),
           extra=st.sampled_from(["", "within 3 deg of 10.68 41.27", "where use_src = 1",
                                  "hemisphere north"]))
    def check(words, source, extra):
        text = f"select designation, ra, dec from {source} {' '.join(words)} {extra}"
        pruned, plain = both(con, catalog, text)
        assert rows(con, pruned.sql) == rows(con, plain.sql), text

    check()


def test_scans_at_ra_0_and_at_the_poles_keep_every_row(edge):
    con, catalog = edge
    scans = con.execute("SELECT date, hemis, scan, tile, ra, dec FROM scans "
                        "WHERE scan_type = 'sci' ORDER BY scan_key").fetchall()
    assert len(scans) == 6
    assert any(ra < 1 for *_, ra, _ in scans) and any(ra > 359 for *_, ra, _ in scans)
    assert min(dec for *_, dec in scans) < -86 and max(dec for *_, dec in scans) > 86
    for d, h, s, t, _, _ in scans:
        for word in (f"in scan {d} {h} {s}", f"on night {d} {h}", f"in tile {t}"):
            pruned, plain = both(con, catalog, f"select designation, ra, dec from psc {word}")
            assert pruned.regions[0].ranges, pruned.regions[0].description
            expected = rows(con, plain.sql)
            assert len(expected) > 100, word
            assert rows(con, pruned.sql) == expected, word


# ---- the cover itself: every point of every footprint ---------------------------------------

@pytest.fixture(scope="module")
def grid():
    from catscan.geometry.tiles import tile_grid

    g = tile_grid().to_pydict()
    corners = np.array([[[g[f"ra_{i}"][k], g[f"dec_{i}"][k]] for i in (1, 2, 4, 3)]
                        for k in range(len(g["tile"]))])
    return corners


def inside_points(corners: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Points in a convex footprint (normalised positive mixes of its corners' unit
    vectors, with the corners and edge points among them), as (ra, dec) degrees."""
    ra, dec = np.radians(corners[:, 0]), np.radians(corners[:, 1])
    v = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)
    weights = rng.dirichlet(np.ones(len(v)), n)
    weights[:len(v)] = np.eye(len(v))                             # the corners
    weights[len(v):2 * len(v)] = (np.eye(len(v)) + np.roll(np.eye(len(v)), 1, axis=1)) / 2
    p = weights @ v
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return np.stack([np.degrees(np.arctan2(p[:, 1], p[:, 0])) % 360,
                     np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1)))], axis=1)


def in_ranges(points: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    index = hp.lonlat_to_healpix(Longitude(points[:, 0], u.deg), Latitude(points[:, 1], u.deg),
                                 spatial.INDEX_DEPTH).astype(np.int64)
    lo = np.array([a for a, _ in ranges], np.int64)
    hi = np.array([b for _, b in ranges], np.int64)
    at = np.searchsorted(lo, index, side="right") - 1
    return (at >= 0) & (index < hi[np.clip(at, 0, None)])


def edge_tiles(corners: np.ndarray) -> np.ndarray:
    """Tiles on RA 0/360 (a corner each side) and tiles reaching a pole."""
    ra, dec = corners[..., 0] % 360, corners[..., 1]
    wraps = (ra.max(axis=1) - ra.min(axis=1)) > 180
    polar = np.abs(dec).max(axis=1) > 89.9
    return np.flatnonzero(wraps | polar)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_footprint_cover_holds_every_point_of_its_footprints(grid, data):
    edges = edge_tiles(grid)
    count = data.draw(st.sampled_from([1, 2, 42, 300, 3000]))
    picked = data.draw(st.lists(st.integers(0, len(grid) - 1), min_size=count,
                                max_size=count))
    picked += data.draw(st.lists(st.sampled_from(list(edges)), min_size=1, max_size=3))
    ranges = spatial.footprint_cover(grid[picked])
    assert 1 <= len(ranges) <= spatial.FOOTPRINT_RANGES
    assert all(a < b <= c for (a, b), (c, _) in zip(ranges, ranges[1:], strict=False))
    rng = np.random.default_rng(len(picked))
    for k in picked[:50] + picked[-3:]:
        points = inside_points(grid[k], rng, 40)
        assert in_ranges(points, ranges).all(), (k, grid[k])


def test_footprint_cover_is_tighter_than_a_cone_and_bounded_for_thousands(grid):
    """One 6 deg x 8.5' tile (0.9 deg²): a cover of less than half the cone around it
    (28 deg²); 5,000 tiles: still FOOTPRINT_RANGES ranges."""
    one = spatial.footprint_cover(grid[[20_000]])
    area = sum(b - a for a, b in one) / (12 << 58) * spatial.SKY_DEG2
    cone = 2 * np.pi * (1 - np.cos(np.radians(3.0))) * (180 / np.pi) ** 2
    assert area < cone / 2
    many = spatial.footprint_cover(grid[::11][:5000])
    assert len(many) == spatial.FOOTPRINT_RANGES


def test_a_footprint_that_is_not_a_convex_polygon_gives_no_cover():
    with pytest.raises(ValueError, match="convex"):
        spatial.footprint_cover([[[10, 40], [11, 40], [10, 41], [11, 41]]])     # crossed
    with pytest.raises(ValueError, match="not a position"):
        spatial.footprint_cover([[[np.nan, 40], [11, 40], [11, 41], [10, 41]]])


# ---- unknown scans, nights, tiles; no scans in a date range ---------------------------------

@pytest.mark.parametrize("word", ["in scan 1998-04-16 n 999", "on night 2001-02-03 s",
                                  "observed between 2003-01-01 and 2003-12-31",
                                  "observed between 1999-01-01 and 1998-01-01"])
def test_a_word_without_scans_reads_as_before_and_finds_nothing(demo, word):
    con, catalog = demo
    pruned, plain = both(con, catalog, f"select count(*) from psc {word}")
    assert pruned.sql == plain.sql
    assert "no scan in scans" in pruned.regions[0].description
    assert rows(con, pruned.sql) == [(0,)]


def test_an_unknown_tile_reads_nothing(demo):
    con, catalog = demo
    pruned, plain = both(con, catalog, "select count(*) from psc in tile 123")
    assert pruned.regions[0].empty
    assert rows(con, pruned.sql) == rows(con, plain.sql) == [(0,)]
    assert scanned(con, pruned.sql)[0] == 0


@pytest.mark.parametrize(("word", "message"), [
    ("in scan 1998-02-30 n 64", "not a date: '1998-02-30'"),
    ("on night '98-04-16' n", "not a date: '98-04-16'"),
    ("in scan 1998-04-16 n $s", "no value for the parameter $s"),
    ("in tile 99999999999999999999", "is too large (at most 9223372036854775807)"),
])
def test_bad_words_give_the_same_errors_with_a_database(demo, word, message):
    con, catalog = demo
    text = f"select count(*) from psc {word}"
    errors = []
    for database in (con, None):
        with pytest.raises(QueryError) as caught:
            compile_text(text, catalog, con=database)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert message in errors[0]


def test_big_scan_and_tile_numbers_find_no_scan(demo):
    con, catalog = demo
    for word in ("in scan 1998-04-16 n 9223372036854775807", "in tile 9223372036854775807"):
        pruned, plain = both(con, catalog, f"select count(*) from psc {word}")
        assert rows(con, pruned.sql) == rows(con, plain.sql) == [(0,)]


# ---- where the words are used: explain, saved queries, the runner ----------------------------

def test_explain_shows_the_ranges_and_the_row_groups_read(demo_small):
    con = connect(demo_small)
    try:
        d, h, s = con.execute("SELECT date, hemis, scan FROM scans WHERE loaded AND "
                              "scan_type = 'sci' ORDER BY scan_key LIMIT 1").fetchone()
        total = scanned(con, ALL_GROUPS)[1]
        pruned = compile_text(f"select count(*) from psc in scan {d} {h} {s}",
                              Catalog.from_connection(con), con=con)
        read = scanned(con, pruned.sql)[0]
    finally:
        con.close()
    out = subprocess.run([sys.executable, "-m", "catscan.cli", "explain",
                          f"select count(*) from psc in scan {d} {h} {s}",
                          "--db", str(demo_small)], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert any(line.startswith(f"region 1: scan {s} of night {d}{h}: 1 scan footprint")
               for line in lines), out.stdout
    shown = [line for line in lines if line.strip().startswith("hpx29 ranges: [")]
    assert len(shown) == 1
    assert shown[0].split(": ", 1)[1].split(", ")[0].lstrip("[") in out.stdout.split("SQL:")[1]
    estimate = re.search(r"reads (\d+) of (\d+) row groups", out.stdout)
    assert int(estimate.group(2)) == total
    assert read <= int(estimate.group(1)) < total


def test_saved_queries_and_the_runner_prune(demo_small):
    """The shipped queries using the words run with the ranges through the runner (the
    CLI, the server and catscan.query all come through it) and give the plain rows."""
    from catscan.language.saved import shipped
    from catscan.runner import Session, run_text
    from catscan.safety import query_connection

    con = query_connection(demo_small)
    try:
        ses = Session(con)
        for name in ("night_scan_sources", "red_sources_in_tile"):
            saved = shipped()[name]
            result = run_text(ses, saved.text, saved.values())
            assert "hpx29" in result.provenance.sql, name
            plain = compile_text(saved.text, ses.catalog, saved.values())
            assert result.table.num_rows == len(con.execute(plain.sql).fetchall()) > 0, name
    finally:
        con.close()


def test_the_servers_form_builder_night_query_prunes_and_keeps_every_row(web_server, web_db):
    """The CatScan page's builder writes ``on night`` / ``in scan``; the server explains it
    with the ranges and returns the plain filter's row count."""
    text = build_query({"source": "psc", "night": "1997-10-24n"})
    con = connect(web_db)
    try:
        plain = compile_text(text, Catalog.from_connection(con))
        expected = len(con.execute(plain.sql).fetchall())
    finally:
        con.close()
    assert expected > 0
    with httpx.Client(base_url=web_server, auth=("team", TEAM_PASSWORD), timeout=60) as c:
        page = html.unescape(c.post("/catscan", data={"q": text, "action": "explain"}).text)
        assert "region 1: night 1997-10-24n: 8 scan footprint(s)" in page
        assert "hpx29 ranges: [" in page
        ran = html.unescape(c.post("/catscan", data={"q": text, "action": "run"}).text)
        assert f"{expected:,} row(s)" in ran


def test_more_scans_than_most_scans_give_no_cover(grid):
    """An ``observed between`` over more than MOST_SCANS scans compiles to its filter
    alone (its cover would be a tenth of the sky or more); one scan fewer gets a cover."""
    from catscan.db import memory_database
    from catscan.language import sky

    con = memory_database()
    try:
        n = sky.MOST_SCANS + 1
        day0 = dt.date(1998, 1, 1)
        con.executemany(
            "INSERT INTO scans (scan_key, hemis, date, scan, status, ra_1, dec_1, ra_2, dec_2, "
            "ra_3, dec_3, ra_4, dec_4) VALUES (?, 'n', ?, ?, 'P', ?, ?, ?, ?, ?, ?, ?, ?)",
            [[k + 1, day0 + dt.timedelta(days=k // 100), k % 100 + 1,
              *grid[k][0], *grid[k][1], *grid[k][3], *grid[k][2]] for k in range(n)])
        last = day0 + dt.timedelta(days=(n - 1) // 100)
        assert sky.dates_sky(con, day0, last).ranges is None
        assert sky.dates_sky(con, day0, last).scans == n
        fewer = sky.dates_sky(con, day0 + dt.timedelta(days=1), last)
        assert fewer.scans == n - 100 and fewer.ranges
    finally:
        con.close()
