"""Release-format loading: every column round-trips, bad input is refused with file, line and
column and leaves the database exactly as it was, loads are idempotent."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from astropy.table import Table

from catscan.db import connect
from catscan.errors import LoadError
from catscan.loaders import is_sorted, load_file, load_files
from catscan.loaders.schema_info import file_columns
from catscan.survey.synthetic_psc import synthetic_psc

from conftest import database_checksums
from rowgen import random_rows


def _table_rows(con, table: str, key: str, columns: list[str]) -> pa.Table:
    cols = ", ".join(f'"{c}"' for c in columns)
    return con.sql(f"SELECT {cols} FROM {table} ORDER BY {key}").to_arrow_table()


@pytest.mark.parametrize("table, key", [("psc", "pts_key"), ("xsc", "ext_key"),
                                        ("scans", "scan_key")])
@pytest.mark.parametrize("trailing_bar", [False, True])
def test_every_column_round_trips(con, write_release, table, key, trailing_bar):
    """Rows written in release format (nulls as \\N, with or without a trailing |) load
    back with every value equal, the 17-character blank-padded designation included."""
    rows = random_rows(con, table, 300, seed=5)
    path = write_release(table, rows, f"{table}.txt.gz", trailing_bar=trailing_bar)
    with gzip.open(path, "rt") as handle:
        first = handle.readline().rstrip("\n")
    assert first.endswith("|") == trailing_bar
    assert "\\N" in first or table == "scans"

    load_file(con, table, path)

    names = [c.name for c in file_columns(con, table)]
    assert len(names) == {"psc": 60, "xsc": 389, "scans": 33}[table]
    got = _table_rows(con, table, key, names)
    want = rows.select(names).sort_by(key)
    for name in names:
        assert got[name].to_pylist() == want[name].cast(got[name].type).to_pylist(), name


def test_a_hand_written_release_line_is_read_field_by_field(con, tmp_path):
    """An independent check of the reader: one literal line, values known by reading it."""
    line = ("10.538223|41.18528|0.07|0.06|0|00420917+4111070 |11.995|0.017|0.021|536.3|"
            "11.347|0.019|0.021|363.2|11.138|0.015|0.018|285.9|AAA|222|111|000|666655|"
            "3.4|117|1234567|2|0|7654321|n|1998-11-23|72|121.053|-21.652|-112.5|"
            "2451141.8231|1.03|0.97|\\N|12.01|0.02|11.35|0.021|11.14|0.02|1503|37|nw|0|1|"
            "0|\\N|\\N|\\N|\\N|0|\\N|25021|1340722|198|")
    path = tmp_path / "one.psc"
    path.write_text(line + "\n")
    load_file(con, "psc", path)
    row = con.execute("SELECT ra, dec, designation, j_m, pxcntr, pts_key, date, k_psfchi, "
                      "dist_edge_flg, dist_opt, coadd FROM psc").fetchone()
    assert row[0] == 10.538223 and row[1] == 41.18528
    assert row[2] == "00420917+4111070 " and len(row[2]) == 17
    assert row[3] == 11.995 and row[4] == 1234567 and row[5] == 7654321
    assert str(row[6]) == "1998-11-23" and row[7] is None
    assert row[8] == "nw" and row[9] is None and row[10] == 198


def _psc_file(write_release, name: str, n: int = 50, seed: int = 1, first_key: int = 1,
              **kw) -> Path:
    rows = synthetic_psc(n, seed=seed, first_key=first_key, ra_range=(10, 11),
                         dec_range=(40, 42), **kw)
    return write_release("psc", rows, name)


def _replace_field(path: Path, line_no: int, field: int | None, value: str | None,
                   drop: bool = False, extra: bool = False) -> Path:
    lines = path.read_text().split("\n")
    fields = lines[line_no - 1].split("|")
    if drop:
        del fields[-1]
    elif extra:
        fields.append("7")
    else:
        fields[field] = value
    lines[line_no - 1] = "|".join(fields)
    path.write_text("\n".join(lines))
    return path


# (case, 0-based field of the PSC line, new text, expected column, words in the message)
BAD_LINES = [
    ("bad number", 6, "11.9x5", "j_m", "convert"),
    ("bad integer", 28, "12a", "pts_key", "convert"),
    ("bad date", 30, "1998-13-45", "date", "convert"),
    ("impossible date", 30, "2001-02-30", "date", "convert"),
    ("ra at 360", 0, "360.0", "ra", "out of range"),
    ("negative ra", 0, "-0.5", "ra", "out of range"),
    ("dec beyond the pole", 1, "-90.5", "dec", "out of range"),
    ("not a number", 10, "nan", "h_m", "finite"),
    ("designation of another position", 5, "00420917+4111071 ", "designation", "designation"),
    ("null where the release never has one", 28, "\\N", "pts_key", "null"),
    ("unknown hemisphere", 29, "x", "hemis", "out of range"),
    # what the text columns may hold (2mass_reference.md §1.3-1.4)
    ("NUL bytes in ph_qual", 18, "A\x00\x00", "ph_qual", "not a valid ph_qual"),
    ("ph_qual letter no band has", 18, "AAG", "ph_qual", "not a valid ph_qual"),
    ("ph_qual of two bands", 18, "AA", "ph_qual", "not a valid ph_qual"),
    ("rd_flg 5", 19, "225", "rd_flg", "not a valid rd_flg"),
    ("bl_flg letter", 20, "1b1", "bl_flg", "not a valid bl_flg"),
    ("cc_flg upper case", 21, "00C", "cc_flg", "not a valid cc_flg"),
    ("ndet of five digits", 22, "06060", "ndet", "not a valid ndet"),
    ("dist_edge_flg twice n", 47, "nn", "dist_edge_flg", "not a valid dist_edge_flg"),
    ("a of another catalogue", 50, "G", "a", "not a valid a"),
]


@pytest.mark.parametrize("case, field, value, column, words", BAD_LINES,
                         ids=[c[0] for c in BAD_LINES])
def test_a_bad_value_names_file_line_and_column_and_changes_nothing(
        con, write_release, case, field, value, column, words):
    good = _psc_file(write_release, "good.psc", seed=2)
    load_file(con, "psc", good)
    before = database_checksums(con)
    bad = _replace_field(_psc_file(write_release, "bad.psc", first_key=1000), 3, field, value)

    with pytest.raises(LoadError) as err:
        load_files(con, "psc", [bad])

    message = str(err.value)
    assert message.startswith(f"{bad.resolve()}:3: column {column}: "), message
    assert words in message.lower()
    assert (err.value.line, err.value.column) == (3, column)
    assert database_checksums(con) == before


@pytest.mark.parametrize("drop, extra", [(True, False), (False, True)],
                         ids=["a field missing", "a field too many"])
def test_a_wrong_field_count_is_refused_at_its_line(con, write_release, drop, extra):
    before = database_checksums(con)
    bad = _replace_field(_psc_file(write_release, "bad.psc"), 7, None, None, drop, extra)
    with pytest.raises(LoadError, match=r":7: wrong field count"):
        load_file(con, "psc", bad)
    assert database_checksums(con) == before


def test_a_designation_suffix_is_a_blank_or_one_letter(con, write_release):
    """The 17th character of a designation is its blank padding or a suffix letter; a TAB
    there (or two letters) is refused at its line."""
    path = _psc_file(write_release, "suffix.psc")
    for line_no, suffix in ((4, "B"), (6, "\t")):
        fields = path.read_text().split("\n")[line_no - 1].split("|")
        _replace_field(path, line_no, 5, fields[5][:16] + suffix)
    with pytest.raises(LoadError) as err:
        load_file(con, "psc", path)
    assert (err.value.line, err.value.column) == (6, "designation")
    assert "not a valid designation" in str(err.value) and "\\t" in str(err.value)
    assert con.execute("SELECT count(*) FROM psc").fetchone()[0] == 0


def test_xsc_text_columns_refuse_control_characters_and_unknown_flags(con, write_release):
    """Free-text XSC columns (id_cat) refuse control characters; cc_flg has its own alphabet,
    one character (not three as in the PSC)."""
    rows = random_rows(con, "xsc", 20, seed=3)
    path = write_release("xsc", rows, "x.xsc")
    names = [c.name for c in file_columns(con, "xsc")]
    _replace_field(path, 4, names.index("id_cat"), "NGC\x1b[31m 221")
    with pytest.raises(LoadError) as err:
        load_file(con, "xsc", path)
    assert (err.value.line, err.value.column) == (4, "id_cat")
    assert "control character" in str(err.value)

    path = write_release("xsc", rows, "y.xsc")
    _replace_field(path, 2, names.index("cc_flg"), "000")
    with pytest.raises(LoadError, match=r"y\.xsc:2: column cc_flg: not a valid cc_flg"):
        load_file(con, "xsc", path)
    assert con.execute("SELECT count(*) FROM xsc").fetchone()[0] == 0


def test_a_line_longer_than_any_record_is_refused_at_once(con, write_release, tmp_path):
    """10 MB of "|" on one line (DuckDB's reader would book one reject per surplus field,
    for hours): `catscan load psc` refuses the line by its number within seconds, with one
    message and no traceback, and the database is unchanged."""
    load_file(con, "psc", _psc_file(write_release, "before.psc", seed=2, first_key=5000))
    before = database_checksums(con)
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                     "current_database()").fetchone()[0]
    con.close()
    path = _psc_file(write_release, "long.psc")
    lines = path.read_text().split("\n")
    lines[2] = "|" * 10_000_000
    path.write_text("\n".join(lines))

    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "catscan.cli", "load", "psc", str(path),
                           "--db", db], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - began

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(f"catscan: error: {path}:3: line longer than 1,920 "
                                  "bytes"), done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
    assert took < 20, f"took {took:.0f} s"
    with connect(db) as again:
        assert database_checksums(again) == before


def test_surplus_fields_are_counted_exactly(con, write_release):
    """A short line with 1,000 "|" is refused with its real field count (not DuckDB's first
    reject, "found 61")."""
    path = _psc_file(write_release, "fields.psc")
    lines = path.read_text().split("\n")
    lines[4] = "|" * 1000
    path.write_text("\n".join(lines))
    with pytest.raises(LoadError, match=r"fields\.psc:5: wrong field count: expected 60 "
                                        r"fields .*found 1,000 separators"):
        load_file(con, "psc", path)


def test_a_duplicate_key_is_reported_where_it_repeats(con, write_release):
    """The second occurrence of a key is the bad line; the message names the first."""
    path = _psc_file(write_release, "dup.psc", n=20)
    key = path.read_text().split("\n")[2].split("|")[28]
    _replace_field(path, 9, 28, key)
    with pytest.raises(LoadError) as err:
        load_file(con, "psc", path)
    assert (err.value.line, err.value.column) == (9, "pts_key")
    assert f"duplicate pts_key {key}: already on line 3 of this file" in str(err.value)


def test_a_bad_cell_of_a_gator_table_is_reported_at_its_line_and_column(con, tmp_path):
    """astropy would fail the whole column ("Column err_ang failed to convert"); the cells are
    read as text and converted by the schema types, so the message names line and column."""
    rows = synthetic_psc(30, seed=6, ra_range=(10, 11), dec_range=(40, 42))
    table = Table(rows.select(["ra", "dec", "designation", "err_ang", "pts_key"]).to_pydict())
    table["err_ang"][7] = 999                            # a value no other row has
    path = tmp_path / "gator.tbl"
    table.write(path, format="ipac")
    lines = path.read_text().split("\n")
    target = next(i for i, line in enumerate(lines) if " 999 " in line)
    lines[target] = lines[target].replace(" 999 ", " 9x9 ")
    path.write_text("\n".join(lines))
    with pytest.raises(LoadError) as err:
        load_file(con, "psc", path)
    assert (err.value.line, err.value.column) == (target + 1, "err_ang")
    assert "cannot convert '9x9'" in str(err.value)
    good = tmp_path / "good.tbl"
    table.write(good, format="ipac")
    assert load_file(con, "psc", good).rows == 30
    assert con.execute("SELECT err_ang, pts_key FROM psc ORDER BY pts_key LIMIT 1 OFFSET 7"
                       ).fetchone() == (999, rows["pts_key"][7].as_py())


def test_a_symlinked_file_is_named_by_the_path_given(con, write_release, tmp_path):
    """Messages and the loads table name the link, not its target."""
    target = _psc_file(write_release, "target.psc")
    link = tmp_path / "links" / "psc_aaa"
    link.parent.mkdir()
    link.symlink_to(target)
    result = load_file(con, "psc", link)
    assert result.path == link
    assert con.execute("SELECT path FROM loads").fetchone()[0] == str(link)

    bad = _replace_field(_psc_file(write_release, "bad_target.psc", first_key=900), 2, 1, "95")
    bad_link = tmp_path / "links" / "psc_aab"
    bad_link.symlink_to(bad)
    with pytest.raises(LoadError, match=rf"^{re.escape(str(bad_link))}:2: column dec"):
        load_file(con, "psc", bad_link)


def test_line_numbers_count_blank_lines(con, write_release):
    """A blank line is skipped, and the lines after it keep their real numbers."""
    path = _psc_file(write_release, "blank.psc")
    lines = path.read_text().split("\n")
    lines.insert(1, "")
    path.write_text("\n".join(lines))
    _replace_field(path, 5, 1, "95.0")   # dec out of range on line 5 (record 4)
    with pytest.raises(LoadError, match=r"blank\.psc:5: column dec"):
        load_file(con, "psc", path)


def test_a_key_already_loaded_from_another_file_is_refused(con, write_release):
    first = _psc_file(write_release, "first.psc", seed=1, first_key=1)
    load_file(con, "psc", first)
    before = database_checksums(con)
    second = _psc_file(write_release, "second.psc", seed=9, first_key=40)  # keys 40..89
    with pytest.raises(LoadError, match=r"second\.psc:1: column pts_key: pts_key 40 is "
                                        r"already in table psc \(loaded from .*first\.psc\)"):
        load_file(con, "psc", second)
    assert database_checksums(con) == before


def test_the_same_file_twice_is_skipped_and_replace_reloads_it(con, write_release):
    path = _psc_file(write_release, "once.psc.gz", n=200)
    first = load_file(con, "psc", path)
    again = load_file(con, "psc", path)
    assert again.skipped and "already loaded" in again.summary()
    assert con.execute("SELECT count(*) FROM psc").fetchone()[0] == 200

    redo = load_file(con, "psc", path, replace=True)
    assert redo.replaced == [first.load_id]
    assert con.execute("SELECT count(*), min(load_id), max(load_id) FROM psc").fetchone() == \
        (200, redo.load_id, redo.load_id)
    assert con.execute("SELECT status, replaced_by FROM loads WHERE load_id = ?",
                       [first.load_id]).fetchone() == ("replaced", redo.load_id)


def test_gzipped_and_plain_files_give_the_same_rows(con, write_release):
    rows = synthetic_psc(100, seed=4)
    plain = write_release("psc", rows, "p.psc")
    zipped = write_release("psc", rows.set_column(
        rows.schema.get_field_index("pts_key"), "pts_key",
        pa.array(np.arange(1001, 1101))), "p.psc.gz")
    load_files(con, "psc", [plain, zipped])
    a = con.execute("SELECT * EXCLUDE (pts_key, load_id) FROM psc WHERE pts_key < 1000 "
                    "ORDER BY hpx29").fetchall()
    b = con.execute("SELECT * EXCLUDE (pts_key, load_id) FROM psc WHERE pts_key > 1000 "
                    "ORDER BY hpx29").fetchall()
    assert a == b and len(a) == 100


def test_hpx29_and_hpx11_are_the_cdshealpix_index_and_cell_and_the_table_stays_sorted(
        con, write_release):
    from astropy import units as u
    from astropy.coordinates import Latitude, Longitude
    from cdshealpix import nested

    paths = [_psc_file(write_release, f"f{i}.psc", n=3000, seed=i, first_key=1 + 10_000 * i)
             for i in range(3)]
    load_files(con, "psc", paths)
    ra, dec, hpx, cell = (np.array(c) for c in zip(*con.execute(
        "SELECT ra, dec, hpx29, hpx11 FROM psc").fetchall(), strict=True))
    expected = nested.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), 29)
    assert np.array_equal(hpx, expected.astype(np.int64))
    expected = nested.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), 11)
    assert np.array_equal(cell, expected.astype(np.int64))      # the cross-match cell
    assert np.all(np.diff(hpx) >= 0), "psc must be stored in hpx29 order"
    assert is_sorted(con, "psc")


def test_a_failed_file_keeps_the_files_before_it_whole(con, write_release):
    good = _psc_file(write_release, "good.psc", n=40)
    bad = _replace_field(_psc_file(write_release, "bad.psc", first_key=500), 2, 6, "x")
    with pytest.raises(LoadError):
        load_files(con, "psc", [good, bad])
    assert con.execute("SELECT count(*), count(DISTINCT load_id) FROM psc").fetchone() == (40, 1)
    assert con.execute("SELECT count(*) FROM loads").fetchone()[0] == 1


def test_a_file_that_is_not_there_or_empty_is_an_error(con, tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_file(con, "psc", tmp_path / "missing.gz")
    empty = tmp_path / "empty.psc"
    empty.write_text("")
    with pytest.raises(LoadError, match="no records"):
        load_file(con, "psc", empty)


def test_a_load_command_finishes_a_sort_that_an_earlier_kill_interrupted(con, write_release):
    """Rows committed, sort killed: rerunning the same load skips the file and sorts."""
    paths = [_psc_file(write_release, f"s{i}.psc", n=500, seed=i, first_key=1 + 1000 * i)
             for i in range(2)]
    load_files(con, "psc", paths)
    con.execute("CREATE TEMP TABLE shuffled AS SELECT * FROM psc ORDER BY pts_key")
    con.execute("DELETE FROM psc")
    con.execute("INSERT INTO psc SELECT * FROM shuffled")
    con.execute("UPDATE catalog_state SET sorted = false WHERE table_name = 'psc'")

    results = load_files(con, "psc", paths)

    assert all(r.skipped for r in results)
    hpx = [r[0] for r in con.execute("SELECT hpx29 FROM psc ORDER BY rowid").fetchall()]
    assert hpx == sorted(hpx) and is_sorted(con, "psc")


def test_any_later_load_finishes_the_pending_sorts_of_every_table(con, write_release):
    """A pending re-sort of xsc (its command killed before the sort) is finished by the next
    load command, even a load of scans that touches neither catalogue."""
    for seed in (8, 9):                    # all-sky rows: the second file interleaves
        load_file(con, "xsc", write_release("xsc", random_rows(con, "xsc", 200, seed=seed),
                                            f"x{seed}.xsc"))
    assert not is_sorted(con, "xsc")       # load_file alone leaves the sort to the command

    load_files(con, "scans", [write_release("scans", random_rows(con, "scans", 5, seed=1),
                                            "scans.tbl")])

    assert is_sorted(con, "xsc")
    hpx = [r[0] for r in con.execute("SELECT hpx29 FROM xsc ORDER BY rowid").fetchall()]
    assert hpx == sorted(hpx) and len(hpx) == 400


def _stored_hpx29(con, table: str = "psc") -> list[int]:
    return [r[0] for r in con.execute(f"SELECT hpx29 FROM {table} ORDER BY rowid").fetchall()]


def test_a_release_file_is_inserted_in_hpx29_order_and_needs_no_resort(con, write_release):
    """Into an empty table, and then with rows that all sort after the table's, a release
    file's rows are stored in hpx29 order by the insert itself: the table stays marked sorted
    and no re-sort runs (``optimized_at`` stays unset). The rows of the file are in
    declination order, not hpx29 order, so the order is the insert's doing."""
    rows = random_rows(con, "psc", 3000, seed=21, null_fraction=0.0)
    hpx = _hpx29_of(rows)
    low, high = rows.filter(pa.array(hpx < np.median(hpx))), \
        rows.filter(pa.array(hpx >= np.median(hpx)))
    for part, name in ((low, "low.psc"), (high, "high.psc")):
        part = part.sort_by("dec")
        assert not np.all(np.diff(_hpx29_of(part)) >= 0)
        load_files(con, "psc", [write_release("psc", part, name)])
        stored = _stored_hpx29(con)
        assert stored == sorted(stored) and is_sorted(con, "psc")
    assert len(stored) == 3000
    assert con.execute("SELECT optimized_at FROM catalog_state WHERE table_name = 'psc'"
                       ).fetchall() in ([], [(None,)])


def test_a_file_whose_rows_interleave_the_tables_marks_it_unsorted(con, write_release):
    """Rows that sort before the table's largest hpx29 break the order: the load marks their
    sky to settle, and any later load command settles it."""
    rows = random_rows(con, "psc", 2000, seed=22, null_fraction=0.0)
    hpx = _hpx29_of(rows)
    high, low = rows.filter(pa.array(hpx >= np.median(hpx))), \
        rows.filter(pa.array(hpx < np.median(hpx)))
    load_file(con, "psc", write_release("psc", high, "high.psc"))
    assert is_sorted(con, "psc")
    load_file(con, "psc", write_release("psc", low, "low.psc"))
    assert not is_sorted(con, "psc")
    load_files(con, "psc", [])                 # any load command settles it
    assert is_sorted(con, "psc") and len(_stored_hpx29(con)) == 2000


def _hpx29_of(rows: pa.Table) -> np.ndarray:
    from catscan.udfs.healpix import hpx29
    return hpx29(rows["ra"].to_numpy(), rows["dec"].to_numpy())


def test_the_sorted_rewrite_keeps_the_table_definition(con, write_release):
    """Constraints, column comments and views survive the rewrite that sorts the table."""
    def definition():
        return (con.execute("SELECT constraint_text FROM duckdb_constraints() "
                            "WHERE table_name = 'psc' ORDER BY ALL").fetchall(),
                con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() "
                            "WHERE table_name = 'psc' ORDER BY column_index").fetchall())

    before = definition()
    con.execute("CREATE VIEW bright AS SELECT designation FROM psc WHERE j_m < 12")
    paths = [_psc_file(write_release, f"d{i}.psc", n=400, seed=i, first_key=1 + 1000 * i)
             for i in range(2)]
    load_files(con, "psc", paths)
    assert con.execute("SELECT optimized_at IS NOT NULL FROM catalog_state "
                       "WHERE table_name = 'psc'").fetchone() == (True,)
    assert definition() == before
    assert before[1][0][2].startswith("[deg]")
    assert con.execute("SELECT count(*) FROM bright").fetchone()[0] == con.execute(
        "SELECT count(*) FROM psc WHERE j_m < 12").fetchone()[0] > 0


def _gzipped_psc(write_release, name: str, n: int) -> Path:
    rows = synthetic_psc(n, seed=4, first_key=1, ra_range=(10, 20), dec_range=(40, 50))
    return write_release("psc", rows.sort_by("dec"), name)


def test_a_long_line_deep_in_a_gzipped_file_is_refused_and_loads_nothing(con, write_release):
    """The fast path bounds the lines while DuckDB already reads the rows before them (the
    bad line lies megabytes into the file): the message names the line, nothing is loaded."""
    path = _gzipped_psc(write_release, "deep.psc", 40_000)
    lines = path.read_text().split("\n")
    lines[34_999] = "x" * 5000
    with gzip.open(path.with_suffix(".gz"), "wt") as out:
        out.write("\n".join(lines))
    before = database_checksums(con)
    with pytest.raises(LoadError) as err:
        load_files(con, "psc", [path.with_suffix(".gz")])
    assert err.value.line == 35_000 and "line longer than 1,920 bytes" in str(err.value)
    assert database_checksums(con) == before


def test_a_gzipped_file_cut_short_loads_nothing(con, write_release):
    """A file whose gzip stream ends early is an error naming the last line read whole,
    never a load of the rows before the cut."""
    path = _gzipped_psc(write_release, "cut.psc", 30_000)
    data = gzip.compress(path.read_bytes())
    cut = path.with_suffix(".gz")
    cut.write_bytes(data[: len(data) * 3 // 5])
    before = database_checksums(con)
    with pytest.raises(LoadError, match=r"cut\.gz: cannot read after line [1-9]"):
        load_files(con, "psc", [cut])
    assert database_checksums(con) == before


def test_keys_between_a_loaded_files_keys_load_and_one_repeat_among_them_is_found(
        con, write_release):
    """The key check joins the table only where the new keys' range meets its keys: odd keys
    loaded, then even keys in the same range load; a file of even keys with one odd key at
    its last line is refused there, naming the file that holds it."""
    def keyed(name: str, keys: list[int]) -> Path:
        rows = synthetic_psc(len(keys), seed=len(name), ra_range=(10, 11), dec_range=(40, 42))
        rows = rows.set_column(rows.schema.get_field_index("pts_key"), "pts_key",
                               pa.array(keys, rows.schema.field("pts_key").type))
        return write_release("psc", rows, name)

    load_file(con, "psc", keyed("odd.psc", list(range(1, 400, 2))))
    load_file(con, "psc", keyed("even.psc", list(range(2, 400, 2))))
    before = database_checksums(con)
    clash = keyed("again.psc", list(range(1000, 1098, 2)) + [201])
    with pytest.raises(LoadError, match=r"again\.psc:50: column pts_key: pts_key 201 is "
                                        r"already in table psc \(loaded from .*odd\.psc\)"):
        load_file(con, "psc", clash)
    assert database_checksums(con) == before
    assert con.execute("SELECT count(*), count(DISTINCT pts_key) FROM psc").fetchone() \
        == (399, 399)
