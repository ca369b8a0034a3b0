"""Synthetic Atlas Images: the 2MASS geometry, the real header's keywords, and pixels whose
photometry and astrometry agree with the input catalogue."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pyarrow.compute as pc
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from catscan.geometry.tiles import tile_grid
from catscan.loaders.delivery import coadd_key
from catscan.survey import synthetic_images as si

from photometry import aperture_fraction, measure

REAL_NAME = "2mass-atlas-990502s-j1420198"


@pytest.fixture(scope="module")
def tile() -> dict:
    grid = tile_grid()
    return grid.filter(pc.equal(grid["tile"], 330628)).to_pylist()[0]


def make_scan(tile: dict, direction: str = "n", **extra) -> dict:
    """A scans-table row for the tile; corners 1/2 at the start, 3/4 at the end."""
    south, north = [(tile["ra_1"], tile["dec_1"]), (tile["ra_2"], tile["dec_2"])], \
        [(tile["ra_3"], tile["dec_3"]), (tile["ra_4"], tile["dec_4"])]
    start, end = (south, north) if direction == "n" else (north, south)
    scan = {"scan_key": 4242, "hemis": tile["hemis"], "date": dt.date(1998, 11, 23),
            "scan": 72, "tile": tile["tile"], "direction": direction, "ra": tile["ra"],
            "dec": tile["dec"], "jdate": 2451141.68, "j_zp_ap": 20.91, "h_zp_ap": 20.52,
            "k_zp_ap": 19.88, "seeing": 1.05, "j_back": 310.0, "h_back": 780.0,
            "k_back": 950.0}
    for i, (ra, dec) in enumerate(start + end, start=1):
        scan[f"ra_{i}"], scan[f"dec_{i}"] = ra, dec
    return scan | extra


@pytest.fixture(scope="module")
def scan(tile) -> dict:
    return make_scan(tile, "n")


def bright_grid(spec: si.AtlasImageSpec, rng: np.random.Generator, spacing: int = 40) -> dict:
    """Isolated bright stars (8.5 < J < 12.5) on a jittered grid inside one image, plus faint
    background stars, as a catalogue (ra/dec/mags)."""
    wcs = WCS(si.atlas_header({"scan_key": 1, "hemis": "n", "date": dt.date(1998, 1, 1),
                               "scan": 1, "tile": 1, "direction": "n", "ra": spec.crval1,
                               "dec": spec.crval2, "dec_1": spec.crval2, "dec_3": spec.crval2,
                               "jdate": 2450815.7, "j_zp_ap": 20.9, "h_zp_ap": 20.5,
                               "k_zp_ap": 19.9, "seeing": 1.0, "j_back": 300, "h_back": 700,
                               "k_back": 900}, spec, "j"))
    gx, gy = np.meshgrid(np.arange(30, spec.naxis1 - 30, spacing),
                         np.arange(30, spec.naxis2 - 30, spacing))
    x = gx.ravel() + rng.uniform(-3, 3, gx.size)
    y = gy.ravel() + rng.uniform(-3, 3, gy.size)
    ra, dec = wcs.all_pix2world(x, y, 0)
    j = rng.uniform(8.5, 12.5, x.size)
    n_faint = 300
    fx, fy = rng.uniform(0, spec.naxis1, n_faint), rng.uniform(0, spec.naxis2, n_faint)
    fra, fdec = wcs.all_pix2world(fx, fy, 0)
    fj = rng.uniform(16.0, 17.5, n_faint)
    return {"ra": np.concatenate([ra, fra]), "dec": np.concatenate([dec, fdec]),
            "j_m": np.concatenate([j, fj]), "h_m": np.concatenate([j - 0.6, fj - 0.6]),
            "k_m": np.concatenate([j - 0.8, np.full(n_faint, np.nan)]),
            "bright": np.r_[np.ones(x.size, bool), np.zeros(n_faint, bool)]}


# ----------------------------------------------------------------------------- layout


@pytest.mark.parametrize("direction", ["n", "s"])
def test_layout_has_23_overlapping_images_from_the_scan_start(tile, direction):
    scan = make_scan(tile, direction)
    layout = si.atlas_layout(scan)
    assert [s.index for s in layout] == list(range(23))
    assert [s.naxis2 for s in layout] == [1024] * 22 + [698]
    assert all(s.naxis1 == 512 for s in layout)
    assert all(s.crval1 == pytest.approx(tile["ra"]) for s in layout)
    sign = 1 if direction == "n" else -1
    # along-scan distance from the start, measured in declination (scan along a meridian)
    along = [sign * (s.crval2 - scan["dec_1"]) * 3600 for s in layout]
    assert along == pytest.approx([s.offset_arcsec for s in layout], abs=1e-6)
    assert along[0] - layout[0].naxis2 / 2 == pytest.approx(0.0, abs=1e-6)   # leading edge
    for a, b, sa, sb in zip(along, along[1:], layout, layout[1:], strict=False):
        overlap = (a + sa.naxis2 / 2) - (b - sb.naxis2 / 2)
        assert overlap == pytest.approx(54.0, abs=1.0)
    end = along[-1] + layout[-1].naxis2 / 2
    length = abs(scan["dec_3"] - scan["dec_1"]) * 3600
    assert length - 100 < end <= length                   # stays on the tile
    assert all(abs(s.crota2) < 0.02 for s in layout)       # a tiny twist, as in the real one


def test_image_numbers_are_the_frame_nearest_the_centre(scan):
    layout = si.atlas_layout(scan)
    images = [s.image for s in layout]
    assert images == sorted(set(images))
    steps = np.diff(images)
    assert all(11 <= d <= 13 for d in steps[:-1])          # 970" / 82.11"
    assert 9 <= steps[-1] <= 10                            # the short last image: 807"
    frames = np.arange(400) * 82.11             # frame k + 1's centre, from the scan start
    for s in layout:
        assert s.image == 1 + int(np.argmin(np.abs(frames - s.offset_arcsec)))


def test_image_number_rule_matches_the_real_header(real_2mass):
    """The real image 0198 of a southward scan: USYREF = -(distance of grid (0,0) from the
    start) = -16696, so its centre is 16184" from the start; the rule gives 198."""
    header = fits.Header.fromtextfile(real_2mass / "atlas_headers" / f"{REAL_NAME}.hdr")
    assert header["SCANDIR"] == "s"
    offset = -header["USYREF"] - header["NAXIS2"] / 2
    assert offset == pytest.approx(16184.0)
    assert si.image_number(offset) == int(REAL_NAME[-4:]) == 198
    assert abs(header["DYFS"]) == pytest.approx(si.FRAME_STEP_ARCSEC, abs=0.01)


def test_synthetic_usyref_follows_the_real_convention(tile):
    scan = make_scan(tile, "s")
    spec = si.atlas_layout(scan)[16]
    header = si.atlas_header(scan, spec, "j")
    assert -header["USYREF"] - header["NAXIS2"] / 2 == pytest.approx(spec.offset_arcsec)
    assert si.image_number(-header["USYREF"] - header["NAXIS2"] / 2) == spec.image


def test_nearest_image_and_coadd_key(scan):
    layout = si.atlas_layout(scan)
    ra = np.array([s.crval1 for s in layout])
    dec = np.array([s.crval2 for s in layout])
    assert list(si.nearest_image(layout, ra, dec)) == list(range(23))
    # just either side of the midpoint between images 4 and 5 (and off the meridian)
    mid = (layout[4].crval2 + layout[5].crval2) / 2
    got = si.nearest_image(layout, [scan["ra"] + 0.05, scan["ra"] - 0.05],
                           [mid - 1 / 3600, mid + 1 / 3600])
    assert list(got) == [4, 5]
    # beyond the scan ends: the first and the last image
    assert list(si.nearest_image(layout, [scan["ra"]] * 2, [scan["dec_1"] - 0.1,
                                                           scan["dec_3"] + 0.1])) == [0, 22]
    assert coadd_key(4242, layout[5].image) == 4242 * 1000 + layout[5].image


def test_file_name():
    assert si.file_name("j", 142, 198) == "ji1420198.fits"
    assert si.file_name("k", 7, 12) == "ki0070012.fits"
    with pytest.raises(ValueError):
        si.file_name("K", 7, 12)


# ----------------------------------------------------------------------------- headers


def test_headers_carry_the_real_keywords_in_the_real_order(real_2mass, scan):
    real = fits.Header.fromtextfile(real_2mass / "atlas_headers" / f"{REAL_NAME}.hdr")
    spec = si.atlas_layout(scan)[3]
    hdu = si.make_image(scan, spec, "h", {"ra": [], "dec": [], "h_m": []},
                        np.random.default_rng(1))
    written = fits.Header.fromstring(si.image_bytes(hdu)[:2880 * 4])
    keys = [k for k in written.keys() if k not in ("CHECKSUM", "DATASUM")]
    real_keys = list(real.keys())
    assert keys[:len(real_keys)] == real_keys                  # same cards, same order
    assert keys[len(real_keys):] == ["HISTORY"]                # + "synthetic" history
    for key in real_keys:
        assert type(written[key]) is type(real[key]) or key.startswith("QT"), key
    assert written["NAXIS2"] == 1024 and written["FILTER"] == "h"
    assert written["SCANNO"] == 72 and written["STRIP_ID"] == 330628
    assert written["TELNAME"] == "Hopkins" and written["SCANDIR"] == "n"
    assert written["MAGZP"] == pytest.approx(scan["h_zp_ap"])
    assert written["SKYVAL"] == pytest.approx(scan["h_back"])
    assert written["ORDATE"] == "981123" and written["FN_PRFX"] == f"h{written['DAYNUM']}072"
    assert written["CRVAL2"] == pytest.approx(spec.crval2) and written["CRPIX2"] == 512.5


def test_daynum_and_site_keywords_reproduce_the_real_header(real_2mass, tile):
    """The real scan: 1999-05-02, CTIO, scan 142, southward, starting at 09:38:14 UT."""
    real = fits.Header.fromtextfile(real_2mass / "atlas_headers" / f"{REAL_NAME}.hdr")
    start = dt.datetime(1999, 5, 2, 9, 38, 14)
    jd = 2451545.0 + (start - dt.datetime(2000, 1, 1, 12)).total_seconds() / 86400
    scan = make_scan(tile, "s", date=dt.date(1999, 5, 2), scan=142, hemis="s", jdate=jd,
                     ra=real["CRVAL1"], dec=-15.0, dec_1=-(11 + 42 / 60 + 16 / 3600),
                     dec_3=-(18 + 5 / 60 + 17.1 / 3600))
    header = si.atlas_header(scan, si.atlas_layout(scan)[16], "j")
    for key in ("ORDATE", "DAYNUM", "FN_PRFX", "TELNAME", "DATE_SOS", "UT_SOS", "POSITNID",
                "DEC_SOS"):
        assert header[key] == real[key], key
    assert header["RA_SOS"][:7] == real["RA_SOS"][:7]     # same meridian, to 1 s of RA
    for key in ("ST_SOS", "HA_SOS"):                           # sidereal time within 5 s
        h, m, s = (abs(float(v)) for v in header[key].split(":"))
        rh, rm, rs = (abs(float(v)) for v in real[key].split(":"))
        assert abs((h * 3600 + m * 60 + s) - (rh * 3600 + rm * 60 + rs)) < 5, key
    assert header["ZD_SOS"] == pytest.approx(real["ZD_SOS"], abs=0.5)
    assert header["AM_SOS"] == pytest.approx(real["AM_SOS"], abs=0.01)
    assert header["DYFS"] == pytest.approx(real["DYFS"], abs=0.01)


def test_nan_edge_columns_like_the_real_image(real_2mass, scan):
    spec = si.atlas_layout(scan)[0]
    data = si.make_image(scan, spec, "j", {"ra": [], "dec": [], "j_m": []},
                         np.random.default_rng(2)).data
    real = fits.getdata(real_2mass / "atlas_images" / f"{REAL_NAME}.fits")
    blank = np.flatnonzero(np.isnan(data).all(axis=0))
    assert list(blank) == list(np.flatnonzero(np.isnan(real).all(axis=0)))
    assert np.isfinite(np.delete(data, blank, axis=1)).all()
    assert data.dtype == np.float32


# ----------------------------------------------------------------------------- files


def test_write_scan_images_is_deterministic_and_checksummed(tmp_path, scan):
    layout = si.atlas_layout(scan)
    rng = np.random.default_rng(7)
    stars = {"ra": scan["ra"] + rng.uniform(-0.05, 0.05, 500),
             "dec": rng.uniform(scan["dec_1"], scan["dec_3"], 500),
             "j_m": rng.uniform(10, 16, 500), "h_m": rng.uniform(10, 16, 500),
             "k_m": rng.uniform(10, 16, 500)}
    paths = si.write_scan_images(scan, stars, tmp_path / "981123n" / "s072" / "image", seed=11)
    assert len(paths) == 69 and all(p.exists() for p in paths)
    assert sorted(p.name for p in paths) == sorted(
        si.file_name(b, 72, s.image) for b in "jhk" for s in layout)
    assert not list(tmp_path.rglob("*.part"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # a checksum failure would warn
        for path in paths[::11]:
            with fits.open(path, checksum=True) as hdul:
                assert "CHECKSUM" in hdul[0].header and "DATASUM" in hdul[0].header
                assert hdul[0].data.shape == (hdul[0].header["NAXIS2"], 512)
    # the same image rebuilt alone is byte-identical; another seed is not
    band, spec = "h", layout[5]
    rebuilt = si.make_image(scan, spec, band, stars, np.random.default_rng([11, 1, 5]))
    path = paths[23 + 5]
    assert path.name == si.file_name(band, 72, spec.image)
    assert si.image_bytes(rebuilt) == path.read_bytes()
    other = si.make_image(scan, spec, band, stars, np.random.default_rng([12, 1, 5]))
    assert si.image_bytes(other) != path.read_bytes()


def test_make_image_is_deterministic_for_a_seed(scan):
    spec = si.atlas_layout(scan)[2]
    stars = bright_grid(spec, np.random.default_rng(3))
    a = si.make_image(scan, spec, "j", stars, np.random.default_rng(5))
    b = si.make_image(scan, spec, "j", stars, np.random.default_rng(5))
    c = si.make_image(scan, spec, "j", stars, np.random.default_rng(6))
    assert si.image_bytes(a) == si.image_bytes(b)
    assert not np.array_equal(a.data, c.data, equal_nan=True)


def test_wcs_round_trip(scan):
    spec = si.atlas_layout(scan)[9]
    header = si.atlas_header(scan, spec, "k")
    wcs = WCS(header)
    assert wcs.wcs.ctype[0] == "RA---SIN" and wcs.wcs.ctype[1] == "DEC--SIN"
    y, x = np.mgrid[0:spec.naxis2:37, 0:spec.naxis1:29]
    ra, dec = wcs.all_pix2world(x.ravel(), y.ravel(), 0)
    x2, y2 = wcs.all_world2pix(ra, dec, 0)
    assert np.max(np.abs(x2 - x.ravel())) < 1e-6 and np.max(np.abs(y2 - y.ravel())) < 1e-6
    centre = wcs.all_pix2world([[spec.crpix1 - 1, spec.crpix2 - 1]], 0)[0]
    assert centre == pytest.approx([header["CRVAL1"], header["CRVAL2"]], abs=1e-9)
    assert centre == pytest.approx([spec.crval1, spec.crval2], abs=1e-6)
    # 1"/px, north up (tiny twist), east to the left (x=0)
    c0 = SkyCoord(*wcs.all_pix2world([[0, 0]], 0)[0], unit="deg")
    cx = SkyCoord(*wcs.all_pix2world([[511, 0]], 0)[0], unit="deg")
    cy = SkyCoord(*wcs.all_pix2world([[0, 1023]], 0)[0], unit="deg")
    assert c0.separation(cx).arcsec == pytest.approx(511, rel=1e-3)
    assert c0.separation(cy).arcsec == pytest.approx(1023, rel=1e-3)
    assert c0.position_angle(cy).to(u.deg).value % 360 == pytest.approx(0, abs=0.05)
    assert c0.position_angle(cx).to(u.deg).value == pytest.approx(270, abs=0.05)


# ----------------------------------------------------------------------------- pixels


@pytest.mark.parametrize(("band", "direction", "index"), [("j", "n", 4), ("h", "n", 22),
                                                           ("k", "s", 11)])
def test_photometry_and_astrometry_agree_with_the_catalogue(tile, band, direction, index):
    scan = make_scan(tile, direction)
    spec = si.atlas_layout(scan)[index]
    rng = np.random.default_rng(100 + index)
    stars = bright_grid(spec, rng)
    hdu = si.make_image(scan, spec, band, stars, np.random.default_rng(1))
    header, data = hdu.header, hdu.data
    wcs = WCS(header)
    bright = stars["bright"]
    x, y = wcs.all_world2pix(stars["ra"][bright], stars["dec"][bright], 0)
    inside = (x > 25) & (x < spec.naxis1 - 25) & (y > 25) & (y < spec.naxis2 - 25)
    radius = 3.0
    correction = aperture_fraction(si.fwhm_arcsec(header["SEESH"]), radius)
    assert 0.9 < correction < 1.0
    # keep the stars whose sky noise in the aperture is < 0.015 mag, so that 0.05 is > 3 sigma
    # (in J that is every star brighter than ~12.7)
    catalogue = stars[f"{band}_m"][bright]
    flux = 10 ** (-0.4 * (catalogue - header["MAGZP"])) * correction
    noise = header["SKYSIG"] * np.sqrt(np.pi * radius**2)
    inside &= 1.0857 * noise / flux < 0.015
    assert inside.sum() >= 80
    mags, ra_c, dec_c = [], [], []
    for xi, yi in zip(x[inside], y[inside], strict=True):
        flux, cx, cy = measure(data, xi, yi, radius)
        mags.append(header["MAGZP"] - 2.5 * np.log10(flux / correction))
        ra_i, dec_i = wcs.all_pix2world([[cx, cy]], 0)[0]
        ra_c.append(ra_i)
        dec_c.append(dec_i)
    delta = np.array(mags) - catalogue[inside]
    assert np.max(np.abs(delta)) < 0.05
    assert abs(np.median(delta)) < 0.01                     # no zero-point bias
    sep = SkyCoord(ra_c, dec_c, unit="deg").separation(
        SkyCoord(stars["ra"][bright][inside], stars["dec"][bright][inside], unit="deg"))
    assert np.max(sep.arcsec) < 0.3
    # the sky level is what the header says; the pixel scatter is SKYSIG through the coadd
    # kernel (a 2-D sum of squares of the separable kernel: the square of the 1-D one)
    sky = data[:, 10:-10].ravel()
    assert np.median(sky) == pytest.approx(header["SKYVAL"], abs=0.5)
    pixel_sigma = header["SKYSIG"] * np.sum(si.noise_kernel() ** 2)
    assert robust_sigma(sky) == pytest.approx(pixel_sigma, rel=0.1)


def robust_sigma(values: np.ndarray) -> float:
    """The Gaussian sigma of the bulk of ``values`` (1.4826 MAD): stars do not move it."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def lag_scatter(data: np.ndarray, lags=(1, 2, 3, 4, 8)) -> np.ndarray:
    """Robust sigma of pixel differences at each lag (rows and columns), over sqrt(2): the
    structure function of the noise, sigma * sqrt(1 - correlation at that lag)."""
    return np.array([robust_sigma(np.concatenate([(data[:, k:] - data[:, :-k]).ravel(),
                                                  (data[k:] - data[:-k]).ravel()]))
                     for k in lags]) / np.sqrt(2)


def test_noise_is_correlated_like_the_real_coadd(real_2mass, scan):
    """Real Atlas Images are resampled from 2" frames, so neighbouring pixels share noise and
    a pixel scatters far less than SKYSIG. Compare the structure function of a synthetic image
    with the quietest 64 x 64 px blocks of the real J image, both in units of SKYSIG."""
    real = fits.getdata(real_2mass / "atlas_images" / f"{REAL_NAME}.fits")[:, 8:-8]
    real_sigma = fits.getheader(real_2mass / "atlas_images" / f"{REAL_NAME}.fits")["SKYSIG"]
    blocks = [lag_scatter(real[y:y + 64, x:x + 64]) / real_sigma
              for y in range(0, real.shape[0], 64) for x in range(0, real.shape[1] - 63, 64)]
    quiet = np.median(sorted(blocks, key=lambda b: b[-1])[:5], axis=0)
    spec = si.atlas_layout(scan)[3]
    hdu = si.make_image(scan, spec, "j", {"ra": [], "dec": [], "j_m": []},
                        np.random.default_rng(5))
    synthetic = lag_scatter(hdu.data[:, 8:-8].astype(np.float64)) / hdu.header["SKYSIG"]
    # lags 1-4 px: the kernel's correlation; at 8 px M17's nebulosity adds to the real sky
    assert synthetic[:4] == pytest.approx(quiet[:4], rel=0.12)
    assert synthetic[4] <= quiet[4]
    # white noise of SKYSIG per pixel would scatter 1.0 at every lag: 7 times too rough
    assert quiet[0] < 0.16


def test_fwhm_follows_seeing(scan):
    spec = si.atlas_layout(scan)[1]
    sizes = []
    for seeing in (0.9, 1.2):
        one = {"ra": [spec.crval1], "dec": [spec.crval2], "j_m": [8.0]}
        data = si.make_image(scan | {"seeing": seeing}, spec, "j", one,
                             np.random.default_rng(0)).data
        cut = data[int(spec.crpix2) - 1, 240:273] - np.nanmedian(data)
        sizes.append(np.sum(cut > cut.max() / 2))              # width at half maximum, px
    assert 2 <= sizes[0] <= 4 and sizes[1] >= sizes[0]
    assert si.fwhm_arcsec(0.9) < si.fwhm_arcsec(1.2) <= 3.6
