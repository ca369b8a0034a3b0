"""``catscan generate``: deterministic deliveries of a realistic survey, whose Atlas Images
agree with its catalog once loaded.

Values are checked against independent computations: the density against the sky model's
own formula, colours against 2MASS stellar loci, photometry on the images by aperture
measurement (tests/photometry.py).
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from catscan.loaders import delivery
from catscan.loaders.images import decompress
from catscan.loaders.night import load_night
from catscan.survey.generate import generate
from catscan.survey.sky import star_density
from catscan.survey.synthetic_images import fwhm_arcsec

from photometry import aperture_fraction, measure


@pytest.fixture
def survey(image_survey):
    return image_survey


def test_generation_is_deterministic(survey, tmp_path):
    again = generate(tmp_path / "again", scale="demo", seed=1, image_scans=0)
    assert [p.name for p in again.nights] == [p.name for p in survey.nights]
    for ours, theirs in zip(survey.nights, again.nights, strict=True):
        if ours.name == "971024n":        # the night with images differs by its images
            for rel in ("scans.tbl", "health.tbl", delivery.psc_file(8)):
                assert (ours / rel).read_bytes() == (theirs / rel).read_bytes()
            continue
        assert delivery.delivery_digest(ours) == delivery.delivery_digest(theirs)
    other = generate(tmp_path / "other", scale="demo", seed=2, image_scans=0)
    first = other.nights[1] / delivery.psc_file(8)
    assert first.read_bytes() != (survey.nights[1] / delivery.psc_file(8)).read_bytes()


def test_the_demo_plan_has_every_kind_of_night(survey):
    kinds = {}
    for night in survey.nights:
        manifest = delivery.read_manifest(night)
        kinds.setdefault(manifest.kind, []).append((manifest.name, manifest.version))
    assert ("980416n", "2.1") in kinds["reprocessing"]
    assert min(delivery.read_manifest(n).date for n in survey.nights).isoformat() \
        == "1997-05-21"
    assert {delivery.read_manifest(n).hemis for n in survey.nights} == {"n", "s"}


def test_source_density_follows_galactic_latitude(con, survey):
    for night in survey.nights:
        load_night(con, night)
    rows = con.execute("SELECT s.glon, s.glat, count(*) FROM psc p JOIN scans s "
                       "USING (scan_key) GROUP BY ALL").fetchall()
    for glon, glat, count in rows:
        per_deg2 = count / 0.85                     # a 6 deg x 8.5' scan
        model = float(star_density(np.array(glon), np.array(glat)))
        assert 0.5 * model < per_deg2 < 1.1 * model, (glon, glat, per_deg2, model)
    dens = {round(glat): count for _, glat, count in rows}
    assert max(dens.values()) > 30 * min(dens.values())   # plane vs high latitude
    # stellar colours like 2MASS: J-H ~ 0.6, H-Ks ~ 0.2 for well-measured stars
    jh, hk = con.execute("SELECT median(j_m - h_m), median(h_m - k_m) FROM psc "
                         "WHERE ph_qual = 'AAA' AND glat < -20").fetchone()
    assert 0.45 < jh < 0.8 and 0.1 < hk < 0.3
    # photometric errors grow with magnitude
    errs = con.execute("SELECT round(j_m), median(j_cmsig) FROM psc WHERE j_cmsig IS NOT "
                       "NULL AND j_m BETWEEN 10 AND 16 GROUP BY 1 ORDER BY 1").fetchall()
    assert all(a[1] <= b[1] for a, b in zip(errs, errs[1:], strict=False))


def _bright_isolated(con, scan_key: int):
    """Catalog stars brighter than J = 12 with no other source within 20"."""
    return con.execute("""
        SELECT p.ra, p.dec, p.j_m, p.coadd_key FROM psc p
        WHERE p.scan_key = ? AND p.j_m < 12 AND p.ph_qual[1] = 'A' AND NOT EXISTS (
            SELECT 1 FROM psc q WHERE q.scan_key = p.scan_key AND q.pts_key <> p.pts_key
              AND abs(q.dec - p.dec) < 20 / 3600.0
              AND ang_sep(p.ra, p.dec, q.ra, q.dec) < 20 / 3600.0)""", [scan_key]).fetchall()


@pytest.mark.parametrize("source", ["delivered", "stored"])
def test_images_agree_with_the_catalog(con, survey, source):
    night = next(n for n in survey.nights if n.name == "971024n")
    load_night(con, night)
    scan_key = con.execute("SELECT scan_key FROM scans WHERE scan = 8").fetchone()[0]
    assert con.execute("SELECT count(*), count(DISTINCT coadd_key) FROM atlas_images "
                       "WHERE scan_key = ?", [scan_key]).fetchone() == (69, 23)
    # every source of the scan points at an Atlas Image set that was loaded
    assert con.execute("SELECT count(*) FROM psc WHERE scan_key = ? AND coadd_key NOT IN "
                       "(SELECT coadd_key FROM atlas_images)", [scan_key]).fetchone()[0] == 0
    stars = _bright_isolated(con, scan_key)
    assert len(stars) >= 20
    deltas, seps = [], []
    for ra, dec, j_m, coadd_key in stars:
        fname, blob = con.execute("SELECT fname, fits FROM atlas_images WHERE coadd_key = ? "
                                  "AND band = 'j'", [coadd_key]).fetchone()
        if source == "stored":
            header, data = decompress(blob)
        else:
            with fits.open(night / delivery.image_dir(8) / fname) as hdul:
                header, data = hdul[0].header, hdul[0].data.astype(float)
        wcs = WCS(header)
        x, y = wcs.all_world2pix([[ra, dec]], 0)[0]
        if not (25 < x < header["NAXIS1"] - 25 and 25 < y < header["NAXIS2"] - 25):
            continue
        radius = 4.0
        correction = aperture_fraction(fwhm_arcsec(header["SEESH"]), radius)
        flux, cx, cy = measure(np.asarray(data, float), x, y, radius)
        deltas.append(header["MAGZP"] - 2.5 * np.log10(flux / correction) - j_m)
        world = wcs.all_pix2world([[cx, cy]], 0)[0]
        seps.append(SkyCoord(*world, unit="deg").separation(
            SkyCoord(ra, dec, unit="deg")).arcsec)
    assert len(deltas) >= 20
    assert np.max(np.abs(deltas)) < 0.05
    assert abs(np.median(deltas)) < 0.01
    assert np.max(seps) < 0.3


def test_bench_scale_walks_the_sky_until_enough_rows(tmp_path):
    result = generate(tmp_path / "bench", scale="bench", rows=20_000, seed=3)
    assert result.psc_rows >= 20_000
    manifests = [delivery.read_manifest(n) for n in result.nights]
    assert manifests[0].date.isoformat() == "1997-05-21" and manifests[0].hemis == "n"
    assert all(m.kind == "operational" for m in manifests)
    # one night fewer would not have been enough
    last = result.nights[-1]
    in_last = sum(1 for f in last.glob("s*/psc_*.gz") for _ in gzip.open(f))
    assert result.psc_rows - in_last < 20_000
    statuses = {line.split("|")[27] for n in result.nights
                for line in (n / delivery.SCANS).read_text().splitlines()}
    assert {"P"} <= statuses
