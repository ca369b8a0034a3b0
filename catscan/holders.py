"""Who holds a database file: the process DuckDB's lock error names, what it runs and
whether it holds the file read-only or read-write, so that "database busy" says which
program to wait for (a notebook reading, a load writing, the server).

DuckDB locks the file with a POSIX lock (``fcntl``): a shared lock for read-only opens, an
exclusive one for read-write; its error names the holder's PID, and Linux lists the lock's
kind in ``/proc/locks``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_PID = re.compile(r"\(PID (\d+)\)")


@dataclass(frozen=True)
class Holder:
    """A process holding a database file."""

    pid: int | None
    command: str | None          # its command line, when /proc shows it
    mode: str | None             # "read-only", "read-write", or None when unknown

    def describe(self) -> str:
        who = f"PID {self.pid}" if self.pid is not None else "another process"
        if self.command:
            who += f" ({self.command})"
        return who


def holder_of(path: str | os.PathLike, duckdb_message: str) -> Holder:
    """The holder named in DuckDB's lock error for ``path``."""
    found = _PID.search(duckdb_message)
    pid = int(found.group(1)) if found else None
    return Holder(pid, command_line(pid) if pid else None, lock_mode(path, pid))


def command_line(pid: int) -> str | None:
    """The process's command line (/proc/PID/cmdline), shortened for a message."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    text = " ".join(" ".join(words).split())       # one line, whatever the arguments hold
    return text if len(text) <= 200 else text[:197] + "..."


def lock_mode(path: str | os.PathLike, pid: int | None) -> str | None:
    """"read-only" (a shared lock) or "read-write" (an exclusive one) that ``pid`` holds on
    the file, from /proc/locks; None when it cannot be told."""
    try:
        inode = os.stat(path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # 1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF   (a "->" marks a waiting lock)
        if "->" in fields or len(fields) < 6 or fields[1] not in ("POSIX", "OFDLCK"):
            continue
        kind, owner, where = fields[3], fields[4], fields[5]
        if where.rsplit(":", 1)[-1] != str(inode):
            continue
        if pid is not None and owner not in (str(pid), "-1"):
            continue
        return "read-only" if kind == "READ" else "read-write"
    return None


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
