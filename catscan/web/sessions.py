"""Browser sessions the server can end: the signed cookie holds only a random session id,
and the server keeps the ids that are live. Logging out forgets the id, so a copy of the
cookie is worthless afterwards; a session also ends after ``IDLE_S`` without a request and
``LIFETIME_S`` after the login, and at most ``MAX_SESSIONS`` live at once (the least
recently used goes first). The ids live in the server's memory: a restart logs everyone
out."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

IDLE_S = 2 * 3600.0              # a session unused this long ends
LIFETIME_S = 12 * 3600.0         # and any session ends this long after its login
MAX_SESSIONS = 10_000


class LiveSessions:
    """The live session ids, with their login and last-use times."""

    def __init__(self, idle_s: float = IDLE_S, lifetime_s: float = LIFETIME_S,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self.idle_s, self.lifetime_s, self.max_sessions = idle_s, lifetime_s, max_sessions
        self._live: OrderedDict[str, tuple[float, float]] = OrderedDict()   # id: login, used
        self._lock = threading.Lock()

    def start(self) -> str:
        """A new session's id (put it in the signed cookie)."""
        sid, now = secrets.token_urlsafe(32), time.monotonic()
        with self._lock:
            self._live[sid] = (now, now)
            while len(self._live) > self.max_sessions:
                self._live.popitem(last=False)
        return sid

    def alive(self, sid: object) -> bool:
        """Whether ``sid`` is a live session; using it keeps it alive (up to its lifetime)."""
        if not isinstance(sid, str):
            return False
        now = time.monotonic()
        with self._lock:
            times = self._live.get(sid)
            if times is None:
                return False
            login, used = times
            if now - used > self.idle_s or now - login > self.lifetime_s:
                del self._live[sid]
                return False
            self._live[sid] = (login, now)
            self._live.move_to_end(sid)
            return True

    def end(self, sid: object) -> None:
        if isinstance(sid, str):
            with self._lock:
                self._live.pop(sid, None)

    def __len__(self) -> int:
        return len(self._live)
