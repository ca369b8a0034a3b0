"""Coverage by tile state on the demo survey: tile counts worked out from the plan, areas
against an independent HEALPix computation (cdshealpix cells at a finer depth whose centres
lie in a footprint, by a numpy great-circle test written here)."""

from __future__ import annotations

import math

import cdshealpix.nested as hp
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from mocpy import MOC

from catscan.operations import coverage, projection
from catscan.operations.skymap import Region

SKY = 4 * math.pi * (180 / math.pi) ** 2
SAMPLE_DEPTH = 15                       # 6.4" cells, finer than the MOCs' 12.9"


@pytest.fixture(scope="module")
def tiles(demo_tiles):
    return demo_tiles


@pytest.fixture(scope="module")
def cover(tiles):
    return coverage.compute_coverage(tiles)


def vectors(lon, lat) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def inside_any(points: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Points (n, 3) inside any of the quadrilaterals (m, 4, 2): on the inner side of the
    great circle of each of its four edges."""
    inside = np.zeros(len(points), bool)
    for quad in quads:
        v = vectors(quad[:, 0], quad[:, 1])
        centre = v.sum(axis=0)
        ok = np.ones(len(points), bool)
        for i in range(4):
            normal = np.cross(v[i], v[(i + 1) % 4])
            ok &= points @ (normal * np.sign(normal @ centre)) >= 0
        inside |= ok
    return inside


def sampled_area(quads: np.ndarray, within: np.ndarray | None = None) -> float:
    """Area (deg2) of the union of ``quads`` (inside the quadrilateral ``within``): HEALPix
    cells at SAMPLE_DEPTH whose centres fall inside, times the cell area."""
    search = quads if within is None else within[None]
    cells = np.unique(np.concatenate([
        hp.polygon_search(Longitude(q[:, 0] * u.deg), Latitude(q[:, 1] * u.deg),
                          SAMPLE_DEPTH, flat=True)[0] for q in search]))
    lon, lat = hp.healpix_to_lonlat(cells, SAMPLE_DEPTH)
    points = vectors(lon.deg, lat.deg)
    inside = inside_any(points, quads)
    if within is not None:
        inside &= inside_any(points, within[None])
    return inside.sum() * SKY / (12 * 4**SAMPLE_DEPTH)


def perimeter_deg(quads: np.ndarray) -> float:
    v = vectors(quads[..., 0], quads[..., 1])
    sides = np.einsum("nki,nki->nk", v, np.roll(v, -1, axis=1))
    return float(np.degrees(np.arccos(np.clip(sides, -1, 1))).sum())


def excess_bound(quads: np.ndarray, depth: int) -> float:
    """How much a MOC of cells touching the footprints can exceed their area: at most a
    cell diagonal along every edge."""
    return perimeter_deg(quads) * math.sqrt(2) * coverage.resolution_arcsec(depth) / 3600


def test_tile_counts_per_state_and_hemisphere(tiles, cover):
    # from demo_plan: loaded M31 and its neighbours (scans 8, 9, 10), the rescanned tile
    # (72), 73, the tile north of M31 (74), HCG 7 and its neighbour (64, 65 after
    # reprocessing), the NGP (17), M17 and its neighbour (142, 143); rejected: NGP + 1 (2.5);
    # rescan: M31 + 4 (score 0); observed: scans 76 (-) and 77 (R); processed: the four
    # calibration fields; planned: the rest of the 56,774-tile grid
    expected = {"n": {"loaded": 9, "rejected": 1, "rescan": 1, "observed": 2, "processed": 3},
                "s": {"loaded": 2, "processed": 1}}
    for hemis in ("n", "s"):
        for state in ("loaded", "rejected", "rescan", "observed", "processed"):
            assert cover.counts[(hemis, state)] == expected[hemis].get(state, 0)
    assert cover.counts[("all", "planned")] == 56774 - 15
    assert len(tiles) == 56774 + 4


def test_the_loaded_area_is_the_union_of_the_footprints_on_the_sphere(tiles, cover):
    loaded = tiles.corners[tiles.state == "loaded"]
    expected = sampled_area(loaded)
    area = coverage.area_deg2(cover.states[("all", "loaded")])
    assert cover.depth == 14                      # 19 tiles outside "planned": finest depth
    assert expected - 0.01 <= area <= expected + excess_bound(loaded, cover.depth)
    # not a tile count: the M31 tiles overlap their neighbours
    tile_areas = sum(sampled_area(q[None]) for q in loaded)
    assert expected < tile_areas - 0.05


def test_hemispheres_split_the_loaded_area(cover):
    north = coverage.area_deg2(cover.states[("n", "loaded")])
    south = coverage.area_deg2(cover.states[("s", "loaded")])
    total = coverage.area_deg2(cover.states[("all", "loaded")])
    assert north + south == pytest.approx(total, rel=1e-9)     # M17 is far from the rest
    # a hemisphere's tiles cover it and 4.25' beyond the equator
    beyond = 360 * 180 / math.pi * math.sin(math.radians(4.25 / 60))   # the 4.25' band
    for hemis in ("n", "s"):
        domain = coverage.area_deg2(cover.domains[hemis])
        assert domain == pytest.approx(SKY / 2 + beyond, rel=1e-4)


def test_the_commonest_state_fills_what_the_others_leave(tiles, cover):
    planned = coverage.area_deg2(cover.states[("all", "planned")])
    others = coverage.union([cover.states[("all", s)] for s in coverage.STATES
                             if s != "planned"], cover.depth)
    # the sky is tiled: planned covers at least what no other state covers, and not more
    # than the sky
    assert SKY - coverage.area_deg2(others) <= planned <= SKY
    # and the calibration fields (processed) lie on planned grid tiles
    assert planned > SKY - coverage.area_deg2(others) + 0.3


def test_a_region_against_direct_unions_and_sampling(tiles):
    region = Region(10.68479, 41.26906, 2.0)
    corners = region.corners_icrs()
    cover = coverage.compute_coverage(tiles, region=corners)
    near = projection.overlapping(tiles.corners, corners)
    region_moc = MOC.from_polygon(corners[:, 0] * u.deg, corners[:, 1] * u.deg,
                                  max_depth=cover.depth)
    for state in ("planned", "loaded", "rescan", "observed"):
        quads = tiles.corners[near & (tiles.state == state)]
        area = coverage.area_deg2(cover.states[("all", state)])
        # the commonest state (planned) is built from the complement: the same as its
        # tiles' union, to the resolution
        direct = coverage.area_deg2(coverage.polygons_moc(quads, cover.depth)
                                    .intersection(region_moc))
        assert area == pytest.approx(direct, rel=0.01, abs=0.005), state
        expected = sampled_area(quads, corners)
        bound = excess_bound(np.concatenate([quads, corners[None]]), cover.depth)
        assert expected - 0.005 <= area <= expected + bound, state
    region_area = coverage.area_deg2(cover.domains["all"])
    assert region_area == pytest.approx(sampled_area(corners[None]), rel=0.01)
    rows = {(r["hemisphere"], r["state"]): r for r in coverage.coverage_table(cover)
            .to_pylist()}
    loaded = rows[("all", "loaded")]
    assert loaded["percent"] == pytest.approx(100 * loaded["area"] / region_area)
    assert rows[("s", "loaded")]["domain_area"] == 0 and rows[("s", "loaded")]["percent"] is None


def test_the_table_has_every_hemisphere_and_state(cover):
    table = coverage.coverage_table(cover)
    assert table.num_rows == 3 * 6
    rows = table.to_pylist()
    assert [(r["hemisphere"], r["state"]) for r in rows[:7]] == \
        [("all", s) for s in coverage.STATES] + [("n", "planned")]
    loaded = next(r for r in rows if (r["hemisphere"], r["state"]) == ("all", "loaded"))
    assert loaded["sky_percent"] == pytest.approx(100 * loaded["area"] / SKY)
    assert table.schema.field("area").metadata[b"unit"] == b"deg2"


def test_depth_follows_the_work():
    assert [coverage.choose_depth(n) for n in (19, 300, 301, 5000, 20001)] == \
        [14, 14, 13, 12, 10]
    assert coverage.resolution_arcsec(14) == pytest.approx(12.9, abs=0.05)
