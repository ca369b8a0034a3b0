"""TAP async jobs on disk (UWS 1.1, served by uws.py): each job is a directory of its own
under ``<db>.jobs/`` (mode 0700) holding ``job.json`` (its metadata, replaced atomically at
each change), its uploads (``upload-NAME.vot``) and, once it completed, its result
(``result.EXT``, written under a temporary name and renamed when whole). The store keeps
the jobs in memory as well; the event loop alone changes them (handlers and the runner are
its tasks), so no lock is needed.

A restarted server reads the directory back: a job that was EXECUTING when the server
stopped comes back as ERROR (its query is not run again: it may be what stopped the
server), a QUEUED one is queued again, the others are as they were. Unfinished files (a
directory without ``job.json``, a half-written result) are removed."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import CatscanError
from .limits import Limits

log = logging.getLogger("catscan.web.uws")

ACTIVE = ("PENDING", "QUEUED", "EXECUTING")
FINAL = ("COMPLETED", "ERROR", "ABORTED")
TEAM, VISITOR = "team", "anonymous"
EXTENSIONS = {"votable": "vot", "csv": "csv", "tsv": "tsv", "fits": "fits",
              "parquet": "parquet", "json": "json"}
DIED = ("the server stopped while this job was running (it had started at {start}); it was "
        "not run again: create a new job to run it")


class JobLimitExceeded(CatscanError):
    """A new job or a result over an owner's (or the server's) job limits."""


@dataclass
class Job:
    """One UWS job. Times are Unix seconds (UTC); ``params`` are the TAP parameters as the
    client gave them (upper-case names); ``uploads`` the uploaded tables' names."""

    id: str
    owner: str
    params: dict[str, str]
    creation: float
    destruction: float
    duration: float
    phase: str = "PENDING"
    run_id: str | None = None
    uploads: list[str] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    error: str | None = None
    result: dict | None = None           # file, media_type, bytes, rows, overflow
    upload_bytes: int = 0

    @property
    def bytes(self) -> int:
        return self.upload_bytes + (self.result or {}).get("bytes", 0)


class JobStore:
    """The jobs of one server, in ``directory``."""

    def __init__(self, directory: Path, limits: Limits) -> None:
        self.directory, self.limits = Path(directory), limits
        self.jobs: dict[str, Job] = {}
        if self.directory.is_dir():          # made with the first job
            self._load()

    # ---- reading back ----------------------------------------------------------------------

    def _load(self) -> None:
        for entry in sorted(self.directory.iterdir()):
            if not entry.is_dir():
                continue
            try:
                job = Job(**json.loads((entry / "job.json").read_text()))
            except FileNotFoundError:
                log.info("removing the unfinished job directory %s", entry)
                shutil.rmtree(entry, ignore_errors=True)
                continue
            except (OSError, ValueError, TypeError) as exc:
                log.warning("cannot read the job in %s (%s); left as it is", entry, exc)
                continue
            for leftover in entry.glob("*.part"):
                leftover.unlink(missing_ok=True)
            if job.phase == "EXECUTING":
                start = iso(job.start) if job.start else "an unknown time"
                job.phase, job.end = "ERROR", time.time()
                job.error = DIED.format(start=start)
                self.save(job)
            self.jobs[job.id] = job

    # ---- writing -----------------------------------------------------------------------------

    def path(self, job: Job) -> Path:
        return self.directory / job.id

    def save(self, job: Job) -> None:
        """Write ``job.json`` whole (a new file renamed over the old one)."""
        folder = self.path(job)
        if folder.is_dir():                  # else deleted meanwhile: nothing to keep
            write_atomically(folder / "job.json", json.dumps(asdict(job), indent=1).encode())

    def add(self, job: Job, uploads: dict[str, bytes]) -> None:
        """A new job (the limits checked first; on the event loop, so that two requests
        cannot both take the last room): :meth:`write_new` then writes its files."""
        self.check_room(job.owner, sum(len(b) for b in uploads.values()), new_job=True)
        job.uploads = sorted(uploads)
        job.upload_bytes = sum(len(b) for b in uploads.values())
        self.jobs[job.id] = job

    def write_new(self, job: Job, uploads: dict[str, bytes]) -> None:
        """The directory of a job just added, with its uploads (in a thread)."""
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)          # whatever the umask
        folder = self.path(job)
        folder.mkdir(mode=0o700)
        try:
            for name, data in uploads.items():
                write_atomically(folder / f"upload-{name}.vot", data)
            self.save(job)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def read_uploads(self, job: Job) -> dict[str, bytes]:
        return {name: (self.path(job) / f"upload-{name}.vot").read_bytes()
                for name in job.uploads}

    def delete(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
        shutil.rmtree(self.path(job), ignore_errors=True)

    # ---- limits ------------------------------------------------------------------------------

    def owned(self, owner: str) -> list[Job]:
        return [j for j in self.jobs.values() if j.owner == owner]

    def check_room(self, owner: str, more_bytes: int, *, new_job: bool = False) -> None:
        """Refuse a new job (``new_job``) or ``more_bytes`` bytes over the limits."""
        limits = self.limits
        mine = self.owned(owner)
        if new_job and len(mine) >= limits.max_jobs:
            raise JobLimitExceeded(
                f"{owner} holds {len(mine)} async jobs, this service's limit (max_jobs): "
                "delete finished ones (DELETE /tap/async/ID) before creating more")
        room = self.room(owner)
        if more_bytes > room:
            raise JobLimitExceeded(
                f"{more_bytes:,} bytes more would take {owner}'s async jobs over this "
                f"service's limits ({limits.max_job_bytes:,} bytes an owner, max_job_bytes; "
                f"{limits.max_jobs_bytes:,} in all, max_jobs_bytes; {room:,} left): delete "
                "finished jobs or ask for fewer rows")

    def room(self, owner: str) -> int:
        """Bytes ``owner``'s jobs may still take on disk."""
        mine = sum(j.bytes for j in self.owned(owner))
        every = sum(j.bytes for j in self.jobs.values())
        return max(0, min(self.limits.max_job_bytes - mine, self.limits.max_jobs_bytes - every))


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` whole or is as it was (mode 0600)."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)


def write_pieces(path: Path, pieces, most: int) -> int:
    """Write an answer's pieces to ``path`` (renamed into place when whole): its size. Over
    ``most`` bytes: JobLimitExceeded, and nothing is left on disk."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                written += len(piece)
                if written > most:
                    raise JobLimitExceeded(
                        f"the result is larger than the {most:,} bytes left to this owner's "
                        "async jobs (max_job_bytes, max_jobs_bytes): delete finished jobs, "
                        "or ask for fewer rows (MAXREC, TOP) or columns")
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    return written


def iso(seconds: float) -> str:
    """UWS (ISO 8601, UTC) time: 2026-12-07T20:01:37.123Z."""
    ms = round(seconds * 1000)            # uws.py compares AFTER at this precision
    whole = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ms % 1000:03d}Z"
