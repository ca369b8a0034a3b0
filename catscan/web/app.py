"""The Starlette application: routes from each module's table, the team-password guard,
session cookies, the request limits (bounds.py, limits.py) and a request log. Handlers call
the same services as the CLI (runner, findtile, spatial, images, operations); this layer
holds no SQL of its own."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..budget import ShuttingDown
from ..config import public_db_path, resolve_db_path
from ..safety import query_connection
from . import image_pages, pages, scs, sia, survey_pages, tap
from .access import TeamAccess
from .bounds import Bounds, Running
from .errors import LastResort
from .limits import Limits
from .pool import DEFAULT_WORKERS, SessionPool
from .sessions import LIFETIME_S

log = logging.getLogger("catscan.web")
STATIC = Path(__file__).with_name("static")
DEFAULT_TIMEOUT_S = Limits.timeout_s


class RequestLog:
    """One line per request: method, path, status, milliseconds, client. Never the query
    string's secrets or any header (Authorization stays out)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": None}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
            if status["code"] is None:
                status["code"] = 499     # no answer: the client went away (nginx's code)
        finally:
            if status["code"] is None:   # an exception and no answer
                status["code"] = 500
            client = (scope.get("client") or ("-",))[0]
            log.info("%s %s %d %.1f ms %s", scope["method"], scope["path"], status["code"],
                     (time.perf_counter() - started) * 1e3, client)


def create_app(db=None, *, workers: int = DEFAULT_WORKERS, timeout: float | None = None,
               limits: Limits | None = None) -> Starlette:
    """The server for the database ``db`` (default: $CATSCAN_DB, else ./catscan.duckdb),
    with ``limits`` (default: limits.py's; ``timeout`` replaces their ``timeout_s``)."""
    db = resolve_db_path(db)
    limits = limits or Limits()
    if timeout is not None:
        limits = replace(limits, timeout_s=timeout)
    running = Running()
    first = query_connection(db, one_thread=True)   # locks the file's configuration down first
    try:
        access = TeamAccess.from_connection(first)
    finally:
        first.close()
    if access.open:
        log.warning("no team password is set: every page and endpoint is open; set one "
                    "with `catscan passwd --db %s`", db)
    routes = [*pages.ROUTES, *scs.ROUTES, *sia.ROUTES, *survey_pages.ROUTES,
              *image_pages.ROUTES, *tap.ROUTES,
              Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, middleware=[
        Middleware(RequestLog),
        Middleware(LastResort),
        Middleware(Bounds, limits=limits, running=running),
        Middleware(SessionMiddleware, secret_key=access.session_secret,
                   session_cookie="catscan_session", same_site="strict", max_age=int(LIFETIME_S)),
    ], lifespan=_lifespan)
    app.state.db, app.state.access = db, access
    public = public_db_path(db)             # released nights, for visitors (docs/web.md)
    app.state.public_db = public if public is not None and public.exists() else None
    app.state.extra_nav = [*survey_pages.NAV, *image_pages.NAV]
    app.state.extra_tools = [*survey_pages.TOOLS, *image_pages.TOOLS]
    app.state.has_coverage = True
    app.state.workers, app.state.timeout = workers, limits.timeout_s
    app.state.limits, app.state.running = limits, running
    app.state.has_tap = True
    return app


def uvicorn_options(behind_proxy: str | None = None) -> dict:
    """How uvicorn runs the app (``catscan serve`` and the tests): the client's address is
    the connection's, unless ``behind_proxy`` names the proxy addresses (comma-separated)
    whose X-Forwarded-For and X-Forwarded-Proto are trusted. uvicorn's own default trusts
    them from 127.0.0.1, which let anyone on this machine pick their address."""
    if behind_proxy is None:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": behind_proxy}


def _lifespan(app: Starlette):
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def span(app: Starlette):
        limits: Limits = app.state.limits
        app.state.pool = SessionPool(app.state.db, app.state.workers, limits.timeout_s,
                                     limits.memory_limit)
        app.state.public_pool = None if app.state.public_db is None else SessionPool(
            app.state.public_db, app.state.workers, limits.timeout_s, limits.memory_limit)
        try:
            yield
        finally:                 # requests still running now are stopped, not waited for
            app.state.running.stop_all(ShuttingDown("the server is shutting down"))
            for pool in filter(None, (app.state.pool, app.state.public_pool)):
                if not await pool.wait_idle(limits.slack_s):
                    log.warning("a request's work did not stop in time; leaving its session")
                pool.close()

    return span(app)


def route(path: str, endpoint, methods=("GET",), name: str | None = None) -> Route:
    return Route(path, endpoint, methods=list(methods), name=name)
