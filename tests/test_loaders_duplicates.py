"""Duplicate resolution (dup_src/use_src) against an independent brute force, in any load
order, on real overlapping tiles of the grid around RA 0 and on a crafted chain of matches.

The survey: true stars observed by every loaded scan whose footprint holds them >10" from its
edges, each apparition scattered by ~0.1"; some split in two 1.5" apart by one scan (or by
every scan), some faint ones seen by only one of the scans that cover them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from catscan.db import memory_database
from catscan.designation import designations
from catscan.geometry.footprint import Footprint, edge_columns
from catscan.geometry.tiles import tile_grid
from catscan.loaders.duplicates import _matches, resolve_duplicates
from catscan.spatial import match_cell_sql

CORNERS = [f"{c}_{k}" for k in range(1, 5) for c in ("ra", "dec")]


# --------------------------------------------------------------------------- the survey

@dataclass
class Survey:
    """Scans (key -> corners) and, per scan, the rows it contributes when loaded."""
    corners: dict[int, dict[str, float]]
    rows: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    next_key: int = 1

    def footprint(self, key: int) -> Footprint:
        return Footprint.of(self.corners[key])


def offset(ra, dec, dx_arcsec, dy_arcsec):
    """Small tangent-plane offset (east, north) in arcsec."""
    return ((ra + dx_arcsec / 3600.0 / np.cos(np.radians(dec))) % 360.0,
            dec + dy_arcsec / 3600.0)


def observe(survey: Survey, ra, dec, rng, *, faint=None, split_one=None, split_all=None,
            scatter=0.1) -> None:
    """Every scan holding a star >10" inside its footprint records it (faint stars: only
    one of those scans; split stars: two components 1.5" apart in one scan or in all)."""
    n = len(ra)
    faint = np.zeros(n, bool) if faint is None else faint
    split_one = np.zeros(n, bool) if split_one is None else split_one
    split_all = np.zeros(n, bool) if split_all is None else split_all
    keys = sorted(survey.corners)
    seen = np.stack([survey.footprint(k).contains(ra, dec, 10.0) for k in keys])   # (s, n)
    # faint stars: keep one scan; split_one stars: split by one (random) of their scans
    chosen = np.array([rng.choice(np.flatnonzero(seen[:, i])) if seen[:, i].any() else -1
                       for i in range(n)])
    for s, key in enumerate(keys):
        idx = np.flatnonzero(seen[s] & (~faint | (chosen == s)))
        splits = split_all[idx] | (split_one[idx] & (chosen[idx] == s))
        angle = rng.uniform(0, 2 * np.pi, len(idx))
        half = np.where(splits, 0.75, 0.0)
        ex, ey = half * np.sin(angle), half * np.cos(angle)
        r1, d1 = offset(ra[idx], dec[idx], ex + rng.normal(0, scatter, len(idx)),
                        ey + rng.normal(0, scatter, len(idx)))
        m = int(splits.sum())
        r2, d2 = offset(ra[idx][splits], dec[idx][splits], -ex[splits] + rng.normal(0, scatter, m),
                        -ey[splits] + rng.normal(0, scatter, m))
        pos_ra, pos_dec = [r1, r2], [d1, d2]
        r, d = np.concatenate(pos_ra), np.concatenate(pos_dec)
        if key in survey.rows:
            old = survey.rows[key]
            r, d = np.concatenate([old["ra"], r]), np.concatenate([old["dec"], d])
        survey.rows[key] = {"ra": r, "dec": d}


def finish_rows(survey: Survey) -> None:
    """pts_keys, edge distances of each row to its own scan's edges."""
    for key in sorted(survey.rows):
        rows = survey.rows[key]
        n = len(rows["ra"])
        rows["pts_key"] = np.arange(survey.next_key, survey.next_key + n)
        survey.next_key += n
        rows.update(edge_columns(survey.footprint(key), rows["ra"], rows["dec"]))


def tile_survey(seed: int = 7) -> Survey:
    """Five tiles around RA 0: three RA neighbours of the 0..6 deg strip (one straddling
    RA 0) and two of the 6..12 deg strip, which overlap them by 8.5' in Dec."""
    grid = tile_grid()
    cols = {c: grid[c].to_numpy() for c in grid.column_names}
    picks = []
    for centre, count in ((3.0, 3), (9.0, 2)):
        strip = np.flatnonzero(cols["dec"] == centre)
        ras = cols["ra"][strip]
        order = np.argsort((ras + 180.0) % 360.0)          # RA across 0
        mid = np.searchsorted(((ras + 180.0) % 360.0)[order], 180.0)
        picks += strip[order[mid - 1: mid - 1 + count]].tolist()
    keys = [23, 7, 41, 15, 30]                             # unrelated to position
    survey = Survey({k: {c: float(cols[c][i]) for c in CORNERS}
                     for k, i in zip(keys, picks, strict=True)})
    rng = np.random.default_rng(seed)
    lo, hi = -0.14, 0.27                                   # RA across 0, deg
    n = 2500
    ra = rng.uniform(lo, hi, n) % 360.0
    dec = rng.uniform(5.6, 6.4, n)
    # more stars where scans overlap
    ra_x = rng.uniform(lo, hi, 60000) % 360.0
    dec_x = rng.uniform(5.6, 6.4, 60000)
    covered = sum(survey.footprint(k).contains(ra_x, dec_x, 10.0).astype(int) for k in keys)
    extra = np.flatnonzero(covered >= 2)[:900]
    ra, dec = np.concatenate([ra, ra_x[extra]]), np.concatenate([dec, dec_x[extra]])
    n = len(ra)
    kind = rng.random(n)
    observe(survey, ra, dec, rng, faint=kind < 0.08, split_one=(kind >= 0.08) & (kind < 0.14),
            split_all=(kind >= 0.14) & (kind < 0.17))
    finish_rows(survey)
    return survey


def rectangle(ra0, ra1, dec0, dec1) -> dict[str, float]:
    """Corners of a scan running north: 1/2 east/west at dec0, 3/4 at dec1."""
    return {"ra_1": ra1, "dec_1": dec0, "ra_2": ra0, "dec_2": dec0,
            "ra_3": ra1, "dec_3": dec1, "ra_4": ra0, "dec_4": dec1}


def chain_survey() -> Survey:
    """A chain of sources 1.5" apart, alternating between two overlapping scans, runs from
    the changed scan X (key 1) through scans W, V, W2, Z to a scan T (key 6) far from X,
    W and V; T's apparition is the one farthest from its edges, so the whole chain's
    use_src depends on T. Resolving X alone must follow the chain that far."""
    survey = Survey({
        1: rectangle(10.05, 10.15, -0.2, 0.02),    # X
        2: rectangle(10.00, 10.10, 0.0, 1.0),      # W
        3: rectangle(10.09, 10.20, 0.0, 1.0),      # V
        4: rectangle(10.00, 10.10, 0.9, 2.0),      # W2
        5: rectangle(10.05, 10.15, 0.85, 2.0),     # Z
        6: rectangle(9.80, 10.40, 1.5, 2.5),       # T
    })
    step = 1.5 / 3600.0
    dec = np.arange(0.004, 1.93, step)
    ra = np.full(len(dec), 10.095)
    owner = np.where(dec < 0.95, np.where(np.arange(len(dec)) % 2 == 0, 2, 3),
                     np.where(np.arange(len(dec)) % 2 == 0, 4, 5))
    for key in (2, 3, 4, 5):
        sel = owner == key
        survey.rows[key] = {"ra": ra[sel], "dec": dec[sel]}
    for key, inside in ((1, dec < 0.015), (6, dec > 1.55)):
        survey.rows[key] = {"ra": ra[inside] + 0.2 / 3600, "dec": dec[inside]}
    finish_rows(survey)
    return survey


# --------------------------------------------------------------------------- database

def new_database(survey: Survey, loaded: bool = False):
    con = memory_database()
    for n, (key, c) in enumerate(sorted(survey.corners.items())):
        con.execute(
            f"INSERT INTO scans (scan_key, hemis, date, scan, status, loaded, "
            f"{', '.join(CORNERS)}) VALUES (?, 'n', DATE '1998-04-16', ?, 'P', false, "
            f"{', '.join('?' * len(CORNERS))})", [key, n + 1, *[c[k] for k in CORNERS]])
    if loaded:
        for key in sorted(survey.rows):
            add_scan(con, survey, key)
    return con


def add_scan(con, survey: Survey, key: int, rng_seed: int | None = None) -> None:
    """Insert a scan's rows with arbitrary (wrong) flags, and mark the scan loaded."""
    rows = survey.rows[key]
    n = len(rows["ra"])
    rng = np.random.default_rng(key if rng_seed is None else rng_seed)
    table = pa.table({
        "ra": rows["ra"], "dec": rows["dec"],
        "designation": designations(rows["ra"], rows["dec"]),
        "pts_key": rows["pts_key"], "scan_key": np.full(n, key, np.int32),
        "ns": rows["dist_edge_ns"], "ew": rows["dist_edge_ew"],
        "flg": rows["dist_edge_flg"].astype(object),
        "dup": rng.choice(np.array([0, 1, 3, 4, 5], np.int16), n),
        "use": rng.integers(0, 2, n).astype(np.int16)})
    con.register("new_rows", table)
    con.execute("INSERT INTO psc (ra, dec, designation, pts_key, scan_key, dist_edge_ns, "
                "dist_edge_ew, dist_edge_flg, dup_src, use_src, hpx29, hpx11, load_id) "
                "SELECT ra, dec, designation, pts_key, scan_key, ns, ew, flg, dup, use, "
                f"hpx29(ra, dec), {match_cell_sql('hpx29(ra, dec)')}, 1 FROM new_rows "
                "ORDER BY hpx29(ra, dec)")
    con.unregister("new_rows")
    con.execute("UPDATE scans SET loaded = true WHERE scan_key = ?", [key])


def remove_scan(con, key: int) -> None:
    con.execute("DELETE FROM psc WHERE scan_key = ?", [key])
    con.execute("UPDATE scans SET loaded = false WHERE scan_key = ?", [key])


def flags(con) -> dict[int, tuple[int, int]]:
    return {k: (d, s) for k, d, s in con.execute(
        "SELECT pts_key, dup_src, use_src FROM psc").fetchall()}


def resolve(con, scan_keys=None) -> dict:
    con.execute("BEGIN TRANSACTION")
    try:
        stats = resolve_duplicates(con, scan_keys)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return stats


# --------------------------------------------------------------------------- brute force

def brute_force(con) -> dict[int, tuple[int, int]]:
    """The rules of §7.4 done the slow, obvious way: every pair, Python loops."""
    scans = con.execute(f"SELECT scan_key, loaded, {', '.join(CORNERS)} FROM scans"
                        ).fetchall()
    footprints = {}
    for row in scans:
        if row[1] and None not in row[2:]:
            footprints[row[0]] = Footprint.of(dict(zip(CORNERS, row[2:], strict=True)))
    rows = con.execute("SELECT pts_key, scan_key, ra, dec, dist_edge_ns, dist_edge_ew "
                       "FROM psc ORDER BY pts_key").fetchall()
    result = {}
    candidates = []
    for pts, scan, ra, dec, ns, ew in rows:
        result[pts] = (0, 1)
        if scan not in footprints:
            continue
        if any(bool(fp.contains(ra, dec, 10.0)[()]) for key, fp in footprints.items()
               if key != scan):
            candidates.append((pts, scan, ra, dec, min(ns, ew)))
    if not candidates:
        return result
    ra = np.array([c[2] for c in candidates])
    dec = np.array([c[3] for c in candidates])
    sky = SkyCoord(ra * u.deg, dec * u.deg)
    links = {c[0]: [] for c in candidates}
    for lo in range(0, len(candidates), 400):
        sep = sky[lo:lo + 400, None].separation(sky[None, :]).arcsec
        for i, j in zip(*np.nonzero(sep <= 2.0), strict=True):
            a, b = candidates[lo + i], candidates[j]
            if a[1] != b[1]:
                links[a[0]].append(b[0])
    by_key = {c[0]: c for c in candidates}
    done = set()
    for start in links:
        if start in done:
            continue
        group, queue = [], deque([start])
        done.add(start)
        while queue:
            k = queue.popleft()
            group.append(by_key[k])
            for other in links[k]:
                if other not in done:
                    done.add(other)
                    queue.append(other)
        if len(group) == 1:
            result[group[0][0]] = (0, 0)
            continue
        per_scan = {}
        for c in group:
            per_scan[c[1]] = per_scan.get(c[1], 0) + 1
        counts = sorted(per_scan.values())
        if len(counts) >= 3:
            dup = 5
        elif counts == [1, 1]:
            dup = 1
        elif counts[0] == 1:
            dup = 3
        else:
            dup = 4
        best = min(group, key=lambda c: (-c[4], c[1], c[0]))
        for c in group:
            result[c[0]] = (dup, 1 if c[1] == best[1] else 0)
    return result


# --------------------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def survey() -> Survey:
    return tile_survey()


@pytest.fixture(scope="module")
def reference(survey) -> dict[int, tuple[int, int]]:
    con = new_database(survey, loaded=True)
    try:
        return brute_force(con)
    finally:
        con.close()


def test_the_survey_has_every_kind_of_duplicate_and_groups_across_ra_0(survey, reference):
    kinds = {}
    for value in reference.values():
        kinds[value] = kinds.get(value, 0) + 1
    for dup in (1, 3, 4, 5):
        assert kinds.get((dup, 1), 0) > 0 and kinds.get((dup, 0), 0) > 0, (dup, kinds)
    assert kinds[(0, 0)] > 20 and kinds[(0, 1)] > 1000        # faint ones; outside overlaps
    ra = {k: r for rows in survey.rows.values()
          for k, r in zip(rows["pts_key"].tolist(), rows["ra"].tolist(), strict=True)}
    pairs_across_0 = [k for k, (dup, _) in reference.items() if dup == 1 and ra[k] > 359.99]
    assert len(pairs_across_0) > 10


def test_a_full_resolution_equals_the_brute_force_row_by_row(survey, reference):
    con = new_database(survey, loaded=True)
    try:
        before = flags(con)
        stats = resolve(con)
        after = flags(con)
        assert after == reference
        assert stats["rows_updated"] == sum(before[k] != after[k] for k in after)
        assert stats["rows_examined"] == len(after)
        assert stats["groups"] > 100 and stats["pairs"] > stats["groups"]
        # nothing left to do: a second run changes nothing
        assert resolve(con)["rows_updated"] == 0
        assert resolve(con, list(survey.corners))["rows_updated"] == 0
        assert flags(con) == reference
    finally:
        con.close()


def test_a_full_resolution_in_small_batches_gives_the_same_flags(survey, reference):
    con = new_database(survey, loaded=True)
    try:
        con.execute("BEGIN TRANSACTION")
        stats = resolve_duplicates(con, batch_rows=500)      # about one scan per batch
        con.execute("COMMIT")
        assert stats["passes"] >= 5
        assert flags(con) == reference
    finally:
        con.close()


@pytest.mark.parametrize("order", [[23, 7, 41, 15, 30], [30, 41, 15, 7, 23]])
def test_loading_scans_one_by_one_in_any_order_gives_the_full_resolution(survey, order):
    con = new_database(survey)
    try:
        for key in order:
            add_scan(con, survey, key)
            stats = resolve(con, [key])
            assert flags(con) == brute_force(con)
            assert stats["scans_changed"] == 1
        # tile 23 (RA 359.94) and tile 41 (RA 0.19) are not neighbours: adding 23 last
        # leaves 41's rows alone; 30 overlaps every other tile
        if order[-1] == 23:
            assert stats["rows_examined"] == len(flags(con)) - len(survey.rows[41]["ra"])
    finally:
        con.close()


def test_removing_a_scan_restores_its_neighbours_flags(survey):
    con = new_database(survey)
    try:
        for key in (23, 7, 15, 30):
            add_scan(con, survey, key)
        resolve(con)
        without = flags(con)
        add_scan(con, survey, 41)
        resolve(con, [41])
        with_41 = flags(con)
        assert sum(with_41[k] != v for k, v in without.items()) > 20
        remove_scan(con, 41)
        stats = resolve(con, [41])
        assert flags(con) == without
        assert stats["rows_updated"] > 0
    finally:
        con.close()


def test_replacing_a_scan_resolves_like_the_new_rows_were_there_all_along(survey):
    con = new_database(survey, loaded=True)
    try:
        resolve(con)
        # the night is reprocessed: the same stars, new measurements and new keys
        rows = survey.rows[7]
        rng = np.random.default_rng(99)
        ra, dec = offset(rows["ra"], rows["dec"], rng.normal(0, 0.4, len(rows["ra"])),
                         rng.normal(0, 0.4, len(rows["ra"])))
        keep = rng.random(len(ra)) > 0.05
        replaced = Survey(survey.corners, {7: {"ra": ra[keep], "dec": dec[keep]}},
                          next_key=10**6)
        finish_rows(replaced)
        remove_scan(con, 7)
        add_scan(con, replaced, 7)
        resolve(con, [7])
        assert flags(con) == brute_force(con)
    finally:
        con.close()


def test_rows_of_scans_that_take_no_part_are_left_selected():
    survey = tile_survey(seed=3)
    con = new_database(survey, loaded=True)
    try:
        # scan 30 is not loaded (its rows stay), and rows of an unknown scan 999 sit in an
        # overlap: both count as their own scan without a footprint
        con.execute("UPDATE scans SET loaded = false WHERE scan_key = 30")
        con.execute("UPDATE psc SET scan_key = 999 WHERE scan_key = 7 AND pts_key % 5 = 0")
        con.execute("UPDATE psc SET dup_src = 4, use_src = 0 WHERE scan_key IN (30, 999)")
        resolve(con)
        got = flags(con)
        assert got == brute_force(con)
        outsiders = con.execute("SELECT DISTINCT dup_src, use_src FROM psc "
                                "WHERE scan_key IN (30, 999)").fetchall()
        assert outsiders == [(0, 1)]
        con.execute("UPDATE psc SET dup_src = 4, use_src = 0 WHERE scan_key IN (30, 999)")
        resolve(con, [30, 999])
        assert flags(con) == got
    finally:
        con.close()


def test_a_chain_of_matches_is_followed_beyond_the_neighbours_of_the_changed_scan():
    survey = chain_survey()
    con = new_database(survey)
    try:
        for key in (2, 3, 4, 5, 6):
            add_scan(con, survey, key)
        resolve(con)
        add_scan(con, survey, 1)
        stats = resolve(con, [1])
        expected = brute_force(con)
        assert flags(con) == expected
        assert stats["passes"] >= 2                     # the chain pulled in scan 6
        t_keys = set(survey.rows[6]["pts_key"].tolist())
        assert {v for k, v in expected.items() if k in t_keys} == {(5, 1)}
        assert {v for k, v in expected.items() if k not in t_keys} == {(5, 0)}
    finally:
        con.close()


def test_a_failure_raises_inside_the_callers_transaction(survey):
    con = new_database(survey, loaded=True)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("ALTER TABLE psc RENAME COLUMN use_src TO use_src_gone")
        with pytest.raises(Exception, match="use_src"):
            resolve_duplicates(con, [7])
        con.execute("ROLLBACK")
    finally:
        con.close()


@pytest.mark.parametrize("dec", [0.0, 41.8, 89.995, -89.99, 66.5])
def test_matching_finds_every_pair_within_2_arcsec_anywhere(dec):
    rng = np.random.default_rng(int(abs(dec) * 10))
    n = 1000
    # a 20" patch (around the pole: any RA), dense enough for many pairs near 2"
    ra = (rng.uniform(0, 360, n) if abs(dec) > 89.9
          else 359.999 + rng.uniform(-1, 1, n) * 20 / 3600 / np.cos(np.radians(dec))) % 360
    d = np.clip(dec + rng.uniform(-1, 1, n) * 20 / 3600, -90, 90)
    scan = rng.integers(0, 3, n)
    got = {tuple(p) for p in _matches(ra, d, scan).tolist()}
    sky = SkyCoord(ra * u.deg, d * u.deg)
    sep = sky[:, None].separation(sky[None, :]).arcsec
    i, j = np.nonzero((sep <= 2.0) & (scan[:, None] != scan[None, :]))
    want = {(a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True) if a < b}
    assert got == want and len(want) > 100


def test_nothing_loaded_nothing_to_do():
    con = memory_database()
    try:
        assert resolve(con)["rows_updated"] == 0
        assert resolve(con, [1, 2])["rows_updated"] == 0
    finally:
        con.close()
