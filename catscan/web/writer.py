"""The server's write jobs (docs/serving.md): writing commands sent through the write
channel (catscan.channel) run here one at a time, on one writer thread, as ``catscan``
itself would run them alone, on cursors of the server's instance.

A job runs in the command's directory with its environment variables (catscan.writes.
JOB_ENV); what it writes to stdout and stderr goes back to the command as it is written
(the server's own log keeps its stream). A job that needs the file to itself (``exclusive``)
runs with the server's instances closed: readers wait for it. After each job the server's
hooks run (``after``: caches, the team password, the public copy) and the WAL is
checkpointed, again later if DuckDB refuses."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from ..errors import CatscanError
from ..writes import JOB_ENV, WRITES, command_of

log = logging.getLogger("catscan.web")
CHECKPOINT_RETRY_S = 1.0
WRITER_NICE = 10                 # the job's queries run on this thread: readers come first


@dataclass
class Job:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    tty: dict[str, bool]
    stdin: str | None
    exclusive: bool
    reply: Callable[[dict], None]
    code: int = 1
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cursors: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, stream: str, text: str) -> None:
        if text:
            with self._lock:
                self.reply({stream: text})

    def cancel(self) -> None:
        """The command went away (Ctrl-C): its running query is interrupted, so its
        transaction rolls back."""
        self.cancelled.set()
        for cur in list(self.cursors):
            with contextlib.suppress(duckdb.Error):
                cur.interrupt()

    def describe(self) -> str:
        return "catscan " + " ".join(self.argv)


class _Active:
    job: Job | None = None


_ACTIVE = _Active()


class _Routed(io.TextIOBase):
    """sys.stdout / sys.stderr of the server: a job's output while one runs, else the
    server's own stream."""

    def __init__(self, name: str, original) -> None:
        self.name, self.original = name, original

    def write(self, text: str) -> int:
        job = _ACTIVE.job
        if job is None:
            return self.original.write(text)
        job.emit(self.name, text)
        return len(text)

    def flush(self) -> None:
        if _ACTIVE.job is None:
            self.original.flush()

    def isatty(self) -> bool:
        job = _ACTIVE.job
        return bool(job.tty.get(self.name)) if job is not None else self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.original, "encoding", "utf-8")


class _RoutedIn(io.TextIOBase):
    """sys.stdin: a job's input (sent by the command) while one runs."""

    def __init__(self, original) -> None:
        self.original, self._input = original, None

    def _source(self):
        job = _ACTIVE.job
        if job is None:
            return self.original
        if self._input is None or self._input[0] is not job:
            self._input = (job, io.StringIO(job.stdin or ""))
        return self._input[1]

    def readline(self, size: int = -1) -> str:
        return self._source().readline(size)

    def read(self, size: int = -1) -> str:
        return self._source().read(size)

    def isatty(self) -> bool:
        return False if _ACTIVE.job is not None else self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()


def route_output() -> Callable[[], None]:
    """Put the routing streams in place (after logging took the real ones); returns the
    undo."""
    before = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = _Routed("out", sys.stdout), _Routed("err", sys.stderr)
    sys.stdin = _RoutedIn(sys.stdin)

    def undo() -> None:
        sys.stdout, sys.stderr, sys.stdin = before
    return undo


class WriteJobs:
    """One writer thread running jobs in the order they came.

    ``run(argv)``: the job (catscan.cli.run_job); ``served``: the instances jobs write
    through (the team's file, the public copy: a callable, since the copy may appear);
    ``pause``/``resume``: close and reopen them around an exclusive job; ``after``: hooks
    run after each job."""

    def __init__(self, run: Callable[[list[str]], int], served: Callable[[], list],
                 pause: Callable[[], None], resume: Callable[[], None],
                 after: list[Callable[[], None]]) -> None:
        self.run, self.served, self.pause, self.resume, self.after = \
            run, served, pause, resume, after
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._checkpoint_due = False
        self._current: Job | None = None
        self._thread = threading.Thread(target=self._loop, name="catscan-writer", daemon=True)
        self._thread.start()

    def handle(self, request: dict, reply: Callable[[dict], None],
               gone: Callable[[], bool]) -> int:
        """A job from the channel, run to its end (or until the command goes away)."""
        job = _job(request, reply)
        current = self._current
        if current is not None:
            job.emit("err", f"catscan: waiting for the server's write job in progress "
                     f"({current.describe()})\n")
        self._jobs.put(job)
        while not job.done.wait(0.2):
            if not job.cancelled.is_set() and gone():
                job.cancel()
        return job.code

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        with contextlib.suppress(OSError, AttributeError):     # Linux: a thread's own nice
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        while True:
            try:
                job = self._jobs.get(timeout=CHECKPOINT_RETRY_S)
            except queue.Empty:
                if self._checkpoint_due:
                    self._checkpoint()
                continue
            if job is None:
                return
            if job.cancelled.is_set():
                job.done.set()
                continue
            self._current = job
            try:
                job.code = self._run(job)
            except Exception:
                log.exception("write job %s failed", job.describe())
                job.code = 1
            finally:
                self._current = None
                job.done.set()

    def _run(self, job: Job) -> int:
        started = time.perf_counter()
        if job.exclusive:
            try:
                self.pause()
            except CatscanError as exc:
                self.resume()
                job.emit("err", f"catscan: error: {exc}\n")
                return 1
        try:
            code = self._in_context(job)
        finally:
            if job.exclusive:
                self.resume()
            for hook in self.after:
                try:
                    hook()
                except Exception:
                    log.exception("a hook after the write job failed")
        wal = sum(s.wal_bytes() for s in self.served())
        self._checkpoint()
        log.info("write job %s: exit %d in %.1f s; WAL %d bytes, checkpoint %s",
                 job.describe(), code, time.perf_counter() - started, wal,
                 "deferred" if self._checkpoint_due else "done")
        return code

    def _in_context(self, job: Job) -> int:
        writer = threading.get_ident()

        def track(cur) -> None:
            if threading.get_ident() == writer:
                job.cursors.append(cur)

        served = self.served()
        for s in served:
            s.on_cursor = track
        here, saved = os.getcwd(), {k: os.environ.get(k) for k in JOB_ENV}
        try:
            os.chdir(job.cwd)
        except OSError as exc:
            job.emit("err", f"catscan: error: cannot run in {job.cwd}: {exc.strerror}\n")
            return 1
        for key in JOB_ENV:
            os.environ.pop(key, None)
        os.environ.update(job.env)
        _ACTIVE.job = job
        try:
            code = self.run(job.argv)
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            return code
        finally:
            _ACTIVE.job = None
            os.chdir(here)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            for s in served:
                s.on_cursor = None
            for cur in job.cursors:
                with contextlib.suppress(duckdb.Error):
                    cur.close()

    def _checkpoint(self) -> None:
        """Checkpoint every open instance; remember to retry one that refused."""
        self._checkpoint_due = not all(s.checkpoint() for s in self.served() if s.is_open)


def _job(request: dict, reply: Callable[[dict], None]) -> Job:
    argv = request.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise CatscanError("a job is a list of arguments")
    write = WRITES.get(command_of(argv) or "")
    if write is None:
        raise CatscanError(f"`catscan {command_of(argv) or ''}` does not write the database: "
                           "run it yourself, not through the server")
    env = {k: str(v) for k, v in (request.get("env") or {}).items() if k in JOB_ENV}
    tty = {k: bool(v) for k, v in (request.get("tty") or {}).items()}
    stdin = request.get("stdin")
    return Job(argv, str(request.get("cwd") or "/"), env, tty,
               stdin if isinstance(stdin, str) else None, write.exclusive, reply)
