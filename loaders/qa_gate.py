"""The Quality Review gate: which scans of a night bring their sources and images.

1998 rule (2mass_reference.md §7.2, J. D. Kirkpatrick, "Rules for quality scoring of survey
scans"): "scans with score > 3 are loaded into the database"; a score of 0 means the tile must
be rescanned. Only processed (status P) survey scans are scored and loaded; every other scan
is still recorded, with the reason it was not loaded.
"""

from __future__ import annotations

DEFAULT_MIN_SCORE = 3.0
SCAN_TYPES = {"cal": "calibration", "flt": "twilight flat", "dar": "dark", "lsc": "long-exposure",
              "tst": "test", "lca": "long calibration", "lda": "long dark"}


def gate(row: dict, min_score: float) -> tuple[bool, str]:
    """The Quality Review decision for one scan-table row: (load it?, why)."""
    status, score, kind = row["status"], row["qa_score"], row["scan_type"]
    if status == "F":
        return False, "processing failed"
    if status == "R":
        return False, "processing still running"
    if status == "-":
        return False, "not processed"
    if kind != "sci":
        return False, f"{SCAN_TYPES.get(kind, kind)} scan: kept in scans only (not a survey scan)"
    if score is None:
        return False, "not QA-scored"
    if score == 0:
        return False, "rescan requested (QA score 0)"
    if score <= min_score:
        return False, f"QA score {score:g} <= {min_score:g}: too low"
    return True, f"passed Quality Review (QA score {score:g} > {min_score:g})"
