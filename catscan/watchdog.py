"""One thread that runs actions at their deadlines (a query's timeout interrupting it).

A ``threading.Timer`` per query started and ended a thread for every query: on a server
answering hundreds of small cones a second that was ~7 % of its samples (docs/performance.md).
Here one daemon thread per process waits for the earliest deadline; a cancelled action is
dropped when its time comes.
Actions run on that thread under its lock, so they must be short (an interrupt)."""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable


class Alarm:
    """An action due at ``deadline`` (time.monotonic); :meth:`cancel` before it runs."""

    __slots__ = ("deadline", "order", "action")

    def __init__(self, deadline: float, order: int, action: Callable[[], None]) -> None:
        self.deadline, self.order, self.action = deadline, order, action

    def __lt__(self, other: Alarm) -> bool:
        return (self.deadline, self.order) < (other.deadline, other.order)

    def cancel(self) -> None:
        """After this returns the action has run or never will (actions run under the
        lock: they are short, such as an interrupt)."""
        with _WAKE:
            self.action = None


_HEAP: list[Alarm] = []
_WAKE = threading.Condition()
_ORDER = itertools.count()
_RUNNING = {"pid": None}


def after(seconds: float, action: Callable[[], None]) -> Alarm:
    """Run ``action()`` on the watchdog's thread in ``seconds`` unless cancelled first."""
    alarm = Alarm(time.monotonic() + seconds, next(_ORDER), action)
    with _WAKE:
        if _RUNNING["pid"] != os.getpid():          # first use here, or a forked child
            _RUNNING["pid"] = os.getpid()
            threading.Thread(target=_watch, name="catscan-watchdog", daemon=True).start()
        heapq.heappush(_HEAP, alarm)
        if _HEAP[0] is alarm:
            _WAKE.notify()
    return alarm


def _watch() -> None:
    while True:
        with _WAKE:
            while _HEAP and _HEAP[0].action is None:
                heapq.heappop(_HEAP)
            if not _HEAP:
                _WAKE.wait()
                continue
            wait = _HEAP[0].deadline - time.monotonic()
            if wait > 0:
                _WAKE.wait(wait)
                continue
            action, _HEAP[0].action = _HEAP[0].action, None
            heapq.heappop(_HEAP)
            try:
                action()
            except Exception:      # an interrupt of a closed connection: nothing to stop
                pass
