"""The 24-hour Telescope/Camera Health QA summary of a night, and its trends as a PNG.

The summary is the night's ``night_qa`` rows: each metric with its value, its (fail) limit
and pass/warn/fail as the delivery reported them. The trends are the per-scan seeing,
backgrounds and zero points (scan_status) drawn against UT through the night with Pillow,
with the limits the summary holds (seeing_median, k_back_max) as dashed lines.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from PIL import Image, ImageDraw

from . import plot

METRICS: dict[str, str] = {
    "seeing_median": "median seeing shape (SEESH) of the processed scans",
    "scans_failed_fraction": "fraction of the night's scans whose processing failed",
    "j_zp_rms": "scatter (rms) of the J zero points through the night",
    "h_zp_rms": "scatter (rms) of the H zero points through the night",
    "k_zp_rms": "scatter (rms) of the Ks zero points through the night",
    "k_back_max": "highest Ks background of a processed scan",
    "array_temp_max": "highest camera array temperature",
    "dome_humidity_max": "highest dome humidity",
    "photometric_fraction": "fraction of processed scans with photometric factor >= 0.9",
}
STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2}

SUMMARY_SQL = """
SELECT strftime(date, '%Y-%m-%d') || hemis AS night, metric, value, limit_value, unit,
       status, date, hemis
FROM night_qa WHERE date = ? AND hemis = ?
ORDER BY CASE status WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, metric
"""
TREND_SQL = """
SELECT night, scan, status, scan_type, ut, (jdate - julian(date) + 0.5) * 24 AS ut_hours,
       seeing, j_back, h_back, k_back, j_zp_ap, h_zp_ap, k_zp_ap, qa_score, loaded
FROM scan_status WHERE date = ? AND hemis = ? AND jdate IS NOT NULL
ORDER BY jdate, scan
"""


def health_summary(con: duckdb.DuckDBPyConnection, date: dt.date, hemis: str) -> pa.Table:
    """The night's metrics, failures first, each with what it measures."""
    table = con.sql(SUMMARY_SQL, params=[date, hemis]).to_arrow_table()
    about = [METRICS.get(m) for m in table.column("metric").to_pylist()]
    return table.add_column(table.schema.get_field_index("status") + 1, "description",
                            pa.array(about, pa.string()))


def scan_trends(con: duckdb.DuckDBPyConnection, date: dt.date, hemis: str) -> pa.Table:
    """Per scan, in time order: UT (and hours after 0h UT of the date), seeing,
    backgrounds, zero points; null where the scan was not processed."""
    return con.sql(TREND_SQL, params=[date, hemis]).to_arrow_table()


def status_counts(summary: pa.Table) -> dict[str, int]:
    statuses = summary.column("status").to_pylist()
    return {s: statuses.count(s) for s in ("pass", "warn", "fail")}


# --- the trend plot -------------------------------------------------------------------------

PANELS = (  # name, axis label, series (column, colour), limit metric, relative to median
    ("seeing", "seeing [SEESH]", (("seeing", plot.INK),), "seeing_median", False),
    ("background", "background [DN]", (("j_back", plot.BAND_COLOURS["j"]),
                                       ("h_back", plot.BAND_COLOURS["h"]),
                                       ("k_back", plot.BAND_COLOURS["k"])), "k_back_max", False),
    ("zero point", "zero point - median [mag]", (("j_zp_ap", plot.BAND_COLOURS["j"]),
                                                 ("h_zp_ap", plot.BAND_COLOURS["h"]),
                                                 ("k_zp_ap", plot.BAND_COLOURS["k"])), None,
     True),
)
LIMIT_COLOUR: plot.Colour = (150, 0, 150)
SCAN_MARKS = {"P": (90, 90, 90), "F": plot.STATUS_COLOURS["fail"],
              "R": plot.STATUS_COLOURS["warn"], "-": (170, 170, 170)}


@dataclass
class TrendPlot:
    """What was drawn where: for tests and for callers placing the image."""

    path: Path
    size: tuple[int, int]
    panels: dict[str, plot.Panel] = field(default_factory=dict)
    legend: dict[str, plot.Box] = field(default_factory=dict)
    scans: int = 0


def _hours_text(value: float) -> str:
    minutes = round(value * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def trend_plot(night: str, facility: str, version: str | None, summary: pa.Table,
               trends: pa.Table, path: str | Path, width: int = 1000,
               height: int = 900) -> TrendPlot:
    """Seeing, backgrounds and zero points of each scan through the night, a strip of scan
    statuses on top, the summary's limits as dashed lines; written as PNG to ``path``."""
    image = Image.new("RGB", (width, height), plot.WHITE)
    draw = ImageDraw.Draw(image)
    counts = status_counts(summary)
    title = f"24-h telescope/camera health: night {night} ({facility}" + \
        (f", 2MAPPS {version})" if version else ")")
    draw.text((20, 12), title, fill=plot.BLACK, font=plot.font(20))
    worst = next((s for s in ("fail", "warn", "pass") if counts[s]), None)
    line = (f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail of "
            f"{summary.num_rows} metrics; {trends.num_rows} scans")
    draw.text((20, 40), line, fill=plot.STATUS_COLOURS.get(worst, plot.INK), font=plot.font(15))
    hours = trends.column("ut_hours").to_pylist()
    x_range = plot.padded_range(hours, pad=0.05) if hours else (0.0, 1.0)
    x_ticks = plot.nice_ticks(*x_range, target=8)
    limits = dict(zip(summary.column("metric").to_pylist(),
                      summary.column("limit_value").to_pylist(), strict=True))
    result = TrendPlot(Path(path), (width, height), scans=trends.num_rows)
    left, right = 90, width - 30
    strip_top, strip_bottom = 80, 104
    _scan_strip(draw, trends, hours, plot.Panel((left, strip_top, right, strip_bottom),
                                                x_range, (0, 1)))
    top, bottom = 120, height - 90
    gap = 26
    panel_height = (bottom - top - gap * (len(PANELS) - 1)) // len(PANELS)
    for i, (name, axis, series, limit_metric, relative) in enumerate(PANELS):
        y0 = top + i * (panel_height + gap)
        columns = {column: trends.column(column).to_pylist() for column, _ in series}
        if relative:            # bands differ by ~1 mag: their trends show around medians
            columns = {c: _minus_median(v) for c, v in columns.items()}
        values = [v for column in columns.values() for v in column]
        limit = limits.get(limit_metric) if limit_metric else None
        near = [limit] if limit is not None and _near(limit, values) else []
        panel = plot.Panel((left, y0, right, y0 + panel_height), x_range,
                           plot.padded_range(values, near))
        last = i == len(PANELS) - 1
        panel.frame(image, y_label=axis, x_ticks=x_ticks, x_text=_hours_text,
                    show_x_labels=last, x_label="UT (hours after 0h UT on the night's date)")
        if near:
            panel.hline(draw, limit, LIMIT_COLOUR, f"{limit_metric} limit {limit:g}")
        for column, colour in series:
            panel.series(draw, column, hours, columns[column], colour)
        result.panels[name] = panel
    items = [("seeing", plot.INK)]
    for band, key in (("J", "j"), ("H", "h"), ("Ks", "k")):
        median = _median(trends.column(f"{key}_zp_ap").to_pylist())
        zero_point = f" (zero point median {median:.3f})" if median is not None else ""
        items.append((f"{band}{zero_point}", plot.BAND_COLOURS[key]))
    items += [("limit", LIMIT_COLOUR)]
    result.legend = plot.legend(draw, (left, height - 34), items)
    plot.save_png(image, result.path)
    return result


def _median(values: list) -> float | None:
    data = sorted(v for v in values if v is not None and math.isfinite(v))
    if not data:
        return None
    middle = len(data) // 2
    return data[middle] if len(data) % 2 else (data[middle - 1] + data[middle]) / 2


def _minus_median(values: list) -> list:
    median = _median(values)
    return [None if v is None or median is None else v - median for v in values]


def _near(limit: float, values: list) -> bool:
    """Whether a limit line belongs on the panel: within a few data spans of the data."""
    data = [v for v in values if v is not None and math.isfinite(v)]
    if not data:
        return False
    lo, hi = min(data), max(data)
    span = max(hi - lo, abs(hi) * 0.05, 1e-9)
    return lo - 3 * span <= limit <= hi + 3 * span


def _scan_strip(draw: ImageDraw.ImageDraw, trends: pa.Table, hours: list,
                strip: plot.Panel) -> None:
    """A tick per scan at its start time, coloured by pipeline status, with its number."""
    x0, y0, x1, y1 = strip.box
    draw.rectangle(strip.box, outline=plot.GRID)
    draw.text((x0 - 80, y0 + 4), "scans", fill=plot.INK, font=plot.font(13))
    last_label = -1e9
    for hour, scan, status in zip(hours, trends.column("scan").to_pylist(),
                                  trends.column("status").to_pylist(), strict=True):
        px, _ = strip.to_px(hour, 0)
        draw.line([(px, y0 + 2), (px, y1 - 2)], fill=SCAN_MARKS.get(status, plot.INK), width=3)
        text = f"{scan}{'' if status == 'P' else ' ' + status}"
        w, _ = plot.text_size(draw, text, 11)
        if px - last_label > w + 6:
            draw.text((px + 3, y0 + 5), text, fill=plot.INK, font=plot.font(11))
            last_label = px + w
