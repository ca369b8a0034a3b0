"""The ASGI middleware that holds every request to the server's limits (limits.py).

Before the application sees a request: a query string, parameter count or declared body
over its limit is refused at once (414, 400, 413), as a VOTable error on the VO endpoints.
While it runs: the request has a :class:`catscan.budget.Budget` of ``timeout_s`` that
queries and encoders check (catscan.safety, catscan.results); a body that grows past its
limit is cut off with 413; a client that closes its connection stops the request's work
(its DuckDB query is interrupted, catscan.web.pool); and a request still running
``slack_s`` after its deadline is cancelled. The server's shutdown stops every running
request (:meth:`Running.stop_all`): :class:`Server` does it when the shutdown's grace
period ends, so that they answer (503) rather than being cut off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import anyio
import uvicorn

from ..budget import Budget, ClientGone, ShuttingDown, WorkStopped, spending
from .errors import VOTABLE, is_vo_path, vo_error_body
from .limits import Limits

log = logging.getLogger("catscan.web")


class Running:
    """The budgets of the requests in progress (the shutdown stops them, from its timer's
    thread: hence the lock)."""

    def __init__(self) -> None:
        self._budgets: set[Budget] = set()
        self._lock = threading.Lock()

    def add(self, budget: Budget) -> None:
        with self._lock:
            self._budgets.add(budget)

    def discard(self, budget: Budget) -> None:
        with self._lock:
            self._budgets.discard(budget)

    def stop_all(self, error: WorkStopped) -> None:
        with self._lock:
            budgets = list(self._budgets)
        if budgets:
            log.info("stopping %d running request(s): %s", len(budgets), error)
        for budget in budgets:
            budget.stop(error)


class Server(uvicorn.Server):
    """uvicorn's server, whose shutdown (SIGTERM, Ctrl-C) lets the running requests finish
    for ``grace`` seconds, then stops their work: each answers at once (503) and the
    server exits. uvicorn's own ``timeout_graceful_shutdown``, a little later, cancels
    whatever is left."""

    def __init__(self, config: uvicorn.Config, running: Running, grace: float) -> None:
        super().__init__(config)
        self.running, self.grace = running, grace
        self._stopper: threading.Timer | None = None

    @contextlib.contextmanager
    def capture_signals(self):
        """uvicorn's, without raising the signal again at the end: after its graceful
        shutdown the server exits 0, not -15."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        if self._stopper is None:
            self._stopper = threading.Timer(self.grace, self.running.stop_all,
                                            [ShuttingDown("the server is shutting down")])
            self._stopper.daemon = True
            self._stopper.start()


def refusal(path: str, status: int, message: str) -> tuple[bytes, bytes]:
    """(body, media type) of a refusal: a DALI error VOTable on the VO endpoints."""
    if is_vo_path(path):
        return vo_error_body(message), VOTABLE.encode()
    return (message + "\n").encode(), b"text/plain; charset=utf-8"


async def _respond(send, path: str, status: int, message: str) -> None:
    body, media = refusal(path, status, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Bounds:
    """Pure ASGI (it runs in the request's own task, so the budget set here is the one the
    handler and its worker threads see)."""

    def __init__(self, app, limits: Limits, running: Running) -> None:
        self.app, self.limits, self.running = app, limits, running

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, limits = scope.get("path", ""), self.limits
        refused = self._refused(scope)
        if refused is not None:
            await _respond(send, path, *refused)
            return
        budget = Budget(limits.timeout_s)
        request = _Request(scope, receive, send, limits)
        self.running.add(budget)
        # the watcher is a plain task, not a task group: this runs for every request
        watcher = asyncio.ensure_future(request.watch(budget))
        try:
            with spending(budget), anyio.CancelScope(
                    deadline=anyio.current_time() + limits.timeout_s + limits.slack_s
            ) as request.cancel:
                budget.scope = request.cancel
                await self.app(scope, request.receive, request.send)
        finally:
            watcher.cancel()
            self.running.discard(budget)
        if request.too_large and not request.started:
            await _respond(send, path, 413, f"the request body is larger than this "
                           f"service's limit of {limits.max_body_bytes:,} bytes "
                           "(max_body_bytes)")
        elif request.cancel.cancelled_caught and not request.too_large \
                and not request.gone.is_set():
            log.warning("%s %s: cut off %.1f s after its deadline", scope["method"], path,
                        limits.slack_s)
            if not request.started:
                await _respond(send, path, 503, f"the request ran longer than this "
                               f"service's limit of {limits.timeout_s:g} s and was stopped")

    def _refused(self, scope) -> tuple[int, str] | None:
        """(status, message) when the request is over a limit before its body is read."""
        limits = self.limits
        query = scope.get("query_string", b"")
        if len(query) > limits.max_url_bytes:
            return 414, (f"the query string has {len(query):,} bytes; this service accepts at "
                         f"most {limits.max_url_bytes:,} (max_url_bytes): send long queries "
                         "by POST")
        params = sum(1 for part in query.split(b"&") if part)
        if params > limits.max_params:
            return 400, (f"the request has {params} parameters; this service accepts at most "
                         f"{limits.max_params} (max_params)")
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return 400, "Content-Length is not a number"
            if declared > limits.max_body_bytes:
                return 413, (f"the request body has {declared:,} bytes; this service accepts "
                             f"at most {limits.max_body_bytes:,} (max_body_bytes)")
        return None


class _Request:
    """One request's receive and send, watched: body size, disconnection, progress."""

    def __init__(self, scope, receive, send, limits: Limits) -> None:
        headers = dict(scope.get("headers") or [])
        self.has_body = bool(headers.get(b"transfer-encoding")) or \
            headers.get(b"content-length", b"0") not in (b"0", b"")
        self._receive, self._send, self.limits = receive, send, limits
        self.body_done = anyio.Event()
        self.gone = anyio.Event()
        self.cancel: anyio.CancelScope | None = None     # around the application
        self.first: dict | None = None          # the empty body read for the watcher
        self.received = 0
        self.too_large = self.started = self.finished = False

    async def receive(self) -> dict:
        if not self.has_body:                     # the watcher reads the empty body
            await self.body_done.wait()
        if self.first is not None:
            message, self.first = self.first, None
            return message
        if self.body_done.is_set():
            await self.gone.wait()
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limits.max_body_bytes:
                self.too_large = True
                self.cancel.cancel()
                await anyio.lowlevel.checkpoint()
            if not message.get("more_body", False):
                self.body_done.set()
        elif message["type"] == "http.disconnect":
            self.gone.set()
        return message

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True
        await self._send(message)

    async def watch(self, budget: Budget) -> None:
        """Wait for the client to go away (after the body was read: the server reads no
        further until then) and stop the request's work if it did before the answer."""
        if not self.has_body:
            self.first = await self._receive()
            self.body_done.set()
        await self.body_done.wait()
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
        self.gone.set()
        if not self.finished:
            budget.stop(ClientGone("the client closed its connection"))
            self.cancel.cancel()
