"""Spherical polygons (catscan.polygon, catscan.spatial.polygon_sql): convex and concave,
either orientation, at the poles and across RA 0, give exactly the points that astropy's
gnomonic projection and a plane point-in-polygon test give; bad polygons are refused."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan import spatial
from catscan.db import memory_database
from catscan.polygon import PolygonError, SphericalPolygon


def star_polygon(ra0, dec0, radii_deg, rotation=0.0) -> list[tuple[float, float]]:
    """Vertices at increasing position angles around (ra0, dec0), at the given distances:
    a simple polygon, concave when the radii vary."""
    n = len(radii_deg)
    angles = rotation + np.arange(n) * 360.0 / n
    points = SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(
        angles * u.deg, np.asarray(radii_deg) * u.deg)
    return list(zip(points.ra.deg, points.dec.deg, strict=True))


def inside_by_wcs(ra, dec, vertices, centre) -> np.ndarray:
    """Independent test: project with astropy's TAN (great circles become lines), then
    count crossings of a ray in the plane (even-odd rule)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(centre)
    wcs.wcs.cdelt = [-1.0, 1.0]
    wcs.wcs.crpix = [0.0, 0.0]
    points = SkyCoord(ra * u.deg, dec * u.deg)
    near = points.separation(SkyCoord(*centre, unit="deg")).deg < 89.0
    x, y = wcs.world_to_pixel(points)
    vx, vy = wcs.world_to_pixel(SkyCoord([v[0] for v in vertices] * u.deg,
                                         [v[1] for v in vertices] * u.deg))
    inside = np.zeros(len(x), bool)
    for i in range(len(vx)):
        x1, y1, x2, y2 = vx[i - 1], vy[i - 1], vx[i], vy[i]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside & near


def sample_near(ra0, dec0, size, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    pts = SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, np.sqrt(rng.uniform(0, 1, n)) * 1.3 * size * u.deg)
    return pts.ra.deg, pts.dec.deg


def found_inside(vertices, ra, dec, *, search: bool = False) -> np.ndarray:
    """Which points a hpx29-sorted table returns for the polygon: through the SQL fragment
    (the UDF), or with ``search`` through spatial.polygon_search (the test in numpy)."""
    con = memory_database()
    try:
        con.register("raw", pa.table({"id": np.arange(len(ra)), "ra": ra, "dec": dec}))
        con.execute("CREATE TABLE pts AS SELECT *, hpx29(ra, dec) AS hpx29 FROM raw "
                    "ORDER BY hpx29")
        if search:
            ids = spatial.polygon_search(con, vertices, table="pts", columns=["id"])
            ids = ids.column("id").to_numpy()
        else:
            ids = [r[0] for r in con.execute(
                f"SELECT id FROM pts WHERE {spatial.polygon_sql(vertices)}").fetchall()]
    finally:
        con.close()
    inside = np.zeros(len(ra), bool)
    inside[ids] = True
    return inside


def sql_inside(vertices, ra, dec) -> np.ndarray:
    return found_inside(vertices, ra, dec)


def search_inside(vertices, ra, dec) -> np.ndarray:
    return found_inside(vertices, ra, dec, search=True)


def away_from_edges(vertices, ra, dec, margin_deg) -> np.ndarray:
    """Points farther than margin from every edge's great circle (the two tests may round
    differently within ~1e-12 deg of an edge)."""
    poly = SphericalPolygon.from_vertices(vertices)
    xyz = poly.vertices
    normals = np.cross(xyz, np.roll(xyz, -1, axis=0))
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    p = np.stack([np.cos(np.radians(dec)) * np.cos(np.radians(ra)),
                  np.cos(np.radians(dec)) * np.sin(np.radians(ra)),
                  np.sin(np.radians(dec))], axis=1)
    return np.abs(p @ normals.T).min(axis=1) > np.radians(margin_deg)


centres = st.one_of(
    st.tuples(st.floats(0, 360, exclude_max=True), st.floats(-80, 80)),
    st.tuples(st.floats(0, 360, exclude_max=True), st.sampled_from([90.0, -90.0, 89.9])),
    st.tuples(st.sampled_from([0.0, 359.99, 0.01]), st.floats(-5, 5)),
)


@settings(max_examples=40, deadline=None)
@given(centre=centres, size=st.sampled_from([2 / 3600, 1 / 60, 0.5, 5.0, 40.0]),
       shape=st.lists(st.floats(0.2, 1.0), min_size=3, max_size=14),
       rotation=st.floats(0, 360), clockwise=st.booleans())
def test_polygons_hold_exactly_the_points_a_tan_projection_says(centre, size, shape, rotation,
                                                                  clockwise):
    vertices = star_polygon(*centre, np.array(shape) * size, rotation)
    if clockwise:
        vertices = vertices[::-1]
    ra, dec = sample_near(*centre, size)
    expected = inside_by_wcs(ra, dec, vertices, centre)
    ok = away_from_edges(vertices, ra, dec, size * 1e-9)
    got = sql_inside(vertices, ra, dec)
    assert np.array_equal(got[ok], expected[ok])
    assert np.array_equal(SphericalPolygon.from_vertices(vertices).contains(ra, dec)[ok],
                          expected[ok])
    assert np.array_equal(search_inside(vertices, ra, dec)[ok], expected[ok])
    assert expected.sum() > 0


def test_a_convex_polygon_is_one_piece_and_a_concave_one_is_cut_into_convex_pieces():
    square = SphericalPolygon.from_vertices([(10, 10), (11, 10), (11, 11), (10, 11)])
    assert len(square.pieces) == 1
    comb = [(0, 0), (5, 0), (5, 3), (4, 3), (4, 1), (3, 1), (3, 3), (2, 3), (2, 1), (1, 1),
            (1, 3), (0, 3)]
    poly = SphericalPolygon.from_vertices(comb)
    assert 3 <= len(poly.pieces) < len(comb) - 2          # merged beyond the triangles
    xyz = poly.vertices
    for piece in poly.pieces:                             # every piece is convex
        normals = poly.edge_normals(piece)
        assert (xyz[list(piece)] @ normals.T >= -1e-15).all()
    # each tooth's gap is outside, each tooth inside
    assert not poly.contains(1.5, 2).any() and poly.contains(0.5, 2).all()
    assert poly.contains(2.5, 0.5).all() and not poly.contains(3.5, 2.5).any()


def test_a_thousand_vertex_polygon_works():
    rng = np.random.default_rng(3)
    vertices = star_polygon(200.0, -45.0, rng.uniform(0.5, 1.0, 1000))
    ra, dec = sample_near(200.0, -45.0, 1.0, n=5000)
    ok = away_from_edges(vertices, ra, dec, 1e-9)
    got = sql_inside(vertices, ra, dec)
    assert np.array_equal(got[ok], inside_by_wcs(ra, dec, vertices, (200.0, -45.0))[ok])


@pytest.mark.parametrize(("vertices", "message"), [
    ([(0, 0), (1, 1)], "at least 3 vertices"),
    ([(0, 0), (0, 0), (1, 1)], "3 distinct vertices"),
    ([(0, 0), (1, 1), (1, 0), (0, 1)], "edges cross: edge 1"),
    ([(0, 0), (1, 0), (2, 0)], "no area"),
    ([(0, 0), (120, 0), (240, 0)], "larger than a hemisphere"),
    ([(0, 0), (90, 30), (180, 0), (270, 30)], "larger than a hemisphere"),
    ([(0, 0), (1, "x"), (1, 1)], "pairs of numbers"),
    ([(0, 0), (1, 95), (1, 1)], "within [-90, 90]"),
])
def test_bad_polygons_are_refused_with_a_reason(vertices, message):
    with pytest.raises(PolygonError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SphericalPolygon.from_vertices(vertices)


def test_a_closing_vertex_that_repeats_the_first_is_ignored():
    open_ = SphericalPolygon.from_vertices([(10, 10), (11, 10), (11, 11)])
    closed = SphericalPolygon.from_vertices([(10, 10), (11, 10), (11, 11), (10, 10)])
    assert open_ == closed


def test_irsas_polygon_returns_its_seven_rows(real_2mass):
    table = parse_single_table(real_2mass / "astroquery_irsa_Polygon.xml").to_table()
    vertices = [(10.1, 10.1), (10.0, 10.1), (10.0, 10.0)]     # the file's SKYAREA
    # clon/clat carry the full precision (0.01s, 0.01"); ra/dec are rounded to 0.001 deg
    real = SkyCoord(table["clon"], table["clat"], unit=(u.hourangle, u.deg))
    real_ra, real_dec = real.ra.deg, real.dec.deg
    assert np.allclose(real_ra, table["ra"], atol=6e-4)
    # decoys 0.5" outside each edge, along the edge, and around each vertex
    poly = SphericalPolygon.from_vertices(vertices)
    xyz = poly.vertices
    decoys = []
    for i in range(3):
        a, b = xyz[i], xyz[(i + 1) % 3]
        normal = np.cross(a, b)
        normal /= np.linalg.norm(normal)
        for t in np.linspace(0.02, 0.98, 40):
            p = (1 - t) * a + t * b
            p = p / np.linalg.norm(p) - normal * np.radians(0.5 / 3600)
            decoys.append(p / np.linalg.norm(p))
    decoys = np.array(decoys)
    decoy_ra = np.degrees(np.arctan2(decoys[:, 1], decoys[:, 0])) % 360
    decoy_dec = np.degrees(np.arcsin(decoys[:, 2]))
    assert not poly.contains(decoy_ra, decoy_dec).any()
    ra = np.concatenate([real_ra, decoy_ra])
    dec = np.concatenate([real_dec, decoy_dec])
    inside = sql_inside(vertices, ra, dec)
    assert np.flatnonzero(inside).tolist() == list(range(len(table))) == list(range(7))


def test_the_udf_takes_nulls_and_a_different_polygon_per_row():
    a = SphericalPolygon.from_vertices([(10, 10), (11, 10), (11, 11), (10, 11)])
    b = SphericalPolygon.from_vertices([(200, -30), (201, -30), (200.5, -29)])
    con = memory_database()
    try:
        rows = con.execute(
            "SELECT sky_polygon_contains(ra, dec, spec) FROM (VALUES "
            "(10.5, 10.5, ?), (10.5, 10.5, ?), (200.5, -29.5, ?), (NULL, 1.0, ?), "
            "(10.5, 10.5, NULL)) t(ra, dec, spec)",
            [a.spec, b.spec, b.spec, a.spec]).fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [True, False, True, None, None]
