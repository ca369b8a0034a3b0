"""The catscan command as a user runs it: exit codes 0 / 1 / 2, --db and $CATSCAN_DB,
messages without tracebacks, the load summary, info and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from catscan.survey.synthetic_psc import synthetic_psc


def run(*args: str, env: dict | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"} | (env or {})
    return subprocess.run([sys.executable, "-m", "catscan.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


def test_init_then_init_again(tmp_path):
    db = str(tmp_path / "s.duckdb")
    first = run("init", "--db", db)
    assert first.returncode == 0 and "applied" in first.stdout
    second = run("--db", db, "init")
    assert second.returncode == 0 and "nothing to do" in second.stdout


def test_the_environment_names_the_database(tmp_path):
    db = tmp_path / "env.duckdb"
    assert run("init", env={"CATSCAN_DB": str(db)}).returncode == 0
    assert db.exists()


def test_the_default_database_is_in_the_current_directory(tmp_path):
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "catscan.duckdb").exists()


def test_a_user_error_exits_1_with_one_message(tmp_path):
    result = run("info", "--db", str(tmp_path / "absent.duckdb"))
    assert result.returncode == 1
    assert result.stderr.startswith("catscan: error: no catscan database")
    assert "Traceback" not in result.stderr


def test_a_usage_error_exits_2(tmp_path):
    assert run("load", "stars", "x.gz").returncode == 2
    assert run().returncode == 2


def test_load_reports_each_file_and_refuses_a_bad_one(tmp_path, write_release):
    db = str(tmp_path / "s.duckdb")
    run("init", "--db", db)
    good = write_release("psc", synthetic_psc(500, seed=1), "good.psc.gz")
    ok = run("load", "psc", str(good), "--db", db)
    assert ok.returncode == 0, ok.stderr
    assert "loaded 500 rows into psc" in ok.stdout
    bad = tmp_path / "bad.psc"
    lines = write_release("psc", synthetic_psc(5, seed=2, first_key=900), "b.psc").read_text()
    bad.write_text(lines.replace("|n|", "|q|", 1))
    refused = run("load", "psc", str(bad), "--db", db)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{bad}:1: column hemis: value out of range" in refused.stderr
    again = run("load", "psc", str(good), "--db", db)
    assert again.returncode == 0 and "skipped" in again.stdout


def test_info_counts_what_was_loaded(tmp_path, write_release):
    db = str(tmp_path / "s.duckdb")
    run("init", "--db", db)
    run("load", "psc", str(write_release("psc", synthetic_psc(321, seed=3), "a.psc")),
        "--db", db)
    info = run("info", "--db", db)
    assert info.returncode == 0, info.stderr
    line = next(x for x in info.stdout.splitlines() if " psc " in x)
    assert "321" in line
    assert "schema version" in info.stdout


def test_the_demo_builds_a_sample_survey_and_queries_it(tmp_path):
    db = tmp_path / "demo.duckdb"
    result = run("demo", "--db", str(db), "--image-scans", "0")
    assert result.returncode == 0, result.stderr
    assert "Scans recorded but not loaded" in result.stdout
    # what should pass Quality Review, read from the deliveries' own scan tables
    deliveries = sorted((tmp_path / "demo-demo").glob("**/scans.tbl"))
    assert len(deliveries) == 6
    import catscan

    con = catscan.connect(db)
    try:
        latest = {}
        for scans in deliveries:   # the reprocessed delivery replaces the first one
            rows = con.execute("SELECT * FROM read_csv(?, delim='|', header=false, "
                               "nullstr='\\N', all_varchar=true)", [str(scans)]).fetchall()
            night = scans.parent.name
            if night not in latest or scans.parent.parent.name == "reprocessed":
                latest[night] = rows
        # columns 5, 27 and 31 of the scan table: scan_type, status, qa_score
        passing = sum(1 for rows in latest.values() for r in rows
                      if r[5] == "sci" and r[27] == "P" and float(r[31] or 0) > 3)
        assert con.execute("SELECT count(*) FILTER (WHERE loaded) FROM scans").fetchone()[0] \
            == passing > 0
        assert con.execute("SELECT count(*) FROM nights").fetchone()[0] == 5
    finally:
        con.close()
    rerun = run("demo", "--db", str(db), "--image-scans", "0")
    assert rerun.returncode == 0 and "all 6 deliveries were loaded before: nothing changed" \
        in rerun.stdout


def test_a_bad_memory_limit_is_a_user_error(tmp_path):
    db = str(tmp_path / "s.duckdb")
    run("init", "--db", db)
    result = run("optimize", "--db", db, "--memory-limit", "lots")
    assert result.returncode == 1 and "bad memory limit 'lots'" in result.stderr


def test_generate_then_load_nights_as_an_operator_would(tmp_path):
    out, db = tmp_path / "survey", str(tmp_path / "n.duckdb")
    generated = run("generate", str(out), "--image-scans", "0")
    assert generated.returncode == 0, generated.stderr
    assert "6 night deliveries" in generated.stdout
    run("init", "--db", db)
    newer = run("load", "night", str(out / "reprocessed" / "980416n"), "--db", db)
    assert newer.returncode == 0 and "passed Quality Review" in newer.stdout
    older = run("load", "night", str(out / "980416n"), "--db", db)
    assert older.returncode == 1 and "Traceback" not in older.stderr
    assert "older 2.0x: refused (--force loads it anyway)" in older.stderr
    again = run("load", "night", str(out / "reprocessed" / "980416n"), "--db", db)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    bad = run("load", "psc", str(out / "980416n"), "--db", db, "--min-score", "5")
    assert bad.returncode == 1 and "only for `catscan load night`" in bad.stderr
    rows = run("generate", str(tmp_path / "x"), "--rows", "5")
    assert rows.returncode == 1 and "--scale bench" in rows.stderr
