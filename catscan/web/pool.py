"""Read-only query sessions for the server: one per worker (2 cores: 2 workers), handed to
request handlers for the time of one piece of work that runs in a thread, so the event loop
keeps serving while DuckDB works.

The work runs under its request's :class:`catscan.budget.Budget` (catscan.web.bounds): a
request that waited for a session until its deadline gets :class:`OutOfTime`; a request
cancelled while its work runs (its client went away, the server is stopping) stops it:
the DuckDB query is interrupted, and the session is handed on only when its thread is
done with it. Encoding answers runs outside the sessions (:meth:`SessionPool.encode`), so
a big answer being written does not keep the next query waiting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
import duckdb

from ..budget import Budget, WorkStopped, current, spending
from ..runner import Session
from ..safety import query_connection

log = logging.getLogger("catscan.web")
T = TypeVar("T")
DEFAULT_WORKERS = 2


class SessionPool:
    """``workers`` read-only sessions on one database file."""

    def __init__(self, db, workers: int = DEFAULT_WORKERS, timeout: float = 30.0,
                 memory_limit: str | None = None) -> None:
        self.db, self.timeout = db, timeout
        # one thread each: the requests run in parallel on the workers (catscan.parallelism)
        self._free = [Session(_connect(db, memory_limit if i == 0 else None),
                              read_files=False) for i in range(workers)]
        self._all = list(self._free)
        self._sessions = anyio.Semaphore(workers)
        self._threads = anyio.CapacityLimiter(workers)
        self._encoders = anyio.CapacityLimiter(workers)

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a worker thread, when a session is free."""
        budget = current() or Budget(self.timeout)
        budget.check()
        with anyio.move_on_after(budget.remaining()) as waiting:
            await self._sessions.acquire()
        if waiting.cancelled_caught:
            raise budget.out_of_time()
        ses = self._free.pop()
        try:
            return await _in_thread(lambda: work(ses), budget, self._threads)
        finally:
            self._free.append(ses)
            self._sessions.release()

    async def encode(self, step: Callable[[], T]) -> T:
        """One step of writing an answer (a chunk), in a thread, outside the sessions."""
        return await _in_thread(step, current() or Budget(self.timeout), self._encoders)

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no session is in use (at most ``seconds``): whether they all are free."""
        deadline = time.monotonic() + seconds
        while len(self._free) < len(self._all) and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        return len(self._free) == len(self._all)

    def close(self) -> None:
        """Close the sessions not in use (a session still busy is left to the process's
        end: closing a connection under a running query is not safe)."""
        for ses in self._free:
            ses.con.close()


def _connect(db, memory_limit: str | None):
    """A query connection; DuckDB's memory limit is the database's, set by the first
    connection to the file in this process (later ones find the configuration locked)."""
    if memory_limit is not None:
        try:
            return query_connection(db, memory_limit, one_thread=True)
        except duckdb.InvalidInputException:
            log.warning("the database's configuration was locked before the server set "
                        "its memory limit (%s); DuckDB's stays", memory_limit)
    return query_connection(db, one_thread=True)


async def _in_thread(step: Callable[[], T], budget: Budget, limiter) -> T:
    """``step()`` in a worker thread under ``budget``. Cancelled while it runs: the budget is
    stopped (its query interrupted), and this returns only when the thread is done; cancelled
    before the thread began: the step never runs."""
    lock, done = threading.Lock(), threading.Event()
    phase = ["waiting"]                  # -> "running" -> "done", or -> "abandoned"

    def body() -> T:
        with lock:
            if phase[0] == "abandoned":
                raise budget.error or WorkStopped("the request was cancelled")
            phase[0] = "running"
        try:
            with spending(budget):
                return step()
        finally:
            phase[0] = "done"
            done.set()

    try:
        return await anyio.to_thread.run_sync(body, limiter=limiter, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        budget.stop(WorkStopped("the request was cancelled"))
        with lock:
            running = phase[0] == "running"
            if phase[0] == "waiting":
                phase[0] = "abandoned"
        if running:
            with anyio.CancelScope(shield=True):
                while not done.is_set():
                    budget.interrupt()
                    await anyio.sleep(0.02)
        raise
