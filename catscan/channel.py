"""The local write channel of ``catscan serve`` (docs/serving.md): a Unix socket through
which writing commands hand their job to the server holding the database.

Next to the database ``DB`` the server keeps the directory ``DB.serve/`` (mode 0700) with
``state.json`` (its PID, URL and socket) and ``socket`` (mode 0600). Only the operator
reaches it: the directory and the socket are the owner's alone, and the server checks the
connecting process's uid (``SO_PEERCRED``) against its own, so that a socket reachable by
mistake still refuses other users. A socket path longer than a Unix socket may be goes to
``/tmp/catscan-UID/`` (also 0700), named in the state file.

The protocol is JSON, one object per line. The client sends one job: ``argv``, ``cwd``,
``env``, ``tty`` (whether its stdout/stderr are terminals) and ``stdin`` (text or null);
the server answers ``{"out": text}`` / ``{"err": text}`` as the job writes, then
``{"exit": code}``. Closing the connection early cancels the job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import CatscanError
from .holders import alive

log = logging.getLogger("catscan.web")
SOCKET_PATH_MAX = 100            # sun_path holds 108 bytes, with its final NUL


class ChannelError(CatscanError):
    """The server's write channel refused or broke off a job."""


@dataclass(frozen=True)
class ServerState:
    """What ``DB.serve/state.json`` says about the server holding DB."""

    pid: int
    url: str
    socket: str
    db: str


def serve_dir(db: str | os.PathLike) -> Path:
    real = Path(os.path.realpath(db))
    return real.with_name(real.name + ".serve")


def state_path(db: str | os.PathLike) -> Path:
    return serve_dir(db) / "state.json"


def socket_path(db: str | os.PathLike) -> Path:
    """Next to the database, or under /tmp/catscan-UID/ when that path is too long."""
    near = serve_dir(db) / "socket"
    if len(os.fsencode(near)) <= SOCKET_PATH_MAX:
        return near
    digest = hashlib.sha256(os.fsencode(os.path.realpath(db))).hexdigest()[:24]
    return Path(f"/tmp/catscan-{os.getuid()}") / f"{digest}.sock"


def live_server(db: str | os.PathLike) -> ServerState | None:
    """The server holding ``db``, if its state file names a process that is alive."""
    try:
        state = ServerState(**json.loads(state_path(db).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not alive(state.pid) or not Path(state.socket).exists():
        return None
    return state


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def peer_allowed(conn: socket.socket, uid: int | None = None) -> bool:
    """Whether the peer runs as ``uid`` (default: this process's user)."""
    return peer_uid(conn) == (os.getuid() if uid is None else uid)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=False, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise ChannelError(f"{path} belongs to another user; remove it")
    os.chmod(path, 0o700)


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


class _Lines:
    """JSON objects, one a line, read from a socket."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buffer = conn, b""

    def next(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


# ---------------------------------------------------------------- the server's side

Job = Callable[[dict, Callable[[dict], None], Callable[[], bool]], int]


class Listener:
    """The server's end: accepts jobs on the socket and hands each to ``run(request, reply,
    gone)``, which returns the exit code (``reply`` sends a frame; ``gone()`` says whether
    the client went away)."""

    def __init__(self, db: str | os.PathLike, url: str, run: Job, uid: int | None = None):
        self.db, self.url, self.run = Path(os.path.realpath(db)), url, run
        self.uid = os.getuid() if uid is None else uid
        self.socket_path = socket_path(self.db)
        self._sock: socket.socket | None = None
        self._closed = threading.Event()

    def start(self) -> None:
        _private_dir(serve_dir(self.db))
        _private_dir(self.socket_path.parent)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()            # a killed server's
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)                    # born 0600: no moment open to others
        try:
            sock.bind(str(self.socket_path))
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)
        sock.listen(8)
        self._sock = sock
        state = ServerState(os.getpid(), self.url, str(self.socket_path), str(self.db))
        temp = state_path(self.db).with_suffix(".tmp")
        temp.write_text(json.dumps(asdict(state)) + "\n")
        os.replace(temp, state_path(self.db))
        threading.Thread(target=self._accept, name="catscan-write-channel", daemon=True).start()

    def close(self) -> None:
        """Stop accepting; remove the socket and the state file if they are still ours."""
        self._closed.set()
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(OSError, ValueError, TypeError):
            if json.loads(state_path(self.db).read_text())["pid"] == os.getpid():
                state_path(self.db).unlink()
                self.socket_path.unlink()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if not peer_allowed(conn, self.uid):
                log.warning("write channel: refused a connection from uid %d", peer_uid(conn))
                with contextlib.suppress(OSError):
                    _send(conn, {"refused": "this server takes jobs from its own user only"})
                return
            try:
                request = _Lines(conn).next()
            except (OSError, ValueError):
                return
            if not isinstance(request, dict):
                return
            lost = threading.Event()

            def reply(frame: dict) -> None:
                if lost.is_set():
                    return
                try:
                    _send(conn, frame)
                except OSError:
                    lost.set()

            def gone() -> bool:
                if not lost.is_set():
                    readable, _, _ = select.select([conn], [], [], 0)
                    if readable and not conn.recv(1, socket.MSG_PEEK):
                        lost.set()
                return lost.is_set()

            try:
                code = self.run(request, reply, gone)
            except CatscanError as exc:
                reply({"err": f"catscan: error: {exc}\n"})
                code = 1
            reply({"exit": code})


# ---------------------------------------------------------------- the command's side


def submit(state: ServerState, request: dict, stdout=None, stderr=None) -> int:
    """Send one job to the server and copy its output here as it comes: its exit code."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            conn.connect(state.socket)
        except OSError as exc:
            raise ChannelError(f"cannot reach the server (PID {state.pid}) at "
                               f"{state.socket}: {exc.strerror or exc}") from None
        _send(conn, request)
        lines = _Lines(conn)
        while True:
            frame = lines.next()
            if frame is None:
                raise ChannelError(f"the server (PID {state.pid}) ended the job without an "
                                   "exit code; see its log")
            if "refused" in frame:
                raise ChannelError(f"the server (PID {state.pid}) refused the job: "
                                   f"{frame['refused']}")
            if "exit" in frame:
                return int(frame["exit"])
            for key, stream in (("out", stdout), ("err", stderr)):
                if key in frame:
                    stream.write(frame[key])
                    stream.flush()
    finally:
        conn.close()


def wait_for_state(db: str | os.PathLike, seconds: float) -> ServerState | None:
    """The live server's state, waiting up to ``seconds`` for it to appear (tests, benches)."""
    deadline = time.monotonic() + seconds
    while True:
        state = live_server(db)
        if state is not None or time.monotonic() > deadline:
            return state
        time.sleep(0.05)
