"""``catscan findtile`` on the loaded demo survey: the tiles holding a position, their states,
quality and scans, checked against the scans and sources in the database, an independent
containment test and astropy; positions from arguments and files; csv/json/text output."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from catscan.cli import main
from catscan.db import connect, init_database
from catscan.errors import CatscanError, LoadError
from catscan.findtile import (
    ROW_COLUMNS,
    Position,
    Scan,
    find_tiles,
    pair_arguments,
    parse_positions,
    read_position_file,
    result_rows,
    tile_quality,
)
from catscan.positions import PositionError

SCAN_FIELDS = ("scan_key", "date", "hemis", "scan", "scan_type", "status", "qa_score", "loaded",
               "load_reason", "version")


@pytest.fixture(scope="module")
def survey_db(demo_db) -> Path:
    """The demo survey (no images) generated and loaded night by night (conftest)."""
    return demo_db


@pytest.fixture
def ro(survey_db):
    """A read-only connection. Not open while the CLI runs: a second connection to the same
    file in one process fails to register the UDFs (udfs.register)."""
    con = connect(survey_db)
    yield con
    con.close()


@contextmanager
def opened(path: Path):
    con = connect(path)
    try:
        yield con
    finally:
        con.close()


def at(ra: float, dec: float, text: str | None = None, index: int = 1) -> Position:
    return Position(index, text or f"{ra} {dec}", ra, dec)


def unit(ra, dec) -> np.ndarray:
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)


def inside(point, corners) -> bool:
    """Point inside a convex spherical quadrilateral (corners in order around it): on the
    same side of every great-circle edge; written apart from catscan.spatial."""
    sides = [np.dot(point, np.cross(a, b)) for a, b in zip(corners, np.roll(corners, -1, 0),
                                                          strict=True)]
    return all(s >= 0 for s in sides) or all(s <= 0 for s in sides)


def tiles_holding(con, ra: float, dec: float) -> set[int]:
    """Every tile of the table holding (ra, dec), by astropy distance and the test above."""
    rows = con.execute("SELECT tile, ra, dec, ra_1, dec_1, ra_2, dec_2, ra_4, dec_4, ra_3, "
                       "dec_3 FROM tiles").fetchnumpy()
    near = SkyCoord(rows["ra"] * u.deg, rows["dec"] * u.deg).separation(
        SkyCoord(ra * u.deg, dec * u.deg)) < 4 * u.deg
    point = unit(ra, dec)
    found = set()
    for k in np.flatnonzero(near):
        corners = unit(np.array([rows[f"ra_{i}"][k] for i in (1, 2, 4, 3)]),
                       np.array([rows[f"dec_{i}"][k] for i in (1, 2, 4, 3)]))
        if inside(point, corners):
            found.add(int(rows["tile"][k]))
    return found


def scans_of(con, tile: int) -> list[tuple]:
    return con.execute(f"SELECT {', '.join(SCAN_FIELDS)} FROM scans WHERE tile = ? "
                       "ORDER BY date, hemis, scan", [tile]).fetchall()


def listed(tile) -> list[tuple]:
    return [tuple(getattr(s, f) for f in SCAN_FIELDS) for s in tile.scans]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["findtile", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_loaded_source_is_found_in_the_tile_of_its_scan(ro):
    sources = ro.execute(
        "SELECT p.ra, p.dec, s.tile FROM psc p JOIN scans s USING (scan_key) "
        "QUALIFY row_number() OVER (PARTITION BY p.scan_key ORDER BY hash(p.pts_key)) <= 4"
    ).fetchall()
    assert len(sources) == 4 * ro.execute("SELECT count(*) FROM scans WHERE loaded").fetchone()[0]
    results = find_tiles(ro, [at(ra, dec, index=i) for i, (ra, dec, _) in enumerate(sources, 1)])
    for (ra, dec, tile), result in zip(sources, results, strict=True):
        found = [t.tile for t in result.tiles]
        assert tile in found
        assert set(found) == tiles_holding(ro, ra, dec)
        mine = next(t for t in result.tiles if t.tile == tile)
        assert mine.state == "loaded" and mine.observed and any(s.loaded for s in mine.scans)


def test_the_scans_listed_are_the_scans_of_the_tile_in_the_database(ro):
    centres = ro.execute("SELECT tile, ra, dec, status FROM tiles WHERE scans > 0 "
                         "ORDER BY tile").fetchall()
    assert len(centres) > 15
    results = find_tiles(ro, [at(ra, dec) for _, ra, dec, _ in centres])
    entries = {}
    for (tile, ra, dec, state), result in zip(centres, results, strict=True):
        entry = entries[tile] = next(t for t in result.tiles if t.tile == tile)
        assert listed(entry) == scans_of(ro, tile)
        assert (entry.state, entry.ra, entry.dec) == (state, ra, dec)
        assert entry.observed
    # the tile rejected in 971024n and loaded in 981123n lists both scans, in date order
    assert [(s.date.isoformat(), s.scan, s.loaded, s.version) for s in entries[330630].scans] \
        == [("1997-10-24", 11, False, "2.0x"), ("1998-11-23", 72, True, "2.1")]
    # the scan failing processing, the one not processed and the one still running
    assert [s.status for s in entries[330631].scans] == ["F", "P"]
    assert [s.status for s in entries[330633].scans] == ["-"]
    assert [s.status for s in entries[330634].scans] == ["R"]


def test_a_position_in_the_overlap_of_two_tiles_lists_both(ro):
    (ra1, dec1), (ra2, dec2) = ro.execute(
        "SELECT ra, dec FROM tiles WHERE tile IN (330630, 330631) ORDER BY tile").fetchall()
    middle = ((ra1 + ra2) / 2, (dec1 + dec2) / 2)          # neighbours in RA overlap
    # and across strips: M31's tile (Dec 36-42) and the one north of it (42-48) overlap
    ra, north_end = ro.execute("SELECT ra, dec_3 FROM tiles WHERE tile = 330628").fetchone()
    across = (ra + 0.05, north_end - 1 / 60)
    first, second = find_tiles(ro, [at(*middle), at(*across)])
    assert {t.tile for t in first.tiles} == {330630, 330631} == tiles_holding(ro, *middle)
    assert [t.state for t in first.tiles] == ["loaded", "loaded"]
    assert {t.tile for t in second.tiles} == {330628, 332910} == tiles_holding(ro, *across)
    assert all(listed(t) == scans_of(ro, t.tile) for t in first.tiles + second.tiles)


def test_a_calibration_field_is_listed_with_the_survey_tiles_it_overlaps(ro):
    ra, dec = ro.execute("SELECT ra, dec FROM tiles WHERE tile = 90201").fetchone()
    result = find_tiles(ro, [at(ra, dec + 0.2)])[0]
    found = {t.tile: t for t in result.tiles}
    assert set(found) == tiles_holding(ro, ra, dec + 0.2)
    assert 90201 in found and len(found) > 1
    field = found[90201]
    assert field.calibration and field.observed and field.state == "processed"
    assert listed(field) == scans_of(ro, 90201)
    assert {s.scan_type for s in field.scans} == {"cal"}
    assert field.quality is None and field.quality_scan is None      # never scored
    assert all(not t.calibration for k, t in found.items() if k != 90201)


def test_a_tile_never_observed_is_planned_without_scans_or_quality(ro):
    result = find_tiles(ro, [at(0.0, 0.0)])[0]
    assert {t.tile for t in result.tiles} == tiles_holding(ro, 0.0, 0.0)
    assert len(result.tiles) == 4               # a corner shared by two strips and RA 0/360
    for tile in result.tiles:
        assert tile.state == "planned" and not tile.observed
        assert tile.scans == [] and tile.quality is None


def test_the_tile_quality_is_the_score_of_the_scan_deciding_its_state(ro):
    """docs/tiles.md: loaded -> the best loaded scan (latest on ties); rescan -> the latest
    scored scan (0); rejected -> the best scored scan; otherwise none. Computed here by SQL
    straight from the scans."""
    expected = dict(ro.execute("""
        SELECT tile,
            CASE t.status
                WHEN 'loaded' THEN max(s.qa_score) FILTER (WHERE s.loaded)
                WHEN 'rescan' THEN arg_max(s.qa_score, s.jdate) FILTER (WHERE s.qa_score
                                                                         IS NOT NULL)
                WHEN 'rejected' THEN max(s.qa_score)
            END
        FROM tiles t JOIN scans s USING (tile) GROUP BY tile, t.status""").fetchall())
    centres = ro.execute("SELECT tile, ra, dec FROM tiles WHERE scans > 0 ORDER BY tile"
                         ).fetchall()
    results = find_tiles(ro, [at(ra, dec) for _, ra, dec in centres])
    states = {}
    for (tile, _, _), result in zip(centres, results, strict=True):
        entry = next(t for t in result.tiles if t.tile == tile)
        states[tile] = (entry.state, entry.quality)
        assert entry.quality == expected[tile], tile
        if entry.quality is not None:
            assert entry.quality_scan in entry.scans
            assert entry.quality_scan.qa_score == entry.quality
            assert entry.quality_scan.loaded == (entry.state == "loaded")
    # the demo's story (docs/sample_survey.md): the rejected-then-loaded M31 neighbour takes
    # its 1998 scan's 10, not the 2.1 of 1997; the rescan request gives 0; the scan turned
    # down in 970521n leaves its tile rejected with 2.5; the reprocessed HCG 7 scan gives 4.5
    assert states[330630] == ("loaded", 10.0)
    assert states[330632] == ("rescan", 0.0)
    assert states[326916] == ("rejected", 2.5)
    assert states[314528] == ("loaded", 4.5)
    assert states[330633] == ("observed", None) and states[330634] == ("observed", None)


def scan(key: int, qa: float | None, loaded: bool, jdate: float) -> Scan:
    import datetime as dt

    return Scan(key, dt.date(1998, 1, 1), "n", key, "sci", "P", qa, loaded, None, "2.1", jdate)


def test_tile_quality_rules_on_scan_histories():
    a, b, c = scan(1, 8.0, True, 1.0), scan(2, 8.0, True, 2.0), scan(3, 9.0, False, 3.0)
    assert tile_quality("loaded", [a, b, c]) == (8.0, b)             # latest of the best loaded
    assert tile_quality("loaded", [a, b, c], chosen_scan_key=1) == (8.0, a)  # the table's pick
    low, zero = scan(4, 2.5, False, 1.0), scan(5, 0.0, False, 2.0)
    assert tile_quality("rescan", [low, zero]) == (0.0, zero)
    later_low = scan(6, 2.0, False, 3.0)
    assert tile_quality("rejected", [low, zero, later_low]) == (2.5, low)
    assert tile_quality("processed", [scan(7, None, False, 1.0)]) == (None, None)
    assert tile_quality("planned", []) == (None, None)


def test_positions_in_every_notation_give_the_same_tiles(ro, tmp_path):
    m31 = SkyCoord("00h42m44.3s +41d16m09s")
    lines = ["# M31 in three notations, then its Galactic l b", "",
             "00:42:44.3 +41:16:09", "  00h42m44.3s +41d16m09s   # with a comment",
             f"{m31.ra.deg:.7f}, {m31.dec.deg:+.7f}"]
    path = tmp_path / "m31.txt"
    path.write_text("\n".join(lines) + "\n")
    positions = read_position_file(path)
    assert [p.index for p in positions] == [1, 2, 3]
    assert positions[0].text == "00:42:44.3 +41:16:09"
    for p in positions:
        assert SkyCoord(p.ra * u.deg, p.dec * u.deg).separation(m31) < 1e-3 * u.arcsec
    gal = m31.galactic
    [galactic] = parse_positions([f"{gal.l.deg:.8f}", f"{gal.b.deg:+.8f}"], frame="galactic")
    assert SkyCoord(galactic.ra * u.deg, galactic.dec * u.deg).separation(m31) < 1 * u.mas
    results = find_tiles(ro, [*positions, galactic])
    assert {tuple(t.tile for t in r.tiles) for r in results} == {(330628,)}


def test_arguments_pair_up_unless_one_holds_a_whole_position():
    assert pair_arguments(["10.68", "+41.27", "00:42:44.3 +41:16:09", "1,2", "18:20:27.1",
                           "-16:18:16"]) == ["10.68 +41.27", "00:42:44.3 +41:16:09", "1,2",
                                             "18:20:27.1 -16:18:16"]
    with pytest.raises(PositionError, match=r"the RA '10.68' has no Dec"):
        pair_arguments(["10.68"])
    with pytest.raises(PositionError, match=r"the RA '10.68' has no Dec"):
        pair_arguments(["10.68", "00:42:44.3 +41:16:09", "41.27"])
    with pytest.raises(PositionError, match=r"the l '121' has no b"):
        pair_arguments(["121"], frame="galactic")
    args_then_file = parse_positions(["1", "2"], None)
    assert [(p.index, p.text, p.ra, p.dec) for p in args_then_file] == [(1, "1 2", 1.0, 2.0)]


def test_bad_positions_and_bad_file_lines_are_clear_errors(survey_db, tmp_path, capsys):
    db = str(survey_db)
    code, out, err = run(capsys, "--db", db, "10.68", "abc")
    assert code == 1 and out == ""
    assert err.startswith("catscan: error: cannot read the position 10.68 abc")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "--db", db, "1", "2", "10.68", "95")
    assert code == 1 and "position 2: cannot read the position 10.68 95" in err
    code, _, err = run(capsys, "--db", db, "1", "2", "3")
    assert code == 1 and "the RA '3' has no Dec" in err
    bad = tmp_path / "list.txt"
    bad.write_text("# list\n10.68 41.27\n\n00:42:44.3 +41:16:09\n00:42:44.3 +41:16:09 extra\n")
    code, _, err = run(capsys, "--db", db, "--file", str(bad))
    assert code == 1
    assert err.startswith(f"catscan: error: {bad}:5: cannot read the position")
    with pytest.raises(LoadError) as caught:
        read_position_file(bad)
    assert (caught.value.path, caught.value.line) == (str(bad), 5)
    code, _, err = run(capsys, "--db", db, "--file", str(tmp_path / "absent.txt"))
    assert code == 1 and "cannot read the position file" in err and "absent.txt" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    code, _, err = run(capsys, "--db", db, "--file", str(empty))
    assert code == 1 and f"{empty}: no positions" in err
    code, _, err = run(capsys, "--db", db)
    assert code == 1 and "no position" in err
    with pytest.raises(CatscanError):
        parse_positions([], None)


def test_csv_has_one_row_per_position_tile_and_scan(survey_db, tmp_path, capsys):
    path = tmp_path / "more.txt"
    path.write_text("0 0\n")
    args = ["10.68479", "+41.26906", "00:42:44.3 +41:16:09", "18:20:27.1", "-16:18:16"]
    code, out, err = run(capsys, "--db", str(survey_db), "--format", "csv", *args,
                         "--file", str(path))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == ROW_COLUMNS
    positions = parse_positions(args, path)
    assert [p.text for p in positions] == ["10.68479 +41.26906", "00:42:44.3 +41:16:09",
                                           "18:20:27.1 -16:18:16", "0 0"]
    expected = []
    with opened(survey_db) as con:
        for p in positions:
            for tile in sorted(tiles_holding(con, p.ra, p.dec)):
                expected += [(str(p.index), p.text, str(tile), str(s[0]))
                             for s in scans_of(con, tile)] \
                    or [(str(p.index), p.text, str(tile), "")]
    assert [(r["index"], r["input"], r["tile"], r["scan_key"]) for r in rows] == expected
    m17 = [r for r in rows if r["index"] == "3"]
    assert [(r["tile"], r["tile_state"], r["date"], r["hemis"], r["scan"], r["status"],
             r["qa_score"], r["loaded"], r["version"], r["tile_quality"], r["quality_scan"])
            for r in m17] == [("308165", "loaded", "1999-05-02", "s", "142", "P", "8.0", "true",
                               "2.1", "8.0", "true")]
    assert float(m17[0]["ra"]) == pytest.approx(SkyCoord("18h20m27.1s -16d18m16s").ra.deg)
    planned = [r for r in rows if r["index"] == "4"]
    assert {(r["tile_state"], r["observed"], r["scan_key"]) for r in planned} == \
        {("planned", "false", "")}


def test_json_rows_equal_the_csv_rows_with_types(survey_db, capsys):
    args = ["--db", str(survey_db), "11.0", "39", "15", "30.2"]
    _, out_json, _ = run(capsys, *args, "--format", "json")
    _, out_csv, _ = run(capsys, *args, "--format", "csv")
    rows = json.loads(out_json)
    with opened(survey_db) as con:
        found = find_tiles(con, parse_positions(["11.0", "39", "15", "30.2"]))
    assert rows == result_rows(found)
    flat = list(csv.DictReader(io.StringIO(out_csv)))
    assert len(rows) == len(flat)
    for typed, text in zip(rows, flat, strict=True):
        for column in ROW_COLUMNS:
            value = typed[column]
            as_text = "" if value is None else ("true" if value is True else "false"
                                               if value is False else str(value))
            assert as_text == text[column], column


def test_text_names_each_tile_with_its_state_quality_and_scans(survey_db, capsys):
    code, out, _ = run(capsys, "--db", str(survey_db), "11.0 39", "15", "30.2")
    assert code == 0
    assert "1. 11.0 39: RA 11.000000 Dec +39.000000 (ICRS)" in out
    assert "tile 330630: loaded, quality 10 from 1998-11-23 n scan 72" in out
    assert "QA score 2.1 <= 3: too low" in out           # the 1997 scan turned down
    assert "calibration field 90201: processed, no quality yet" in out
    assert "planned, not observed yet" in out


def test_a_database_without_tiles_says_so(tmp_path, capsys):
    db = tmp_path / "bare.duckdb"
    init_database(db)                    # the schema only: `catscan init` lays out the grid
    code, out, _ = run(capsys, "--db", str(db), "10", "20")
    assert code == 0
    assert "in no tile (the tiles table is empty: run `catscan init`" in out
    code, out, _ = run(capsys, "--db", str(db), "10", "20", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["index"], row["input"], row["tile"]) == ("1", "10 20", "")
