"""Synthetic PSC rows follow the release's own rules, so demos and benchmarks look real."""

from __future__ import annotations

import numpy as np

from catscan.designation import designations
from catscan.survey.synthetic_psc import synthetic_psc


def expected_quality(snr, cmsig, rd) -> str:
    """ph_qual by the Explanatory Supplement's precedence (2mass_reference.md §1.4)."""
    if rd in ("0", "6"):
        return "U"
    if snr > 10 and cmsig < 0.10857:
        return "A"
    if snr > 7 and cmsig < 0.15510:
        return "B"
    if snr > 5 and cmsig < 0.21714:
        return "C"
    return "D"


def test_flags_follow_the_release_rules():
    rows = synthetic_psc(5000, seed=3).to_pylist()
    for row in rows:
        for i, band in enumerate("jhk"):
            rd = row["rd_flg"][i]
            assert row["ph_qual"][i] == expected_quality(
                row[f"{band}_snr"], row[f"{band}_cmsig"], rd), row
            if rd == "0":       # upper limit: no error, no snr, no profile fit
                assert row[f"{band}_cmsig"] is None and row[f"{band}_snr"] is None
                assert row[f"{band}_m"] is not None and row[f"{band}_psfchi"] is None
            else:
                total = np.hypot(row[f"{band}_cmsig"], {"j": 0.011}.get(band, 0.007))
                assert row[f"{band}_msigcom"] >= round(total, 3) - 0.001


def test_positions_designations_and_keys_are_consistent():
    table = synthetic_psc(2000, seed=4, ra_range=(359.5, 360.5), dec_range=(-89.0, -88.0),
                          first_key=77)
    ra, dec = table["ra"].to_numpy(), table["dec"].to_numpy()
    assert np.all((ra >= 0) & (ra < 360)) and np.all((dec >= -89) & (dec <= -88))
    assert (ra < 1).any() and (ra > 359).any()              # the box wraps through RA 0
    names = [d.rstrip() for d in table["designation"].to_pylist()]
    assert names == designations(ra, dec).to_pylist()
    assert table["pts_key"].to_pylist() == list(range(77, 2077))


def test_number_counts_rise_towards_faint_magnitudes_until_the_limit():
    j = synthetic_psc(20000, seed=5)["j_m"].to_numpy()
    counts = np.histogram(j, bins=[10, 11, 12, 13, 14])[0]
    ratios = counts[1:] / counts[:-1]
    assert np.all((ratios > 1.6) & (ratios < 2.4))           # 10**0.3 ~ 2 per magnitude


def test_the_same_seed_gives_the_same_rows():
    assert synthetic_psc(300, seed=9).equals(synthetic_psc(300, seed=9))
    assert not synthetic_psc(300, seed=9).equals(synthetic_psc(300, seed=10))
