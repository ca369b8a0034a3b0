"""SIA 2.0 and SODA (catscan.web.sia) through pyvo: the images listed are those
catscan.images finds, the ObsCore columns say where, when and in which band, and the
access URL and SODA cutouts give the stored pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

from catscan.db import connect
from catscan.images import images_near
from catscan.loaders.images import decompress

pyvo = pytest.importorskip("pyvo")
M31 = (10.68479, 41.26906)


@pytest.fixture(scope="module")
def service(web_server, vo_session):
    return pyvo.dal.SIA2Service(f"{web_server}/sia", session=vo_session)


def _keys(rows) -> list[tuple[int, str]]:
    return sorted((int(r["coadd_key"]), str(r["band"]).lower()) for r in rows)


def test_a_circle_lists_the_images_catscan_finds(service, web_db):
    results = service.search(pos=(M31[0], M31[1], 0.05))
    con = connect(web_db)
    try:
        expected = images_near(con, M31[0], M31[1], 0.05)
    finally:
        con.close()
    assert len(expected) >= 3
    assert _keys(results) == sorted((i.coadd_key, i.band) for i in expected)
    row = results[0]
    assert row.dataproduct_type == "image" and row.access_format == "image/fits"
    assert row["s_region"].startswith("POLYGON ICRS ")
    assert row["facility_name"] == "FLWO 1.3m"


def test_band_and_time_constraints(service, vo_session, web_server):
    every = service.search(pos=(M31[0], M31[1], 0.05))
    ks = service.search(pos=(M31[0], M31[1], 0.05), band=(2.1e-6, 2.2e-6))
    assert {str(b) for b in ks.to_table()["band"]} == {"K"}
    assert len(ks) == sum(1 for r in every if r["band"] == "K")
    table = every.to_table()
    t0 = float(table["t_min"][0])
    during = service.search(pos=(M31[0], M31[1], 0.05),
                            time=(Time(t0 - 0.001, format="mjd"), Time(t0 + 0.001, format="mjd")))
    assert len(during) == len(every)
    later = service.search(pos=(M31[0], M31[1], 0.05),
                           time=(Time(t0 + 10, format="mjd"), Time(t0 + 20, format="mjd")))
    assert len(later) == 0
    nothing = service.search(pos=(200.0, -30.0, 0.1))
    assert len(nothing) == 0


def test_maxrec_overflow_and_errors(web_server, vo_session, service):
    few = service.search(pos=(M31[0], M31[1], 0.05), maxrec=2)
    assert len(few) == 2
    with pytest.raises(pyvo.dal.DALQueryError, match="give POS"):
        pyvo.dal.SIA2Results.from_result_url(f"{web_server}/sia/query?BAND=1e-6",
                                             session=vo_session)


def test_access_url_and_soda_cutout_give_the_stored_pixels(service, vo_session, web_db):
    row = service.search(pos=(M31[0], M31[1], 0.01), band=(1.2e-6, 1.3e-6))[0]
    whole = fits.open(io.BytesIO(vo_session.get(row.access_url).content))[0]
    con = connect(web_db)
    try:
        blob = con.execute("SELECT fits FROM atlas_images WHERE coadd_key = ? AND band = 'j'",
                           [int(row["coadd_key"])]).fetchone()[0]
    finally:
        con.close()
    header, data = decompress(blob)
    assert np.array_equal(whole.data, data, equal_nan=True)
    cut_url = f"{row.access_url}&CIRCLE={M31[0]} {M31[1]} {1 / 60}"
    cut = fits.open(io.BytesIO(vo_session.get(cut_url).content))[0]
    assert 100 < cut.data.shape[0] <= 122 and 100 < cut.data.shape[1] <= 122   # 2' at 1"/px
    x, y = WCS(cut.header).world_to_pixel(SkyCoord(*M31, unit="deg"))
    assert abs(x - (cut.data.shape[1] - 1) / 2) < 1.5 and abs(y - (cut.data.shape[0] - 1) / 2) < 1.5
    # the cut pixels are the image's own at the same sky position
    X, Y = WCS(header).world_to_pixel(WCS(cut.header).pixel_to_world(10, 20))
    assert cut.data[20, 10] == data[round(float(Y)), round(float(X))]
    bad = vo_session.get(row.access_url.replace("/j", "/q"))
    assert bad.status_code == 400 and "is not an Atlas Image of this service" in bad.text
