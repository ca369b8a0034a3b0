"""Read-only query sessions for the server: one per worker (2 cores: 2 workers), handed to
request handlers for the time of one piece of work that runs in a thread, so the event loop
keeps serving while DuckDB works. Each query has a timeout (catscan.safety.run_readonly)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from ..runner import Session
from ..safety import query_connection

T = TypeVar("T")
DEFAULT_WORKERS = 2


class SessionPool:
    """``workers`` read-only sessions on one database file."""

    def __init__(self, db, workers: int = DEFAULT_WORKERS, timeout: float = 30.0) -> None:
        self.db, self.timeout = db, timeout
        # one thread each: the requests run in parallel on the workers (catscan.parallelism)
        self._free = [Session(query_connection(db, one_thread=True), read_files=False)
                      for _ in range(workers)]
        self._all = list(self._free)
        self._sessions = anyio.Semaphore(workers)
        self._threads = anyio.CapacityLimiter(workers)

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a worker thread, when a session is free."""
        async with self._sessions:
            ses = self._free.pop()
            try:
                return await anyio.to_thread.run_sync(work, ses, limiter=self._threads)
            finally:
                self._free.append(ses)

    def close(self) -> None:
        for ses in self._all:
            ses.con.close()
