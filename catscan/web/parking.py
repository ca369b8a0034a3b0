"""Uploads from Java clients that log in only when challenged (TOPCAT, STILTS up to 3.4-8:
``-Dstar.basicauth.user/password`` is a ``java.net.Authenticator``).

Java's HttpURLConnection streams a multipart POST (the TAP upload) and cannot send it
again, so a 401 to it is fatal ("cannot retry due to server authentication, in streaming
mode"); it sends credentials unasked only for a path under one already challenged in the
same JVM, and a single ``stilts tapquery`` makes no request before its POST. So such a POST
without credentials is not refused: its body is kept here for PARK_TTL_S seconds under an
unguessable token and the answer is ``303 See Other`` to ``/tap/TOKEN.parked``. The client
follows it with a GET, which can be challenged and retried; with the right password the
kept request runs then as if it had been posted with it (the same endpoint, guard and
limits), and is forgotten. The ``.parked`` suffix puts the challenge's protection space at
``/tap/`` for Java (which keeps the path up to the last ``/`` of a name with a dot), so the
client's later requests to ``/tap/sync`` carry the password from the start.

What anyone may leave here without a password is bounded: PARK_MAX requests and
PARK_MAX_BYTES in all (each body is already under the server's --max-body), each for
PARK_TTL_S; past that, the POST gets the plain 401."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .errors import vo_error
from .guard import team_only, unauthorised

PARKABLE = ("/tap/sync",)
PARK_TTL_S = 120.0
PARK_MAX = 8
PARK_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ParkedRequest:
    """What is needed to run a POST again: its path, query string, type and body."""

    path: str
    query_string: bytes
    content_type: str
    body: bytes
    at: float = field(default_factory=time.monotonic)


class ParkedRequests:
    """The kept requests by token, oldest dropped first once past their time."""

    def __init__(self) -> None:
        self._items: dict[str, ParkedRequest] = {}
        self._lock = threading.Lock()

    def park(self, parked: ParkedRequest) -> str | None:
        """A token for ``parked``, or None when the room for parked requests is full."""
        with self._lock:
            self._expire()
            used = sum(len(p.body) for p in self._items.values())
            if len(self._items) >= PARK_MAX or used + len(parked.body) > PARK_MAX_BYTES:
                return None
            token = secrets.token_urlsafe(24)
            self._items[token] = parked
            return token

    def take(self, token: str) -> ParkedRequest | None:
        """The request kept under ``token`` (once), None if unknown or expired."""
        with self._lock:
            self._expire()
            return self._items.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._items.items() if now - p.at > PARK_TTL_S]:
            del self._items[token]


def _store(request: Request) -> ParkedRequests:
    state = request.app.state
    if getattr(state, "parked", None) is None:
        state.parked = ParkedRequests()
    return state.parked


def parkable(request: Request) -> bool:
    """A POST that a Java client streamed without credentials: a multipart body (an upload)
    to an endpoint in PARKABLE, no Authorization header."""
    return (request.method == "POST" and request.url.path in PARKABLE
            and "authorization" not in request.headers
            and request.headers.get("content-type", "").lower().startswith("multipart/"))


async def park(request: Request) -> Response:
    """Keep the request and send the client to fetch its answer (303), or refuse it with
    the plain 401 when there is no room."""
    parked = ParkedRequest(request.url.path, request.scope.get("query_string", b""),
                           request.headers["content-type"], await request.body())
    token = _store(request).park(parked)
    if token is None:
        return unauthorised(request)
    return RedirectResponse(str(request.url_for("tap_parked", token=token)), status_code=303)


class Replay:
    """ASGI: the kept request through the application's router, with the credentials and
    budget of the GET that fetched it."""

    def __init__(self, request: Request, parked: ParkedRequest) -> None:
        self.parked = parked
        headers = [(k, v) for k, v in request.scope["headers"]
                   if k not in (b"content-type", b"content-length")]
        headers += [(b"content-type", parked.content_type.encode("latin-1")),
                    (b"content-length", str(len(parked.body)).encode())]
        self.scope = {**request.scope, "method": "POST", "path": parked.path,
                      "raw_path": parked.path.encode(), "query_string": parked.query_string,
                      "headers": headers}
        self.router = request.app.router

    async def __call__(self, scope, receive, send) -> None:
        sent = False

        async def replayed() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.parked.body, "more_body": False}
            return await receive()                 # the client's disconnect, if it comes

        await self.router(self.scope, replayed, send)


@team_only
async def parked_request(request: Request) -> Response:
    """``GET /tap/TOKEN.parked``: the kept request's answer, for the team only."""
    parked = _store(request).take(request.path_params["token"])
    if parked is None:
        return vo_error("no such parked request: it ran already or expired after "
                        f"{PARK_TTL_S:g} s; send it again", 404)
    return Replay(request, parked)


ROUTES = [Route("/tap/{token}.parked", parked_request, methods=["GET"], name="tap_parked")]
