"""Spatial SQL (catscan.spatial): HEALPix range covers plus the exact test return exactly the
rows astropy finds, at the poles, across RA 0/360 and on the real M31 cone of IRSA."""

from __future__ import annotations

import re

import cdshealpix.nested as hp
import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import Latitude, Longitude, SkyCoord
from astropy.table import Table
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan import spatial
from catscan.db import memory_database


def catalog(n: int = 30_000, seed: int = 7) -> pa.Table:
    """Uniform points plus clusters at both poles and on both sides of RA 0."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    k = n // 10
    special_dec = np.concatenate([90 - rng.uniform(0, 2, k), -90 + rng.uniform(0, 2, k),
                                  rng.uniform(-3, 3, k)])
    special_ra = np.concatenate([rng.uniform(0, 360, 2 * k),
                                 rng.uniform(-2, 2, k) % 360.0])
    ra, dec = np.concatenate([ra, special_ra]), np.concatenate([dec, special_dec])
    return pa.table({"id": np.arange(len(ra)), "ra": ra, "dec": dec})


@pytest.fixture(scope="module")
def points():
    con = memory_database()
    con.register("raw", catalog())
    con.execute("CREATE TABLE pts AS SELECT *, hpx29(ra, dec) AS hpx29 FROM raw "
                "ORDER BY hpx29")
    rows = con.execute("SELECT id, ra, dec FROM pts ORDER BY id").fetchnumpy()
    yield con, SkyCoord(rows["ra"] * u.deg, rows["dec"] * u.deg), rows["id"]
    con.close()


def cone_ids(con, ra, dec, radius):
    where = spatial.cone_sql(ra, dec, radius)
    return sorted(r[0] for r in con.execute(f"SELECT id FROM pts WHERE {where}").fetchall())


centres = st.one_of(
    st.tuples(st.floats(0, 360, exclude_max=True), st.floats(-90, 90)),
    st.tuples(st.floats(0, 360, exclude_max=True), st.sampled_from([90.0, -90.0, 89.99])),
    st.tuples(st.sampled_from([0.0, 359.9999, 0.0001]), st.floats(-5, 5)),
)
radii = st.sampled_from([1 / 3600, 2 / 3600, 1 / 60, 0.1, 0.5, 1.0, 3.0, 10.0, 45.0, 100.0])


@settings(max_examples=60, deadline=None)
@given(centre=centres, radius=radii)
def test_cones_return_exactly_what_astropy_finds(points, centre, radius):
    con, coords, ids = points
    ra, dec = centre
    sep = coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
    # rows within a hair of the boundary may fall either way in floating point
    expected = sorted(ids[sep <= radius].tolist())
    got = cone_ids(con, ra, dec, radius)
    ambiguous = set(ids[np.abs(sep - radius) < 1e-12].tolist())
    assert set(got) ^ set(expected) <= ambiguous
    # the Python cone search (ranges in SQL, the test in numpy) gives the same rows
    found = spatial.cone_search(con, ra, dec, radius, table="pts", columns=["id"])
    assert found.column_names == ["id"]
    assert set(found.column("id").to_pylist()) ^ set(expected) <= ambiguous


@settings(max_examples=100, deadline=None)
@given(centre=centres, radius=radii, offset=st.floats(0, 1), angle=st.floats(0, 360))
def test_the_cover_holds_every_point_of_the_cone(centre, radius, offset, angle):
    ra, dec = centre
    inside = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
        angle * u.deg, offset * radius * u.deg)
    cell = int(hp.lonlat_to_healpix(Longitude(inside.ra), Latitude(inside.dec), 29)[0])
    assert any(lo <= cell < hi for lo, hi in spatial.cone_ranges(ra, dec, radius))


def test_covers_are_few_ranges_for_small_cones():
    for radius in (1 / 60, 0.1, 1.0):
        ranges = spatial.cone_ranges(10.68479, 41.26906, radius)
        assert 1 <= len(ranges) <= 15
        assert all(lo < hi for lo, hi in ranges)
        assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_a_bad_radius_is_an_error():
    with pytest.raises(ValueError, match="between 0 and 180"):
        spatial.cone_ranges(0, 0, -1)


def test_the_real_m31_cone_returns_irsas_2412_rows(real_2mass):
    table = Table.read(real_2mass / "firefly_2mass-m31-2412rows.tbl", format="ipac")
    ra0, dec0, radius = 10.68479, 41.26906, 500 / 3600
    real = pa.table({"id": np.arange(len(table)), "ra": np.asarray(table["ra"], float),
                     "dec": np.asarray(table["dec"], float),
                     "dist": np.asarray(table["dist"], float)})
    # decoys just outside the radius, all around
    angles = np.linspace(0, 360, 720, endpoint=False)
    decoys = SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(
        angles * u.deg, (radius + 0.01 / 3600) * u.deg)
    fake = pa.table({"id": -1 - np.arange(len(angles)), "ra": decoys.ra.deg,
                     "dec": decoys.dec.deg, "dist": np.full(len(angles), np.nan)})
    con = memory_database()
    try:
        con.register("raw", pa.concat_tables([real, fake]))
        con.execute("CREATE TABLE pts AS SELECT *, hpx29(ra, dec) AS hpx29 FROM raw "
                    "ORDER BY hpx29")
        rows = con.execute(
            f"SELECT id, dist, ang_sep(ra, dec, {ra0}, {dec0}) * 3600 FROM pts "
            f"WHERE {spatial.cone_sql(ra0, dec0, radius)} ORDER BY id").fetchall()
    finally:
        con.close()
    assert len(rows) == 2412 and all(r[0] >= 0 for r in rows)
    assert max(abs(r[1] - r[2]) for r in rows) < 1e-4


def inside_box_by_wcs(coords: SkyCoord, ra, dec, width, height) -> np.ndarray:
    """Independent box test: astropy's gnomonic (TAN) projection at the centre, 1 deg/px."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [1, 1]                     # FITS 1-based: pixel 0 (0-based) is the centre
    wcs.wcs.cdelt = [-1, 1]
    front = coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg < 90
    with np.errstate(invalid="ignore"):
        x, y = wcs.world_to_pixel(coords)
    xi, eta = np.radians(np.abs(x)), np.radians(np.abs(y))
    return front & (xi <= np.tan(np.radians(width / 2))) \
        & (eta <= np.tan(np.radians(height / 2)))


@settings(max_examples=50, deadline=None)
@given(centre=centres, width=radii, height=radii)
def test_boxes_return_exactly_what_a_gnomonic_projection_says(points, centre, width, height):
    con, coords, ids = points
    ra, dec = centre
    width, height = min(width * 2, 170.0), min(height * 2, 170.0)
    expected = set(ids[inside_box_by_wcs(coords, ra, dec, width, height)].tolist())
    where = spatial.box_sql(ra, dec, width, height)
    got = {r[0] for r in con.execute(f"SELECT id FROM pts WHERE {where}").fetchall()}
    # the Python box search tests the same rectangle in numpy
    found = spatial.box_search(con, ra, dec, width, height, table="pts", columns=["id"])
    for result in (got, set(found.column("id").to_pylist())):
        # points within ~1e-9 deg of an edge may fall either way in floating point
        near_edge = result ^ expected
        assert len(near_edge) <= 2
        if near_edge:
            inner = inside_box_by_wcs(coords, ra, dec, width * (1 - 1e-9),
                                      height * (1 - 1e-9))
            outer = inside_box_by_wcs(coords, ra, dec, width * (1 + 1e-9),
                                      height * (1 + 1e-9))
            assert all(outer[i] and not inner[i] for i in near_edge)


def test_a_box_near_the_pole_keeps_its_size_on_the_sky(points):
    con, coords, ids = points
    got = con.execute(f"SELECT ra, dec FROM pts WHERE {spatial.box_sql(45, 89.5, 1, 1)}"
                      ).fetchall()
    assert got
    centre = SkyCoord(45 * u.deg, 89.5 * u.deg)
    seps = SkyCoord([r[0] for r in got] * u.deg, [r[1] for r in got] * u.deg).separation(
        centre).deg
    assert seps.max() <= spatial.box_half_diagonal(1, 1) + 1e-9
    # an ra/dec range box would span 100 degrees of RA here; ours stays 1 x 1 deg
    assert 0.5 < seps.max()


ra_limits = st.one_of(st.tuples(st.floats(0, 360), st.floats(0, 360)),
                      st.tuples(st.floats(355, 360), st.floats(0, 5)),
                      st.just((0.0, 360.0)))
dec_limits = st.one_of(st.tuples(st.floats(-90, 90), st.floats(-90, 90)).map(sorted),
                       st.tuples(st.floats(85, 90), st.just(90.0)),
                       st.tuples(st.just(-90.0), st.floats(-90, -89)),
                       st.floats(-89, 89).map(lambda d: (d, d + 1e-3)))


@settings(max_examples=60, deadline=None)
@given(ras=ra_limits, decs=dec_limits)
def test_plain_ranges_return_exactly_the_rows_between_the_limits(points, ras, decs):
    con, coords, ids = points
    (ra_min, ra_max), (dec_min, dec_max) = ras, decs
    where = spatial.range_sql(ra_min, ra_max, dec_min, dec_max)
    got = sorted(r[0] for r in con.execute(f"SELECT id FROM pts WHERE {where}").fetchall())
    ra, dec = coords.ra.deg, coords.dec.deg
    in_ra = ((ra >= ra_min) | (ra <= ra_max)) if ra_min > ra_max else \
        ((ra >= ra_min) & (ra <= ra_max))
    assert got == sorted(ids[in_ra & (dec >= dec_min) & (dec <= dec_max)].tolist())


def test_a_bad_range_is_an_error():
    with pytest.raises(ValueError, match="dec_min <= dec_max"):
        spatial.range_sql(0, 10, 5, 4)
    with pytest.raises(ValueError, match="between 0 and 360"):
        spatial.range_sql(-1, 10, 0, 4)


def test_regions_read_only_the_row_groups_they_need():
    """On a table sorted by hpx29 the ranges let DuckDB's zone maps skip row groups: cones,
    boxes, a concave polygon and a plain RA/Dec range."""
    rng = np.random.default_rng(1)
    n = 2_000_000
    con = memory_database()
    try:
        con.register("raw", pa.table({"ra": rng.uniform(0, 360, n),
                                      "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n)))}))
        con.execute("CREATE TABLE big AS SELECT *, hpx29(ra, dec) AS hpx29 FROM raw "
                    "ORDER BY hpx29")
        for where in (spatial.cone_sql(10, 20, 0.1), spatial.box_sql(200, -60, 0.5, 0.3),
                      spatial.polygon_sql([(30, 5), (30.4, 5), (30.2, 5.3), (30.2, 5.1)]),
                      spatial.range_sql(100, 100.5, -20.2, -20)):
            plan = con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM big WHERE {where}"
                               ).fetchall()[0][1]
            scanned, total = map(int, re.search(r"Row Groups Scanned: (\d+) / (\d+)",
                                                plan).groups())
            assert total >= 10 and scanned <= 2, plan
    finally:
        con.close()


@pytest.fixture(scope="module")
def tiled():
    from catscan.loaders.tile_states import ensure_tiles

    con = memory_database()
    ensure_tiles(con)
    yield con
    con.close()


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, 56_773), weights=st.tuples(*[st.floats(0.05, 1)] * 4))
def test_every_point_of_a_tile_is_found_in_it(tiled, index, weights):
    row = tiled.execute("SELECT tile, ra_1, dec_1, ra_2, dec_2, ra_3, dec_3, ra_4, dec_4 "
                        "FROM tiles ORDER BY tile LIMIT 1 OFFSET ?", [index]).fetchone()
    corners = SkyCoord(np.array(row[1::2]) * u.deg, np.array(row[2::2]) * u.deg)
    # a weighted mean of the corner vectors lies inside the convex spherical quadrilateral
    v = (corners.cartesian.xyz.value * np.array(weights)).sum(axis=1)
    inside = SkyCoord(*v, representation_type="cartesian").spherical
    found = spatial.tiles_containing(tiled, inside.lon.deg, inside.lat.deg)
    assert row[0] in found
    assert spatial.in_tile(tiled, inside.lon.deg, inside.lat.deg, row[0])


def test_a_position_in_the_overlap_of_two_tiles_is_in_both(tiled):
    centre = tiled.execute("SELECT tile, ra, dec, ra_1, dec_1, ra_3, dec_3 FROM tiles "
                           "WHERE tile = 330628").fetchone()
    # the tile's eastern edge at its centre's Dec, then 20" inside and 60" beyond it
    east = SkyCoord(centre[3] * u.deg, centre[4] * u.deg).directional_offset_by(
        0 * u.deg, (centre[2] - centre[4]) * u.deg)
    inner = spatial.tiles_containing(tiled, (east.ra.deg - 20 / 3600 / np.cos(
        np.radians(centre[2]))), centre[2])
    beyond = spatial.tiles_containing(tiled, (east.ra.deg + 60 / 3600 / np.cos(
        np.radians(centre[2]))), centre[2])
    assert inner == [330628, 330629]          # the RA overlap of adjacent tiles (>= 51")
    assert beyond == [330629]


def test_nearby_ranges_merge_within_the_growth_budget():
    ranges = [(0, 10), (12, 20), (30, 40), (1000, 1010)]
    assert spatial.merge_ranges(ranges, growth=2.0) == [(0, 40), (1000, 1010)]
    assert spatial.merge_ranges(ranges, growth=1.0) == ranges
    assert spatial.merge_ranges(ranges, growth=40.0) == [(0, 1010)]


@settings(max_examples=200, deadline=None)
@given(centre=centres, radius=radii)
def test_the_direct_cone_search_gives_cdshealpix_public_results(centre, radius):
    """spatial calls cdshealpix's compiled cone search without the astropy wrapper."""
    ra, dec = centre
    if radius >= 90:
        return
    depth = spatial.cover_depth(radius)
    fast = spatial._cone_cells(ra % 360.0, dec, radius, depth)
    public = hp.cone_search(Longitude(ra % 360.0, u.deg), Latitude(dec, u.deg),
                            radius * u.deg, depth=depth)
    assert all(np.array_equal(a, b) for a, b in zip(fast, public, strict=True))


def _numbers_as_floats(sql: str) -> str:
    """SQL with every number written as Python writes the float (sqlglot rewrites number
    text when it parses: 1e-05 -> 0.00001, 1e-08 -> 1E-8)."""
    import re

    return re.sub(r"(?<![\w.])\d+(?:\.\d*(?:[eE][+-]?\d+)?|[eE][+-]?\d+)",   # not integers
                  lambda m: repr(float(m.group())), sql).lower()


@settings(max_examples=100, deadline=None)
@given(centre=centres, radius=radii, table=st.sampled_from([None, "psc"]))
def test_the_built_cone_condition_renders_as_the_cone_sql(centre, radius, table):
    """cone_condition builds the tree node by node; it must say exactly what cone_sql says."""
    import sqlglot

    ra, dec = centre
    built = spatial.cone_condition(ra, dec, radius, table=table).sql(dialect="duckdb")
    parsed = sqlglot.parse_one(spatial.cone_sql(ra, dec, radius, table=table),
                               dialect="duckdb").sql(dialect="duckdb")
    assert _numbers_as_floats(built) == _numbers_as_floats(parsed)


@settings(max_examples=100, deadline=None)
@given(centre=centres, width=st.floats(1e-4, 60), height=st.floats(1e-4, 60),
       table=st.sampled_from([None, "psc"]))
def test_the_built_box_condition_renders_as_the_box_sql(centre, width, height, table):
    import sqlglot

    ra, dec = centre
    built = spatial.box_condition(ra, dec, width, height, table=table).sql(dialect="duckdb")
    parsed = sqlglot.parse_one(spatial.box_sql(ra, dec, width, height, table=table),
                               dialect="duckdb").sql(dialect="duckdb")
    assert _numbers_as_floats(built) == _numbers_as_floats(parsed)


def test_numpy_vincenty_equals_the_ang_sep_macro_for_tiny_separations_near_ra_360():
    """The cross-match's numpy distance and the SQL macro agree to the last bits, also for
    sub-arcsecond pairs across RA 0/360, and both agree with astropy."""
    rng = np.random.default_rng(12)
    ra1 = np.concatenate([rng.uniform(359.99, 360, 500), rng.uniform(0, 360, 500)]) % 360.0
    dec1 = rng.uniform(-89, 89, 1000)
    ra2 = (ra1 + rng.normal(0, 1e-4, 1000)) % 360.0
    dec2 = dec1 + rng.normal(0, 1e-4, 1000)
    ours = np.degrees(spatial.vincenty(ra1, dec1, ra2, dec2))
    con = memory_database()
    try:
        con.register("p", pa.table({"a": ra1, "b": dec1, "c": ra2, "d": dec2}))
        macro = con.execute("SELECT ang_sep(a, b, c, d) FROM p").fetchnumpy()
    finally:
        con.close()
    astropy = SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg
    assert np.allclose(ours, list(macro.values())[0], rtol=1e-12, atol=0)
    assert np.allclose(ours, astropy, rtol=1e-9, atol=0)


def test_hpx29_is_cdshealpix_public_index_for_every_position():
    """The hpx29 UDF calls cdshealpix's Rust function directly (one thread, no astropy
    objects): it must give the public ``lonlat_to_healpix`` cell for every position, in
    batches of DuckDB's size and bigger, also where astropy wraps ra (< 0, >= 360) and at
    the poles, and NULL where there is no position."""
    rng = np.random.default_rng(29)
    edges_ra = [0.0, np.nextafter(360.0, 0), 180.0, 1e-300, -10.0, 360.0, 725.5, 12.5]
    edges_dec = [-90.0, 90.0, 0.0, -0.0, 89.99999999, -89.99999999, 1e-300, -45.0]
    ra = np.concatenate([rng.uniform(0, 360, 250_000), edges_ra])
    dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, 250_000))), edges_dec])
    expected = hp.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), 29)
    con = memory_database()
    con.register("pos", pa.table({"k": np.arange(len(ra)), "ra": ra, "dec": dec}))
    got = con.execute("SELECT hpx29(ra, dec) AS h FROM pos ORDER BY k").fetchnumpy()["h"]
    assert np.array_equal(np.asarray(got, dtype=np.uint64), expected)
    from catscan.udfs.healpix import hpx29
    assert np.array_equal(hpx29(ra, dec).astype(np.uint64), expected)   # one big call
    nulls = con.execute("SELECT hpx29(NULL, 1), hpx29(1, 'nan'), hpx29(1, 91)").fetchall()
    assert nulls == [(None, None, None)]
