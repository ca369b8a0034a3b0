"""The Quality Review gate as a table: scan-table values in, (loaded?, reason) out."""

from __future__ import annotations

import pytest

from catscan.loaders.qa_gate import DEFAULT_MIN_SCORE, gate

CASES = [
    # status, scan_type, qa_score, min_score, loaded, reason contains
    ("P", "sci", 10.0, 3.0, True, "passed Quality Review (QA score 10 > 3)"),
    ("P", "sci", 3.01, 3.0, True, "passed"),
    ("P", "sci", 3.0, 3.0, False, "QA score 3 <= 3: too low"),       # "score > 3" loads
    ("P", "sci", 2.1, 3.0, False, "too low"),
    ("P", "sci", 0.0, 3.0, False, "rescan requested (QA score 0)"),
    ("P", "sci", 8.0, 9.0, False, "QA score 8 <= 9"),
    ("P", "sci", None, 3.0, False, "not QA-scored"),
    ("F", "sci", None, 3.0, False, "processing failed"),
    ("R", "sci", None, 3.0, False, "processing still running"),
    ("-", "sci", None, 3.0, False, "not processed"),
    ("P", "cal", None, 3.0, False, "calibration scan: kept in scans only"),
    ("P", "flt", None, 3.0, False, "twilight flat scan"),
    ("F", "cal", None, 3.0, False, "processing failed"),             # status decides first
]


@pytest.mark.parametrize(("status", "kind", "score", "minimum", "loaded", "reason"), CASES)
def test_gate(status, kind, score, minimum, loaded, reason):
    decided, why = gate({"status": status, "scan_type": kind, "qa_score": score}, minimum)
    assert decided is loaded and reason in why


def test_the_default_minimum_is_the_1998_one():
    assert DEFAULT_MIN_SCORE == 3.0
