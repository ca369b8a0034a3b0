"""The 24-h health summary and its trend plot, on the demo survey."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from astropy.time import Time
from PIL import Image

from catscan.operations import health, plot

NIGHT = (dt.date(1997, 10, 24), "n")


def test_the_summary_lists_every_metric_with_its_limit_failures_first(demo_con):
    rows = health.health_summary(demo_con, *NIGHT).to_pylist()
    assert len(rows) == 9
    order = [health.STATUS_ORDER[r["status"]] for r in rows]
    assert order == sorted(order)
    by_metric = {r["metric"]: r for r in rows}
    # 1 of its 8 scans failed (scan 12): 0.125 is above the 0.05 warning, under the 0.2 limit
    failed = by_metric["scans_failed_fraction"]
    assert (failed["value"], failed["limit_value"], failed["status"]) == (0.125, 0.2, "warn")
    # scans 8 and 10 of the 7 processed have a photometric factor >= 0.9: 2/7 < 0.4
    photometric = by_metric["photometric_fraction"]
    assert photometric["value"] == pytest.approx(2 / 7, abs=1e-4)
    assert photometric["status"] == "fail"
    assert all(r["description"] for r in rows)
    assert health.status_counts(health.health_summary(demo_con, *NIGHT))["fail"] >= 1


def test_trends_follow_the_scans_through_the_night(demo_con):
    trends = health.scan_trends(demo_con, *NIGHT).to_pylist()
    assert [t["scan"] for t in trends] == [1, 2, 3, 8, 9, 10, 11, 12]
    midnight = Time("1997-10-24T00:00:00", scale="utc").jd
    jdates = dict(demo_con.execute("SELECT scan, jdate FROM scans WHERE date = ? AND hemis = ?",
                               list(NIGHT)).fetchall())
    for t in trends:
        assert t["ut_hours"] == pytest.approx((jdates[t["scan"]] - midnight) * 24, abs=1e-6)
    assert trends[-1]["status"] == "F" and trends[-1]["seeing"] is None   # not processed


def test_the_plot_draws_each_scan_where_its_values_say(demo_con, tmp_path):
    summary = health.health_summary(demo_con, *NIGHT)
    trends = health.scan_trends(demo_con, *NIGHT)
    drawn = health.trend_plot("1997-10-24n", "Mt Hopkins", "2.0x", summary, trends,
                              tmp_path / "qa.png", width=900, height=800)
    image = Image.open(drawn.path)
    assert image.format == "PNG" and image.size == (900, 800)
    pixels = np.asarray(image.convert("RGB"))
    seeing = trends.column("seeing").to_pylist()
    points = drawn.panels["seeing"].drawn["seeing"]
    assert len(points) == sum(s is not None for s in seeing)           # failed scan: no point
    for x, y in points:
        assert tuple(pixels[y, x]) == plot.INK
    # worse seeing is higher on the plot, later scans further right
    values = [s for s in seeing if s is not None]
    assert np.argmin([y for _, y in points]) == np.argmax(values)
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    for column, band in (("j_back", "j"), ("k_back", "k")):
        for x, y in drawn.panels["background"].drawn[column]:
            assert tuple(pixels[y, x]) == plot.BAND_COLOURS[band]
    for label, box in drawn.legend.items():
        x0, y0, x1, y1 = box
        assert y0 > 700                                          # under the panels
        colour = tuple(pixels[(y0 + y1) // 2, (x0 + x1) // 2])
        assert colour in {plot.INK, health.LIMIT_COLOUR, *plot.BAND_COLOURS.values()}, label


def test_the_k_background_limit_is_drawn_at_its_value(demo_con, tmp_path):
    summary = health.health_summary(demo_con, *NIGHT)
    trends = health.scan_trends(demo_con, *NIGHT)
    drawn = health.trend_plot("1997-10-24n", "Mt Hopkins", "2.0x", summary, trends,
                              tmp_path / "qa.png")
    panel = drawn.panels["background"]
    limit = {r["metric"]: r["limit_value"] for r in summary.to_pylist()}["k_back_max"]
    _, y = panel.to_px(panel.x_range[0], limit)
    row = np.asarray(Image.open(drawn.path).convert("RGB"))[round(y)]
    x0, _, x1, _ = panel.box
    dashes = np.all(row[x0:x1] == health.LIMIT_COLOUR, axis=1)
    assert 0.4 < dashes.mean() < 0.9                                  # a dashed line


def test_nice_ticks_are_round_and_inside():
    assert plot.nice_ticks(0.93, 1.31, target=4) == [1.0, 1.1, 1.2, 1.3]
    assert plot.nice_ticks(2.55, 4.05, target=8) == [2.6, 2.8, 3.0, 3.2, 3.4, 3.6, 3.8, 4.0]
    assert plot.tick_text(0.25, 0.25) == "0.25"
    assert plot.tick_text(1500, 500) == "1500"
