"""Cross-match of a list (catscan.xmatch): exactly the pairs a brute-force astropy separation
finds, at the poles, across RA 0/360, on HEALPix cell edges, for tiny and huge radii; every
target kept (LEFT), nearest first, candidate counts right, on the real M31 rows too."""

from __future__ import annotations

import subprocess
import sys

import cdshealpix.nested as hp
import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st

from catscan import xmatch as xmatch_module
from catscan.db import memory_database
from catscan.spatial import match_cell_sql
from catscan.xmatch import Plan, XmatchError, _ranked, scan_ranges, target_cells, xmatch


def insert_psc(con, ra, dec) -> None:
    """Catalog rows with the columns a cross-match reads (pts_key = position in the list)."""
    n = len(ra)
    con.register("raw", pa.table({"ra": np.asarray(ra, float) % 360.0,
                                  "dec": np.asarray(dec, float),
                                  "designation": [f"s{i}" for i in range(n)],
                                  "pts_key": np.arange(n), "j_m": np.linspace(5, 17, n)}))
    con.execute("INSERT INTO psc BY NAME SELECT *, hpx29(ra, dec) AS hpx29, "
                f"{match_cell_sql('hpx29(ra, dec)')} AS hpx11, 0 AS load_id "
                "FROM raw ORDER BY hpx29")
    con.unregister("raw")


def sky(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points, crowds at both poles and around RA 0, and points on cell edges."""
    rng = np.random.default_rng(seed)
    n = 4000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    pole = 90 - rng.exponential(0.01, 600)
    wrap = rng.normal(0, 0.01, 600) % 360.0
    edge_ra, edge_dec = [], []
    for depth in (14, 11, 5, 0):                            # cell corners and edge points
        cells = rng.integers(0, 12 * 4 ** depth, 100, dtype=np.uint64)
        lon, lat = hp.vertices(cells, depth)
        edge_ra.append(lon.deg.ravel())
        edge_dec.append(lat.deg.ravel())
        lon, lat = hp.healpix_to_lonlat(cells, depth, dx=rng.uniform(0, 1), dy=1e-9)
        edge_ra.append(lon.deg)
        edge_dec.append(lat.deg)
    edge_ra, edge_dec = np.concatenate(edge_ra), np.concatenate(edge_dec)
    return (np.concatenate([ra, rng.uniform(0, 360, 1200), wrap, edge_ra]),
            np.concatenate([dec, np.concatenate([pole, -pole]), rng.normal(0, 0.01, 600),
                            edge_dec]))


@pytest.fixture(scope="module")
def catalog():
    con = memory_database()
    ra, dec = sky()
    insert_psc(con, ra, dec)
    yield con, SkyCoord(ra * u.deg, dec * u.deg)
    con.close()


def brute_force(targets: SkyCoord, cat: SkyCoord, radius_deg: float):
    """(target, key) pairs within the radius, and pairs too close to the radius to call."""
    sep = targets[:, None].separation(cat[None, :]).deg
    inside = sep <= radius_deg
    unsure = np.abs(sep - radius_deg) <= 1e-12 * max(radius_deg, 1e-6) + 1e-14
    pairs = {(int(i), int(k)) for i, k in zip(*np.nonzero(inside & ~unsure), strict=True)}
    return pairs, {(int(i), int(k)) for i, k in zip(*np.nonzero(unsure), strict=True)}, sep


positions = st.one_of(
    st.tuples(st.floats(0, 360, exclude_max=True), st.floats(-90, 90)),
    st.tuples(st.floats(0, 360, exclude_max=True), st.floats(89.9, 90)),
    st.tuples(st.floats(0, 360, exclude_max=True), st.floats(-90, -89.9)),
    st.tuples(st.one_of(st.floats(359.95, 360, exclude_max=True), st.floats(0, 0.05)),
              st.floats(-0.05, 0.05)),
    st.integers(0, 12 * 4 ** 14 - 1).map(
        lambda c: tuple(v.deg[0, 0] for v in hp.vertices(np.array([c], np.uint64), 14))),
    # just inside or on an edge of the cells the matcher uses for 2", 10', 1 deg and 15 deg
    st.tuples(st.sampled_from([11, 4, 0, 0]), st.integers(0, 2 ** 40),
              st.floats(0, 1, exclude_max=True),
              st.sampled_from([0.0, 1e-12, 1e-4, 0.05, 0.95, 1 - 1e-12])).map(
        lambda a: tuple(float(v.deg[0]) for v in hp.healpix_to_lonlat(
            np.array([a[1] % (12 * 4 ** a[0])], np.uint64), a[0], dx=a[2], dy=a[3]))),
)
radii = st.sampled_from([0.05, 1.0, 2.0, 10.0, 60.0, 1800.0, 7200.0, 36000.0, 90000.0])


@settings(max_examples=80, deadline=None)
@given(points=st.lists(positions, min_size=1, max_size=12), radius_arcsec=radii)
def test_all_pairs_are_exactly_those_astropy_finds(catalog, points, radius_arcsec):
    con, cat = catalog
    ra = np.array([p[0] for p in points]) % 360.0
    dec = np.array([p[1] for p in points])
    radius = radius_arcsec / 3600
    out = xmatch(con, pa.table({"ra": ra, "dec": dec, "name": [str(i) for i in
                                                              range(len(ra))]}),
                 radius, mode="all")
    expected, unsure, sep = brute_force(SkyCoord(ra * u.deg, dec * u.deg), cat, radius)
    got = {(int(name), key) for name, key in zip(out["name"].to_pylist(),
                                                 out["pts_key"].to_pylist(), strict=True)
           if key is not None}
    assert got - unsure == expected
    # every target is there, in input order; counts and separations agree
    names = out["name"].to_pylist()
    assert sorted(set(names), key=int) == [str(i) for i in range(len(ra))]
    assert names == sorted(names, key=int)
    counts = dict(zip(names, out["n_candidates"].to_pylist(), strict=True))
    for i in range(len(ra)):
        assert abs(counts[str(i)] - (sep[i] <= radius).sum()) <= len(
            [u_ for u_ in unsure if u_[0] == i])
    for name, key, arcsec in zip(names, out["pts_key"].to_pylist(),
                                 out["dist"].to_pylist(), strict=True):
        if key is not None:
            assert abs(arcsec - sep[int(name), key] * 3600) < 1e-6


@pytest.mark.parametrize("radius_arcsec", [2.0, 60.0, 1800.0])
def test_a_join_split_into_slices_finds_the_same_pairs(catalog, monkeypatch, radius_arcsec):
    """Big lists join slice by slice (a hash table per slice of target cells); force slices
    of 3 cells on a list at the poles, across RA 0 and on cell corners."""
    con, cat = catalog
    rng = np.random.default_rng(5)
    ra, dec = sky()
    pick = rng.choice(len(ra), 150, replace=False)
    ra, dec = (ra[pick] + rng.normal(0, 1e-4, 150)) % 360.0, np.clip(dec[pick], -90, 90)
    targets = pa.table({"ra": ra, "dec": dec, "name": [str(i) for i in range(len(ra))]})
    radius = radius_arcsec / 3600
    whole = xmatch(con, targets, radius, mode="all")
    monkeypatch.setattr(xmatch_module, "KEYS_PER_PART", 3)
    sliced = xmatch(con, targets, radius, mode="all")
    assert sliced.equals(whole)
    expected, unsure, _ = brute_force(SkyCoord(ra * u.deg, dec * u.deg), cat, radius)
    got = {(int(n), k) for n, k in zip(sliced["name"].to_pylist(),
                                       sliced["pts_key"].to_pylist(), strict=True)
           if k is not None}
    assert got - unsure == expected and len(expected) > 100


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 9), st.sampled_from([0.0, 0.5, 1.0, 2.5]),
                                st.integers(0, 3)), max_size=60))
def test_pairs_are_ranked_as_lexsort_ranks_them(pairs):
    row = np.array([p[0] for p in pairs], dtype=np.int64)
    sep = np.array([p[1] for p in pairs], dtype=float)
    key = np.array([p[2] for p in pairs], dtype=np.int64)
    order = _ranked(row, sep, key, np.bincount(row, minlength=10))
    assert np.array_equal(order, np.lexsort((key, sep, row)))


@settings(max_examples=40, deadline=None)
@given(points=st.lists(positions, min_size=1, max_size=8), radius_arcsec=radii)
def test_nearest_is_the_closest_source_and_every_target_is_kept(catalog, points,
                                                                radius_arcsec):
    con, cat = catalog
    ra = np.array([p[0] for p in points]) % 360.0
    dec = np.array([p[1] for p in points])
    radius = radius_arcsec / 3600
    out = xmatch(con, pa.table({"ra": ra, "dec": dec}), radius)
    assert out.num_rows == len(ra)
    _, _, sep = brute_force(SkyCoord(ra * u.deg, dec * u.deg), cat, radius)
    for i, (key, arcsec, n) in enumerate(zip(out["pts_key"].to_pylist(),
                                             out["dist"].to_pylist(),
                                             out["n_candidates"].to_pylist(), strict=True)):
        best = int(np.argmin(sep[i]))
        if sep[i, best] <= radius * (1 - 1e-9):
            assert abs(arcsec - sep[i, best] * 3600) < 1e-6
            assert key == best or abs(sep[i, key] - sep[i, best]) < 1e-12
            assert n >= 1
        elif sep[i, best] > radius * (1 + 1e-9):
            assert key is None and arcsec is None and n == 0


def test_unmatched_and_positionless_targets_come_out_with_nulls(catalog):
    con, _ = catalog
    targets = pa.table({"id": [10, 11, 12, 13], "ra": [0.0, None, 123.4, 0.0],
                        "dec": [90.0, 5.0, -60.0, 95.0]})
    out = xmatch(con, targets, 1 / 3600, mode="all")
    ids = out["id"].to_pylist()
    assert ids == sorted(ids) and [i for i in ids if i != 10] == [11, 12, 13]
    rows = {i: (n, s) for i, n, s in zip(out["id"].to_pylist(), out["n_candidates"].to_pylist(),
                                         out["designation"].to_pylist(), strict=True)}
    assert rows[11] == (0, None) and rows[13] == (0, None)


def test_catalog_columns_named_like_target_columns_get_the_catalog_suffix(catalog):
    con, _ = catalog
    out = xmatch(con, pa.table({"ra": [1.0], "dec": [2.0], "j_m": [9.9]}), 1.0,
                 columns=["ra", "dec", "j_m", "designation"])
    assert out.column_names == ["ra", "dec", "j_m", "ra_psc", "dec_psc", "j_m_psc",
                                "designation", "dist", "n_candidates"]
    assert out.schema.field("ra_psc").metadata[b"unit"] == b"deg"
    assert out.schema.field("dist").metadata[b"unit"] == b"arcsec"


@pytest.mark.parametrize(("call", "message"), [
    (lambda con: xmatch(con, pa.table({"ra": [1.0], "dec": [2.0]}), 0), "must be positive"),
    (lambda con: xmatch(con, pa.table({"ra": [1.0], "dec": [2.0]}), 1, mode="best"),
     "unknown mode"),
    (lambda con: xmatch(con, pa.table({"ra": [1.0], "dec": [2.0]}), 1, catalog="gsc"),
     "unknown catalog"),
    (lambda con: xmatch(con, pa.table({"x": [1.0], "dec": [2.0]}), 1), "no 'ra' column"),
    (lambda con: xmatch(con, pa.table({"ra": [1.0], "dec": [2.0]}), 1, columns=["nope"]),
     "no column 'nope'"),
])
def test_bad_requests_say_what_is_wrong(catalog, call, message):
    with pytest.raises(XmatchError, match=message):
        call(catalog[0])


def test_the_cell_depth_keeps_the_radius_inside_the_neighbour_block():
    assert Plan.for_radius(2 / 3600).depth == 11          # 103" cells for a 2" radius
    assert Plan.for_radius(1.0).depth == 0
    assert Plan.for_radius(30.0).depth is None            # nested loop
    for radius in (0.1 / 3600, 2 / 3600, 0.5, 10.0):
        depth = Plan.for_radius(radius).depth
        assert radius <= 0.4 * 58.6 / 2 ** depth


def test_most_targets_need_only_their_own_cell():
    rng = np.random.default_rng(8)
    ra, dec = rng.uniform(0, 360, 20_000), np.degrees(np.arcsin(rng.uniform(-1, 1, 20_000)))
    depth = Plan.for_radius(2 / 3600).depth
    centres, rows, cells = target_cells(ra, dec, depth, 2 / 3600)
    assert 1.0 < len(cells) / len(ra) < 1.5
    assert set(np.unique(rows)) == set(range(len(ra)))
    own = cells[np.searchsorted(rows, np.arange(len(ra)))]   # pairs of a target are in a row
    assert np.isin(centres, cells).all() and len(own) == len(ra)


def test_scan_ranges_hold_every_cell_and_its_neighbours_in_few_ranges():
    rng = np.random.default_rng(4)
    depth = 15
    centres = np.concatenate([rng.integers(0, 12 * 4 ** depth, 50_000),
                              rng.integers(0, 4 ** 10, 5000) + 7 * 4 ** depth])
    ranges = scan_ranges(centres, depth, most=64)
    assert len(ranges) <= 64 and ranges == sorted(ranges)
    lo = np.array([a for a, _ in ranges])
    hi = np.array([b for _, b in ranges])
    block = hp.neighbours(centres.astype(np.uint64), depth).astype(np.int64).ravel()
    cells = block[block >= 0]
    first = cells << (2 * (29 - depth))
    last = ((cells + 1) << (2 * (29 - depth))) - 1
    i = np.searchsorted(lo, first, side="right") - 1
    assert (i >= 0).all() and (last < hi[i]).all()


def test_scan_ranges_of_a_few_cells_are_their_blocks():
    block = sorted(int(c) for c in hp.neighbours(np.array([100], np.uint64), 5).ravel())
    ranges = scan_ranges(np.array([100]), 5)
    covered = {c for lo, hi in ranges for c in range(lo >> 48, hi >> 48)}
    assert covered == set(block)


def test_the_real_m31_rows_find_themselves(real_2mass):
    """IRSA's 2412 M31 rows as both catalog (with decoys 2.5" away) and target list."""
    table = Table.read(real_2mass / "firefly_2mass-m31-2412rows.tbl", format="ipac")
    ra, dec = np.asarray(table["ra"], float), np.asarray(table["dec"], float)
    decoys = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
        np.linspace(0, 360, len(ra)) * u.deg, 2.5 * u.arcsec)
    con = memory_database()
    try:
        insert_psc(con, np.concatenate([ra, decoys.ra.deg]),
                   np.concatenate([dec, decoys.dec.deg]))
        out = xmatch(con, table, 2 / 3600)
    finally:
        con.close()
    assert out.num_rows == 2412
    assert out["pts_key"].to_pylist() == list(range(2412))
    # a Gator cone result has its own dist (from its cone's centre): kept, ours is dist_psc
    assert out["dist"].to_pylist() == [float(d) for d in table["dist"]]
    assert max(out["dist_psc"].to_pylist()) < 1e-6
    assert out.column_names[-2:] == ["dist_psc", "n_candidates"]
    assert out["designation_psc"].to_pylist() == [f"s{i}" for i in range(2412)]
    # candidate counts against astropy: real neighbours closer than 2" are rare but counted
    coords = SkyCoord(ra * u.deg, dec * u.deg)
    _, _, sep = brute_force(coords, SkyCoord(np.concatenate([ra, decoys.ra.deg]) * u.deg,
                                             np.concatenate([dec, decoys.dec.deg]) * u.deg),
                            2 / 3600)
    assert out["n_candidates"].to_pylist() == (sep <= 2 / 3600).sum(axis=1).tolist()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_the_command_matches_a_votable_list_into_a_fits_file(tmp_path, db_path):
    from catscan.db import connect

    ra, dec = sky(3)
    con = connect(db_path, read_only=False)
    try:
        insert_psc(con, ra[:2000], dec[:2000])
    finally:
        con.close()
    # three targets: 1" from source 5, on source 9 (with a second source 1.5" away), nowhere
    near = SkyCoord(ra[5] * u.deg, dec[5] * u.deg).directional_offset_by(
        30 * u.deg, 1 * u.arcsec)
    targets = Table({"name": ["near5", "on9", "empty"],
                     "RAJ2000": [near.ra.deg, ra[9], (ra[9] + 180) % 360],
                     "DEJ2000": [near.dec.deg, dec[9], -dec[9]]})
    con = connect(db_path, read_only=False)
    try:
        extra = SkyCoord(ra[9] * u.deg, dec[9] * u.deg).directional_offset_by(
            0 * u.deg, 1.5 * u.arcsec)
        insert_psc(con, [extra.ra.deg], [extra.dec.deg])       # pts_key 0 again, s0
    finally:
        con.close()
    targets.write(tmp_path / "list.xml", format="votable")
    out = tmp_path / "matched.fits"
    done = run_cli("xmatch", str(tmp_path / "list.xml"), "--radius", '2"', "--out", str(out),
                   "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    assert "3 target(s)" in done.stdout and "2 matched" in done.stdout
    assert "1 with more than one candidate" in done.stdout
    result = Table.read(out)
    assert list(result["name"]) == ["near5", "on9", "empty"]
    assert list(result["n_candidates"]) == [1, 2, 0]
    assert abs(result["dist"][0] - 1.0) < 1e-6 and result["dist"][1] < 1e-6
    assert result["designation"][1] == "s9" and np.ma.is_masked(result["designation"][2])
    assert result["ra"].unit == u.deg
    # --all gives one row per pair, nearest first
    done = run_cli("xmatch", str(tmp_path / "list.xml"), "--radius", "2arcsec", "--all",
                   "--out", str(tmp_path / "all.csv"), "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    every = Table.read(tmp_path / "all.csv")
    assert list(every["name"]) == ["near5", "on9", "on9", "empty"]
    assert list(every["designation"][1:3]) == ["s9", "s0"]
    assert "2 matched" in done.stdout


def test_the_command_explains_bad_input(tmp_path, db_path):
    (tmp_path / "list.csv").write_text("x,y\n1,2\n")
    done = run_cli("xmatch", str(tmp_path / "list.csv"), "--radius", "2", "--db", str(db_path))
    assert done.returncode == 1 and "cannot tell which column holds the RA" in done.stderr
    (tmp_path / "ok.csv").write_text("ra,dec\n1,2\n")
    done = run_cli("xmatch", str(tmp_path / "ok.csv"), "--radius", "-2", "--db", str(db_path))
    assert done.returncode != 0 and "negative" in done.stderr + done.stdout
    done = run_cli("xmatch", str(tmp_path / "ok.csv"), "--radius", "2 furlongs", "--db",
                   str(db_path))
    assert done.returncode == 1 and "cannot read the angle" in done.stderr


@pytest.mark.parametrize("radius_arcsec", [0.3, 2.0, 40.0])
def test_the_stored_cells_and_the_index_find_the_same_pairs(catalog, monkeypatch,
                                                              radius_arcsec):
    """Radii up to 41" join on the stored order-11 cells (hpx11); the same match on
    ``hpx29 >> shift`` at the radius's own depth gives the same table, and brute force agrees."""
    con, cat = catalog
    radius = radius_arcsec / 3600
    assert Plan.for_radius(radius) == Plan(11, stored=True)
    rng = np.random.default_rng(6)
    ra, dec = sky()
    pick = rng.choice(len(ra), 300, replace=False)
    ra = (ra[pick] + rng.normal(0, radius / 3, 300)) % 360.0
    dec = np.clip(dec[pick] + rng.normal(0, radius / 3, 300), -90, 90)
    targets = pa.table({"ra": ra, "dec": dec, "name": [str(i) for i in range(len(ra))]})
    stored = xmatch(con, targets, radius, mode="all")
    plain = Plan.for_radius(radius, stored_cells=False)
    assert not plain.stored
    monkeypatch.setattr(Plan, "for_radius", classmethod(lambda cls, r, stored_cells=True: plain))
    assert xmatch(con, targets, radius, mode="all").equals(stored)
    expected, unsure, _ = brute_force(SkyCoord(ra * u.deg, dec * u.deg), cat, radius)
    got = {(int(n), k) for n, k in zip(stored["name"].to_pylist(),
                                       stored["pts_key"].to_pylist(), strict=True)
           if k is not None}
    assert got - unsure == expected and len(expected) > 100


def test_an_upgraded_database_gets_the_cells_of_its_rows(tmp_path):
    """Schema step 140 adds hpx11 to a database that already holds sources: every row gets
    hpx29 >> 36, and a cross-match on the upgraded file finds its rows."""
    import duckdb

    from catscan import __version__
    from catscan.db import connect, init_database, schema_files
    from catscan.udfs import register

    db = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(db))
    try:
        register(raw)
        for step in schema_files():
            if step.name == "140_match_cells.sql":
                continue
            raw.execute(step.sql)
            raw.execute("INSERT INTO schema_version (version, name, catscan_version) "
                        "VALUES (?, ?, ?)", [step.version, step.name, __version__])
        ra, dec = sky(3)
        raw.register("raw", pa.table({"ra": ra % 360.0, "dec": dec,
                                      "designation": [f"s{i}" for i in range(len(ra))],
                                      "pts_key": np.arange(len(ra))}))
        raw.execute("INSERT INTO psc BY NAME SELECT *, hpx29(ra, dec) AS hpx29, "
                    "0 AS load_id FROM raw ORDER BY hpx29")
    finally:
        raw.close()
    assert init_database(db)[1] == ["140_match_cells.sql"]
    with connect(db) as con:
        hpx29, hpx11 = con.execute("SELECT hpx29, hpx11 FROM psc").fetchnumpy().values()
        assert len(hpx11) == len(ra) and np.array_equal(hpx11, hpx29 >> 36)
        targets = pa.table({"ra": ra[:50] % 360.0, "dec": dec[:50]})
        found = xmatch(con, targets, 1 / 3600, columns=["pts_key"])
        assert found["pts_key"].to_pylist() == list(range(50))


def test_the_stored_cell_join_lets_duckdb_filter_the_catalog_scan(catalog):
    """Why hpx11 is stored: on a plain column DuckDB pushes the targets' cells into the
    catalog scan (a dynamic filter), so only rows in a target cell reach the join."""
    from sqlglot import exp

    from catscan.xmatch import match_relation, with_match_keys

    con, _ = catalog
    ra, dec = sky()
    targets = pa.table({"ra": ra[:200], "dec": dec[:200]})
    relation = with_match_keys(exp.select(exp.column("pts_key", table="c")).from_(
        exp.Table(this=exp.to_identifier("psc"), alias=exp.TableAlias(
            this=exp.to_identifier("c")))), "psc", "c")
    plans = []

    def run(sql):
        plans.append(con.sql("EXPLAIN ANALYZE " + sql).fetchall()[0][1])
        return con.sql(sql).to_arrow_table()

    match_relation(run, con, targets, 2 / 3600, relation, catalog="psc", index_table="c")
    assert "Dynamic Filters" in plans[0] and "hpx11" in plans[0]
