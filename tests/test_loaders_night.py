"""``catscan load night``: the Quality Review gate, whole nights or nothing, reprocessing,
idempotent reloads, tile states and keys consistent across tables, on generated deliveries.

Expectations are read from the deliveries themselves (their scan tables and source files),
never copied from a previous run.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from catscan.errors import LoadError
from catscan.loaders import delivery
from catscan.loaders.night import load_night, load_nights
from catscan.survey.generate import generate

from conftest import database_checksums


@pytest.fixture(scope="session")
def survey(tmp_path_factory) -> Path:
    """The demo survey without images (images have their own tests)."""
    out = tmp_path_factory.mktemp("survey")
    generate(out, scale="demo", seed=1, image_scans=0)
    return out


@pytest.fixture
def nights(survey, tmp_path) -> Path:
    """A private copy of the deliveries, free to damage."""
    copy = tmp_path / "deliveries"
    shutil.copytree(survey, copy)
    return copy


def scan_table(path: Path) -> list[dict]:
    """The scan table of a delivery as dicts of strings, read without catscan's loader."""
    names = ["scan_key", "hemis", "date", "scan", "tile", "scan_type", "direction", "ra", "dec",
             "glon", "glat", *[f"{c}_{i}" for i in range(1, 5) for c in ("ra", "dec")],
             "jdate", "j_zp_ap", "h_zp_ap", "k_zp_ap", "seeing", "j_back", "h_back", "k_back",
             "status", "qa_base", "qa_phot", "qa_sens", "qa_score", "version"]
    rows = []
    for line in (path / delivery.SCANS).read_text().splitlines():
        values = [None if v == "\\N" else v for v in line.split("|")]
        rows.append(dict(zip(names, values, strict=True)))
    return rows


def lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return handle.read().splitlines()


def passes(row: dict, min_score: float = 3.0) -> bool:
    return row["scan_type"] == "sci" and row["status"] == "P" \
        and float(row["qa_score"]) > min_score


def test_the_gate_loads_only_processed_survey_scans_scoring_above_the_minimum(con, survey):
    night = survey / "971024n"
    result = load_night(con, night)
    rows = scan_table(night)
    loaded = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT scan, loaded, load_reason FROM scans").fetchall()}
    assert set(loaded) == {int(r["scan"]) for r in rows}        # every scan is recorded
    for row in rows:
        assert loaded[int(row["scan"])][0] == passes(row), row
    expected_sources = sum(len(lines(night / delivery.psc_file(int(r["scan"]))))
                           for r in rows if passes(r))
    assert result.psc_rows == expected_sources == \
        con.execute("SELECT count(*) FROM psc").fetchone()[0]
    # sources only from the loaded scans
    assert con.execute("SELECT count(*) FROM psc JOIN scans USING (scan_key) "
                       "WHERE NOT scans.loaded").fetchone()[0] == 0


@pytest.mark.parametrize(("night", "status", "score", "reason"), [
    ("971024n", "F", None, "processing failed"),
    ("981123n", "R", None, "processing still running"),
    ("981123n", "-", None, "not processed"),
    ("981123n", "P", 0.0, "rescan requested"),
    ("971024n", "P", 2.1, "too low"),
    ("970521n", "P", 2.5, "too low"),
])
def test_each_reject_reason_is_recorded(con, survey, night, status, score, reason):
    load_night(con, survey / night)
    row = next(r for r in scan_table(survey / night) if r["status"] == status
               and r["scan_type"] == "sci"
               and (score is None or float(r["qa_score"]) == score))
    loaded, why = con.execute("SELECT loaded, load_reason FROM scans WHERE scan_key = ?",
                              [int(row["scan_key"])]).fetchone()
    assert not loaded and reason in why


def test_calibration_scans_are_recorded_but_bring_no_sources(con, survey):
    load_night(con, survey / "971024n")
    cal = con.execute("SELECT count(*), bool_or(loaded) FROM scans WHERE scan_type = 'cal'"
                      ).fetchone()
    assert cal[0] == sum(r["scan_type"] == "cal" for r in scan_table(survey / "971024n"))
    assert cal[1] is False


def test_min_score_moves_the_threshold(con, survey):
    night = survey / "971024n"
    load_night(con, night, min_score=8.0)
    for row in scan_table(night):
        loaded = con.execute("SELECT loaded FROM scans WHERE scan_key = ?",
                             [int(row["scan_key"])]).fetchone()[0]
        assert loaded == passes(row, 8.0)


def test_tile_states_follow_their_scans(con, survey):
    load_nights(con, [survey])
    state = dict(con.execute("SELECT tile, status FROM tiles").fetchall())
    scans = con.execute("SELECT tile, loaded, status, qa_score, jdate FROM scans "
                        "WHERE scan_type = 'sci'").fetchall()
    by_tile: dict[int, list] = {}
    for tile, loaded, status, score, jdate in scans:
        by_tile.setdefault(tile, []).append((loaded, status, score, jdate))
    for tile, rows in by_tile.items():
        scored = sorted((r for r in rows if r[2] is not None), key=lambda r: r[3])
        if any(r[0] for r in rows):
            expected = "loaded"
        elif scored and scored[-1][2] == 0:
            expected = "rescan"
        elif scored:
            expected = "rejected"
        else:
            expected = "observed"
        assert state[tile] == expected, (tile, rows)
    # a tile rejected one night and rescanned successfully later is loaded
    assert {"loaded", "rescan", "rejected", "observed"} <= set(state.values())
    assert list(state.values()).count("planned") > 50_000


def test_a_bad_line_rejects_the_scan_and_changes_nothing(con, nights):
    night = nights / "971024n"
    load_night(con, nights / "970521n")
    before = database_checksums(con)
    bad_scan = next(int(r["scan"]) for r in scan_table(night) if passes(r))
    path = night / delivery.psc_file(bad_scan)
    text = lines(path)
    fields = text[4].split("|")
    fields[1] = "95.5"                       # dec out of range
    text[4] = "|".join(fields)
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(text) + "\n")
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert f"{path}:5: column dec" in str(error.value)
    assert "--skip-bad-scans" in str(error.value)
    assert database_checksums(con) == before


def test_skip_bad_scans_loads_the_others_and_records_the_bad_one(con, nights):
    night = nights / "971024n"
    rows = [r for r in scan_table(night) if passes(r)]
    bad = int(rows[0]["scan"])
    path = night / delivery.psc_file(bad)
    text = lines(path)
    text[9] = text[9] + "|extra"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(text) + "\n")
    result = load_night(con, night, skip_bad_scans=True)
    assert [e.line for e in result.bad_scans] == [10]
    loaded, reason = con.execute("SELECT loaded, load_reason FROM scans WHERE scan = ?",
                                 [bad]).fetchone()
    assert not loaded and f"{path}:10" in reason
    good = sum(len(lines(night / delivery.psc_file(int(r["scan"])))) for r in rows[1:])
    assert con.execute("SELECT count(*) FROM psc").fetchone()[0] == good
    assert con.execute("SELECT outcome FROM processing_history").fetchone()[0] == "partial"


def test_rows_of_another_scan_are_rejected(con, nights):
    night = nights / "971024n"
    first, second = [int(r["scan"]) for r in scan_table(night) if passes(r)][:2]
    a, b = night / delivery.psc_file(first), night / delivery.psc_file(second)
    a_lines = lines(a)
    with gzip.open(a, "wt") as handle:
        handle.write("\n".join([*a_lines, lines(b)[0]]) + "\n")
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert f"{a}:{len(a_lines) + 1}: column scan_key" in str(error.value)
    assert con.execute("SELECT count(*) FROM scans").fetchone()[0] == 0


def write_lines(path: Path, text: list[str]) -> None:
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(text) + "\n")


# 0-based fields of scan_key, coadd_key and coadd in the release line formats
KEY_FIELDS = {"psc": (57, 58, 59), "xsc": (361, 362, 366)}


@pytest.mark.parametrize("catalog", ["psc", "xsc"])
def test_a_coadd_key_off_the_delivery_rule_rejects_the_scan(con, nights, catalog):
    """coadd_key = 1000 × scan_key + coadd in a delivery (docs/delivery_format.md): one row
    off by one is refused at its line and column, and nothing is loaded."""
    night = nights / "971024n"
    file_of = delivery.psc_file if catalog == "psc" else delivery.xsc_file
    path = next(night / file_of(int(r["scan"])) for r in scan_table(night)
                if passes(r) and lines(night / file_of(int(r["scan"]))))
    text = lines(path)
    scan_key, coadd_key, coadd = KEY_FIELDS[catalog]
    fields = text[-1].split("|")
    assert int(fields[coadd_key]) == 1000 * int(fields[scan_key]) + int(fields[coadd])
    fields[coadd_key] = str(int(fields[coadd_key]) + 1)
    text[-1] = "|".join(fields)
    write_lines(path, text)
    before = database_checksums(con)
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert (error.value.path, error.value.line, error.value.column) == \
        (str(path), len(text), "coadd_key")
    assert "1000 × scan_key + coadd" in str(error.value)
    assert database_checksums(con) == before


def test_a_scan_listed_twice_is_reported_at_its_second_line(con, nights):
    night = nights / "971024n"
    table = (night / delivery.SCANS).read_text().splitlines()
    fields = table[1].split("|")
    fields[0] = str(int(fields[0]) + 900_000)           # a new scan_key, the same scan
    table.append("|".join(fields))
    (night / delivery.SCANS).write_text("\n".join(table) + "\n")
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert (error.value.line, error.value.column) == (len(table), "scan")
    assert "already on line 2 of this file" in str(error.value)
    assert con.execute("SELECT count(*) FROM scans").fetchone()[0] == 0


def test_a_key_of_another_scan_file_is_reported_at_the_repeat(con, nights):
    """Each file alone is fine; the night holds one pts_key twice: refused at the second
    file's line, naming the first's (not an error without a line)."""
    night = nights / "971024n"
    first, second = [night / delivery.psc_file(int(r["scan"])) for r in scan_table(night)
                     if passes(r)][:2]
    key = lines(first)[1].split("|")[28]
    text = lines(second)
    fields = text[3].split("|")
    fields[28] = key
    text[3] = "|".join(fields)
    write_lines(second, text)
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert (error.value.path, error.value.line, error.value.column) == \
        (str(second), 4, "pts_key")
    assert f"duplicate pts_key {key}: already on line 2 of {first}" in str(error.value)
    assert con.execute("SELECT count(*) FROM scans").fetchone()[0] == 0


def test_a_symlinked_night_is_named_by_the_path_given(con, nights, tmp_path):
    """The loads row and a message about a bad file name the link, not its target."""
    link = tmp_path / "incoming"
    link.symlink_to(nights / "971024n")
    result = load_night(con, link)
    assert result.outcome == "loaded"
    assert con.execute("SELECT path FROM loads").fetchone()[0] == str(link)

    bad = tmp_path / "incoming2"
    bad.symlink_to(nights / "981123n")
    scan = next(int(r["scan"]) for r in scan_table(bad) if passes(r))
    text = lines(bad / delivery.psc_file(scan))
    fields = text[0].split("|")
    fields[1] = "95.5"
    text[0] = "|".join(fields)
    write_lines(bad / delivery.psc_file(scan), text)
    with pytest.raises(LoadError) as error:
        load_night(con, bad)
    assert str(error.value).startswith(f"{bad / delivery.psc_file(scan)}:1: column dec")


def test_the_same_delivery_twice_changes_nothing(con, survey):
    first = load_night(con, survey / "971024n")
    before = database_checksums(con)
    again = load_night(con, survey / "971024n")
    assert again.outcome == "unchanged" and again.load_id == first.load_id
    assert "nothing changed" in again.summary()
    assert database_checksums(con) == before


def test_reprocessing_replaces_the_night_and_keeps_the_history(con, survey):
    original, newer = survey / "980416n", survey / "reprocessed" / "980416n"
    first = load_night(con, original)
    second = load_night(con, newer)
    assert second.outcome == "reprocessed" and second.previous == ("2.0x", first.load_id)
    expected = sum(len(lines(newer / delivery.psc_file(int(r["scan"]))))
                   for r in scan_table(newer) if passes(r))
    assert con.execute("SELECT count(*), count(DISTINCT load_id) FROM psc").fetchone() == \
        (expected, 1)
    assert con.execute("SELECT min(load_id) FROM psc").fetchone()[0] == second.load_id
    # a scan turned down at 2.0x passes after reprocessing
    changed = [r for r, o in zip(scan_table(newer), scan_table(original), strict=True)
               if passes(r) and not passes(o)]
    assert changed and all(con.execute("SELECT loaded FROM scans WHERE scan_key = ?",
                                       [int(r["scan_key"])]).fetchone()[0] for r in changed)
    assert con.execute("SELECT version, kind FROM nights").fetchone() == ("2.1", "reprocessing")
    history = con.execute("SELECT version, kind, load_id FROM processing_history "
                          "ORDER BY event_id").fetchall()
    assert history == [("2.0x", "operational", first.load_id),
                       ("2.1", "reprocessing", second.load_id)]
    assert con.execute("SELECT status, replaced_by FROM loads WHERE load_id = ?",
                       [first.load_id]).fetchone() == ("replaced", second.load_id)


def test_an_older_version_is_refused_unless_forced(con, survey):
    load_night(con, survey / "reprocessed" / "980416n")
    before = database_checksums(con)
    with pytest.raises(LoadError, match="older 2.0x: refused"):
        load_night(con, survey / "980416n")
    assert database_checksums(con) == before
    forced = load_night(con, survey / "980416n", force=True)
    assert forced.outcome == "replaced"
    assert con.execute("SELECT version FROM nights").fetchone()[0] == "2.0x"


def test_load_nights_orders_deliveries_by_processing(con, survey):
    results = load_nights(con, [survey])
    names = [(r.night, r.version) for r in results]
    assert names.index(("980416n", "2.0x")) < names.index(("980416n", "2.1"))
    assert con.execute("SELECT version FROM nights WHERE date = '1998-04-16'").fetchone()[0] \
        == "2.1"
    assert con.execute("SELECT bool_and(sorted) FROM catalog_state").fetchone()[0]


def test_keys_are_consistent_across_tables(con, survey):
    load_nights(con, [survey])
    assert con.execute("""
        SELECT count(*) FROM psc p LEFT JOIN scans s USING (scan_key)
        WHERE s.scan_key IS NULL OR NOT s.loaded OR s.date <> p.date OR s.hemis <> p.hemis
           OR s.scan <> p.scan OR p.coadd_key <> 1000 * p.scan_key + p.coadd""").fetchone()[0] \
        == 0
    assert con.execute("""
        SELECT count(*) FROM xsc x LEFT JOIN scans s USING (scan_key)
        WHERE s.scan_key IS NULL OR NOT s.loaded OR x.coadd_key <> 1000 * x.scan_key + x.coadd
        """).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM psc WHERE left(designation, 16) <> "
                       "tmass_designation(ra, dec)").fetchone()[0] == 0


def test_manifest_errors_name_the_field(con, nights):
    manifest = nights / "970521n" / delivery.MANIFEST
    manifest.write_text(manifest.read_text().replace('"2.0x"', '"two"'))
    with pytest.raises(LoadError, match=r"manifest.json:\d+: column version: bad 2MAPPS"):
        load_night(con, nights / "970521n")


def test_a_corrupt_image_rejects_its_scan(con, image_survey, tmp_path):
    night = tmp_path / "971024n"
    shutil.copytree(next(n for n in image_survey.nights if n.name == "971024n"), night)
    image = sorted((night / delivery.image_dir(8)).iterdir())[30]
    data = bytearray(image.read_bytes())
    data[-100_000] ^= 0x40                            # one flipped bit in the pixels
    image.write_bytes(bytes(data))
    with pytest.raises(LoadError) as error:
        load_night(con, night)
    assert str(image) in str(error.value) and "DATASUM" in str(error.value)
    assert con.execute("SELECT count(*) FROM scans").fetchone()[0] == 0
    result = load_night(con, night, skip_bad_scans=True)
    assert result.images == 0 and [e.path for e in result.bad_scans] == [str(image)]
    loaded, reason = con.execute("SELECT loaded, load_reason FROM scans WHERE scan = 8"
                                 ).fetchone()
    assert not loaded and str(image) in reason
    assert con.execute("SELECT count(*) FROM psc WHERE scan = 8").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM atlas_images").fetchone()[0] == 0


def test_duplicate_flags_do_not_depend_on_the_order_of_nights(survey, tmp_path):
    """Nights loaded in reverse order give the same use_src/dup_src as in date order, and
    overlaps are resolved: each matched pair has exactly one selected apparition."""
    from catscan.db import connect, init_database

    names = ["970521n", "971024n", "981123n", "990502s", "reprocessed/980416n"]
    flags = []
    for order in (names, names[::-1]):
        path = tmp_path / f"{len(flags)}.duckdb"
        init_database(path)
        con = connect(path, read_only=False)
        try:
            for name in order:
                load_night(con, survey / name)
            flags.append(con.execute("SELECT pts_key, use_src, dup_src FROM psc "
                                     "ORDER BY pts_key").fetchall())
            pairs = con.execute("""
                SELECT count(*), count(*) FILTER (WHERE a.use_src + b.use_src <> 1)
                FROM psc a JOIN psc b ON a.scan_key < b.scan_key
                 AND abs(a.dec - b.dec) < 2 / 3600.0
                 AND ang_sep(a.ra, a.dec, b.ra, b.dec) <= 2 / 3600.0
                WHERE a.dup_src = 1 AND b.dup_src = 1""").fetchone()
        finally:
            con.close()
        assert pairs[0] > 100 and pairs[1] == 0
    assert flags[0] == flags[1]


def test_a_missing_source_file_rejects_its_scan(con, nights):
    night = nights / "971024n"
    scan = next(int(r["scan"]) for r in scan_table(night) if passes(r))
    (night / delivery.xsc_file(scan)).unlink()
    with pytest.raises(LoadError, match=f"xsc_s{scan:03d}.gz: missing from the delivery"):
        load_night(con, night)
    assert con.execute("SELECT count(*) FROM scans").fetchone()[0] == 0
