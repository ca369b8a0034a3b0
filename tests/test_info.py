"""``catscan info``: counts by table and scan status, and sky areas computed on the sphere."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pyarrow as pa
from rich.console import Console

from catscan.info import database_info
from catscan.loaders import load_file, optimize
from catscan.operations.area import AREA_DEPTH
from catscan.render import print_info
from catscan.survey.observe import scan_row
from catscan.survey.plan import NightPlan, ScanPlan
from catscan.survey.synthetic_psc import synthetic_psc

NIGHT = NightPlan(dt.date(1997, 10, 24), "n", "2.0x", "operational", dt.date(1997, 10, 28))
SCANS = [ScanPlan(8, 330628, "n"), ScanPlan(9, 308165, "s", phot=0.8), ScanPlan(10, 314527)]


def spherical_polygon_area(lon_deg, lat_deg) -> float:
    """Area (deg²) of a small convex spherical polygon: sum of spherical triangle areas
    from the first vertex (L'Huilier), independent of HEALPix."""
    v = np.stack([np.cos(np.radians(lat_deg)) * np.cos(np.radians(lon_deg)),
                  np.cos(np.radians(lat_deg)) * np.sin(np.radians(lon_deg)),
                  np.sin(np.radians(lat_deg))], axis=1)
    total = 0.0
    for i in range(1, len(v) - 1):
        a, b, c = v[0], v[i], v[i + 1]
        # Oosterom & Strackee formula for the solid angle of a triangle
        total += 2 * np.arctan2(abs(np.dot(a, np.cross(b, c))),
                                1 + np.dot(a, b) + np.dot(b, c) + np.dot(c, a))
    return float(total * (180 / np.pi) ** 2)


def test_info_counts_tables_and_scans_and_measures_the_area(con, write_release):
    rng = np.random.default_rng(1)
    scans = pa.Table.from_pylist([scan_row(NIGHT, s, key, rng)
                                  for key, s in enumerate(SCANS, start=1)])
    load_file(con, "scans", write_release("scans", scans, "scans.tbl"))
    first = scans.to_pylist()[0]
    ra_range = (min(first[f"ra_{i}"] for i in range(1, 5)),
                max(first[f"ra_{i}"] for i in range(1, 5)))
    dec_range = (first["dec_1"], first["dec_3"])
    load_file(con, "psc", write_release("psc", synthetic_psc(
        777, seed=5, ra_range=ra_range, dec_range=dec_range, scan_key=1), "p.gz"))

    info = database_info(con, "test", 0)

    assert info.rows["psc"] == 777 and info.rows["scans"] == 3 and info.rows["loads"] == 2
    assert info.scans_by_status == {("P", True): 1, ("P", False): 2}
    corners = scans.to_pylist()[0]
    lon = [corners[f"ra_{i}"] for i in (1, 2, 4, 3)]
    lat = [corners[f"dec_{i}"] for i in (1, 2, 4, 3)]
    expected = spherical_polygon_area(lon, lat)
    assert 0.8 < expected < 0.9                      # 8.5' x 6.14 deg
    # a MOC covers the footprint: larger, by at most a band of boundary cells
    cell = np.sqrt(4 * np.pi * (180 / np.pi) ** 2 / (12 * 4**AREA_DEPTH))
    perimeter = 2 * 6.14 + 2 * 8.5 / 60
    assert expected <= info.scan_area_deg2 <= expected + 1.5 * perimeter * cell
    assert 0 < info.source_area_deg2 < 4 * expected  # 3.4' cells around the sources


def _printed(info) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    print_info(info, console)
    return console.export_text()


def test_info_says_which_tables_wait_for_their_re_sort(con, write_release):
    """A load appends out of hpx29 order (a second whole-sky file: its rows interleave with
    the first's) and marks the table; until the settle has run (it may have been killed),
    info names the table and the command that finishes it."""
    load_file(con, "psc", write_release("psc", synthetic_psc(300, seed=2), "p.psc"))
    load_file(con, "psc", write_release("psc", synthetic_psc(300, seed=3, first_key=1001,
                                                             first_coadd_key=1001), "q.psc"))

    info = database_info(con, "test", 0)
    assert info.unsorted == ["psc"]
    assert "not in hpx29 order: psc" in _printed(info)
    assert "catscan optimize" in _printed(info)

    optimize(con, "psc")
    info = database_info(con, "test", 0)
    assert info.unsorted == [] and "hpx29" not in _printed(info)
