"""SIA 2.0 and SODA (catscan.web.sia) through pyvo: the images listed are those
catscan.images finds, the ObsCore columns say where, when and in which band, and the
access URL and SODA cutouts give the stored pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.time import Time
from astropy.wcs import WCS
from stilts import needs_stilts, votable_meta, votable_rows

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


# ---- FIELDs from the columns, never from the rows -------------------------------------------

def sia_answers(web_server, vo_session, tmp_path) -> dict[str, object]:
    """SIA answers as files: images near M31, none (a sky without images), the columns only."""
    circle = f"CIRCLE {M31[0]} {M31[1]} 0.05"
    out = {}
    for name, params in (("full", {"POS": circle}), ("empty", {"POS": "CIRCLE 200 -30 0.1"}),
                         ("columns", {"POS": circle, "MAXREC": "0"})):
        answer = vo_session.get(f"{web_server}/sia/query", params=params)
        assert answer.status_code == 200, answer.text[-300:]
        out[name] = tmp_path / f"{name}.vot"
        out[name].write_bytes(answer.content)
    return out


def test_sia_fields_do_not_depend_on_the_rows(web_server, vo_session, web_db, tmp_path):
    paths = sia_answers(web_server, vo_session, tmp_path)
    tables = {name: parse(str(path), verify="exception").get_first_table()
              for name, path in paths.items()}
    declared = {name: [(f.name, f.datatype, f.arraysize, f.xtype, f.unit, f.ucd)
                       for f in t.fields] for name, t in tables.items()}
    assert declared["full"] == declared["empty"] == declared["columns"]
    assert [len(t.array) > 0 for t in tables.values()] == [True, False, False]
    assert not any(f[1] == "unicodeChar" for f in declared["full"])
    by_name = {f[0]: f for f in declared["full"]}
    assert by_name["obs_publisher_did"][1:3] == ("char", "*")
    for field in tables["full"].fields:
        if field.unit is not None:                   # raises on anything not VOUnit
            u.Unit(field.unit.to_string("vounit"), format="vounit")
    assert by_name["t_min"][4] == u.day and by_name["access_estsize"][4] == u.kbyte
    # the values are the images catscan finds, where the database puts them
    con = connect(web_db)
    try:
        expected = {(i.coadd_key, i.band) for i in images_near(con, M31[0], M31[1], 0.05)}
        centres = dict(((k, b), (ra, dec)) for k, b, ra, dec in con.execute(
            "SELECT coadd_key, band, crval1, crval2 FROM atlas_images").fetchall())
    finally:
        con.close()
    table = tables["full"].to_table()
    assert _keys(table) == sorted(expected)
    for row in table:
        key = (int(row["coadd_key"]), str(row["band"]).lower())
        assert (float(row["s_ra"]), float(row["s_dec"])) == pytest.approx(centres[key],
                                                                           abs=1e-9)


@needs_stilts
def test_stilts_reads_sia_answers_alike(web_server, vo_session, tmp_path):
    paths = sia_answers(web_server, vo_session, tmp_path)
    (_, columns), (empty_rows, empty_columns) = votable_meta(paths["full"]), \
        votable_meta(paths["empty"])
    assert columns == empty_columns and len(columns) > 20 and empty_rows == 0
    by_stilts = votable_rows(paths["full"], tmp_path / "full.csv")
    by_astropy = parse(str(paths["full"])).get_first_table().to_table()
    assert [r["obs_publisher_did"] for r in by_stilts] == \
        [str(v) for v in by_astropy["obs_publisher_did"]]
    assert [float(r["em_min"]) for r in by_stilts] == pytest.approx(
        [float(v) for v in by_astropy["em_min"]], rel=1e-15)
