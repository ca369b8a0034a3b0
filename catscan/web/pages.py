"""The HTML pages: home, team login, CatScan (query box, form builder, paged results,
downloads, explain, saved queries) and FindTile. Server-rendered with Jinja2; the work is
done by the services the CLI uses."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .. import __version__
from ..errors import CatscanError
from ..language.saved import parse_saved, shipped
from ..results import (
    FILE_SUFFIXES,
    MEDIA_TYPES,
    OUTPUT_FORMATS,
    PROVENANCE_SUFFIX,
    encode_chunks,
    provenance_json,
)
from ..runner import run_text
from .guard import (
    authorised,
    password_ok,
    pool_for,
    team_only,
    team_or_released,
    team_session,
)
from .limits import RequestTooLarge
from .stream import stream
from .throttle import TooManyAttempts

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
DOWNLOADS = [f for f in OUTPUT_FORMATS if f != "table"]
PAGE_SIZE, MAX_PAGE_SIZE = 100, 5000


def render(request: Request, template: str, status: int = 200,
           headers: dict[str, str] | None = None, **context) -> Response:
    state = request.app.state
    context = {"catscan_version": __version__, "extra_nav": getattr(state, "extra_nav", []),
               "extra_tools": getattr(state, "extra_tools", []),
               "has_tap": getattr(state, "has_tap", False),
               "logged_in": team_session(request), **context}
    return templates.TemplateResponse(request, template, context, status_code=status,
                                      headers=headers)


# ---- home and login -----------------------------------------------------------------------

def survey_totals(con) -> dict[str, int]:
    """Nights, scans, loaded scans, PSC and XSC rows (the catalogs' counts are DuckDB's
    table cardinalities, not scans)."""
    [(nights, scans, loaded, psc, xsc)] = con.execute(
        "SELECT (SELECT count(*) FROM nights), count(*), count_if(loaded), "
        "(SELECT count(*) FROM psc), (SELECT count(*) FROM xsc) FROM scans").fetchall()
    return {"nights": nights, "scans": scans, "loaded": loaded, "psc": psc, "xsc": xsc}


async def home(request: Request) -> Response:
    """The survey's totals: the team's database for the team, the public copy (released
    nights) for everyone else."""
    def work(ses):
        from ..content import cached

        return cached(ses.con, "web.home", lambda: survey_totals(ses.con))

    try:
        team = await authorised(request)
    except TooManyAttempts:                 # a Basic password that cannot be checked now
        team = False
    pool = request.app.state.pool if team else getattr(request.app.state, "public_pool", None)
    info = await pool.run(work) if pool is not None else dict.fromkeys(
        ("nights", "scans", "loaded", "psc", "xsc"), 0)
    return render(request, "home.html", info=info, base=str(request.base_url),
                  coverage=getattr(request.app.state, "has_coverage", False))


async def login(request: Request) -> Response:
    access = request.app.state.access
    if request.method == "GET":
        return render(request, "login.html", next=_safe_next(request.query_params.get("next")),
                      failed=False)
    form = await request.form()
    target = _safe_next(str(form.get("next", "")))
    try:
        ok = await password_ok(request, str(form.get("password", "")))
    except TooManyAttempts as exc:
        return render(request, "login.html", status=429, next=target, failed=False,
                      busy=str(exc), headers={"Retry-After": str(round(exc.retry_after))})
    if not ok:
        return render(request, "login.html", status=401, next=target, failed=True)
    access.sessions.end(request.session.get("sid"))
    request.session.clear()
    request.session["sid"] = access.sessions.start()
    return RedirectResponse(target, status_code=303)


def _safe_next(target: str | None) -> str:
    """Only paths on this server (no //host or scheme: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def logout(request: Request) -> Response:
    """Ends the session on the server too: a saved copy of the cookie no longer works."""
    request.app.state.access.sessions.end(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse(request.url_for("home"), status_code=303)


# ---- CatScan ------------------------------------------------------------------------------

def _int(value, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


@team_or_released
async def catscan_page(request: Request) -> Response:
    limits = request.app.state.limits
    values = dict(request.query_params)
    upload = None
    if request.method == "POST":
        try:
            form = await request.form(max_files=1, max_fields=limits.max_params,
                                      max_part_size=limits.max_field_bytes)
        except HTTPException as exc:           # starlette's words for a bad form
            too_large = "exceeded maximum size" in str(exc.detail)
            return render(request, "catscan.html", status=413 if too_large else exc.status_code,
                          error=str(limits.field_too_large()) if too_large else exc.detail,
                          **_context("", PAGE_SIZE, limits.default_rows))
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("upload")
    text = values.get("q", "")
    action = values.get("action", "run" if text else "")
    page_size = _int(values.get("page_size"), PAGE_SIZE, 1, MAX_PAGE_SIZE)
    limit = _int(values.get("limit"), limits.default_rows, 1, limits.default_rows)
    page = _int(values.get("page"), 1, 1, 10 ** 9)
    context = _context(text, page_size, limit)
    if "saved" in values:
        saved = shipped().get(values["saved"])
        context["text"] = saved.text.strip() if saved else ""
        if saved is None:
            context["error"] = f"no saved query named {values['saved']!r}"
        return render(request, "catscan.html", **context)
    if action == "open":
        return await _open_upload(request, upload, context)
    if action == "save":
        return Response(_as_saved_file(text), media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="query.catscan"'})
    if not text.strip() or action == "edit":
        return render(request, "catscan.html", **context)
    try:
        limits.check_query(text)
    except CatscanError as exc:
        return render(request, "catscan.html", status=413, error=str(exc),
                      **context | {"text": ""})
    if action == "explain":
        return await _explain(request, text, context)
    timeout = limits.timeout_s
    try:
        result = await pool_for(request).run(
            lambda ses: run_text(ses, text, limit=limit, timeout=timeout))
    except CatscanError as exc:
        return render(request, "catscan.html", status=400, error=str(exc),
                      error_at=_position(exc), **context)
    total = result.table.num_rows
    pages = max(1, math.ceil(total / page_size))
    page = min(page, pages)
    shown = result.table.slice((page - 1) * page_size, page_size)
    columns = [{"name": f.name, "unit": (f.metadata or {}).get(b"unit", b"").decode()}
               for f in shown.schema]
    rows = [list(r.values()) for r in shown.to_pylist()]
    query = {"q": text, "limit": limit, "page_size": page_size}
    return render(request, "catscan.html", result=result, total=total, rows=rows,
                  columns=columns, page=page, pages=pages,
                  download_query=urlencode({"q": text, "limit": limit}),
                  page_query=lambda n: urlencode(query | {"page": n}), **context)


def _context(text: str, page_size: int, limit: int) -> dict:
    return {"text": text, "page_size": page_size, "limit": limit,
            "shipped": list(shipped().items()), "formats": DOWNLOADS}


def _position(exc: Exception) -> list[int] | None:
    """[line, column] of a query error, for the page's script to select in the box."""
    line, column = getattr(exc, "line", 0), getattr(exc, "column", 0)
    return [line, column] if line else None


async def _explain(request: Request, text: str, context: dict) -> Response:
    from ..language.explain import explain

    def work(ses):
        compiled, _ = ses.prepared(text, None)
        return "\n".join(explain(ses.con, compiled).lines())

    try:
        explanation = await pool_for(request).run(work)
    except CatscanError as exc:
        return render(request, "catscan.html", status=400, error=str(exc),
                      error_at=_position(exc), **context)
    return render(request, "catscan.html", explanation=explanation, **context)


async def _open_upload(request: Request, upload, context: dict) -> Response:
    if upload is None or not getattr(upload, "filename", ""):
        return render(request, "catscan.html", status=400, error="choose a .catscan file",
                      **context)
    size = request.app.state.limits.max_field_bytes      # a query text, with its header
    raw = await upload.read(size + 1)
    if len(raw) > size:
        return render(request, "catscan.html", status=413, error=f"a .catscan file is at "
                      f"most {size:,} bytes (max_query_chars)", **context)
    try:
        saved = parse_saved(raw.decode("utf-8"), Path(upload.filename).stem)
    except (UnicodeDecodeError, CatscanError) as exc:
        return render(request, "catscan.html", status=400,
                      error=f"{upload.filename}: {exc}", **context)
    context["text"] = saved.text.strip()
    return render(request, "catscan.html", **context)


def _as_saved_file(text: str) -> str:
    """The box's text as a .catscan file (a header the user can fill in)."""
    if text.lstrip().startswith("-- title:"):
        return text if text.endswith("\n") else text + "\n"
    return f"-- title: my query\n-- description:\n-- author:\n{text.strip()}\n"


@team_or_released
async def catscan_download(request: Request) -> Response:
    text = request.query_params.get("q", "")
    fmt = request.query_params.get("format", "votable")
    if fmt not in DOWNLOADS and fmt != "provenance":
        return Response(f"unknown format {fmt!r}: choose {', '.join(DOWNLOADS)} or "
                        "provenance\n",
                        status_code=400, media_type="text/plain")
    limits = request.app.state.limits
    limit = _int(request.query_params.get("limit"), limits.default_rows, 1, limits.default_rows)
    timeout = limits.timeout_s
    try:
        limits.check_query(text)
    except CatscanError as exc:
        return Response(str(exc) + "\n", status_code=413, media_type="text/plain")

    def work(ses):
        result = run_text(ses, text, limit=limit, timeout=timeout)
        limits.check_values(result.table.num_rows, result.table.num_columns, fmt)
        return result

    try:
        result = await pool_for(request).run(work)
        if fmt == "provenance":           # what the CSV file has no place for (docs/web.md)
            return Response(provenance_json(result.table, result.provenance),
                            media_type="application/json", headers={
                                "Content-Disposition": 'attachment; filename="catscan.csv'
                                f'{PROVENANCE_SUFFIX}"'})
        return await stream(request, encode_chunks(result.table, fmt, result.provenance),
                            MEDIA_TYPES[fmt], {"Content-Disposition":
                                               f'attachment; filename="catscan'
                                               f'{FILE_SUFFIXES[fmt]}"'})
    except CatscanError as exc:
        status = 413 if isinstance(exc, RequestTooLarge) else 400
        return Response(str(exc) + "\n", status_code=status, media_type="text/plain")


async def catscan_build(request: Request) -> Response:
    """The form builder: its fields become CatScan text in the query box (not run)."""
    from .builder import build_query

    try:
        text = build_query(dict(request.query_params))
    except CatscanError as exc:
        return RedirectResponse(request.url_for("catscan_page").include_query_params(
            q=f"-- {exc}"), status_code=303)
    return RedirectResponse(request.url_for("catscan_page").include_query_params(
        q=text, action="edit"), status_code=303)


# ---- FindTile -----------------------------------------------------------------------------

@team_only
async def findtile_page(request: Request) -> Response:
    from ..findtile import find_tiles, parse_positions

    pos = request.query_params.get("pos", "").strip()
    frame = request.query_params.get("frame", "icrs")
    if frame not in ("icrs", "galactic"):
        frame = "icrs"
    if not pos:
        return render(request, "findtile.html", pos="", frame=frame, results=[])
    try:
        positions = parse_positions(pos.split(), None, frame)
        results = await pool_for(request).run(lambda ses: find_tiles(ses.con, positions))
    except CatscanError as exc:
        return render(request, "findtile.html", status=400, pos=pos, frame=frame, results=[],
                      error=str(exc))
    return render(request, "findtile.html", pos=pos, frame=frame, results=results)


ROUTES = [
    Route("/", home, name="home"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/catscan", catscan_page, methods=["GET", "POST"], name="catscan_page"),
    Route("/catscan/download", catscan_download, name="catscan_download"),
    Route("/catscan/build", catscan_build, name="catscan_build"),
    Route("/findtile", findtile_page, name="findtile_page"),
]
