"""The public copy of released nights (catscan.operations.publish, ``catscan release``): it
holds every row of the released nights, as the team's database has them, and no other."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest

from catscan.config import public_db_path
from catscan.db import connect
from catscan.operations.publish import publish

from conftest import table_checksum

RELEASED = ("1997-10-24", "n")                     # the M31 night, with its Atlas Images
NIGHT_OF_SCAN = ("scan_key IN (SELECT scan_key FROM scans WHERE date = '{0}' "
                 "AND hemis = '{1}')")
NIGHT = "date = '{0}' AND hemis = '{1}'"
EXPECTED = {                                        # an independent statement of the rule
    "psc": NIGHT_OF_SCAN, "xsc": NIGHT_OF_SCAN, "atlas_images": NIGHT_OF_SCAN,
    "scans": NIGHT, "nights": NIGHT, "night_qa": NIGHT, "processing_history": NIGHT,
    "tiles": "true", "facilities": "true", "loads": "false",
}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def team_db(image_db, tmp_path):
    path = tmp_path / "catscan.duckdb"
    shutil.copy(image_db, path)
    return path


def checksum_where(con, table: str, where: str) -> tuple:
    return con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM "
                       f"(SELECT * FROM {table} WHERE {where}) t").fetchone()


def test_the_copy_holds_exactly_the_rows_of_released_nights(team_db):
    done = cli("release", "1997-10-24n", "--db", str(team_db))
    assert done.returncode == 0, done.stderr
    copy = public_db_path(team_db)
    assert copy == team_db.with_name("catscan.public.duckdb") and copy.exists()
    team, public = connect(team_db), connect(copy)
    try:
        for table, rule in EXPECTED.items():
            want = checksum_where(team, table, rule.format(*RELEASED))
            assert table_checksum(public, table) == want, table
            if table in ("psc", "xsc", "scans", "nights", "night_qa", "processing_history"):
                total = team.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                assert 0 < want[0] < total, table            # the rule really selects
        assert public.execute("SELECT count(*) FROM private.team_access").fetchone()[0] == 0
        psc_order = public.execute("SELECT bool_and(hpx29 >= prev) FROM (SELECT hpx29, "
                                   "lag(hpx29, 1, 0) OVER (ORDER BY rowid) AS prev FROM psc)")
        assert psc_order.fetchone()[0] is True                  # stored in hpx29 order
    finally:
        team.close()
        public.close()


def test_publishing_again_changes_nothing_and_refresh_copies_the_same(team_db):
    assert cli("release", "1997-10-24n", "--db", str(team_db)).returncode == 0
    copy = public_db_path(team_db)
    before = _checksums(copy)
    con = connect(team_db, read_only=False)
    try:
        assert not publish(con, team_db).changed
        again = publish(con, team_db, refresh=True)
        assert again.added == [_night(RELEASED)] and again.removed == []
    finally:
        con.close()
    assert _checksums(copy) == before


def test_withdrawing_empties_the_copy(team_db):
    assert cli("release", "1997-10-24n", "1998-04-16n", "--db", str(team_db)).returncode == 0
    done = cli("release", "1997-10-24n", "--withdraw", "--db", str(team_db))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1997-10-24n withdrawn; 1 night(s) public\n"
    public = connect(public_db_path(team_db))
    try:
        assert public.execute("SELECT date::VARCHAR || hemis FROM nights").fetchall() == \
            [("1998-04-16n",)]
        assert public.execute("SELECT count(*) FROM atlas_images").fetchone()[0] == 0
    finally:
        public.close()


def test_a_reloaded_released_night_is_copied_again(team_db, image_survey):
    """1998-04-16n was reprocessed (2MAPPS 2.1); going back to the first delivery (--force)
    changes the released night's rows, and the public copy follows."""
    night = ("1998-04-16", "n")
    assert cli("release", "1998-04-16n", "--db", str(team_db)).returncode == 0
    before = _checksums(public_db_path(team_db))
    done = cli("load", "night", str(image_survey.outdir / "980416n"), "--force",
               "--db", str(team_db))
    assert done.returncode == 0, done.stderr
    assert "public copy: 1 released night(s) copied again, 1 public" in done.stdout
    after = _checksums(public_db_path(team_db))
    assert after["nights"] != before["nights"] and after["psc"] != before["psc"]
    team = connect(team_db)
    try:
        for table in ("psc", "scans", "nights", "processing_history"):
            rule = EXPECTED[table].format(*night)
            assert after[table] == checksum_where(team, table, rule), table
    finally:
        team.close()


def test_nothing_released_makes_no_copy(team_db):
    con = connect(team_db, read_only=False)
    try:
        assert publish(con, team_db).path is None
    finally:
        con.close()
    assert not public_db_path(team_db).exists()
    assert public_db_path(":memory:") is None


def test_a_withdrawal_that_cannot_reach_the_copy_changes_nothing(team_db):
    """A reader holding the public copy (a server) blocks the withdrawal before the flag
    changes: the night stays released and in the copy, never the other way round
    (``--wait 0``: it would otherwise wait for the holder)."""
    assert cli("release", "1997-10-24n", "--db", str(team_db)).returncode == 0
    copy = public_db_path(team_db)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(copy)!r}, read_only=True)
        print("open", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        done = cli("release", "1997-10-24n", "--withdraw", "--db", str(team_db), "--wait", "0")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1 and "database busy" in done.stderr
    con = duckdb.connect(str(team_db), read_only=True)
    try:
        assert con.execute("SELECT released FROM nights WHERE date = '1997-10-24'"
                           ).fetchone()[0] is True
    finally:
        con.close()


def _night(night: tuple) -> tuple:
    import datetime as dt

    return (dt.date.fromisoformat(night[0]), night[1])


def _checksums(path) -> dict:
    con = connect(path)
    try:
        return {t: table_checksum(con, t) for t in EXPECTED}
    finally:
        con.close()
