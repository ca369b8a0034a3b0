"""The last resort for errors no handler answered: a VOTable error for the IVOA endpoints,
plain text for SODA, a short HTML page elsewhere, with status 500 and the traceback in the
server log only.

Without it an exception reaches Starlette's ServerErrorMiddleware, which answers 500 and
re-raises; uvicorn then closes the connection, so a client reusing it (keep-alive) sees a
reset. Handlers still turn the errors they expect into 4xx answers themselves."""

from __future__ import annotations

import logging

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from .scs import vo_error

log = logging.getLogger("catscan.web")
VO_PATHS = ("/tap", "/scs", "/sia")
MESSAGE = "internal error: the request could not be completed; the server log has the details"


def internal_error(path: str) -> Response:
    """What a client gets for an error no handler answered (no detail of it)."""
    if path.startswith(VO_PATHS):
        return vo_error(MESSAGE, 500)
    if path.startswith("/soda"):
        return PlainTextResponse(f"Error: {MESSAGE}\n", 500)
    return HTMLResponse("<!doctype html><html lang=\"en\"><title>catscan: internal error"
                        "</title><h1>Internal error</h1><p>The server could not answer this "
                        "request; the server log has the details.</p><p><a href=\"/\">"
                        "catscan home</a></p></html>", 500)


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
