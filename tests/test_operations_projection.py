"""The map geometry against astropy: FITS AIT, the Galactic frame, great circles, overlaps."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from catscan.geometry.footprint import Footprint, unit_vectors
from catscan.operations import projection


def test_hammer_aitoff_is_astropys_ait():
    rng = np.random.default_rng(7)
    lon = rng.uniform(-179, 179, 2000)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---AIT", "DEC--AIT"]
    wcs.wcs.crval = [0, 0]
    wcs.wcs.crpix = [0, 0]
    wcs.wcs.cdelt = [1, 1]                       # pixels = plane coordinates in degrees
    x_ref, y_ref = wcs.wcs_world2pix(lon % 360, lat, 0)
    x, y = projection.hammer_aitoff(lon, lat)
    assert np.allclose(x, x_ref + 1, atol=1e-9) and np.allclose(y, y_ref + 1, atol=1e-9)
    back_lon, back_lat, inside = projection.inverse_hammer_aitoff(x, y)
    assert inside.all()
    assert np.allclose(back_lon, lon, atol=1e-8) and np.allclose(back_lat, lat, atol=1e-8)
    assert projection.hammer_aitoff(np.array([180.0]), np.array([0.0]))[0][0] == \
        pytest.approx(projection.AIT_HALF_WIDTH)
    # a little past the edge lands just outside the ellipse, on the same side
    x, y = projection.hammer_aitoff(np.array([182.0]), np.array([10.0]))
    assert (x / projection.AIT_HALF_WIDTH) ** 2 + (y / projection.AIT_HALF_HEIGHT) ** 2 > 1
    assert x[0] > 0


def test_the_galactic_rotation_is_astropys():
    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, 500), np.degrees(np.arcsin(rng.uniform(-1, 1, 500)))
    l_deg, b_deg = projection.lonlat(projection.to_frame(unit_vectors(ra, dec), "galactic"))
    galactic = SkyCoord(ra * u.deg, dec * u.deg).galactic
    separation = SkyCoord(l_deg * u.deg, b_deg * u.deg, frame="galactic").separation(galactic)
    assert separation.max() < 1e-6 * u.arcsec
    back = projection.from_frame(projection.to_frame(unit_vectors(ra, dec), "galactic"),
                                 "galactic")
    assert np.allclose(back, unit_vectors(ra, dec), atol=1e-14)


def test_outline_points_lie_on_the_edges_and_the_lattice_inside():
    corners = np.array([[[10.0, 36.0], [9.8, 36.0], [9.7, 42.0], [10.1, 42.0]]])
    points = projection.outlines(corners, steps=5)[0]
    assert points.shape == (20, 3)
    foot = Footprint(((10.0, 36.0), (9.8, 36.0), (10.1, 42.0), (9.7, 42.0)))
    lon, lat = projection.lonlat(points)
    distances = foot.edge_distances(lon, lat)
    nearest = np.min(np.abs(np.stack(list(distances.values()))), axis=0)
    assert nearest.max() < 1e-6                           # arcsec: on an edge great circle
    lon, lat = projection.lonlat(projection.lattice(corners, 0.25)[0])
    assert foot.contains(lon, lat, margin_arcsec=-1e-6).all()
    assert len(lon) >= (6 / 0.25 + 1) * 2


def test_overlaps_against_point_sampling():
    rng = np.random.default_rng(11)
    region = np.array([[10.0, 40.0], [12.0, 40.0], [12.0, 42.0], [10.0, 42.0]])
    centres = np.column_stack([rng.uniform(7, 15, 300), rng.uniform(37, 45, 300)])
    half = rng.uniform(0.05, 1.0, (300, 2))
    quads = np.stack([centres + half * [1, -1], centres + half * [-1, -1],
                      centres + half * [-1, 1], centres + half * [1, 1]], axis=1)
    got = projection.overlapping(quads, region)
    region_foot = Footprint(tuple(map(tuple, region[[0, 1, 3, 2]])))
    sampled = []
    for quad in quads:
        foot = Footprint(tuple(map(tuple, quad[[0, 1, 3, 2]])))
        lon, lat = projection.lonlat(projection.lattice(quad[None], 0.01)[0])
        any_inside = region_foot.contains(lon, lat).any()
        lon, lat = projection.lonlat(projection.lattice(region[None], 0.01)[0])
        sampled.append(any_inside | foot.contains(lon, lat).any())
    sampled = np.array(sampled)
    assert (got | ~sampled).all()                    # every sampled overlap is found
    assert (got & ~sampled).sum() <= 3               # and slivers thinner than 0.01 deg
    assert 20 < got.sum() < 280
    assert (projection.any_overlap(quads, region[None]) == got).all()
