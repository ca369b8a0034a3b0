"""``catscan status``, ``qa`` and ``coverage`` end to end on the demo survey: every output
format read back with astropy, PNGs opened, errors with exit code 1 and nothing written."""

from __future__ import annotations

import csv
import io
import json

import pytest
from astropy.table import Table
from PIL import Image

from catscan.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


def test_status_lists_the_nights(capsys, demo_db):
    code, out, _ = run(capsys, "status", "--db", str(demo_db), "--format", "csv")
    assert code == 0
    rows = csv_rows(out)
    assert [r["night"] for r in rows] == ["1997-05-21n", "1997-10-24n", "1998-04-16n",
                                          "1998-11-23n", "1999-05-02s"]
    reprocessed = rows[2]
    assert (reprocessed["processed"], reprocessed["version"], reprocessed["events"]) == \
        ("1999-01-20", "2.1", "2")
    assert not any(line.startswith("#") for line in out.splitlines())    # plain CSV


@pytest.mark.parametrize("fmt,suffix", [("csv", ".csv"), ("ipac", ".tbl"),
                                        ("votable", ".xml"), ("ecsv", ".ecsv")])
@pytest.mark.filterwarnings("ignore:Wrapping comment lines")
def test_every_format_reads_back(capsys, demo_db, tmp_path, fmt, suffix):
    path = tmp_path / f"status{suffix}"
    code, _, err = run(capsys, "status", "1998-04-16n", "--db", str(demo_db), "--out",
                       str(path), "--format", fmt)
    assert code == 0 and f"3 row(s) written to {path}" in err
    kwargs = {"csv": {"format": "ascii.csv", "comment": "#"},
              "ipac": {"format": "ascii.ipac"}}.get(fmt, {})
    table = Table.read(path, **kwargs)
    assert list(table["scan"]) == [63, 64, 65]
    assert [str(v) for v in table["status"]] == ["P", "P", "P"]
    by_suffix = tmp_path / f"again{suffix}"                      # the suffix names the format
    assert run(capsys, "status", "1998-04-16n", "--db", str(demo_db), "--out",
               str(by_suffix))[0] == 0
    assert list(Table.read(by_suffix, **kwargs)["scan"]) == [63, 64, 65]


def test_json_and_the_terminal_table(capsys, demo_db):
    code, out, _ = run(capsys, "status", "--history", "--db", str(demo_db), "--format", "json")
    assert code == 0
    data = json.loads(out)
    names = [c["name"] for c in data["columns"]]
    rows = [dict(zip(names, r, strict=True)) for r in data["rows"]]
    assert [(r["night"], r["version"], r["current"]) for r in rows
            if r["night"] == "1998-04-16n"] == [("1998-04-16n", "2.0x", False),
                                                ("1998-04-16n", "2.1", True)]
    code, out, err = run(capsys, "status", "980416n", "--db", str(demo_db))
    assert code == 0 and "passed Quality Review" in out
    assert "24-h health summary" in err and "catscan qa 1998-04-16n" in err


def test_qa_summary_and_plot(capsys, demo_db, tmp_path):
    plot = tmp_path / "qa.png"
    code, out, err = run(capsys, "qa", "1997-10-24n", "--db", str(demo_db), "--format", "csv",
                         "--plot", str(plot))
    assert code == 0
    rows = csv_rows(out)
    assert len(rows) == 9 and rows[0]["status"] == "fail"
    assert f"drawn in {plot}" in err
    image = Image.open(plot)
    assert image.format == "PNG" and image.size == (1000, 900)
    code, out, _ = run(capsys, "qa", "1997-10-24n", "--scans", "--db", str(demo_db),
                       "--format", "csv")
    assert [r["scan"] for r in csv_rows(out)] == ["1", "2", "3", "8", "9", "10", "11", "12"]


def test_coverage_table_map_and_region(capsys, demo_db, tmp_path):
    code, out, err = run(capsys, "coverage", "--db", str(demo_db), "--format", "csv")
    assert code == 0
    rows = {(r["hemisphere"], r["state"]): r for r in csv_rows(out)}
    assert rows[("all", "loaded")]["tiles"] == "11"
    assert "loaded 0.02" in err and "of the sky" in err
    path = tmp_path / "map.png"
    code, out, _ = run(capsys, "coverage", "--db", str(demo_db), "--out", str(path),
                       "--width", "800")
    assert code == 0 and f"written to {path}" in out
    assert Image.open(path).size[0] == 800
    path = tmp_path / "m17.png"
    code, out, _ = run(capsys, "coverage", "--db", str(demo_db), "--region", "18:20:29.5",
                       "-16:18:16", "1.5", "--out", str(path))
    assert code == 0 and "of the region" in out and Image.open(path).format == "PNG"
    code, out, _ = run(capsys, "coverage", "--db", str(demo_db), "--region", "18:20:29.5",
                       "-16:18:16", "30arcmin", "--tiles", "--format", "csv")
    tiles = {r["tile"]: r["state"] for r in csv_rows(out)}
    assert tiles["308165"] == "loaded"              # the tile of the real M17 Atlas Image


@pytest.mark.parametrize("args,message", [
    (["status", "1998-04-17n"], "no night 1998-04-17n"),
    (["qa", "16 April"], "write a date and hemisphere"),
    (["qa", "1998-04-16n", "--plot", "qa.jpg"], "the plot is a PNG"),
    (["coverage", "--region", "10", "41", "90"], "give 0 to 60 degrees"),
    (["coverage", "--out", "map.gif", "--format", "png"], "the map is a PNG"),
    (["status", "--out", "status.docx"], "cannot tell the format"),
    (["coverage", "--width", "100", "--out", "map.png"], "give 400 to 10000 pixels"),
    (["coverage", "--depth", "30"], "MOC depth 30: choose 4 to 20"),
])
def test_bad_arguments_are_one_clear_message_and_write_nothing(capsys, demo_db, tmp_path,
                                                               monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args, "--db", str(demo_db))
    assert code == 1 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
