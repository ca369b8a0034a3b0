"""The sky area kept up to date by what changed (catscan/operations/area.py): after every
night load, a reprocessing and a dropped scan of the demo survey, and after random changes of
overlapping tiles, the kept unions are the MOCs built from scratch; ``catscan info`` and
``catscan coverage`` give the same area, within an independent computation's bounds."""

from __future__ import annotations

import numpy as np
import pytest
from test_operations_coverage import excess_bound, sampled_area

from catscan import content
from catscan.db import connect, init_database, transaction
from catscan.info import database_info
from catscan.loaders.night import load_night, processing_order
from catscan.loaders.tile_states import update_tiles
from catscan.operations import area, coverage


@pytest.fixture(autouse=True)
def empty_caches():
    content.clear()
    area.forget()
    yield
    content.clear()
    area.forget()


def _kept_equal_scratch(con, fresh_process: bool) -> dict[str, tuple]:
    """The kept unions brought up to date (from this process's sets, or from the files as a
    new process would) against the unions built from scratch; the sets' ids."""
    if fresh_process:
        area.forget()
    tiles = coverage.load_tiles(con)
    kept = area.current_unions(con, tiles)
    scratch = area.from_scratch(con, tiles)
    assert kept.keys() == scratch.keys()
    for name in kept:
        assert kept[name] == scratch[name], name
    return {name: tuple(ids) for name, (ids, _) in area.footprint_sets(con, tiles).items()}


def test_kept_unions_equal_a_build_from_scratch_through_loads_a_reprocessing_and_a_drop(
        demo_db, tmp_path):
    db = tmp_path / "catscan.duckdb"
    init_database(db)
    con = connect(db, read_only=False)
    history = []
    try:
        history.append(_kept_equal_scratch(con, fresh_process=False))
        nights = processing_order([demo_db.parent / "survey"])
        assert any(d.parent.name == "reprocessed" for _, d in nights)
        for step, (_, directory) in enumerate(nights):
            load_night(con, directory)
            history.append(_kept_equal_scratch(con, fresh_process=step % 2 == 1))
        # Quality Review withdraws one scan of the M31 strip, whose neighbours overlap it:
        # the scan unloaded, its tile's state by the loader's rule and an audit row (which
        # every write adds, and which changes the content version)
        [(key,)] = con.execute("SELECT scan_key FROM scans WHERE loaded AND tile = 330628"
                               ).fetchall()
        with transaction(con):
            con.execute("UPDATE scans SET loaded = false WHERE scan_key = ?", [key])
            update_tiles(con, [key])
            con.execute("INSERT INTO loads SELECT * REPLACE (load_id + 1 AS load_id) "
                        "FROM loads WHERE load_id = (SELECT max(load_id) FROM loads)")
        history.append(_kept_equal_scratch(con, fresh_process=True))
        assert len(history[-1]["n.loaded"]) == len(history[-2]["n.loaded"]) - 1
    finally:
        con.close()
    # the sequence made sets both grow and shrink: the refill path ran
    shrank = [name for before, after in zip(history, history[1:], strict=False)
              for name in after if set(before[name]) - set(after[name])]
    assert "n.loaded" in shrank and len(shrank) >= 2


def test_random_joins_and_departures_of_overlapping_tiles(demo_tiles):
    """Two strips of the grid's adjacent, overlapping tiles: random sets in turn, each from the
    previous one, against a build from scratch."""
    rng = np.random.default_rng(19)
    strip = np.flatnonzero((demo_tiles.dec > 35) & (demo_tiles.dec < 47)
                           & (demo_tiles.ra > 9) & (demo_tiles.ra < 13))    # two strips
    assert len(strip) > 40
    ids, corners = demo_tiles.tile[strip].astype(np.int64), demo_tiles.corners[strip]
    kept = None
    for _ in range(5):
        chosen = rng.random(len(strip)) < 0.6
        kept = area.update(kept, ids[chosen], corners[chosen])
        assert kept.moc == area.build(ids[chosen], corners[chosen]).moc
        assert np.array_equal(kept.ids, np.sort(ids[chosen]))


def test_footprint_ids_keep_one_of_each_footprint():
    corners = np.array([[[10, 1], [11, 1], [11, 2], [10, 2]],
                        [[20, 1], [21, 1], [21, 2], [20, 2]],
                        [[10, 1], [11, 1], [11, 2], [10, 2]]], float)
    ids, distinct = area.footprint_ids(corners)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert sorted(map(tuple, distinct[:, 0])) == [(10, 1), (20, 1)]
    again, _ = area.footprint_ids(corners[::-1])
    assert set(again) == set(ids)                      # the id follows the corners


def test_info_and_coverage_give_one_area(demo_db):
    con = connect(demo_db)
    try:
        info = database_info(con, str(demo_db), demo_db.stat().st_size)
        table = coverage.whole_sky_summary(con, coverage.load_tiles(con)).to_pylist()
        quads = con.execute("SELECT ra_1, dec_1, ra_2, dec_2, ra_4, dec_4, ra_3, dec_3 "
                            "FROM scans WHERE loaded").fetchnumpy()
    finally:
        con.close()
    [loaded] = [r for r in table if (r["hemisphere"], r["state"]) == ("all", "loaded")]
    assert info.scan_area_deg2 == loaded["area"]
    assert info.scan_area_depth == loaded["moc_depth"] == area.AREA_DEPTH
    lon = np.stack([quads[f"ra_{i}"] for i in (1, 2, 4, 3)], axis=1)
    lat = np.stack([quads[f"dec_{i}"] for i in (1, 2, 4, 3)], axis=1)
    corners = np.stack([lon, lat], axis=2)
    expected = sampled_area(corners)                   # finer cells' centres in a footprint
    assert expected - 0.01 <= loaded["area"] <= expected + excess_bound(corners,
                                                                         area.AREA_DEPTH)

