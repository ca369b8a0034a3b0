"""Finding Atlas Images: the SQL footprint test agrees with astropy's WCS on the synthetic
scan and on the real M17 image; best first is the farthest-from-edge rule; by night, scan,
tile and band."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from catscan.db import connect, memory_database
from catscan.images import ImageError, find_images, images_at, images_near, parse_bands
from catscan.loaders.images import image_record

REAL_NAME = "2mass-atlas-990502s-j1420198.fits"


@pytest.fixture(scope="module")
def con(image_db):
    connection = connect(image_db)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def j_images(con) -> dict[int, tuple[WCS, tuple[int, int]]]:
    """coadd_key -> (astropy WCS from the stored header, (ny, nx)) of every J image."""
    out = {}
    for key, blob in con.execute("SELECT coadd_key, fits FROM atlas_images WHERE band = 'j'"
                                 ).fetchall():
        with fits.open(io.BytesIO(blob)) as hdul:
            header = hdul[1].header
            out[key] = (WCS(header), (header["NAXIS2"], header["NAXIS1"]))
    return out


def astropy_room(wcs: WCS, shape, ra, dec) -> np.ndarray:
    """Pixels (= arcsec) from each position to the image's nearest pixel edge, by astropy."""
    x, y = wcs.all_world2pix(ra, dec, 0)
    ny, nx = shape
    return np.minimum(np.minimum(x + 0.5, nx - 0.5 - x), np.minimum(y + 0.5, ny - 0.5 - y))


def insert(con, records: list[dict]) -> None:
    """atlas_images rows as the night loader writes them (loaders/night.py)."""
    cols = ", ".join(records[0])
    con.register("rows_in", pa.Table.from_pylist(records))
    try:
        con.execute(f"INSERT INTO atlas_images ({cols}, hpx29) SELECT {cols}, "
                    "hpx29(crval1, crval2) FROM rows_in")
    finally:
        con.unregister("rows_in")


def test_footprint_test_agrees_with_astropy(con, j_images):
    centres = con.execute("SELECT min(crval1), min(crval2), max(crval2) FROM atlas_images"
                          ).fetchone()
    rng = np.random.default_rng(7)
    n = 300
    dec = rng.uniform(centres[1] - 0.1, centres[1] + 1.2, n)      # the first ~6 images
    ra = centres[0] + rng.uniform(-0.1, 0.1, n) / np.cos(np.radians(dec))
    held = 0
    for r, d in zip(ra, dec, strict=True):
        rooms = {k: float(astropy_room(w, s, r, d)) for k, (w, s) in j_images.items()}
        if min(abs(v) for v in rooms.values()) < 0.05:               # on an edge: either
            continue
        expected = sorted((k for k, v in rooms.items() if v > 0), key=lambda k: -rooms[k])
        found = images_at(con, r, d, bands="J")
        assert [i.coadd_key for i in found] == expected
        for image in found:                                          # degrees vs pixels
            assert image.edge_distance * 3600 == pytest.approx(rooms[image.coadd_key],
                                                               abs=0.02)
        held += bool(expected)
    assert 150 < held < 300                  # positions inside, outside and in overlaps


def test_best_first_in_an_overlap_and_all_bands(con, j_images):
    rows = con.execute("SELECT coadd_key, crval1, crval2, naxis2 FROM atlas_images "
                       "WHERE band = 'j' ORDER BY crval2 LIMIT 2").fetchall()
    (k1, ra, d1, n1), (k2, _, d2, _) = rows
    top = d1 + n1 / 2 / 3600                                          # image 1's north edge
    # 10" inside image 1's north edge: in both images, image 2 farther from its edges
    found = images_at(con, ra, top - 10 / 3600)
    assert [(i.coadd_key, i.band) for i in found] == [
        (k2, "j"), (k2, "h"), (k2, "k"), (k1, "j"), (k1, "h"), (k1, "k")]
    assert found[-1].edge_distance * 3600 == pytest.approx(10, abs=0.05)
    tile = con.execute("SELECT tile FROM scans WHERE scan_key = ?", [found[0].scan_key]
                       ).fetchone()[0]
    assert {i.tile for i in found} == {tile}
    assert {i.night for i in found} == {"971024n"}
    # 30" beyond the scan's east edge: no image holds it; images_near reaches them
    east = ra + (256 + 30) / 3600 / np.cos(np.radians(d1))
    assert images_at(con, east, d1) == []
    near = images_near(con, east, d1, 40 / 3600, bands="K")
    assert [i.coadd_key for i in near] == [k1]
    assert near[0].edge_distance * 3600 == pytest.approx(
        float(astropy_room(*j_images[k1], east, d1)), abs=0.05)


def test_by_night_scan_tile_and_band(con):
    assert len(find_images(con, date="1997-10-24", hemis="n", scan=8)) == 69
    j = find_images(con, date="1997-10-24", scan=8, bands="J")
    assert len(j) == 23 and {i.band for i in j} == {"j"}
    assert [i.image for i in j] == sorted(i.image for i in j)        # scan order
    tile = con.execute("SELECT tile FROM scans WHERE date = '1997-10-24' AND scan = 8"
                       ).fetchone()[0]
    assert len(find_images(con, tile=tile, bands="HK")) == 46
    assert find_images(con, tile=tile + 1) == []                     # scan 9: no images
    assert find_images(con, date="1997-10-24", scan=9) == []
    assert find_images(con, hemis="s") == []
    at = find_images(con, at=(j[5].crval1, j[5].crval2), bands="J")
    assert [i.coadd_key for i in at] == [j[5].coadd_key]
    with pytest.raises(ImageError, match="YYYY-MM-DD"):
        find_images(con, date="24/10/1997")
    with pytest.raises(ImageError, match="hemisphere"):
        find_images(con, hemis="x")


def test_parse_bands():
    assert parse_bands("JHK") == ("j", "h", "k")
    assert parse_bands("Ks") == ("k",)
    assert parse_bands("J,H,Ks") == ("j", "h", "k")
    assert parse_bands("kj") == ("k", "j")
    for bad in ("", "JHX", "JJ", "V"):
        with pytest.raises(ImageError, match="bands"):
            parse_bands(bad)


def test_sql_macros_on_the_real_image(real_2mass):
    """The real M17 J image (CROTA2 0.007 deg, SIN): containment and edge distances in SQL
    agree with astropy's all_world2pix, including positions just inside and outside."""
    path = real_2mass / "atlas_images" / REAL_NAME
    record = image_record(path, 31)
    with fits.open(path) as hdul:
        wcs, shape = WCS(hdul[0].header), hdul[0].data.shape
    con = memory_database()
    try:
        insert(con, [record])
        rng = np.random.default_rng(3)
        x = rng.uniform(-20, shape[1] + 20, 400)
        y = rng.uniform(-20, shape[0] + 20, 400)
        ra, dec = wcs.all_pix2world(x, y, 0)
        rooms = astropy_room(wcs, shape, ra, dec)
        got = np.array(con.execute(
            "SELECT atlas_edge_distance(ra_1, dec_1, ra_2, dec_2, ra_3, dec_3, ra_4, dec_4, "
            "p.ra, p.dec) * 3600 FROM atlas_images, (SELECT unnest(?) AS ra, unnest(?) AS dec"
            ") p", [ra.tolist(), dec.tolist()]).fetchall())[:, 0]
        assert np.abs(got - rooms).max() < 0.01                       # arcsec
        inside = [bool(con.execute("SELECT count(*) FROM images_at(?, ?)", [r, d]
                                   ).fetchone()[0]) for r, d in zip(ra[:60], dec[:60],
                                                                     strict=True)]
        assert inside == list(rooms[:60] >= 0)
    finally:
        con.close()
