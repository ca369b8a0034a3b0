"""Cutouts: generated stars fall at their catalogue positions (< 0.3") and their fluxes
through MAGZP give the catalogue magnitudes, in native cutouts, in mosaics across the seam
of two images of a scan and across two scans; native cutouts equal astropy's Cutout2D;
mosaic pixels follow the documented rule; blank and flagged where coverage ends; whole
images; clear errors."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pyarrow as pa
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from catscan.db import connect
from catscan.images import ImageError, cutout, cutouts
from catscan.loaders.images import decompress, image_record
from catscan.survey import synthetic_images as si

from photometry import aperture_fraction, measure

RADIUS = 5.0                     # px: the aperture holds > 99.8 % of even a resampled PSF


@pytest.fixture(scope="module")
def con(image_db):
    connection = connect(image_db)
    yield connection
    connection.close()


def catalogue(con, date: str, scans: tuple[int, ...]) -> dict[str, np.ndarray]:
    rows = con.execute(
        "SELECT ra, dec, j_m, h_m, k_m, ph_qual FROM psc WHERE date = ? AND scan IN "
        "(SELECT unnest(?))", [date, list(scans)]).fetchall()
    ra, dec, j, h, k, qual = (np.array(c) for c in zip(*rows, strict=True))
    out = {"ra": ra.astype(float), "dec": dec.astype(float)}
    for i, (band, m) in enumerate((("j", j), ("h", h), ("k", k))):
        m = np.array([np.nan if v is None else v for v in m], float)
        out[band] = np.where(np.array([q[i] for q in qual]) == "U", np.nan, m)
    return out


def isolated(stars: dict, ra: float, dec: float, radius_arcsec: float = 12.0) -> bool:
    """No other catalogue source within the radius (any band, any brightness); sources
    within 1.5" are the star itself (seen again by an overlapping scan)."""
    d = np.hypot((stars["ra"] - ra) * np.cos(np.radians(dec)), stars["dec"] - dec) * 3600
    return not ((d > 1.5) & (d < radius_arcsec)).any()


def check_stars(result, stars: dict, min_stars: int = 1, neighbours: dict | None = None
                ) -> int:
    """Every isolated catalogue star well inside the cutout with a good signal: centroid
    within 0.3" of the catalogue position, aperture magnitude through MAGZP within 4 sigma
    (+0.01) of the catalogue magnitude. Returns the number of stars checked. Isolation is
    judged among ``neighbours`` (default: ``stars``)."""
    neighbours = stars if neighbours is None else neighbours
    header, data = result.hdu.header, result.hdu.data.astype(float)
    wcs = WCS(header)
    x, y = wcs.all_world2pix(stars["ra"], stars["dec"], 0)
    ny, nx = data.shape
    area = np.pi * RADIUS**2
    correction = aperture_fraction(si.fwhm_arcsec(header["SEESH"]), RADIUS)
    checked = 0
    for i in np.flatnonzero((x > 20) & (x < nx - 21) & (y > 20) & (y < ny - 21)):
        m = stars[result.band][i]
        if not np.isfinite(m) or not isolated(neighbours, stars["ra"][i], stars["dec"][i]):
            continue
        flux = 10 ** (-0.4 * (m - header["MAGZP"]))
        # sky noise plus ~0.5 sigma of compression noise per pixel (design notes §12)
        sigma = 1.0857 * 1.12 * header["SKYSIG"] * np.sqrt(area) / flux
        if sigma > 0.02:
            continue
        cx, cy = x[i], y[i]
        for _ in range(3):                                  # recentre on the light
            measured, cx, cy = measure(data, cx, cy, RADIUS)
        assert np.isfinite(data[int(cy) - 12:int(cy) + 13, int(cx) - 12:int(cx) + 13]).all()
        got = header["MAGZP"] - 2.5 * np.log10(measured / correction)
        assert abs(got - m) < 4 * sigma + 0.01, (result.band, m, got)
        found = SkyCoord(*wcs.all_pix2world([[cx, cy]], 0)[0], unit="deg")
        true = SkyCoord(stars["ra"][i], stars["dec"][i], unit="deg")
        assert found.separation(true).arcsec < 0.3
        checked += 1
    assert checked >= min_stars
    return checked


def j_index(con) -> list[tuple]:
    return con.execute("SELECT coadd_key, crval1, crval2, naxis2, fits FROM atlas_images "
                       "WHERE band = 'j' ORDER BY crval2").fetchall()


# ----------------------------------------------------------------------------- native


def test_native_cutouts_put_stars_where_the_catalogue_says(con):
    stars = catalogue(con, "1997-10-24", (8,))
    images = j_index(con)
    lo, hi = images[0][2], images[-1][2]
    rng = np.random.default_rng(11)
    picked = [i for i in np.flatnonzero((stars["j"] < 13.5) & (stars["dec"] > lo)
                                        & (stars["dec"] < hi))
              if isolated(stars, stars["ra"][i], stars["dec"][i])]
    checked = 0
    for i in rng.choice(picked, size=min(12, len(picked)), replace=False):
        ra = stars["ra"][i] + rng.uniform(-15, 15) / 3600 / np.cos(np.radians(stars["dec"][i]))
        dec = stars["dec"][i] + rng.uniform(-15, 15) / 3600
        for result in cutouts(ra, dec, 1.5, db=con):
            assert result.hdu.data.shape == (90, 90)
            if result.mosaic or result.coverage < 1:        # near a seam or the scan edge
                continue
            assert result.sources == [result.best]
            checked += check_stars(result, stars, min_stars=0)
    assert checked >= 15


def test_native_cutout_equals_cutout2d_of_the_whole_image(con):
    key, ra, dec, naxis2, blob = j_index(con)[6]
    position = (ra + 40 / 3600, dec - 100 / 3600)
    result = cutouts(*position, 5, bands="J", db=con)[0]
    header, full = decompress(blob)
    reference = Cutout2D(full, SkyCoord(*position, unit="deg"), (300, 300), wcs=WCS(header),
                         mode="partial", fill_value=np.nan)
    assert not result.mosaic and result.coverage == 1.0
    assert result.sources[0].coadd_key == key
    (y0, y1), (x0, x1) = ((s.start, s.stop) for s in reference.slices_original)
    assert result.bounds == (x0 + 1, x1, y0 + 1, y1)
    assert np.array_equal(result.hdu.data, reference.data)
    ours = WCS(result.hdu.header)
    px = np.array([[0, 0], [299, 0], [150, 150], [299, 299]], float)
    assert np.allclose(ours.all_pix2world(px, 0), reference.wcs.all_pix2world(px, 0),
                       rtol=0, atol=1e-10)
    # the requested position is at the centre of the 300 x 300 pixels (within a pixel)
    cx, cy = ours.all_world2pix([position], 0)[0]
    assert abs(cx - 149.5) <= 0.5 and abs(cy - 149.5) <= 0.5
    # the original header travels with the cutout, with catscan's provenance
    h = result.hdu.header
    assert (h["ORDATE"], h["SCANNO"], h["FILTER"], h["MAGZP"]) == (
        header["ORDATE"], header["SCANNO"], header["FILTER"], header["MAGZP"])
    assert (h["CUTMODE"], h["MOSAIC"], h["NIMAGES"]) == ("sub", False, 1)
    assert h["IMAGE1"] == f"971024n {result.best.fname}"
    assert len(result.fits_bytes()) % 2880 == 0
    with fits.open(io.BytesIO(result.fits_bytes())) as hdul:
        assert np.array_equal(hdul[0].data, result.hdu.data, equal_nan=True)
        assert hdul[0].header["CRPIX1"] == h["CRPIX1"]


# ----------------------------------------------------------------------------- mosaics


def independent_mosaic_value(header: fits.Header, x: int, y: int, images: list) -> float:
    """The documented rule, pixel by pixel with astropy: the image in which the pixel lies
    farthest from an edge, bilinear over its valid neighbours (nearer half valid), rescaled
    to the reference's MAGZP and SKYVAL."""
    ra, dec = WCS(header).all_pix2world([[x, y]], 0)[0]
    ref = images[0][0]
    best = None
    for h, data in images:
        px, py = WCS(h).all_world2pix([[ra, dec]], 0)[0]
        ny, nx = data.shape
        room = min(px + 0.5, nx - 0.5 - px, py + 0.5, ny - 0.5 - py)
        if room < 0:
            continue
        i, j = int(np.floor(px)), int(np.floor(py))
        fx, fy = px - i, py - j
        total = weight = 0.0
        for di, dj, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            v = data[min(max(j + dj, 0), ny - 1), min(max(i + di, 0), nx - 1)]
            if np.isfinite(v):
                total, weight = total + w * v, weight + w
        if weight < 0.5 or (best is not None and room <= best[0]):
            continue
        value = total / weight
        scaled = (value - h["SKYVAL"]) * 10 ** (0.4 * (ref["MAGZP"] - h["MAGZP"])) \
            + ref["SKYVAL"]
        best = (room, scaled)
    return np.nan if best is None else best[1]


def check_mosaic_pixels(con, result, rng) -> None:
    blobs = dict(con.execute("SELECT fname, fits FROM atlas_images WHERE band = ?",
                             [result.band]).fetchall())
    images = [decompress(blobs[c.fname]) for c in result.sources]
    ny, nx = result.hdu.data.shape
    for x, y in zip(rng.integers(0, nx, 40), rng.integers(0, ny, 40), strict=True):
        expected = independent_mosaic_value(result.hdu.header, x, y, images)
        got = result.hdu.data[y, x]
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected,
                                                                               rel=1e-5)


def test_mosaic_across_the_seam_of_two_images_of_a_scan(con):
    stars = catalogue(con, "1997-10-24", (8,))
    images = j_index(con)
    rng = np.random.default_rng(5)
    checked = 0
    for (k1, ra, d1, n1, _), (k2, _, d2, n2, _) in zip(images[2:9], images[3:10],
                                                         strict=True):
        seam = (d1 + n1 / 7200 + d2 - n2 / 7200) / 2                # middle of the overlap
        results = cutouts(ra + rng.uniform(-60, 60) / 3600 / np.cos(np.radians(seam)), seam,
                          4, db=con)
        assert [r.band for r in results] == ["j", "h", "k"]
        for result in results:
            assert result.mosaic and result.coverage == 1.0
            assert {c.coadd_key for c in result.sources} == {k1, k2}
            h = result.hdu.header
            assert (h["CTYPE1"], h["CTYPE2"], h["CROTA2"]) == ("RA---SIN", "DEC--SIN", 0.0)
            assert (h["MOSAIC"], h["NIMAGES"]) == (True, 2)
            # north up, centred on the position
            wcs = WCS(h)
            centre = wcs.all_pix2world([[119.5, 119.5]], 0)[0]
            assert SkyCoord(*centre, unit="deg").separation(
                SkyCoord(h["CUTRA"], h["CUTDEC"], unit="deg")).arcsec < 0.01
            checked += check_stars(result, stars, min_stars=0)
        check_mosaic_pixels(con, results[0], rng)
    assert checked >= 5


@pytest.fixture(scope="module")
def two_scans(image_db, tmp_path_factory):
    """A copy of the image database with scan 9's Atlas Images (east of scan 8, the same
    night) for the two images next to the declination of the brightest star near the
    scans' midline, drawn from scan 9's own catalogue rows as the generator draws scan 8's.
    Returns the database and a position on the midline at that declination."""
    work = tmp_path_factory.mktemp("two_scans")
    db = work / "catscan.duckdb"
    shutil.copy(image_db, db)
    con = connect(db, read_only=False)
    try:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'scans' "
            "ORDER BY column_index").fetchall()]
        [values] = con.execute("SELECT * FROM scans WHERE date = '1997-10-24' AND scan = 9"
                               ).fetchall()
        row = dict(zip(cols, values, strict=True))
        stars = catalogue(con, "1997-10-24", (9,))
        seen = {"ra": stars["ra"], "dec": stars["dec"], "j_m": stars["j"],
                "h_m": stars["h"], "k_m": stars["k"]}
        [(ra8,)] = con.execute("SELECT ra FROM scans WHERE date = '1997-10-24' AND scan = 8"
                               ).fetchall()
        middle = (ra8 + row["ra"]) / 2
        layout = si.atlas_layout(row)
        near = ((np.abs(stars["ra"] - middle) * np.cos(np.radians(stars["dec"])) < 100 / 3600)
                & (stars["dec"] > layout[-1].crval2 + 0.2)
                & (stars["dec"] < layout[0].crval2 - 0.2))
        dec = float(stars["dec"][near][np.nanargmin(stars["j"][near])]) + 30 / 3600
        specs = sorted(layout, key=lambda s: abs(s.crval2 - dec))[:2]
        out = work / "971024n" / "s009" / "image"
        out.mkdir(parents=True)
        records = []
        for band in si.BANDS:
            for spec in specs:
                hdu = si.make_image(row, spec, band, seen,
                                    np.random.default_rng([9, si.BANDS.index(band),
                                                           spec.index]))
                path = out / si.file_name(band, row["scan"], spec.image)
                path.write_bytes(si.image_bytes(hdu))
                records.append(image_record(path, row["scan_key"]))
        names = list(records[0])
        con.register("new_images", pa.Table.from_pylist(records))
        con.execute(f"INSERT INTO atlas_images ({', '.join(names)}, hpx29) SELECT "
                    f"{', '.join(names)}, hpx29(crval1, crval2) FROM new_images")
        con.unregister("new_images")
    finally:
        con.close()
    return db, middle, dec


def test_mosaic_across_two_scans(two_scans):
    db, ra, dec = two_scans
    con = connect(db)
    try:
        both = catalogue(con, "1997-10-24", (8, 9))
        # the scans are equally wide: west of the midline scan 8 lies farther from its
        # edges and gives the pixels (and the stars, at its catalogue's positions)
        own = {}
        for scan, west in ((8, True), (9, False)):
            stars = catalogue(con, "1997-10-24", (scan,))
            keep = (stars["ra"] < ra) == west
            own[scan] = {k: v[keep] for k, v in stars.items()}
        results = cutouts(ra, dec, 5, db=con)
        rng = np.random.default_rng(2)
        checked = 0
        for result in results:
            assert result.mosaic and result.coverage == 1.0
            assert {c.scan for c in result.sources} == {8, 9}
            labels = [result.hdu.header[f"IMAGE{i}"]
                      for i in range(1, result.hdu.header["NIMAGES"] + 1)]
            assert {label.split()[1][2:5] for label in labels} == {"008", "009"}
            for scan in (8, 9):
                checked += check_stars(result, own[scan], min_stars=0, neighbours=both)
            check_mosaic_pixels(con, result, rng)
        assert checked >= 3
    finally:
        con.close()


# ----------------------------------------------------------------------------- edges


def test_blank_and_flagged_where_coverage_ends(con):
    key, ra, dec, _, blob = j_index(con)[8]
    header, full = decompress(blob)
    wcs = WCS(header)
    # 60" inside the scan's west edge (x = 511): a 3' box reaches 30" beyond it, and
    # over the image's 3 blank columns there
    west = wcs.all_pix2world([[511 - 60, 512]], 0)[0]
    result = cutouts(*west, 3, bands="H", db=con)[0]
    assert not result.mosaic and result.sources[0].coadd_key == key
    assert result.band == "h" and result.coverage == pytest.approx(1 - 32 / 180, abs=0.01)
    h = result.hdu.header
    assert h["COVERAGE"] == pytest.approx(result.coverage, abs=1e-6)
    assert h["CUTX1"] > 512                                  # the box overhangs the image
    blank = ~np.isfinite(result.hdu.data)
    # blank exactly where the image has no data: beyond x = 511, or on its NaN columns
    ys, xs = np.mgrid[0:180, 0:180]
    ox, oy = xs + h["CUTX0"] - 1, ys + h["CUTY0"] - 1
    expected = (ox > 511) | np.isnan(full[np.clip(oy, 0, 1023), np.clip(ox, 0, 511)])
    assert np.array_equal(blank, expected)
    # a position far from any image: a clear error
    with pytest.raises(ImageError, match="no Atlas Image"):
        cutout(ra + 1.0, dec, 2, db=con)


def test_whole_image_is_the_stored_image(con):
    key, ra, dec, _, _ = j_index(con)[4]
    results = cutouts(ra, dec + 0.01, whole=True, bands="KJ", db=con)
    assert [r.band for r in results] == ["k", "j"]
    for result in results:
        blob = con.execute("SELECT fits FROM atlas_images WHERE coadd_key = ? AND band = ?",
                           [key, result.band]).fetchone()[0]
        header, data = decompress(blob)
        assert np.array_equal(result.hdu.data, data, equal_nan=True)
        assert result.hdu.data.shape == (1024, 512)
        original = [(c.keyword, c.value, c.comment) for c in header.cards]
        # the FITS file keeps every card in the delivered order (BLOCKED before EXTEND)
        with fits.open(io.BytesIO(result.fits_bytes())) as hdul:
            written = [(c.keyword, c.value, c.comment) for c in hdul[0].header.cards]
            assert np.array_equal(hdul[0].data, data, equal_nan=True)
        assert written[:len(original)] == original
        # the HDU object has every card too, EXTEND moved to astropy's place
        hdu_cards = [(c.keyword, c.value, c.comment) for c in result.hdu.header.cards]
        assert [c for c in hdu_cards if c[0] != "EXTEND"][:len(original) - 1] == \
            [c for c in original if c[0] != "EXTEND"]
        assert ("EXTEND", True, "TAPE MAY HAVE STANDARD FITS EXTENSIONS") in hdu_cards
        assert result.hdu.header["CUTMODE"] == "whole"
        assert result.coverage == pytest.approx(504 / 512)          # 8 NaN edge columns
    with pytest.raises(ImageError, match="holds"):
        cutout(ra + 1.0, dec, whole=True, db=con)


def test_sizes_bands_and_positions_are_checked(con):
    _, ra, dec, naxis2, _ = j_index(con)[4]
    with pytest.raises(ImageError, match="5'x5'.*--allow-large"):
        cutout(ra, dec, 6, db=con)
    seam = dec + naxis2 / 7200                  # image 4's north edge: 8' takes 2 images
    large = cutouts(ra, seam, "8arcmin", allow_large=True, bands="J", db=con)[0]
    assert large.hdu.data.shape == (480, 480) and large.mosaic and len(large.sources) == 2
    with pytest.raises(ImageError, match="30'"):
        cutout(ra, dec, 31, allow_large=True, db=con)
    with pytest.raises(ImageError, match="above 0"):
        cutout(ra, dec, 0, db=con)
    with pytest.raises(ImageError, match="size"):
        cutout(ra, dec, "5 furlongs", db=con)
    with pytest.raises(ImageError, match="bands"):
        cutout(ra, dec, 2, bands="JHV", db=con)
    with pytest.raises(ImageError, match="Dec"):
        cutout(ra, 95.0, 2, db=con)
    assert [h.header["FILTER"] for h in cutout(ra, dec, "30arcsec", bands="Ks", db=con)] == \
        ["k"]
    sexagesimal = cutout("00:42:30.1", f"+{dec:.6f}", 1, bands="J", db=con)[0]
    assert sexagesimal.header["CUTRA"] == pytest.approx(15 * (42 / 60 + 30.1 / 3600))
