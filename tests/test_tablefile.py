"""Table files (catscan.tablefile): position lists in CSV, IPAC, VOTable and FITS give the
same ICRS degrees, whatever the columns are called or written in; results round-trip with
their nulls and units."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.votable import from_table
from astropy.table import Table

from catscan.tablefile import (
    TableFileError,
    arrow_to_astropy,
    astropy_to_arrow,
    read_table,
    read_targets,
    write_table,
)

RA = np.array([10.68479, 0.0001, 359.9999, 201.365])
DEC = np.array([41.26906, -89.99, 89.5, -43.019])


def positions(targets) -> tuple[np.ndarray, np.ndarray]:
    table = targets.table
    return (np.asarray(table.column(targets.ra).to_numpy(zero_copy_only=False), float),
            np.asarray(table.column(targets.dec).to_numpy(zero_copy_only=False), float))


@pytest.mark.parametrize("suffix", [".csv", ".tbl", ".xml", ".fits", ".ecsv"])
@pytest.mark.parametrize(("ra_name", "dec_name"), [("ra", "dec"), ("RAJ2000", "DEJ2000"),
                                                   ("ra_deg", "dec_deg")])
def test_every_format_and_usual_name_gives_the_positions(tmp_path, suffix, ra_name, dec_name):
    path = tmp_path / f"list{suffix}"
    write_table(Table({"name": ["m31", "a", "b", "c"], ra_name: RA, dec_name: DEC}), path)
    targets = read_targets(path)
    assert (targets.ra, targets.dec) == (ra_name, dec_name)
    ra, dec = positions(targets)
    assert np.allclose(ra, RA, rtol=0, atol=1e-9) and np.allclose(dec, DEC, rtol=0, atol=1e-9)
    assert targets.table.column("name").to_pylist() == ["m31", "a", "b", "c"]


def test_a_votable_column_is_found_by_its_ucd(tmp_path):
    table = Table({"alpha_x": RA, "delta_x": DEC})
    vot = from_table(table)
    fields = vot.get_first_table().fields
    fields[0].ucd, fields[1].ucd = "pos.eq.ra;meta.main", "pos.eq.dec;meta.main"
    vot.to_xml(str(tmp_path / "ucd.xml"))
    targets = read_targets(tmp_path / "ucd.xml")
    assert (targets.ra, targets.dec) == ("alpha_x", "delta_x")


def test_sexagesimal_text_becomes_degrees(tmp_path):
    coords = SkyCoord(RA * u.deg, DEC * u.deg)
    path = tmp_path / "sexa.csv"
    Table({"ra": coords.ra.to_string(u.hourangle, sep=":", precision=4),
           "dec": coords.dec.to_string(sep=":", precision=3, alwayssign=True)}).write(path)
    targets = read_targets(path)
    assert (targets.ra, targets.dec) == ("ra_icrs", "dec_icrs")
    ra, dec = positions(targets)
    sep = SkyCoord(ra * u.deg, dec * u.deg).separation(coords).arcsec
    assert sep.max() < 0.01


def test_hours_and_galactic_columns_are_converted(tmp_path):
    path = tmp_path / "hours.ecsv"
    Table({"ra": (RA / 15) * u.hourangle, "dec": DEC * u.deg}).write(path)
    ra, dec = positions(read_targets(path))
    assert np.allclose(ra, RA, atol=1e-9)
    gal = SkyCoord(RA * u.deg, DEC * u.deg).galactic
    path = tmp_path / "gal.csv"
    Table({"glon": gal.l.deg, "glat": gal.b.deg}).write(path)
    ra, dec = positions(read_targets(path, frame="galactic"))
    assert SkyCoord(ra * u.deg, dec * u.deg).separation(
        SkyCoord(RA * u.deg, DEC * u.deg)).arcsec.max() < 1e-6


def test_missing_positions_stay_missing(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("name,ra,dec\na,10.5,20.5\nb,,\nc,11,21\n")
    ra, dec = positions(read_targets(path))
    assert np.isnan(ra[1]) and np.isnan(dec[1]) and ra[2] == 11


@pytest.mark.parametrize(("content", "name", "kwargs", "message"), [
    ("x,y\n1,2\n", "a.csv", {}, "cannot tell which column holds the RA"),
    ("ra,dec\n1,2\n", "a.csv", {"ra_column": "alpha"}, "no column 'alpha'"),
    ("ra,dec\n1,2\n", "a.xyz", {}, "unknown table format"),
    ("ra,dec\n12:00:00,nonsense\n", "a.csv", {}, "row 1: cannot read the position"),
    ("<VOTABLE><oops", "a.xml", {}, "cannot read it as votable"),
])
def test_bad_lists_name_the_file_and_the_problem(tmp_path, content, name, kwargs, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TableFileError, match=message) as info:
        read_targets(path, **kwargs)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("suffix", [".csv", ".tbl", ".xml", ".fits"])
def test_results_round_trip_with_nulls_and_units(tmp_path, suffix):
    meta = {b"unit": b"arcsec", b"description": b"separation"}
    table = pa.table([pa.array([1, 2, 3]), pa.array([0.5, None, 1.5]), pa.array(["a", None, "c"])],
                     schema=pa.schema([pa.field("id", pa.int64()),
                                       pa.field("sep", pa.float64(), metadata=meta),
                                       pa.field("name", pa.string())]))
    path = write_table(arrow_to_astropy(table), tmp_path / f"out{suffix}")
    back = read_table(path)
    assert list(back["id"]) == [1, 2, 3]
    assert back["sep"][0] == 0.5 and bool(np.ma.getmaskarray(back["sep"])[1])
    if suffix != ".csv":                                  # plain CSV has no units
        assert back["sep"].unit == u.arcsec
    again = astropy_to_arrow(back)
    assert again.column("sep").null_count == 1
