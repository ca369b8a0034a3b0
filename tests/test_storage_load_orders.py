"""Any history of nightly loads, reprocessings, settles and compactions gives the database
that loading everything at once gives: the same rows, the same duplicate flags, the same
answers to cones and cross-matches (docs/storage.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import catscan
from catscan.db import init_database
from catscan.loaders import delivery
from catscan.loaders.compact import compact
from catscan.loaders.night import load_nights
from catscan.loaders.optimize import finish_sorts, pending_sorts
from catscan.spatial import cone_search
from catscan.survey.generate import generate
from catscan.xmatch import xmatch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> tuple[list[Path], dict[Path, Path]]:
    """The demo survey's deliveries, and for each reprocessing the delivery it replaces."""
    out = tmp_path_factory.mktemp("orders-survey")
    generate(out, scale="demo", seed=1, image_scans=0)
    found = delivery.find_deliveries([out])
    manifests = {d: delivery.read_manifest(d) for d in found}
    originals = {}
    for d, m in manifests.items():
        if m.kind == "reprocessing":
            originals[d] = next(o for o, n in manifests.items()
                                if n.name == m.name and n.kind != "reprocessing")
    assert originals, "the demo survey has a reprocessed night"
    return sorted(found), originals


def _answers(db: Path) -> dict:
    con = catscan.connect(db)
    try:
        out = {"flags": con.execute("SELECT pts_key, use_src, dup_src FROM psc ORDER BY pts_key"
                                    ).fetchall(),
               "xsc": con.execute("SELECT count(*), coalesce(sum(hash(ra, dec)), 0) FROM xsc"
                                  ).fetchall(),
               "nights": con.execute("SELECT date, hemis, version FROM nights ORDER BY ALL"
                                     ).fetchall()}
        centres = con.execute("SELECT ra, dec FROM scans WHERE loaded ORDER BY scan_key"
                              ).fetchall()
        for ra, dec in centres:
            for radius in (1 / 60, 0.25):
                rows = cone_search(con, ra, dec, radius, columns=["pts_key"])
                out[("cone", ra, dec, radius)] = sorted(rows["pts_key"].to_pylist())
        sample = con.execute("SELECT ra, dec FROM psc ORDER BY pts_key").fetchnumpy()
        rng = np.random.default_rng(3)
        pick = rng.integers(0, len(sample["ra"]), 500)
        targets = pa.table({"target_row": np.arange(500),
                            "ra": sample["ra"][pick] + rng.normal(0, 2e-4, 500),
                            "dec": sample["dec"][pick] + rng.normal(0, 2e-4, 500)})
        matched = xmatch(con, targets, 2 / 3600, mode="all", columns=["pts_key"])
        # per target, its pairs (equal separations may come in either order)
        seps = [None if s is None or s != s else round(s, 9)       # NaN: no match
                for s in matched["dist"].to_pylist()]
        out["xmatch"] = sorted(zip(matched["target_row"].to_pylist(),
                                   matched["pts_key"].to_pylist(), seps, strict=True),
                               key=lambda r: (r[0], r[1] is None, r[1] or 0, r[2] or 0))
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(deliveries, tmp_path_factory) -> dict:
    nights, _ = deliveries
    db = tmp_path_factory.mktemp("orders-ref") / "ref.duckdb"
    init_database(db)
    con = catscan.connect(db, read_only=False)
    try:
        load_nights(con, nights)
    finally:
        con.close()
    return _answers(db)


@st.composite
def histories(draw, nights: list[Path], originals: dict[Path, Path]) -> list:
    """A valid operator history: the nights in any order, each reprocessing after the night
    it replaces, with settles and compactions anywhere, and maybe a kill before a settle
    (the settle then runs at the next command)."""
    plain = [n for n in nights if n not in originals]
    order = draw(st.permutations(plain))
    for again, original in originals.items():
        at = draw(st.integers(order.index(original) + 1, len(order)))
        order = [*order[:at], again, *order[at:]]
    steps = []
    for night in order:
        steps.append(("load", night, draw(st.booleans())))     # settle right away?
        steps.append((draw(st.sampled_from(["none", "none", "settle", "compact"])),
                      None, None))
    return steps


def test_any_history_of_loads_settles_and_compactions_answers_alike(deliveries, reference,
                                                                     tmp_path_factory):
    nights, originals = deliveries

    @settings(max_examples=4, deadline=None, derandomize=True,
              phases=[Phase.explicit, Phase.reuse, Phase.generate],   # no slow shrinking
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(histories(nights, originals))
    def check(steps):
        work = tmp_path_factory.mktemp("orders")
        db = work / "h.duckdb"
        init_database(db)
        for action, night, settle_now in steps:
            if action == "load":
                con = catscan.connect(db, read_only=False)
                try:
                    if settle_now:
                        load_nights(con, [night])
                    else:       # as if killed after the night's commit, before its settle
                        from catscan.loaders.night import load_night
                        load_night(con, night)
                finally:
                    con.close()
            elif action == "settle":
                con = catscan.connect(db, read_only=False)
                try:
                    finish_sorts(con)
                finally:
                    con.close()
            elif action == "compact":
                compact(db)
        con = catscan.connect(db, read_only=False)
        try:
            finish_sorts(con)
            assert pending_sorts(con) == []
        finally:
            con.close()
        assert _answers(db) == reference
        shutil.rmtree(work, ignore_errors=True)

    check()
