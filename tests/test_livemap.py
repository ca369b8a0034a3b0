"""The all-sky map kept beside the database (catscan/operations/livemap.py, catscan/kept.py):
brought up to date by what changed, it is always the PNG a fresh render gives
(skymap.allsky_map), byte for byte: after random changes of tile states (the map's edge and
the poles included), tiles that join or leave, a night loaded through a running server; a
kept file that is corrupt, missing or of another shape is drawn again, never an error."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from catscan import content, kept
from catscan.db import connect, init_database, transaction
from catscan.operations import area, coverage, livemap, skymap
from catscan.operations.coverage import STATES, load_tiles

WIDTH = 600                     # small maps: the same code, less drawing


@pytest.fixture(autouse=True)
def empty_caches():
    content.clear()
    kept.forget()
    yield
    content.clear()
    kept.forget()


@pytest.fixture
def db(tmp_path):
    """A database holding the tile grid (56,774 tiles, all planned), as a first load
    leaves it."""
    from catscan.loaders.tile_states import ensure_tiles

    path = tmp_path / "catscan.duckdb"
    init_database(path)
    con = connect(path, read_only=False)
    try:
        with transaction(con):
            ensure_tiles(con)
    finally:
        con.close()
    return path


def fresh_png(con, tmp_path, frame: str = "equatorial", title: str = "") -> bytes:
    path = tmp_path / "fresh.png"
    skymap.allsky_map(load_tiles(con), path, width=WIDTH, frame=frame, title=title)
    return path.read_bytes()


def fresh_drawn(con, frame: str = "equatorial") -> np.ndarray:
    """The tiles drawn from scratch (what the kept map keeps), independently of livemap."""
    tiles = load_tiles(con)
    layout = skymap.allsky_layout(WIDTH)
    image = skymap.blank_allsky(layout)
    skymap.draw_tiles(image, tiles.state, skymap.tile_outlines(tiles.corners, layout, frame, 4))
    return np.asarray(image)


def set_states(con, tiles, rng) -> None:
    """A night's worth of changes: a run of 20 adjacent tiles and 12 tiles anywhere, four of
    them at the map's edge (RA 180, drawn on both sides) or a pole, each put in a random
    state other than its own."""
    edge = np.flatnonzero((np.abs(tiles.ra - 180) < 3) | (np.abs(tiles.dec) > 85))
    start = rng.integers(len(tiles) - 20)
    chosen = np.unique(np.concatenate([np.arange(start, start + 20),
                                       rng.choice(len(tiles), 8), rng.choice(edge, 4)]))
    for i in chosen:
        state = rng.choice([s for s in STATES if s != tiles.state[i]])
        con.execute("UPDATE tiles SET status = ? WHERE tile = ?", [state, int(tiles.tile[i])])


@pytest.mark.parametrize("frame", ["equatorial", "galactic"])
def test_the_kept_map_follows_random_changes_as_a_fresh_render(db, tmp_path, frame):
    rng = np.random.default_rng(19)
    con = connect(db, read_only=False)
    try:
        tiles = load_tiles(con)
        first = livemap.current_map(con, width=WIDTH, frame=frame)
        assert first.png == fresh_png(con, tmp_path, frame)
        layout = skymap.allsky_layout(WIDTH)
        for step in range(4):
            set_states(con, tiles, rng)
            tiles = load_tiles(con)
            before = livemap.recall(db, WIDTH, frame, 4)
            # the tiles drawn again into the kept drawing give a fresh drawing's pixels
            redrawn = livemap.redrawn(before, tiles, livemap.state_codes(tiles), layout,
                                      frame, 4)
            assert redrawn is not None
            assert np.array_equal(redrawn[0], fresh_drawn(con, frame))
            if step % 2:
                kept.forget()                   # a new process: the state from the file
            now = livemap.current_map(con, width=WIDTH, frame=frame)
            assert now.png == fresh_png(con, tmp_path, frame)
            assert now.png != first.png
            first = now
    finally:
        con.close()


def test_tiles_that_join_leave_or_move_and_a_new_title(db, tmp_path):
    con = connect(db, read_only=False)
    try:
        livemap.current_map(con, width=WIDTH)
        # a tile leaves, a calibration field joins (loaded), another tile's corners move
        con.execute("DELETE FROM tiles WHERE tile = (SELECT min(tile) FROM tiles "
                    "WHERE tile >= 100000 AND abs(ra - 180) < 2)")
        con.execute("INSERT INTO tiles SELECT * REPLACE (90123 AS tile, 'loaded' AS status) "
                    "FROM tiles WHERE tile = (SELECT max(tile) FROM tiles)")
        con.execute("UPDATE tiles SET ra_1 = ra_1 + 0.5, ra_3 = ra_3 + 0.5, status = 'rejected'"
                    " WHERE tile = (SELECT min(tile) FROM tiles WHERE tile >= 100000 "
                    "AND dec > 40)")
        kept.forget()
        assert livemap.current_map(con, width=WIDTH).png == fresh_png(con, tmp_path)
        assert livemap.current_map(con, width=WIDTH, title="T").png == \
            fresh_png(con, tmp_path, title="T")
    finally:
        con.close()


def test_a_corrupt_missing_or_foreign_kept_file_is_drawn_again(db, tmp_path):
    con = connect(db, read_only=False)
    try:
        livemap.current_map(con, width=WIDTH)
        con.execute("UPDATE tiles SET status = 'loaded' WHERE tile % 97 = 0")
        expected = fresh_png(con, tmp_path)
        name = f"map.equatorial.{WIDTH}.4"
        stored = kept.folder(db) / f"{name}.npz"
        good = stored.read_bytes()
        for damage in (lambda: stored.write_bytes(good[: len(good) // 2]),     # truncated
                       lambda: stored.write_bytes(b"not a zip file"),
                       lambda: stored.unlink(),
                       lambda: shutil.copy(kept.folder(db) / "other.npz", stored)):
            livemap.current_map(con, width=800)                 # a map of another width
            shutil.copy(kept.folder(db) / "map.equatorial.800.4.npz",
                        kept.folder(db) / "other.npz")
            damage()
            kept.forget()
            assert livemap.current_map(con, width=WIDTH).png == expected
            stored.write_bytes(good)
    finally:
        con.close()


def test_the_area_sets_are_kept_in_the_same_place_and_rebuilt_when_damaged(db, demo_db):
    """area.py keeps its unions through catscan/kept.py too: a set whose files are damaged
    (the npz cut short, the FITS MOC it names gone) is built again, equal to a build from
    scratch."""
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        tiles = coverage.load_tiles(con)
        area.current_unions(con, tiles)
        folder = kept.folder(db)
        assert (folder / "area.n.loaded.npz").exists()
        assert list((folder / "area.n.loaded.files").glob("*.moc.fits"))
        stored = folder / "area.n.loaded.npz"
        stored.write_bytes(stored.read_bytes()[:100])
        for fits in (folder / "area.s.loaded.files").glob("*"):
            fits.unlink()
        content.clear()
        kept.forget()
        again = area.current_unions(con, tiles)
        scratch = area.from_scratch(con, tiles)
        assert all(again[name] == scratch[name] for name in scratch)
    finally:
        con.close()


def test_a_night_loaded_through_the_server_is_on_its_next_map(demo_db, tmp_path):
    """``catscan serve`` (its own process), a night loaded through it: the next map it
    serves is a fresh render of the loaded database, the map kept beside the database holds
    the new tile states, and a server started afterwards serves it from there, unchanged."""
    import subprocess
    import sys

    import httpx

    from catscan.loaders.night import load_nights, processing_order
    from catscan.web.survey_pages import MAP_TITLE, MAP_WIDTH

    from webserver import serve_process

    nights = [d for _, d in processing_order([demo_db.parent / "survey"])
              if d.parent.name != "reprocessed"]
    held = nights[-1]
    db = tmp_path / "served" / "catscan.duckdb"
    db.parent.mkdir()
    init_database(db)
    con = connect(db, read_only=False)
    try:
        load_nights(con, nights[:-1])
    finally:
        con.close()
    with serve_process(db) as (_, url):
        before = httpx.get(f"{url}/coverage.png", timeout=120).content
        done = subprocess.run([sys.executable, "-m", "catscan.cli", "load", "night", str(held),
                               "--db", str(db)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        after = httpx.get(f"{url}/coverage.png", timeout=120).content
    con = connect(db)
    try:
        path = tmp_path / "fresh.png"
        tiles = load_tiles(con)
        skymap.allsky_map(tiles, path, width=MAP_WIDTH, title=MAP_TITLE)
        fresh = path.read_bytes()
    finally:
        con.close()
    assert after == fresh
    assert after != before                                  # the night changed tiles
    kept_map = livemap.recall(db, MAP_WIDTH, "equatorial", 4)
    assert np.array_equal(kept_map.states, livemap.state_codes(tiles))
    assert kept_map.png == fresh
    with serve_process(db) as (_, url):
        assert httpx.get(f"{url}/coverage.png", timeout=120).content == fresh
