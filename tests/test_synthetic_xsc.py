"""Synthetic XSC rows load as release files and measure the galaxies they were made from."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from catscan.designation import designation
from catscan.loaders import load_files
from catscan.loaders.schema_info import file_columns
from catscan.survey.synthetic_xsc import (
    FIXED_APERTURES,
    galaxy_counts_per_deg2,
    synthetic_xsc,
    true_galaxies,
)

SCAN = {"scan_key": 4321, "hemis": "s", "date": dt.date(2000, 10, 11), "scan": 105,
        "tile": 90123, "jdate": 2451828.7123}
ARROW_TYPES = {"DOUBLE": pa.float64(), "SMALLINT": pa.int16(), "INTEGER": pa.int32(),
               "BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32()}


def _galaxies(n: int = 2000, seed: int = 11, dec_range=(-33.0, -27.0)) -> dict:
    rng = np.random.default_rng(seed)
    ra = rng.uniform(359.93, 360.07, n) % 360.0        # the strip crosses RA 0
    dec = rng.uniform(*dec_range, n)
    return true_galaxies(ra, dec, rng)


def _coadds(dec: np.ndarray) -> np.ndarray:
    return 6 + 12 * np.clip(((dec - dec.min()) / 6.0 * 23).astype(int), 0, 22)


@pytest.fixture(scope="module")
def galaxies() -> dict:
    return _galaxies()


@pytest.fixture(scope="module")
def table(galaxies) -> pa.Table:
    return synthetic_xsc(galaxies, scan=SCAN, first_ext_key=4_321_001,
                         coadd=_coadds(galaxies["dec"]), seed=7)


def col(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(float)


def test_the_columns_are_the_release_file_columns_in_order(con, table):
    want = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in file_columns(con, "xsc")])
    assert len(want) == 389
    assert table.schema.equals(want)


def test_the_table_loads_as_a_release_file(con, write_release, table):
    path = write_release("xsc", table, "xsc_scan.txt.gz")
    results = load_files(con, "xsc", [path])
    assert sum(r.rows for r in results) == table.num_rows
    got = con.execute("SELECT ext_key, designation, k_m_k20fe, date, coadd_key FROM xsc "
                      "ORDER BY ext_key").fetchall()
    want = sorted(zip(table["ext_key"].to_pylist(), table["designation"].to_pylist(),
                      table["k_m_k20fe"].to_pylist(), table["date"].to_pylist(),
                      table["coadd_key"].to_pylist(), strict=True))
    assert got == want


def test_designations_follow_the_release_rule(table):
    for name, ra, dec in zip(table["designation"].to_pylist(), table["ra"].to_pylist(),
                             table["dec"].to_pylist(), strict=True):
        assert len(name) == 17 and name[16] == " "
        assert name[:16] == designation(ra, dec)


def test_positions_are_close_to_the_truth_and_valid(galaxies, table):
    ra, dec = col(table, "ra"), col(table, "dec")
    assert np.all((ra >= 0) & (ra < 360)) and (ra < 1).any() and (ra > 359).any()
    d_ra = ((ra - galaxies["ra"] + 180) % 360 - 180) * np.cos(np.radians(dec)) * 3600
    sep = np.hypot(d_ra, (dec - galaxies["dec"]) * 3600)
    assert np.median(sep) < 0.6 and sep.max() < 5.0
    glat = col(table, "glat")
    assert np.all((glat > -90) & (glat < -60))           # the strip is near the south pole


def test_keys_and_scan_fields(galaxies, table):
    n = table.num_rows
    assert table["ext_key"].to_pylist() == list(range(4_321_001, 4_321_001 + n))
    coadd = _coadds(galaxies["dec"])
    assert table["coadd"].to_pylist() == coadd.tolist()
    assert table["coadd_key"].to_pylist() == (1000 * SCAN["scan_key"] + coadd).tolist()
    for name in ("scan_key", "hemis", "date", "scan"):
        assert set(table[name].to_pylist()) == {SCAN[name]}
    jdate = set(table["jdate"].to_pylist())
    assert len(jdate) == 1 and 0 < jdate.pop() - SCAN["jdate"] < 6 / 1440   # mid-scan
    assert table["pts_key"].null_count == n
    assert set(table["use_src"].to_pylist()) == {1} and set(table["dup_src"].to_pylist()) == {0}
    ids = list(zip(table["coadd"].to_pylist(), table["id"].to_pylist(), strict=True))
    assert len(set(ids)) == n                              # id unique within a coadd


def test_total_magnitudes_measure_the_true_ones(galaxies, table):
    for band, truth in (("k", galaxies["k_tot"]),
                        ("h", galaxies["k_tot"] + galaxies["h_k"]),
                        ("j", galaxies["k_tot"] + galaxies["h_k"] + galaxies["j_h"])):
        pull = (col(table, f"{band}_m_ext") - truth) / col(table, f"{band}_msig_ext")
        assert abs(np.median(pull)) < 0.15 and 0.8 < np.std(pull) < 1.25, band
        assert np.mean(np.abs(pull) < 3) > 0.98, band


def test_isophotal_magnitudes_miss_the_outer_light(galaxies, table):
    """k20fe is the recommended magnitude: within errors of the truth but a little fainter
    (the light outside the 20 mag/arcsec² isophote), never brighter than the total."""
    k20, sig = col(table, "k_m_k20fe"), col(table, "k_msig_k20fe")
    deficit = k20 - galaxies["k_tot"]
    assert 0.05 < np.median(deficit) < 0.3
    assert np.all(deficit > -4 * sig) and np.all(deficit < 0.6 + 4 * sig)
    assert np.all(col(table, "r_k20fe") >= 5.0)
    assert np.all(col(table, "r_ext") > col(table, "r_k20fe"))
    colours = {"j_h": ("j", "h"), "h_k": ("h", "k")}
    for true, (a, b) in colours.items():
        measured = col(table, f"{a}_m_k20fe") - col(table, f"{b}_m_k20fe")
        combined = np.hypot(col(table, f"{a}_msig_k20fe"), col(table, f"{b}_msig_k20fe"))
        assert abs(np.median(measured - galaxies[true])) < 0.02
        assert np.mean(np.abs(measured - galaxies[true]) < 3 * combined) > 0.98


def test_errors_grow_with_magnitude_to_10_sigma_near_ks_13_7(table):
    k, sig = col(table, "k_m_k20fe"), col(table, "k_msig_k20fe")
    bright, faint = sig[(k > 10) & (k < 11)], sig[(k > 13.3) & (k < 13.7)]
    assert np.median(bright) < 0.06 < np.median(faint)
    assert 0.07 < np.median(faint) < 0.15                 # S/N ~ 10 at the XSC limit
    assert np.corrcoef(k, np.log(sig))[0, 1] > 0.7


def _flux(table: pa.Table, suffix: str) -> tuple[np.ndarray, np.ndarray]:
    """Flux and its error (arbitrary units) of a K magnitude: noise is Gaussian in flux."""
    flux = 10 ** (-0.4 * col(table, f"k_m_{suffix}"))
    return flux, col(table, f"k_msig_{suffix}") * flux / 1.0857


def test_bigger_apertures_hold_more_light(galaxies, table):
    """Fixed circular apertures: flux grows with radius (within the noise of the larger
    one, which holds the noise of the ring added) and never exceeds the total."""
    total, total_sig = _flux(table, "ext")
    previous, below_total, grows = None, [], []
    for radius in FIXED_APERTURES:
        flux, sig = _flux(table, str(radius))
        shown = ~np.isnan(flux)
        assert np.all(shown == (radius <= 1.5 * col(table, "r_ext")))
        below_total.append(flux[shown] < (total + 3 * np.hypot(sig, total_sig))[shown])
        if previous is not None:
            both = shown & ~np.isnan(previous)
            grows.append(flux[both] > previous[both] - 3 * sig[both])
        previous = flux
    assert np.concatenate(below_total).mean() > 0.99
    assert np.concatenate(grows).mean() > 0.99
    big = (galaxies["r_eff"] > 6) & (galaxies["k_tot"] < 12)     # resolved, high S/N
    assert big.sum() > 20
    assert np.all(col(table, "k_m_5")[big] > col(table, "k_m_10")[big])


def test_shapes_follow_the_true_axis_ratio(galaxies, table):
    ba, phi = col(table, "sup_ba"), col(table, "sup_phi")
    assert np.all((ba > 0) & (ba <= 1)) and np.all((phi > -90) & (phi <= 90))
    assert np.all(phi[ba == 1.0] == 90)
    resolved = galaxies["r_eff"] > 8
    assert np.corrcoef(galaxies["ba"][resolved], ba[resolved])[0, 1] > 0.8
    flat = resolved & (galaxies["ba"] < 0.5)
    d_phi = (phi[flat] - galaxies["pa"][flat] + 90) % 180 - 90
    assert np.median(np.abs(d_phi)) < 10


def test_flags_and_classes_are_mostly_clean_galaxies(table):
    n = table.num_rows
    cc = table["cc_flg"].to_pylist()
    assert cc.count("0") > 0.95 * n and set(cc) <= {"0", "U", "C", "z", "Z"}
    vc = col(table, "vc")
    assert np.mean(vc == 1) > 0.6 and set(vc) <= {-1, 1, 2}
    assert np.mean(col(table, "k_flg_k20fe") == 0) > 0.7
    for score in ("e_score", "g_score"):
        s = col(table, score)
        assert np.all((s > 0) & (s < 2))
    g, r = col(table, "g_score"), col(table, "r_k20fe")
    assert np.median(g[r > 15]) < np.median(g[r < 6])     # big galaxies look more extended


def test_counts_follow_euclidean_slope_and_the_xsc_total():
    sky = 4 * np.pi * (180 / np.pi) ** 2
    assert 1.5e6 < galaxy_counts_per_deg2() * sky < 1.8e6
    assert galaxy_counts_per_deg2(12.5) == pytest.approx(galaxy_counts_per_deg2() / 10**0.6)
    k = _galaxies(40_000, seed=3)["k_tot"]
    assert k.max() <= 13.5
    counts = np.histogram(k, bins=[10.5, 11.5, 12.5, 13.5])[0]
    assert np.all(np.abs(counts[1:] / counts[:-1] / 10**0.6 - 1) < 0.12)


def test_true_galaxies_are_bigger_when_brighter():
    g = _galaxies(20_000, seed=5)
    r_bright, r_faint = g["r_eff"][g["k_tot"] < 11], g["r_eff"][g["k_tot"] > 13]
    assert np.median(r_bright) > 2 * np.median(r_faint)
    assert np.all((g["ba"] >= 0.2) & (g["ba"] <= 1)) and np.all((g["pa"] >= 0) & (g["pa"] < 180))
    assert abs(np.median(g["j_h"]) - 0.7) < 0.05 and abs(np.median(g["h_k"]) - 0.3) < 0.05


def test_the_same_seed_gives_the_same_table(galaxies, table):
    coadd = _coadds(galaxies["dec"])
    again = synthetic_xsc(galaxies, scan=SCAN, first_ext_key=4_321_001, coadd=coadd, seed=7)
    other = synthetic_xsc(galaxies, scan=SCAN, first_ext_key=4_321_001, coadd=coadd, seed=8)
    assert again.equals(table) and not other.equals(table)
    assert _galaxies(50, seed=2)["k_tot"].tolist() == _galaxies(50, seed=2)["k_tot"].tolist()


def test_no_galaxies_give_an_empty_table_with_the_columns(table):
    empty = synthetic_xsc({"ra": np.zeros(0), "dec": np.zeros(0)}, scan=SCAN,
                          first_ext_key=1, coadd=np.zeros(0, int), seed=1)
    assert empty.num_rows == 0 and empty.schema.equals(table.schema)
