"""Who may see survey data: a browser with a live team session, or a client sending HTTP
Basic ``team:<password>``. Everything else gets 401 with a Basic challenge; the VO endpoints
(TAP and VOSI, SCS, SIA, SODA) add a DALI error VOTable, whatever the Accept header (Java
clients such as TOPCAT and STILTS send ``text/html`` among theirs, and log in only when
challenged), and only browsers asking for an HTML page are sent to the login form. Password
checks go through the throttle (catscan.web.throttle): 429 with Retry-After when too many
wait. A streamed upload without credentials is parked rather than refused
(catscan.web.parking)."""

from __future__ import annotations

import functools

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .access import TeamAccess, basic_password
from .errors import is_vo_path, vo_error
from .throttle import TooManyAttempts

REALM = 'Basic realm="catscan team", charset="UTF-8"'


def client_of(request: Request) -> str:
    """The client's address: the socket's peer, or the proxy's X-Forwarded-For when the
    server was told to trust it (``catscan serve --behind-proxy``)."""
    return request.client.host if request.client else "-"


def team_session(request: Request) -> bool:
    """Whether the request carries a live team session (a dead one is dropped from the
    cookie)."""
    access: TeamAccess = request.app.state.access
    sid = request.session.get("sid")
    if sid is None:
        return False
    if access.sessions.alive(sid):
        return True
    request.session.clear()
    return False


async def password_ok(request: Request, password: str) -> bool:
    """Check a password under the throttle; TooManyAttempts when it cannot be checked now."""
    access: TeamAccess = request.app.state.access
    if access.remembered(password):
        return True
    async with access.throttle.turn(client_of(request)) as turn:
        if access.remembered(password):      # checked while this request queued
            return True
        await turn.ready()
        ok = await anyio.to_thread.run_sync(access.check_password, password)
        turn.record(ok)
    return ok


async def authorised(request: Request) -> bool:
    """A live session, or a right Basic password (TooManyAttempts: see password_ok)."""
    access: TeamAccess = request.app.state.access
    if access.open or team_session(request):
        return True
    password = basic_password(request.headers.get("authorization"))
    return password is not None and await password_ok(request, password)


def too_many(request: Request, exc: TooManyAttempts) -> Response:
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    if is_vo_path(request.url.path):
        return vo_error(str(exc), 429, headers)
    return Response(str(exc) + "\n", status_code=429, media_type="text/plain",
                    headers=headers)


def wants_page(request: Request) -> bool:
    """A browser asking for an HTML page (never on a VO endpoint: see :func:`denied`)."""
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and not is_vo_path(request.url.path))


def unauthorised(request: Request) -> Response:
    """401 with the Basic challenge; on a VO endpoint with a DALI error document saying
    what the client needs."""
    challenge = {"WWW-Authenticate": REALM}
    if not is_vo_path(request.url.path):
        return Response(status_code=401, headers=challenge)
    if "authorization" in request.headers:
        message = "wrong credentials: this service takes HTTP Basic with the user 'team'"
    else:
        message = ("this service needs the team password: HTTP Basic with the user 'team' "
                   "(docs/vo.md)")
    return vo_error(message, 401, challenge)


def denied(request: Request) -> Response:
    """401 with a challenge, or the login form for a browser asking for a page."""
    if wants_page(request) and "authorization" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(request.url_for("login").include_query_params(
            next=target), status_code=303)
    return unauthorised(request)


async def any_released(request: Request) -> bool:
    """Whether the server has a public copy holding some released night."""
    pool = getattr(request.app.state, "public_pool", None)
    if pool is None:
        return False
    from ..operations.publish import released_nights

    def work(ses):
        from ..content import cached

        return cached(ses.con, "web.any_released", lambda: bool(released_nights(ses.con)))

    return await pool.run(work)


def team_or_released(handler):
    """Decorate a handler that may serve visitors the data of released nights:
    ``request.state.public`` says whether the request is a visitor's, and
    :func:`pool_for` then gives it sessions on the public copy, which holds nothing else."""

    @functools.wraps(handler)
    async def guarded(request: Request):
        try:
            team = await authorised(request)
        except TooManyAttempts as exc:
            return too_many(request, exc)
        if team:
            request.state.public, request.state.pool = False, request.app.state.pool
            return await handler(request)
        if "authorization" not in request.headers and await any_released(request):
            request.state.public, request.state.pool = True, request.app.state.public_pool
            return await handler(request)
        from .parking import park, parkable  # parking builds on this module

        if parkable(request):
            return await park(request)
        return denied(request)

    return guarded


def pool_for(request: Request):
    """The sessions a request's queries run on, chosen by its guard: the team's database,
    or for a visitor the public copy of the released nights (catscan.operations.publish).
    A request that passed no guard has none (AttributeError), so it reads nothing."""
    return request.state.pool


def team_only(handler):
    """Decorate a handler whose response holds survey data."""

    @functools.wraps(handler)
    async def guarded(request: Request):
        try:
            team = await authorised(request)
        except TooManyAttempts as exc:
            return too_many(request, exc)
        if team:
            request.state.public, request.state.pool = False, request.app.state.pool
            return await handler(request)
        return denied(request)

    return guarded
