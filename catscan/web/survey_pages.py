"""Survey operations pages: the Processing Status and History page (nights, drill-down to a
night's scans), the 24-hour health QA summary with its plot, and the live coverage map
(public, as in 1998), drawn by catscan.operations and kept until the database changes, then
brought up to date by what changed."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CatscanError
from .guard import pool_for, team_only
from .pages import render

MAP_WIDTH = 1000
MAP_TITLE = "2MASS sky coverage by tile"


@dataclass(frozen=True)
class DrawnMap:
    """The coverage PNG and how to turn a click on it into a position."""

    png: bytes
    centre_px: tuple[float, float]
    scale: float
    size: tuple[int, int]

    def position(self, x: float, y: float) -> tuple[float, float] | None:
        """(ra, dec) of a pixel of the map, or None outside the sky's ellipse."""
        from ..operations.projection import inverse_hammer_aitoff

        px = (self.centre_px[0] - x) * self.scale
        py = (self.centre_px[1] - y) * self.scale
        lon, lat, inside = inverse_hammer_aitoff(np.array([px]), np.array([py]))
        if not inside[0]:
            return None
        return float(lon[0] % 360.0), float(lat[0])


def coverage_map(ses) -> DrawnMap:
    """The all-sky map of tile states for the database as it is now: brought up to date
    only when the content version changed (checked on every request, catscan.content)."""
    from ..content import cached

    return cached(ses.con, f"web.coverage_map.{MAP_WIDTH}", lambda: _draw_map(ses.con))


def _draw_map(con) -> DrawnMap:
    """The map kept beside the database brought up to date (catscan.operations.livemap):
    after a night's load only that night's tiles are drawn again."""
    from ..operations.livemap import current_map

    drawn = current_map(con, width=MAP_WIDTH, title=MAP_TITLE)
    return DrawnMap(drawn.png, drawn.centre_px, drawn.scale, drawn.size)


async def coverage_png(request: Request) -> Response:
    drawn = await request.app.state.pool.run(coverage_map)       # tiles: public
    return Response(drawn.png, media_type="image/png", headers={"Cache-Control": "no-cache"})


def _rows(table: pa.Table) -> tuple[list[str], list[list]]:
    return table.column_names, [list(r.values()) for r in table.to_pylist()]


@team_only
async def status_page(request: Request) -> Response:
    """Every night (or every event): the table's HTML is kept by content version, since
    Jinja takes ~0.3 s for the ~1,800 nights of the whole survey; each request puts its own
    URL of the night pages into the links."""
    from ..content import cached
    from ..operations.status import night_history, night_status
    from .pages import templates

    history = request.query_params.get("history") == "1"
    compute = night_history if history else night_status

    def table(con) -> str:
        columns, rows = _rows(compute(con))
        macro = templates.env.get_template("_table.html").module.rows_table
        return str(macro(columns, rows, {"night": lambda night: _NIGHT_LINK + str(night)}))

    html = await pool_for(request).run(
        lambda ses: cached(ses.con, f"web.status.{compute.__name__}", lambda: table(ses.con)))
    night_url = str(request.url_for("night_page", night="-"))[:-1]
    return render(request, "status.html", history=history,
                  table=Markup(html.replace(_NIGHT_LINK, str(escape(night_url)))))


_NIGHT_LINK = "catscan-night-page:"      # replaced by the request's URL of /status/


@team_only
async def night_page(request: Request) -> Response:
    from ..operations.status import night_name, resolve_night, scan_status

    text = request.path_params["night"]

    def work(ses):
        date, hemis = resolve_night(ses.con, text)
        return night_name(date, hemis), _rows(scan_status(ses.con, date, hemis))

    try:
        name, (columns, rows) = await pool_for(request).run(work)
    except CatscanError as exc:
        return render(request, "night.html", status=404, error=str(exc), name=text,
                      columns=[], rows=[])
    return render(request, "night.html", name=name, columns=columns, rows=rows)


def _night_health(ses, text: str):
    from ..operations import health
    from ..operations.status import night_name, resolve_night

    date, hemis = resolve_night(ses.con, text)
    name = night_name(date, hemis)
    summary = health.health_summary(ses.con, date, hemis)
    trends = health.scan_trends(ses.con, date, hemis)
    [(facility, version)] = ses.con.execute("SELECT facility, version FROM nights WHERE "
                                            "date = ? AND hemis = ?", [date, hemis]).fetchall()
    return name, facility, version, summary, trends


@team_only
async def qa_page(request: Request) -> Response:
    from ..operations.health import status_counts

    text = request.path_params["night"]
    try:
        name, facility, version, summary, _ = await pool_for(request).run(
            lambda ses: _night_health(ses, text))
    except CatscanError as exc:
        return render(request, "qa.html", status=404, error=str(exc), name=text, columns=[],
                      rows=[], counts={})
    columns, rows = _rows(summary)
    return render(request, "qa.html", name=name, facility=facility, version=version,
                  columns=columns, rows=rows, counts=status_counts(summary))


@team_only
async def qa_png(request: Request) -> Response:
    from ..operations.health import trend_plot

    text = request.path_params["night"]

    def work(ses):
        name, facility, version, summary, trends = _night_health(ses, text)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "qa.png"
            trend_plot(name, facility, version, summary, trends, path)
            return path.read_bytes()

    try:
        png = await pool_for(request).run(work)
    except CatscanError as exc:
        return Response(str(exc) + "\n", status_code=404, media_type="text/plain")
    return Response(png, media_type="image/png")


ROUTES = [
    Route("/coverage.png", coverage_png, name="coverage_png"),
    Route("/status", status_page, name="status_page"),
    Route("/status/{night}", night_page, name="night_page"),
    Route("/qa/{night}.png", qa_png, name="qa_png"),
    Route("/qa/{night}", qa_page, name="qa_page"),
]
NAV = [("status_page", "Status")]
TOOLS = [("status_page", "Processing Status and History",
          "every night's processing, its scans (P/F/R/-, QA score, loaded) and its 24-hour "
          "telescope and camera health")]
