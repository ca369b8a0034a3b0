"""``catscan cutout / composite / gallery`` as a user runs them: files written and read back
with astropy and Pillow, one-line errors with exit code 1, the overlay's language errors
pointing into the condition as typed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from catscan.cli import main
from catscan.db import connect
from catscan.images.gallery import read_objects


@pytest.fixture(scope="module")
def field(image_db) -> tuple[float, float, float, float]:
    """Centre of the 6th J image, and a star brighter than J = 13 on it."""
    con = connect(image_db)
    try:
        ra, dec = con.execute("SELECT crval1, crval2 FROM atlas_images WHERE band = 'j' "
                              "ORDER BY crval2 LIMIT 1 OFFSET 5").fetchall()[0]
        star = con.execute("SELECT ra, dec FROM psc WHERE date = '1997-10-24' AND scan = 8 "
                           "AND ang_sep(ra, dec, ?, ?) < 0.1 ORDER BY j_m LIMIT 1",
                           [ra, dec]).fetchall()[0]
    finally:
        con.close()
    return ra, dec, *star


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_cutout_writes_fits_and_png(image_db, field, tmp_path, capsys):
    ra, dec, *_ = field
    sexagesimal = f"{ra / 15 * 60 // 60:02.0f}:{ra / 15 * 60 % 60:09.6f}"
    assert main(["cutout", sexagesimal, f"{dec:+.6f}", "--size", "90arcsec", "--bands", "HK",
                 "--out", str(tmp_path / "cut"), "--png", "--db", str(image_db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line[:2] for line in out] == ["H:", "K:"]
    files = sorted(p.name for p in (tmp_path / "cut").iterdir())
    assert len(files) == 4 and all(name.startswith("2MASS_J00") for name in files)
    fits_path = next((tmp_path / "cut").glob("*_h.fits"))
    with fits.open(fits_path) as hdul:
        header, data = hdul[0].header, hdul[0].data
        assert data.shape == (90, 90) and header["FILTER"] == "h"
        x, y = WCS(header).all_world2pix([[ra, dec]], 0)[0]
        assert abs(x - 44.5) <= 0.5 and abs(y - 44.5) <= 0.5
    assert Image.open(fits_path.with_suffix(".png")).size == (630, 630)   # zoom 7
    assert main(["cutout", str(ra), str(dec), "--whole", "--bands", "J", "--out",
                 str(tmp_path / "whole"), "--db", str(image_db)]) == 0
    with fits.open(next((tmp_path / "whole").glob("*whole_j.fits"))) as hdul:
        assert hdul[0].data.shape == (1024, 512) and hdul[0].header["CUTMODE"] == "whole"


def test_errors_exit_1_with_one_line(image_db, field, tmp_path):
    ra, dec, *_ = field
    too_big = cli("cutout", str(ra), str(dec), "--size", "6arcmin", "--db", str(image_db),
                  "--out", str(tmp_path))
    assert too_big.returncode == 1 and "Traceback" not in too_big.stderr
    assert too_big.stderr.startswith("catscan: error: size 6' is larger than the 5'x5'")
    nowhere = cli("composite", "150.0", "-20:00:00", "--out", str(tmp_path / "x.png"),
                  "--db", str(image_db))
    assert nowhere.returncode == 1 and "no Atlas Image" in nowhere.stderr
    assert not (tmp_path / "x.png").exists()
    assert main(["cutout", "10.6", "--db", str(image_db)]) == 1          # RA without Dec
    assert main(["composite", str(ra), str(dec), "--out", str(tmp_path / "x.jpg"),
                 "--db", str(image_db)]) == 1


def test_composite_with_grid_and_overlay(image_db, field, tmp_path, capsys):
    ra, dec, star_ra, star_dec = field
    out = tmp_path / "m.png"
    assert main(["composite", str(star_ra), str(star_dec), "--size", "2arcmin", "--grid",
                 "--overlay", "j_m < 14", "--out", str(out), "--db", str(image_db)]) == 0
    text = capsys.readouterr().out
    assert "catalog source(s) circled" in text and str(out) in text
    image = Image.open(out)
    assert image.size == (600, 600) and image.mode == "RGB"
    # the overlay condition with a typo: the caret points into it as typed
    assert main(["composite", str(ra), str(dec), "--overlay", "clean and j_mm < 15",
                 "--out", str(out), "--db", str(image_db)]) == 1
    err = capsys.readouterr().err
    assert "--overlay: line 1, column 11: psc has no column 'j_mm'" in err
    assert "\n  clean and j_mm < 15\n            ^" in err


def test_gallery_page(image_db, field, tmp_path, capsys):
    ra, dec, star_ra, star_dec = field
    objects = tmp_path / "objects.csv"
    objects.write_text("name,ra,dec,caption,size\n"
                       f"Bright star,{star_ra},{star_dec},A star & its field,2\n"
                       f"Image centre,{ra},{dec},,\n"
                       "Far away,150.0,-20.0,nothing loaded here,\n")
    assert [o.name for o in read_objects(objects)] == ["Bright star", "Image centre",
                                                       "Far away"]
    assert main(["gallery", str(objects), "--out", str(tmp_path / "g"), "--db",
                 str(image_db)]) == 0
    assert "2 composite(s), 1 object(s) not covered" in capsys.readouterr().out
    page = (tmp_path / "g" / "index.html").read_text()
    assert "<b>Bright star</b><br>A star &amp; its field" in page
    assert "Not covered" in page and "Far away" in page
    pictures = sorted((tmp_path / "g").glob("*.png"))
    assert [p.name for p in pictures] == ["001_Bright_star.png", "002_Image_centre.png"]
    for p in pictures:
        assert f'src="{p.name}"' in page
    assert Image.open(pictures[0]).size == (600, 600)                   # 2': zoom 5
    assert Image.open(pictures[1]).size == (600, 600)                   # 5': zoom 2
    pixels = np.asarray(Image.open(pictures[1]))
    assert pixels.std() > 5                                            # not an empty frame
