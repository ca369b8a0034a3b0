"""The time one piece of work may take, and a switch to stop it early.

A server request gets a :class:`Budget` (catscan.web.bounds): its deadline is the server's
timeout from the moment the request arrived, and it is stopped when its client goes away
or the server shuts down. Whoever does the work checks it: :func:`catscan.safety.run_readonly`
interrupts its DuckDB query at the deadline or at :meth:`Budget.stop`, and the result
encoders (catscan.results) check between chunks of rows. The budget of the running code
is a context variable, so it follows the request into worker threads (anyio copies the
context) without being passed through every call; outside a server there is none and
nothing changes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

from .errors import CatscanError


class QueryTimeout(CatscanError):
    """The query ran longer than its timeout and was interrupted."""


class WorkStopped(CatscanError):
    """The work was stopped before its end: its time ran out, its client went away or the
    server is shutting down."""


class OutOfTime(WorkStopped, QueryTimeout):
    """The work ran longer than its budget."""


class ClientGone(WorkStopped):
    """The client closed its connection before the answer was ready."""


class ShuttingDown(WorkStopped):
    """The server is stopping."""


class Budget:
    """A deadline (``seconds`` from now; None: no deadline) and a stop switch, shared by
    the event loop and the worker thread of one request."""

    def __init__(self, seconds: float | None, what: str = "the request") -> None:
        self.seconds = seconds
        self.what = what
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self._lock = threading.Lock()
        self._error: WorkStopped | None = None
        self._connections: list = []        # DuckDB connections running a query now
        self.scope = None                   # the request's anyio cancel scope, if any

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The clock stopped for the block: time the server itself makes a request wait
        (the password throttle's delay, bounded there) is not the request's work."""
        if self.deadline is None:
            yield
            return
        started, scope_deadline = time.monotonic(), None
        left = self.deadline - started
        self.deadline = float("inf")
        if self.scope is not None:
            scope_deadline, self.scope.deadline = self.scope.deadline, float("inf")
        try:
            yield
        finally:
            waited = time.monotonic() - started
            self.deadline = time.monotonic() + left
            if self.scope is not None and scope_deadline is not None:
                self.scope.deadline = scope_deadline + waited

    def remaining(self) -> float | None:
        """Seconds left (never below 0), None without a deadline."""
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def out_of_time(self) -> OutOfTime:
        return OutOfTime(f"{self.what} ran longer than this service's limit of "
                         f"{self.seconds:g} s and was stopped")

    @property
    def error(self) -> WorkStopped | None:
        """Why the work must stop, or None while it may go on."""
        if self._error is None and self.deadline is not None \
                and time.monotonic() >= self.deadline:
            self.stop(self.out_of_time())
        return self._error

    def check(self) -> None:
        """Raise the reason to stop, if there is one."""
        error = self.error
        if error is not None:
            raise error

    def stop(self, error: WorkStopped) -> None:
        """Stop the work: the first reason is kept; a running query is interrupted."""
        with self._lock:
            if self._error is None:
                self._error = error
            running = list(self._connections)
        for con in running:
            con.interrupt()

    def interrupt(self) -> None:
        """Interrupt the running query again (DuckDB forgets an interrupt that comes just
        before a query starts)."""
        with self._lock:
            running = list(self._connections) if self._error is not None else []
        for con in running:
            con.interrupt()

    @contextlib.contextmanager
    def running(self, con) -> Iterator[None]:
        """While a query runs on ``con``: :meth:`stop` interrupts it."""
        with self._lock:
            self._connections.append(con)
        try:
            self.check()
            yield
        finally:
            with self._lock:
                self._connections.remove(con)


CURRENT: ContextVar[Budget | None] = ContextVar("catscan_budget", default=None)


def current() -> Budget | None:
    """The budget of the running work, if any."""
    return CURRENT.get()


def check() -> None:
    """Raise if the running work must stop (a no-op outside a budget)."""
    budget = CURRENT.get()
    if budget is not None:
        budget.check()


@contextlib.contextmanager
def spending(budget: Budget | None) -> Iterator[Budget | None]:
    """Run the block under ``budget``."""
    token = CURRENT.set(budget)
    try:
        yield budget
    finally:
        CURRENT.reset(token)
