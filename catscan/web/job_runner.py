"""Running TAP async jobs (uws.py) inside the server: ``async_jobs`` workers (default 1,
limits.py) take QUEUED jobs in the order they were asked to run, so that jobs never hold
more than that many of the query sessions and sync queries keep the others. A job runs
exactly as a sync query (tap.checked_query, tap.run_query, tap.encode): one snapshot of the
team's database, or of the public copy for a visitor's job, under a budget of its
executionDuration; its answer is written to its directory. A sweeper deletes each job at its
destruction time. Everything here runs on the server's event loop (the work itself in
the pool's threads)."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import anyio
import anyio.to_thread

from ..budget import Budget, WorkStopped, spending
from .jobs import EXTENSIONS, TEAM, Job, JobStore, write_pieces
from .tap import TapError, checked_query, encode, failure, run_query
from .vosi import catalog_of

log = logging.getLogger("catscan.web.uws")
SWEEP_AT_MOST_S = 60.0                # the sweeper looks again at least this often
SHUT_DOWN = "the server shut down while this job was running; create a new job to run it"


class JobRunner:
    """The jobs of ``store``, run for the server whose ``app.state`` is ``state``."""

    def __init__(self, store: JobStore, state) -> None:
        self.store, self.state = store, state
        self.queue: list[str] = []           # QUEUED job ids, first to run first
        self._running: dict[str, tuple[Budget, anyio.CancelScope]] = {}
        self._changes: dict[str, anyio.Event] = {}
        self._send = self._receive = None
        self._sweep: anyio.Event | None = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """The workers and the sweeper, for the server's lifetime; at its end a running job
        is stopped and ends as ERROR (a QUEUED one is queued again at the next start)."""
        self._send, self._receive = anyio.create_memory_object_stream(math.inf)
        self._sweep = anyio.Event()
        for job in sorted(self.store.jobs.values(), key=lambda j: j.creation):
            if job.phase == "QUEUED":
                self._enqueue(job)
        async with anyio.create_task_group() as group:
            for _ in range(self.state.limits.async_jobs):
                group.start_soon(self._worker)
            group.start_soon(self._sweeper)
            try:
                yield
            finally:
                for budget, _ in list(self._running.values()):
                    budget.stop(WorkStopped("the server is shutting down"))
                group.cancel_scope.cancel()

    # ---- phase changes -------------------------------------------------------------------

    def run(self, job: Job) -> None:
        """PHASE=RUN of a PENDING job: QUEUED until a worker takes it."""
        job.phase = "QUEUED"
        self._enqueue(job)
        self.changed(job)

    def _enqueue(self, job: Job) -> None:
        self.queue.append(job.id)
        self._send.send_nowait(job.id)

    def abort(self, job: Job) -> None:
        """PHASE=ABORT: a queued job never runs, a running one is stopped."""
        if job.phase not in ("PENDING", "QUEUED", "EXECUTING"):
            return
        running = self._running.get(job.id)
        if running is not None:
            budget, scope = running
            budget.stop(WorkStopped("the job was aborted"))
            scope.cancel()
        with contextlib.suppress(ValueError):
            self.queue.remove(job.id)
        job.phase, job.end = "ABORTED", time.time()
        self.changed(job)

    def destroy(self, job: Job) -> None:
        """DELETE, or the destruction time: the job stops and its files go."""
        self.abort(job)
        self.store.delete(job)
        self.changed(job, save=False)

    def new_destruction(self) -> None:
        """A destruction time changed or a job came: the sweeper looks again."""
        if self._sweep is not None:
            self._sweep.set()

    def changed(self, job: Job, *, save: bool = True) -> None:
        """Keep the change on disk and wake the requests WAITing on the job."""
        if save:
            self.store.save(job)
        event = self._changes.pop(job.id, None)
        if event is not None:
            event.set()

    async def wait(self, job: Job, seconds: float) -> None:
        """UWS 1.1 WAIT: return when the job changes phase, or after ``seconds``."""
        event = self._changes.setdefault(job.id, anyio.Event())
        with anyio.move_on_after(max(0.0, seconds)):
            await event.wait()

    def quote(self, job: Job) -> float | None:
        """When the job will have ended at the latest: its own and the queued jobs before
        it, each taking up to its executionDuration, ``async_jobs`` at a time."""
        if job.phase == "EXECUTING" and job.start is not None:
            return job.start + job.duration
        if job.phase not in ("PENDING", "QUEUED"):
            return job.end
        ahead = self.queue[:self.queue.index(job.id)] if job.id in self.queue else self.queue
        before = sum(self.store.jobs[i].duration for i in ahead if i in self.store.jobs)
        running = sum(j.duration for j in self.store.jobs.values() if j.phase == "EXECUTING")
        return time.time() + (before + running) / self.state.limits.async_jobs + job.duration

    # ---- the workers -----------------------------------------------------------------------

    async def _worker(self) -> None:
        async for job_id in self._receive:
            job = self.store.jobs.get(job_id)
            if job is not None and job.phase == "QUEUED":
                await self._execute(job)

    async def _execute(self, job: Job) -> None:
        with contextlib.suppress(ValueError):
            self.queue.remove(job.id)
        budget = Budget(job.duration, "the job")
        job.phase, job.start = "EXECUTING", time.time()
        self.changed(job)
        result = error = None
        try:
            with anyio.CancelScope() as scope:
                self._running[job.id] = (budget, scope)
                try:
                    with spending(budget):
                        result = await self._answer(job)
                except Exception as exc:
                    error = failure(exc, job.duration, "the job")[0]
        except anyio.get_cancelled_exc_class():       # the server is stopping
            if job.phase == "EXECUTING":
                job.phase, job.end, job.error = "ERROR", time.time(), SHUT_DOWN
                self.changed(job)
            raise
        finally:
            self._running.pop(job.id, None)
        if job.phase != "EXECUTING" or job.id not in self.store.jobs:   # aborted, deleted
            if result is not None:
                (self.store.path(job) / result["file"]).unlink(missing_ok=True)
            return
        job.end = time.time()
        if result is not None:
            job.phase, job.result = "COMPLETED", result
        else:
            job.phase, job.error = "ERROR", error
        self.changed(job)

    async def _answer(self, job: Job) -> dict:
        """Run the job's query and write its answer: the result's description."""
        state, limits = self.state, self.state.limits
        pool = state.pool if job.owner == TEAM else state.public_pool
        if pool is None:
            raise TapError("this server has no released nights now: visitors' jobs cannot run")
        if job.error:                    # refused when it was made (uws.create)
            raise TapError(job.error)
        uploads = await anyio.to_thread.run_sync(self.store.read_uploads, job)
        tap = replace(checked_query({k: [v] for k, v in job.params.items()}, limits),
                      uploads=uploads)
        catalog = await catalog_of(state)
        table, provenance = await pool.run(
            lambda ses: run_query(ses, catalog, tap, job.duration, limits.max_upload_rows))
        limits.check_values(table.num_rows, table.num_columns, tap.format)
        name = f"result.{EXTENSIONS[tap.format]}"
        most = self.store.room(job.owner)
        path = self.store.path(job) / name
        size = await pool.encode(
            lambda: write_pieces(path, encode(table, tap.format, provenance), most))
        return {"file": name, "media_type": tap.media_type, "bytes": size,
                "rows": table.num_rows, "overflow": bool(provenance.truncated)}

    async def _sweeper(self) -> None:
        while True:
            now = time.time()
            for job in [j for j in self.store.jobs.values() if j.destruction <= now]:
                log.info("async job %s reached its destruction time; deleted", job.id)
                self.destroy(job)
            due = min((j.destruction for j in self.store.jobs.values()), default=math.inf)
            with anyio.move_on_after(min(SWEEP_AT_MOST_S, max(0.05, due - now))):
                await self._sweep.wait()
            self._sweep = anyio.Event()
