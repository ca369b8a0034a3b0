"""The tile grid covers the whole sky, with the overlaps and ids of the 2MASS tiling."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from catscan.geometry.tiles import tile_grid


@pytest.fixture(scope="module")
def tiles() -> dict[str, np.ndarray]:
    grid = tile_grid()
    return {name: grid[name].to_numpy() for name in grid.column_names}


def unit(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)


def inside(point, corners) -> bool:
    """Point inside a convex spherical quadrilateral with great-circle edges (independent
    of the code under test: the same side of every edge)."""
    sides = [np.dot(point, np.cross(a, b)) for a, b in zip(corners, np.roll(corners, -1, 0),
                                                          strict=True)]
    return all(s >= 0 for s in sides) or all(s <= 0 for s in sides)


def test_ids_are_six_digits_unique_and_the_real_m17_tile_keeps_its_id(tiles):
    ids = tiles["tile"]
    assert len(np.unique(ids)) == len(ids)
    assert ids.min() >= 100000 and ids.max() <= 999999
    assert 0.9 * 59650 < len(ids) < 1.1 * 59650          # "devised around 59,650 tiles"
    m17 = np.flatnonzero(ids == 308165)[0]
    corners = unit(np.array([tiles[f"ra_{i}"][m17] for i in (1, 2, 4, 3)]),
                   np.array([tiles[f"dec_{i}"][m17] for i in (1, 2, 4, 3)]))
    assert inside(unit(275.1229661, -16.30448663), corners)  # CRVAL of the real image
    assert tiles["hemis"][m17] == "s"


def test_every_position_on_the_sky_is_in_some_tile(tiles):
    rng = np.random.default_rng(21)
    ra = rng.uniform(0, 360, 3000)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 3000)))
    dec = np.concatenate([dec, [0.0, 5.99, -84.0, 83.9, 89.9, -89.9]])
    ra = np.concatenate([ra, [0.0, 359.999, 180.0, 12.0, 45.0, 300.0]])
    centres = SkyCoord(tiles["ra"] * u.deg, tiles["dec"] * u.deg)
    quads = unit(np.stack([tiles[f"ra_{i}"] for i in (1, 2, 4, 3)], 1),
                 np.stack([tiles[f"dec_{i}"] for i in (1, 2, 4, 3)], 1))
    points = SkyCoord(ra * u.deg, dec * u.deg)
    pairs_p, pairs_t, _, _ = centres.search_around_sky(points, 3.2 * u.deg)
    missing = []
    for k in range(len(ra)):
        candidates = pairs_t[pairs_p == k]
        p = unit(ra[k], dec[k])
        if not any(inside(p, quads[t]) for t in candidates):
            missing.append((ra[k], dec[k]))
    assert missing == []


def test_neighbours_overlap_by_51_arcsec_at_the_equator_most_end_and_more_poleward(tiles):
    for strip_dec in np.unique(tiles["dec"]):
        rows = np.flatnonzero(tiles["dec"] == strip_dec)
        if abs(strip_dec) > 80:
            continue                                      # polar caps: tiles meet at the pole
        lo, hi = tiles["dec_1"][rows[0]], tiles["dec_3"][rows[0]]
        near, far = (lo, hi) if abs(lo) < abs(hi) else (hi, lo)
        a, b = rows[0], rows[1]
        for edge, minimum in ((near, 51.0), (far, 51.0)):
            sep = SkyCoord(tiles["ra"][a], edge, unit="deg").separation(
                SkyCoord(tiles["ra"][b], edge, unit="deg")).arcsec
            assert 8.5 * 60 - sep >= minimum - 0.5, (strip_dec, edge, sep)
        sep_near = SkyCoord(tiles["ra"][a], near, unit="deg").separation(
            SkyCoord(tiles["ra"][b], near, unit="deg")).arcsec
        sep_far = SkyCoord(tiles["ra"][a], far, unit="deg").separation(
            SkyCoord(tiles["ra"][b], far, unit="deg")).arcsec
        assert sep_far < sep_near


def test_adjacent_strips_overlap_by_8_5_arcmin_in_dec(tiles):
    lows = np.unique(tiles["dec_1"])
    highs = np.unique(tiles["dec_3"])
    overlaps = (highs[:-1] - lows[1:]) * 60
    assert np.allclose(overlaps, 8.5)


def test_the_equator_divides_the_facilities(tiles):
    assert set(tiles["hemis"][tiles["dec"] > 0]) == {"n"}
    assert set(tiles["hemis"][tiles["dec"] < 0]) == {"s"}
