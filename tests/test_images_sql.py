"""The SQL table function image_cutout: one row per band with the same FITS bytes as the
Python API, correlated use over a list of targets (also from several DuckDB threads),
whole images, errors as query errors, no rows where nothing overlaps, and through the
read-only query layer that `catscan sql` uses."""

from __future__ import annotations

import io

import duckdb
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from catscan.db import connect
from catscan.images import cutouts
from catscan.safety import allowed_functions, allowed_tables, query_connection, run_readonly
from catscan.safety import validate_sql as check


@pytest.fixture(scope="module")
def con(image_db):
    connection = connect(image_db)
    yield connection
    connection.close()


def centre(con, index: int) -> tuple[float, float]:
    return con.execute("SELECT crval1, crval2 FROM atlas_images WHERE band = 'j' ORDER BY "
                       "crval2 LIMIT 1 OFFSET ?", [index]).fetchall()[0]


def test_one_row_per_band_as_the_python_api(con):
    ra, dec = centre(con, 5)
    rows = con.execute("SELECT * FROM image_cutout(?, ?, 2.5)", [ra, dec]).fetchall()
    names = [d[0] for d in con.description]
    assert names[:4] == ["band", "coadd_keys", "fnames", "date"]
    table = [dict(zip(names, r, strict=True)) for r in rows]
    assert [r["band"] for r in table] == ["j", "h", "k"]
    python = cutouts(ra, dec, 2.5, db=con)
    for row, result in zip(table, python, strict=True):
        assert row["fits"] == result.fits_bytes()
        assert row["coadd_keys"] == [result.best.coadd_key]
        assert row["fnames"] == [result.best.fname]
        assert (row["scan"], row["hemis"], str(row["date"])) == (8, "n", "1997-10-24")
        assert (row["mode"], row["mosaic"], row["coverage"]) == ("sub", False, 1.0)
        assert (row["naxis1"], row["naxis2"]) == (150, 150)
        assert (row["x_max"] - row["x_min"] + 1, row["y_max"] - row["y_min"] + 1) == (150, 150)
        with fits.open(io.BytesIO(row["fits"])) as hdul:
            header = hdul[0].header
            # the WCS columns are the file's
            for key in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2",
                        "CROTA2", "MAGZP"):
                assert row[key.lower()] == header[key]
            assert row["ctype1"] == header["CTYPE1"] == "RA---SIN"
            x, y = WCS(header).all_world2pix([[ra, dec]], 0)[0]
            assert abs(x - 74.5) <= 0.5 and abs(y - 74.5) <= 0.5
            assert (header["CUTX0"], header["CUTY0"]) == (row["x_min"], row["y_min"])


def test_named_arguments_whole_images_and_no_overlap(con):
    ra, dec = centre(con, 7)
    k = con.execute("SELECT band, naxis1, naxis2, mode, coverage FROM image_cutout(?, ?, 0.5, "
                    "bands := 'Ks', mode := 'whole')", [ra, dec]).fetchall()
    assert k == [("k", 512, 1024, "whole", pytest.approx(504 / 512))]
    # a mosaic needs more than 5': allowed by name
    big = con.execute("SELECT band, mosaic, naxis1, len(coadd_keys) FROM image_cutout(?, ?, 8, "
                      "bands := 'J', allow_large := true)",
                      [ra, dec + 512 / 3600]).fetchall()
    assert big == [("j", True, 480, 2)]
    assert con.execute("SELECT count(*) FROM image_cutout(?, ?, 5)",
                       [ra + 2, dec]).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM image_cutout(NULL, 1.0, 5)").fetchall() == [(0,)]


def test_errors_say_what_to_do(con):
    ra, dec = centre(con, 7)
    with pytest.raises(duckdb.Error, match="larger than the 5'x5'"):
        con.execute("SELECT * FROM image_cutout(?, ?, 6)", [ra, dec]).fetchall()
    with pytest.raises(duckdb.Error, match="bands 'JX'"):
        con.execute("SELECT * FROM image_cutout(?, ?, 1, bands := 'JX')", [ra, dec]).fetchall()
    with pytest.raises(duckdb.Error, match="mode 'all'"):
        con.execute("SELECT * FROM image_cutout(?, ?, 1, mode := 'all')", [ra, dec]).fetchall()


def test_lateral_over_targets_on_two_threads(con):
    """Cutouts of a list of positions in one query; DuckDB may call the function from
    both threads (the decoder is serialised: test_images_store)."""
    positions = [centre(con, i) for i in range(0, 20, 2)]
    con.execute("SET threads = 2")
    rows = con.execute(
        "SELECT t.id, c.band, c.fits FROM (SELECT unnest(range(?)) AS id, unnest(?) AS ra, "
        "unnest(?) AS dec) t, LATERAL image_cutout(t.ra, t.dec, 1, bands := 'JK') c "
        "ORDER BY t.id, c.band",
        [len(positions), [p[0] for p in positions], [p[1] for p in positions]]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(i, b) for i in range(len(positions))
                                            for b in ("j", "k")]
    for (i, band, blob) in rows[::3]:
        expected = cutouts(*positions[i], 1, bands=band, db=con)[0]
        assert blob == expected.fits_bytes()
        with fits.open(io.BytesIO(blob)) as hdul:
            assert np.isfinite(hdul[0].data).all()


def test_through_the_read_only_query_layer(image_db):
    """`catscan sql` checks the SQL (image_cutout is a table macro of the catalog) and runs
    it on a locked-down connection, where the Python function is registered too."""
    q = query_connection(image_db)
    try:
        ra, dec = centre(q, 3)
        sql = check(f"SELECT band, octet_length(fits) AS n FROM image_cutout({ra}, {dec}, 1) "
                    "ORDER BY band", allowed_tables(q), allowed_functions(q))
        table, truncated = run_readonly(q, sql)
        assert table.column("band").to_pylist() == ["h", "j", "k"] and not truncated
        at = check(f"SELECT coadd_key, band FROM images_at({ra}, {dec})", allowed_tables(q),
                   allowed_functions(q))
        assert run_readonly(q, at)[0].num_rows == 3
    finally:
        q.close()
