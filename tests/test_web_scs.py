"""Simple Cone Search 1.03 (catscan.web.scs) through pyvo, a real VO client: the rows equal
the CLI's cone, the UCD1 columns are found, errors come back as the standard says."""

from __future__ import annotations

import pytest

import catscan

pyvo = pytest.importorskip("pyvo")


def test_pyvo_cone_search_returns_the_cli_cone(web_server, web_db, vo_session):
    service = pyvo.dal.SCSService(f"{web_server}/scs/psc", session=vo_session)
    results = service.search(pos=(10.68479, 41.26906), radius=0.05, verbosity=2)
    expected = catscan.query("select designation, j_m from psc within 0.05 deg of "
                             "10.68479 41.26906 order by designation", web_db)
    assert len(expected) > 5
    table = results.to_table()
    assert sorted(str(d) for d in table["designation"]) == [str(d).rstrip() for d in
                                                             expected["designation"]]
    assert [f.ucd for f in results.fielddescs][:3] == ["ID_MAIN", "POS_EQ_RA_MAIN",
                                                      "POS_EQ_DEC_MAIN"]
    assert table["ra"].unit == "deg" and table["j_m"].unit == "mag"
    assert [r.pos.ra.deg for r in results][:1] == [table["ra"][0]]


def test_verbosity_and_metadata_queries(web_server, vo_session):
    service = pyvo.dal.SCSService(f"{web_server}/scs/xsc", session=vo_session)
    narrow = service.search(pos=(9.82, 0.91), radius=0.5, verbosity=1)
    assert list(narrow.fieldnames) == ["designation", "ra", "dec", "dist"] and len(narrow) > 0
    metadata = service.search(pos=(9.82, 0.91), radius=0.0, verbosity=3)
    assert len(metadata) == 0 and "r_k20fe" in metadata.fieldnames


def test_errors_follow_the_standard(web_server, vo_session):
    service = pyvo.dal.SCSService(f"{web_server}/scs/psc", session=vo_session)
    with pytest.raises(pyvo.dal.DALQueryError, match=r"SR=30.0 is outside \[0, 10\]"):
        service.search(pos=(10.0, 40.0), radius=30.0)
    # pyvo checks positions itself: send an impossible one as a plain request
    with pytest.raises(pyvo.dal.DALQueryError, match=r"DEC=95 is outside \[-90, 90\]"):
        pyvo.dal.SCSResults.from_result_url(f"{web_server}/scs/psc?RA=10&DEC=95&SR=0.1",
                                            session=vo_session)
    with pytest.raises(pyvo.dal.DALQueryError, match=r"RA is required"):
        pyvo.dal.SCSResults.from_result_url(f"{web_server}/scs/psc?DEC=5&SR=0.1",
                                            session=vo_session)
