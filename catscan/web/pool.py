"""Query sessions for the server: one per worker (2 cores: 2 workers), handed to request
handlers for the time of one piece of work that runs in a thread, so the event loop keeps
serving while DuckDB works.

A session is a cursor of the server's read-write instance (catscan.web.served); each piece
of work runs in its own ``BEGIN TRANSACTION READ ONLY``: it reads one snapshot (a night that
commits meanwhile is not seen at all, and the next piece of work sees it whole), and DuckDB
refuses any write it binds, whatever the SQL. After a write job the sessions are made
again (:meth:`SessionPool.refresh`: what a session caches, such as the content version, is
read anew); for a job that needs the file to itself they are drained and closed
(:meth:`pause`, :meth:`resume`).

The work runs under its request's :class:`catscan.budget.Budget` (catscan.web.bounds): a
request that waited for a session until its deadline gets :class:`OutOfTime`; a request
cancelled while its work runs (its client went away, the server is stopping) stops it:
the DuckDB query is interrupted, and the session is handed on only when its thread is
done with it. Encoding answers runs outside the sessions (:meth:`SessionPool.encode`), so
a big answer being written does not keep the next query waiting; a small one is written in
its query's thread (catscan.web.stream.begin), one hand-off to a thread fewer."""

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
from .served import ServedDatabase

log = logging.getLogger("catscan.web")
T = TypeVar("T")
DEFAULT_WORKERS = 2


class SessionPool:
    """``workers`` sessions on one served database."""

    def __init__(self, served: ServedDatabase, workers: int = DEFAULT_WORKERS,
                 timeout: float = 30.0) -> None:
        self.served, self.db, self.timeout = served, served.path, timeout
        self.workers = workers
        # one thread each: the requests run in parallel on the workers (catscan.parallelism)
        self._free = self._sessions_of(served)
        self._count = workers
        self._generation = 0
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._sessions = anyio.Semaphore(workers)
        self._threads = anyio.CapacityLimiter(workers)
        self._encoders = anyio.CapacityLimiter(workers)

    def _sessions_of(self, served: ServedDatabase) -> list[Session]:
        return [_session(served.cursor(), 0) for _ in range(self.workers)]

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a worker thread, when a session is free, in a read-only
        transaction of its own."""
        budget = current() or Budget(self.timeout)
        budget.check()
        with anyio.move_on_after(budget.remaining()) as waiting:
            ses = await self._take()
        if waiting.cancelled_caught:
            raise budget.out_of_time()
        try:
            return await _in_thread(lambda: _read_only(ses, work), budget, self._threads)
        finally:
            self._free.append(ses)
            self._sessions.release()

    async def _take(self) -> Session:
        while True:
            await self._sessions.acquire()
            with self._lock:
                if self._open.is_set():
                    ses = self._free.pop()
                    if ses.generation != self._generation:
                        ses = _session(ses.con, self._generation)
                    return ses
            self._sessions.release()         # closed for a write job: wait for it
            await anyio.sleep(0.05)

    async def encode(self, step: Callable[[], T]) -> T:
        """One step of writing an answer (a chunk), in a thread, outside the sessions."""
        return await _in_thread(step, current() or Budget(self.timeout), self._encoders)

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no session is in use (at most ``seconds``): whether they all are free."""
        deadline = time.monotonic() + seconds
        while len(self._free) < self._count and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        return len(self._free) == self._count

    def refresh(self) -> None:
        """After a write job: each session is made again before its next use."""
        with self._lock:
            self._generation += 1

    def pause(self, seconds: float) -> bool:
        """From a thread: let no new work start, wait (at most ``seconds``) until the running
        work ends and close the sessions; False (and open again) if work did not end."""
        with self._lock:
            self._open.clear()
        deadline = time.monotonic() + seconds
        while len(self._free) < self._count:
            if time.monotonic() > deadline:
                self._open.set()
                return False
            time.sleep(0.02)
        for ses in self._free:
            ses.con.close()
        return True

    def resume(self, served: ServedDatabase) -> None:
        """After :meth:`pause`: sessions on the reopened instance."""
        with self._lock:
            self._free[:] = self._sessions_of(served)
            self._generation = 0
            self._open.set()

    def close(self) -> None:
        """Close the sessions not in use (a session still busy is left to the process's
        end: closing a connection under a running query is not safe)."""
        for ses in self._free:
            ses.con.close()


def _session(con: duckdb.DuckDBPyConnection, generation: int) -> Session:
    ses = Session(con, read_files=False)
    ses.generation = generation
    return ses


def _read_only(ses: Session, work: Callable[[Session], T]) -> T:
    """``work(ses)`` in a read-only transaction: one snapshot, and no write DuckDB binds.
    It commits, so that what the work registered on the session (the TAP_SCHEMA tables)
    stays; a transaction that failed (DuckDB then rolls back whatever it did, even on
    COMMIT) leaves a session made again before its next use."""
    ses.con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        result = work(ses)
        ses.con.execute("SELECT 1").fetchall()      # raises if the transaction failed
        ses.con.execute("COMMIT")
        return result
    except BaseException:
        ses.generation = -1
        try:
            ses.con.execute("ROLLBACK")
        except duckdb.Error:             # an interrupted query may have ended it
            pass
        raise


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
