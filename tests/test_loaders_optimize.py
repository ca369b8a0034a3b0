"""Storage cells and blocks: a load's cost follows the sky it touched, and cones keep pruning.

Spec: after many nightly appends, each settled (loaders/optimize.py), the live row groups'
zone maps are disjoint and recorded as the table's blocks, so a cone reads about as many row
groups as on a freshly sorted copy of the same rows; a settle moves only the rows of the
dirty cells and of the blocks at their edges; most of the table dirty means one whole-table
rewrite."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from catscan.db import connect, init_database
from catscan.loaders.optimize import (
    CELL_SHIFT,
    ROW_GROUP_ROWS,
    blocks,
    dirty_cells,
    finish_sorts,
    is_sorted,
    mark_appended_in_order,
    mark_dirty,
    mark_unsorted,
    optimize,
    pending_sorts,
    row_group_extents,
    settle_ranges,
)
from catscan.spatial import cone_sql
from catscan.udfs.healpix import hpx29

BASE_ROWS = 2_400_000        # 200 k rows per base cell, 12 k per order-3 cell
NIGHT_ROWS = 60_000


@pytest.fixture
def wcon(tmp_path):
    db = tmp_path / "storage.duckdb"
    init_database(db)
    con = connect(db, read_only=False)
    con.execute("CREATE TABLE t (k BIGINT, ra DOUBLE, dec DOUBLE, hpx29 BIGINT, load_id INTEGER,"
                " pad DOUBLE)")
    yield con
    con.close()


def _append(con, ra, dec, first_key: int, load_id: int, ordered: bool = False) -> None:
    import pyarrow as pa
    rows = pa.table({"k": np.arange(first_key, first_key + len(ra)), "ra": ra, "dec": dec,
                     "hpx29": hpx29(ra, dec), "load_id": np.full(len(ra), load_id, np.int32),
                     "pad": np.sin(np.arange(len(ra), dtype=float))})
    con.register("new_rows", rows)
    order = " ORDER BY hpx29" if ordered else ""
    con.execute(f"INSERT INTO t SELECT * FROM new_rows{order}")
    con.unregister("new_rows")


def _sky(rng, n):
    return rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


def _night(rng, number: int, n: int = NIGHT_ROWS):
    """A night like the survey's: a block of adjacent tiles along a declination strip
    (calibration scans bring no sources)."""
    ra0, dec0 = (number * 7.0) % 360, -60 + 6 * (number // 50)
    return (ra0 + rng.uniform(0, 7, n)) % 360, dec0 + rng.uniform(0, 6, n)


def _row_groups_read(con, table: str, centres, radius_deg: float) -> list[int]:
    out = []
    for ra, dec in centres:
        plan = con.execute(f"EXPLAIN ANALYZE SELECT k FROM {table} WHERE "
                           f"{cone_sql(ra, dec, radius_deg)}").fetchall()[0][1]
        out.append(int(re.search(r"Row Groups Scanned: (\d+)", plan).group(1)))
    return out


def test_cones_on_settled_nights_read_as_little_as_on_a_sorted_copy(wcon):
    """40 nights, every fourth one a reprocessing of an earlier night (its rows deleted and
    loaded again). With DuckDB's checkpoint vacuum left on, merged row groups spanning
    different parts of the sky make 1' cones read ~3.5 row groups instead of ~1.5."""
    rng = np.random.default_rng(5)
    _append(wcon, *_sky(rng, BASE_ROWS), 0, 1, ordered=True)
    centres = []
    for number in range(40):
        load_id = number + 2
        if number % 4 == 3:
            old = int(rng.integers(2, load_id - 1))
            wcon.execute("BEGIN")
            mark_dirty(wcon, "t", "FROM t WHERE load_id = ?", [old])
            wcon.execute("DELETE FROM t WHERE load_id = ?", [old])
            ra, dec = _night(np.random.default_rng(old), old - 2)
            _append(wcon, ra, dec, 10**7 * load_id, load_id)
            mark_unsorted(wcon, "t", load_id=load_id)
            wcon.execute("COMMIT")
        else:
            ra, dec = _night(rng, number)
            _append(wcon, ra, dec, 10**7 * load_id, load_id)
            mark_unsorted(wcon, "t", load_id=load_id)
        assert finish_sorts(wcon) == ["t"]
        centres.append((float(ra[0]), float(dec[0])))
    centres += [(float(a), float(d)) for a, d in zip(*_sky(rng, 10), strict=True)]
    wcon.execute("CREATE TABLE fresh AS SELECT * FROM t ORDER BY hpx29")
    for radius, slack in ((1 / 60, 0.5), (1.0, 1.0)):
        settled = _row_groups_read(wcon, "t", centres, radius)
        fresh = _row_groups_read(wcon, "fresh", centres, radius)
        assert np.mean(settled) <= np.mean(fresh) + slack, (radius, settled, fresh)
    expected = wcon.execute("SELECT count(*), count(DISTINCT k) FROM fresh").fetchall()
    assert wcon.execute("SELECT count(*), count(DISTINCT k) FROM t").fetchall() == expected
    assert expected[0][0] == BASE_ROWS + 30 * NIGHT_ROWS


def test_a_survey_growing_from_an_empty_sky_reads_like_a_sorted_copy(wcon):
    """Nights in random places, small and large, into an empty table, as the survey grew.

    The first nights are sparse, so their row groups span sky that later nights fill, and a
    small night goes into the table's last row group: DuckDB never narrows a zone map, so
    unless every row group a night's sky overlaps is rewritten whole (its block absorbed),
    cones read ~1.6x the row groups of a sorted copy (bench/scale.py at 25 M rows: 60'
    cones 3.7x slower with the earlier storage cells). Every few nights one is reprocessed
    (deleted and loaded again). Afterwards DuckDB's own zone maps are disjoint and are the
    recorded blocks."""
    rng = np.random.default_rng(9)
    slots = rng.permutation(100)
    centres = []
    for number, slot in enumerate(slots[:60]):
        ra, dec = _night(rng, int(slot), n=int(rng.choice([15_000, 40_000, 150_000])))
        wcon.execute("BEGIN")
        if number % 7 == 6:                     # reprocess an earlier night
            old = int(rng.integers(1, number))
            mark_dirty(wcon, "t", "FROM t WHERE load_id = ?", [old])
            wcon.execute("DELETE FROM t WHERE load_id = ?", [old])
        _append(wcon, ra, dec, 10**7 * (number + 1), number + 1)
        mark_unsorted(wcon, "t", load_id=number + 1)
        wcon.execute("COMMIT")
        finish_sorts(wcon)
        centres.append((float(ra[0]), float(dec[0])))
    wcon.execute("CHECKPOINT")
    extents = sorted((lo, hi) for _, lo, hi in row_group_extents(wcon, "t"))
    assert all(a[1] < b[0] for a, b in itertools.pairwise(extents)), "zone maps overlap"
    assert extents == sorted((lo, hi - 1) for lo, hi, _, _ in blocks(wcon, "t"))
    wcon.execute("CREATE TABLE fresh AS SELECT * FROM t ORDER BY hpx29")
    for radius in (0.1, 1.0):
        settled = _row_groups_read(wcon, "t", centres, radius)
        fresh = _row_groups_read(wcon, "fresh", centres, radius)
        assert np.mean(settled) <= 1.1 * np.mean(fresh), (radius, settled, fresh)


def test_a_settle_moves_only_the_rows_of_the_dirty_cells(wcon):
    rng = np.random.default_rng(6)
    _append(wcon, *_sky(rng, BASE_ROWS), 0, 1, ordered=True)
    mark_appended_in_order(wcon, "t")
    assert finish_sorts(wcon) == [] and len(blocks(wcon, "t")) == BASE_ROWS // ROW_GROUP_ROWS + 1
    before = dict(wcon.execute("SELECT k, rowid FROM t").fetchall())
    ra, dec = _night(rng, 3)
    _append(wcon, ra, dec, 10**7, 2)
    mark_unsorted(wcon, "t", load_id=2)
    cells = set(dirty_cells(wcon, "t"))
    assert cells == {int(c) for c in np.unique(hpx29(ra, dec) >> CELL_SHIFT)}
    counted = settle_ranges(wcon, "t", sorted(cells), tail=True)
    ranges = [r for _, r in counted]
    assert all(n >= ROW_GROUP_ROWS for n, _ in counted)
    assert optimize(wcon, "t") and is_sorted(wcon, "t") and not pending_sorts(wcon)
    after = wcon.execute("SELECT k, rowid, hpx29 FROM t").fetchall()
    unmoved = {k for k, rowid, _ in after if before.get(k) == rowid}
    outside = {k for k, _, h in after
               if k in before and not any(lo <= h < hi for lo, hi in ranges)}
    assert unmoved == outside and BASE_ROWS / 2 < len(outside) < BASE_ROWS
    # each moved range now sits in hpx29 order
    for lo, hi in ranges:
        rows = [r[0] for r in wcon.execute(f"SELECT hpx29 FROM t WHERE hpx29 >= {lo} AND "
                                           f"hpx29 < {hi} ORDER BY rowid").fetchall()]
        assert rows == sorted(rows)


def test_most_of_the_table_dirty_means_one_whole_rewrite(wcon):
    rng = np.random.default_rng(7)
    _append(wcon, *_sky(rng, 200_000), 0, 1)
    ra, dec = _sky(rng, 200_000)
    _append(wcon, ra, dec, 10**7, 2)
    mark_unsorted(wcon, "t", load_id=2)
    assert dirty_cells(wcon, "t") == sorted({int(c) for c in hpx29(ra, dec) >> CELL_SHIFT})
    optimize(wcon, "t")
    hpx = [r[0] for r in wcon.execute("SELECT hpx29 FROM t ORDER BY rowid").fetchall()]
    assert hpx == sorted(hpx)
    assert wcon.execute("SELECT optimized_at IS NOT NULL FROM catalog_state "
                        "WHERE table_name = 't'").fetchall() == [(True,)]
    extents = [(lo, hi) for _, lo, hi in row_group_extents(wcon, "t")]
    assert extents == [(lo, hi - 1) for lo, hi, _, _ in blocks(wcon, "t")]


def test_rows_appended_after_the_table_s_last_need_no_settle(wcon):
    rng = np.random.default_rng(8)
    ra, dec = _sky(rng, 1000)
    order = np.argsort(hpx29(ra, dec))
    half = len(order) // 2
    _append(wcon, ra[order[:half]], dec[order[:half]], 0, 1, ordered=True)
    import pyarrow as pa
    tail = pa.table({"hpx29": hpx29(ra[order[half:]], dec[order[half:]])})
    wcon.register("tail_rows", tail)
    mark_unsorted(wcon, "t", new_rows="tail_rows")
    assert is_sorted(wcon, "t")
    mark_unsorted(wcon, "t", new_rows="(SELECT hpx29 - 1 AS hpx29 FROM t)")
    assert not is_sorted(wcon, "t")
