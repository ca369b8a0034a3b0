"""Distances as Gator gives them: ``catscan xmatch`` keeps the list's own columns first (on
the terminal as in ``--out`` files), then the match's columns and ``dist`` in arcsec; CatScan
cones and SCS answers carry ``dist`` from the centre. Values against astropy's
SkyCoord.separation; SCS declares the same FIELDs with rows, without rows and for SR=0."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table

import catscan
from catscan.db import connect

from conftest import TEAM_PASSWORD

M31 = (10.68479, 41.26906)


def separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    a = SkyCoord(np.asarray(ra1, float) * u.deg, np.asarray(dec1, float) * u.deg)
    b = SkyCoord(np.asarray(ra2, float) * u.deg, np.asarray(dec2, float) * u.deg)
    return a.separation(b).arcsec


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "120"})


@pytest.fixture(scope="module")
def targets(demo_db, tmp_path_factory):
    """A list with a ``name`` column: three PSC sources near M31 moved by 1-2 arcsec, and a
    position with no source near it."""
    con = connect(demo_db)
    try:
        rows = con.execute("SELECT ra, dec FROM psc WHERE ang_sep(ra, dec, ?, ?) < 0.1 "
                           "ORDER BY pts_key LIMIT 3", list(M31)).fetchall()
    finally:
        con.close()
    assert len(rows) == 3
    path = tmp_path_factory.mktemp("targets") / "list.csv"
    lines = ["name,ra,dec"] + [f"star{i},{ra + 0.0004 * i:.6f},{dec + 0.0003:.6f}"
                               for i, (ra, dec) in enumerate(rows, 1)]
    path.write_text("\n".join(lines + ["empty,200.0,-5.0"]) + "\n")
    return path


def test_xmatch_file_has_the_list_first_then_the_match_then_dist(demo_db, targets, tmp_path):
    out = tmp_path / "matched.csv"
    done = cli("xmatch", str(targets), "--radius", "5arcsec", "--db", str(demo_db),
               "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    names = list(rows[0])
    assert names[:3] == ["name", "ra", "dec"] and names[3] == "designation"
    assert names[-2:] == ["dist", "n_candidates"]
    assert [r["name"] for r in rows] == ["star1", "star2", "star3", "empty"]
    matched = rows[:3]
    expected = separation_arcsec([float(r["ra"]) for r in matched],
                                 [float(r["dec"]) for r in matched],
                                 [float(r["ra_psc"]) for r in matched],
                                 [float(r["dec_psc"]) for r in matched])
    assert np.allclose([float(r["dist"]) for r in matched], expected, rtol=0, atol=1e-6)
    assert all(0.5 < d < 5 for d in expected)
    assert rows[3]["dist"] == "" and rows[3]["designation"] == ""


def test_xmatch_terminal_shows_the_lists_columns_first_and_dist(demo_db, targets):
    done = cli("xmatch", str(targets), "--radius", "5arcsec", "--db", str(demo_db))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = [c.strip() for c in lines[0].split("┃")]
    assert header[:4] == ["name", "ra", "dec", "designation"] and header[-1] == "dist"
    body = [[c.strip() for c in line.split("│")] for line in lines[2:6]]
    assert [b[0] for b in body] == ["star1", "star2", "star3", "empty"]
    assert body[3][-1] == "null" and all(0.5 < float(b[-1]) < 5 for b in body[:3])


def test_a_catscan_cone_carries_dist_from_the_centre(demo_db):
    table = catscan.query(f"select designation, ra, dec from psc within 2arcmin of "
                          f"{M31[0]} {M31[1]}", demo_db)
    assert table.colnames == ["designation", "ra", "dec", "dist"] and len(table) > 0
    assert table["dist"].unit == "arcsec"
    expected = separation_arcsec(table["ra"], table["dec"], [M31[0]] * len(table),
                                 [M31[1]] * len(table))
    assert np.allclose(np.asarray(table["dist"]), expected, rtol=0, atol=1e-6)
    assert max(expected) <= 120
    ordered = catscan.query(f"select designation from psc within 2arcmin of {M31[0]} "
                            f"{M31[1]} where dist > 30 order by dist desc", demo_db)
    wanted = sorted((d for d in expected if d > 30), reverse=True)
    assert len(ordered) == len(wanted)
    assert np.allclose(np.asarray(ordered["dist"]), wanted, rtol=0, atol=1e-6)
    counted = catscan.query(f"select count(*) as n from psc within 2arcmin of {M31[0]} "
                            f"{M31[1]}", demo_db)
    assert counted.colnames == ["n"] and counted["n"][0] == len(table)


def _fields(votable: bytes):
    table = parse_single_table(io.BytesIO(votable))
    return table, [(f.name, f.datatype, f.arraysize, f.unit and str(f.unit), f.ucd)
                   for f in table.fields]


def test_scs_answers_carry_dist_with_stable_fields(demo_db, tmp_path):
    from webserver import copy_with_password, running_server

    db = copy_with_password(demo_db, tmp_path, TEAM_PASSWORD)
    with running_server(db) as url, httpx.Client(base_url=url, auth=("team", TEAM_PASSWORD),
                                                 timeout=60) as client:
        def cone(ra, dec, sr, verb=2):
            answer = client.get("/scs/psc", params={"RA": ra, "DEC": dec, "SR": sr,
                                                    "VERB": verb})
            assert answer.status_code == 200
            return _fields(answer.content)

        full, fields = cone(*M31, 0.03)
        _, empty = cone(200.0, -5.0, 0.01)
        _, metadata = cone(*M31, 0)
        assert fields == empty == metadata
        assert fields[-1] == ("dist", "double", None, "arcsec", "pos.angDistance")
        rows = full.to_table()
        assert len(rows) > 0
        expected = separation_arcsec(rows["ra"], rows["dec"], [M31[0]] * len(rows),
                                     [M31[1]] * len(rows))
        assert np.allclose(np.asarray(rows["dist"]), expected, rtol=0, atol=1e-6)
        _, minimal = cone(*M31, 0.03, verb=1)
        assert [f[0] for f in minimal] == ["designation", "ra", "dec", "dist"]
