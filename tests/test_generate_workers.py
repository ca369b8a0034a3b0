"""The fast generator (issue 19, item 6): the same files whatever the number of worker
processes, lines the loaders read exactly like those of their own writer, and the true sky's
HEALPix positions equal to cdshealpix's."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import cdshealpix.nested as hp
import numpy as np
import pyarrow as pa
from astropy import units as u

from catscan.loaders.night import load_nights
from catscan.loaders.release_format import write_release_file
from catscan.loaders.schema_info import file_columns
from catscan.survey.generate import generate
from catscan.survey.release_text import write_release_lines
from catscan.survey.sky import _lonlat
from catscan.survey.synthetic_psc import synthetic_psc


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_files_do_not_depend_on_the_worker_count(tmp_path, con):
    rows = 100_000                  # two nights: a third is started ahead, then discarded
    one = generate(tmp_path / "one", scale="bench", rows=rows, seed=5, workers=1)
    three = generate(tmp_path / "three", scale="bench", rows=rows, seed=5, workers=3)
    assert [p.name for p in one.nights] == [p.name for p in three.nights]
    assert len(one.nights) >= 2 and one.psc_rows >= rows
    assert sorted(p.name for p in (tmp_path / "three").iterdir()) \
        == [p.name for p in three.nights]           # no night past --rows is left behind
    assert (one.psc_rows, one.xsc_rows, one.scans) \
        == (three.psc_rows, three.xsc_rows, three.scans)
    assert _digests(tmp_path / "one") == _digests(tmp_path / "three")
    # what was counted is what the files hold, and the night loader takes every file
    load_nights(con, [tmp_path / "three"])
    loaded = con.execute("SELECT count(*) FROM psc").fetchone()[0]
    passing = con.execute("SELECT count(*) FROM scans WHERE loaded").fetchone()[0]
    in_files = sum(1 for night in three.nights for f in night.glob("s*/psc_*.gz")
                   for _ in gzip.open(f))
    assert in_files == three.psc_rows
    assert 0 < passing and 0 < loaded <= three.psc_rows


def test_cli_takes_workers(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "catscan.cli", "generate", str(tmp_path / "x"),
                          "--workers", "0"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "--workers must be at least 1" in bad.stderr and "Traceback" not in bad.stderr


def test_release_lines_read_back_like_the_loaders_writer(tmp_path, con):
    rows = synthetic_psc(3000, seed=11, dec_range=(-30, 30))
    assert rows.column("dist_opt").null_count > 0 and rows.column("j_cmsig").null_count > 0
    ours = write_release_lines(rows, "psc", tmp_path / "ours.gz")
    con.register("rows", rows)
    theirs = write_release_file(con, "psc", "rows", tmp_path / "theirs.gz")
    columns = file_columns(con, "psc")
    spec = "{" + ", ".join(f"'{c.name}': '{c.type}'" for c in columns) + "}"

    def read(path: Path) -> pa.Table:
        return con.sql(f"SELECT * FROM read_csv('{path}', columns = {spec}, delim = '|', "
                       "header = false, quote = '', escape = '', nullstr = '\\N', "
                       "auto_detect = false, dateformat = '%Y-%m-%d')").to_arrow_table()

    assert read(ours).equals(read(theirs))
    assert read(ours).num_rows == 3000


def test_healpix_centres_match_cdshealpix():
    rng = np.random.default_rng(3)
    for depth in (0, 1, 7, 29):
        n = 12 * 4**depth
        ipix = np.unique(np.r_[rng.integers(0, n, 20_000, dtype=np.uint64),
                               np.array([0, n - 1, n // 2, n // 3], np.uint64)])
        ra, dec = _lonlat(ipix, depth)
        lon, lat = hp.healpix_to_lonlat(ipix, depth)
        dra = (ra - lon.to_value(u.deg) + 180.0) % 360.0 - 180.0
        assert np.abs(dra * np.cos(np.radians(dec))).max() < 1e-11
        assert np.abs(dec - lat.to_value(u.deg)).max() < 1e-11
