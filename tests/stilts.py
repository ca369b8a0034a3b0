"""STILTS, the command-line twin of TOPCAT, as the tests read our files with it: one place
for how it is called and how its answers are read."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

STILTS = shutil.which("stilts")
needs_stilts = pytest.mark.skipif(STILTS is None, reason="stilts is not on PATH")


def run(*args: str, timeout: float = 240) -> str:
    """STILTS's output; fails the test with its messages if it fails."""
    done = subprocess.run([STILTS, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def votable_meta(path: Path) -> tuple[int, list[str]]:
    """(rows, one line per column: name, class, unit ...) as STILTS reads a VOTable."""
    out = run("tpipe", f"in={path}", "ifmt=votable", "omode=meta")
    rows = int(re.search(r"Rows:\s+(\d+)", out).group(1))
    return rows, [line for line in out.splitlines() if line.strip()[:1].isdigit() and ": " in line]


def votable_rows(path: Path, scratch: Path) -> list[dict[str, str]]:
    """The VOTable's rows as STILTS writes them to CSV."""
    run("tcopy", f"in={path}", "ifmt=votable", f"out={scratch}", "ofmt=csv")
    with scratch.open(newline="") as f:
        return list(csv.DictReader(f))
