"""Error answers, one builder each: the DALI error document every VO endpoint sends
(:func:`vo_error`), and the last resort for errors no handler answered (:class:`LastResort`):
that document for the VO endpoints (text for SODA), a short HTML page elsewhere, status
503, the traceback in the server log only.

Without the last resort an exception reaches Starlette's ServerErrorMiddleware, which
answers 500 and re-raises; uvicorn then closes the connection, so a client reusing it
(keep-alive) sees a reset. Handlers still turn the errors they expect into 4xx answers
themselves."""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import HTMLResponse, PlainTextResponse, Response

log = logging.getLogger("catscan.web")
VOTABLE = "application/x-votable+xml"
VO_PREFIXES = ("/tap", "/scs", "/sia", "/soda")
MESSAGE = "internal error: the request could not be completed; the server log has the details"


def is_vo_path(path: str) -> bool:
    """Whether ``path`` is one of the VO endpoints (TAP and its VOSI, SCS, SIA, SODA): they
    answer VO clients, so never with a login form or an HTML page."""
    return any(path == p or path.startswith(p + "/") for p in VO_PREFIXES)


def vo_error_body(message: str) -> bytes:
    """DALI's error document: a VOTable whose ``RESOURCE type="results"`` holds
    ``QUERY_STATUS`` ``ERROR`` with the message (and SCS 1.03's ``INFO name="Error"``)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
            ' <RESOURCE type="results">\n'
            f'  <INFO name="QUERY_STATUS" value="ERROR">{escape(message)}</INFO>\n'
            f'  <INFO name="Error" value={quoteattr(message)}/>\n'
            ' </RESOURCE>\n</VOTABLE>\n').encode()


def vo_error(message: str, status: int = 200, headers: dict[str, str] | None = None
             ) -> Response:
    """:func:`vo_error_body` as a response (SCS answers its errors with 200, TAP with the
    status of docs/vo.md's table)."""
    return Response(vo_error_body(message), status_code=status, media_type=VOTABLE,
                    headers=headers)


def internal_error(path: str) -> Response:
    """What a client gets for an error no handler answered (no detail of it): 503, the
    service could not answer now; never 500 with a traceback. SODA's errors are text."""
    if path == "/soda" or path.startswith("/soda/"):
        return PlainTextResponse(f"Error: {MESSAGE}\n", 503)
    if is_vo_path(path):
        return vo_error(MESSAGE, 503)
    return HTMLResponse("<!doctype html><html lang=\"en\"><title>catscan: internal error"
                        "</title><h1>Internal error</h1><p>The server could not answer this "
                        "request; the server log has the details.</p><p><a href=\"/\">"
                        "catscan home</a></p></html>", 503)


class LastResort:
    """ASGI middleware: an exception from the app below becomes :func:`internal_error`
    (when no response has started yet; else the half-sent response is left to the server
    to close), and its traceback is logged."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("unhandled error answering %s %s", scope.get("method"),
                          scope.get("path"))
            if not started:
                await internal_error(scope.get("path", ""))(scope, receive, send)
