"""The Starlette application: routes from each module's table, the team-password guard,
session cookies, the request limits (bounds.py, limits.py) and a request log. Handlers call
the same services as the CLI (runner, findtile, spatial, images, operations); this layer
holds no SQL of its own."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.lowlevel
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..budget import ShuttingDown
from ..channel import Listener
from ..config import public_db_path, resolve_db_path
from ..errors import CatscanError
from . import examples, image_pages, pages, parking, scs, sia, survey_pages, tap, uws
from .access import TeamAccess
from .bounds import Bounds, Running
from .errors import LastResort
from .job_runner import JobRunner
from .jobs import JobStore
from .limits import Limits
from .pool import DEFAULT_WORKERS, SessionPool
from .served import ServedDatabase
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
               limits: Limits | None = None, jobs: Callable[[list[str]], int] | None = None,
               url: str | None = None, uws_dir: str | os.PathLike | None = None) -> Starlette:
    """The server for the database ``db`` (default: $CATSCAN_DB, else ./catscan.duckdb),
    with ``limits`` (default: limits.py's; ``timeout`` replaces their ``timeout_s``).

    The server holds ``db`` (and its public copy) read-write, as one DuckDB instance each
    (docs/serving.md). With ``jobs`` (catscan.cli.run_job) it takes writing commands
    through its write channel and names ``url`` in the channel's state file. TAP async
    jobs are kept in ``uws_dir`` (default: ``<db>.jobs`` next to the database)."""
    db = Path(os.path.abspath(resolve_db_path(db)))
    limits = limits or Limits()
    if timeout is not None:
        limits = replace(limits, timeout_s=timeout)
    running = Running()
    team = ServedDatabase(db, files=True, memory_limit=limits.memory_limit)
    first = team.cursor()
    try:
        access = TeamAccess.from_connection(first)
    finally:
        first.close()
    if access.open:
        log.warning("no team password is set: every page and endpoint is open; set one "
                    "with `catscan passwd --db %s`", db)
    routes = [*pages.ROUTES, *scs.ROUTES, *sia.ROUTES, *survey_pages.ROUTES,
              *image_pages.ROUTES, *tap.ROUTES, *uws.ROUTES, *parking.ROUTES,
              *examples.ROUTES,
              Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, middleware=[
        Middleware(RequestLog),
        Middleware(LastResort),
        Middleware(Bounds, limits=limits, running=running),
        Middleware(SessionMiddleware, secret_key=access.session_secret,
                   session_cookie="catscan_session", same_site="strict", max_age=int(LIFETIME_S)),
    ], lifespan=_lifespan)
    app.state.db, app.state.access, app.state.served = db, access, team
    app.state.public_served = None
    _open_public(app.state, limits)             # released nights, for visitors (docs/web.md)
    app.state.extra_nav = [*survey_pages.NAV, *image_pages.NAV]
    app.state.extra_tools = [*survey_pages.TOOLS, *image_pages.TOOLS]
    app.state.has_coverage = True
    app.state.workers, app.state.timeout = workers, limits.timeout_s
    app.state.limits, app.state.running = limits, running
    app.state.has_tap = True
    app.state.jobs, app.state.url = jobs, url
    app.state.after_write = [lambda: _after_write(app.state)]
    store = JobStore(Path(uws_dir) if uws_dir is not None else Path(f"{db}.jobs"), limits)
    app.state.uws = JobRunner(store, app.state)
    return app


def after_write_job(app: Starlette, hook: Callable[[], None]) -> None:
    """Run ``hook()`` after each write job of the server ended (whatever its exit code: a
    job loading three nights may commit two), on the server's event loop, before the job's
    command gets its exit code: a cache of what the database holds forgets it here."""
    app.state.after_write.append(hook)


def _open_public(state, limits: Limits) -> None:
    public = public_db_path(state.db)
    state.public_db = public if public is not None and public.exists() else None
    if state.public_db is not None and state.public_served is None:
        state.public_served = ServedDatabase(public, files=False,
                                             memory_limit=limits.memory_limit)


def _after_write(state) -> None:
    """What the server itself keeps of the database, read again after a write job."""
    for pool in filter(None, (state.pool, state.public_pool)):
        pool.refresh()
    state.tap_catalog = None
    cur = state.served.cursor()
    try:
        state.access.reload(cur)
    finally:
        cur.close()
    if state.public_served is None:             # the first release made the public copy
        _open_public(state, state.limits)
        if state.public_served is not None:
            state.public_pool = SessionPool(state.public_served, state.workers,
                                            state.limits.timeout_s)


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
        state, limits = app.state, app.state.limits
        state.pool = SessionPool(state.served, state.workers, limits.timeout_s)
        state.public_pool = None if state.public_served is None else SessionPool(
            state.public_served, state.workers, limits.timeout_s)
        channel = _start_jobs(app, anyio.lowlevel.current_token()) if state.jobs else None
        try:
            async with state.uws.serving():        # TAP async jobs (job_runner.py)
                yield
        finally:                 # requests still running now are stopped, not waited for
            if channel is not None:
                channel.close()
                state.writer.close()
                state.undo_routing()
            state.running.stop_all(ShuttingDown("the server is shutting down"))
            for pool in filter(None, (state.pool, state.public_pool)):
                if not await pool.wait_idle(limits.slack_s):
                    log.warning("a request's work did not stop in time; leaving its session")
                pool.close()
            for served in filter(None, (state.served, state.public_served)):
                served.close()

    return span(app)


def _start_jobs(app: Starlette, token) -> Listener:
    """The writer thread and the write channel (docs/serving.md)."""
    from .writer import WriteJobs, route_output

    state = app.state

    def served() -> list[ServedDatabase]:
        return [s for s in (state.served, state.public_served) if s is not None]

    def pause() -> None:                       # an exclusive job: the file to itself
        for pool in filter(None, (state.pool, state.public_pool)):
            if not pool.pause(state.limits.timeout_s + state.limits.slack_s):
                raise CatscanError("the server's queries did not end in time; try again")
        for s in served():
            s.close()

    def resume() -> None:
        for s, pool in ((state.served, state.pool), (state.public_served, state.public_pool)):
            if s is not None:
                if not s.is_open:
                    s.open()
                if pool is not None:
                    pool.resume(s)

    def after() -> None:
        for hook in state.after_write:
            anyio.from_thread.run_sync(hook, token=token)

    state.undo_routing = route_output()
    state.writer = WriteJobs(state.jobs, served, pause, resume, [after])
    channel = Listener(state.db, state.url or "", state.writer.handle)
    channel.start()
    return channel


def route(path: str, endpoint, methods=("GET",), name: str | None = None) -> Route:
    return Route(path, endpoint, methods=list(methods), name=name)
