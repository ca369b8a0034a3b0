"""How fast anyone may guess the team password: per client and for the whole server.

Every password check that is not a remembered success goes through :class:`PasswordThrottle`:

1. one check at a time per client, so parallel connections do not multiply a client's
   rate: a client's further requests are refused at once with 429, unchecked, except that
   a client without failures may queue ``QUEUED_PER_CLIENT`` behind its check (a VO client's
   first parallel requests: after a success they pass as remembered; after a failure they
   get 429);
2. after each failure that client waits twice as long before its next check (0.25 s, 0.5 s,
   ... 8 s); a success resets it, an hour without failure forgets it;
3. every check takes a token from one server-wide bucket (``BURST`` tokens, refilled at
   ``RATE`` per second; a success gives its token back), so failures are bounded globally
   whatever the number of addresses: at most ``BURST`` + ``RATE`` x seconds wrong guesses.

The trade-off: checks are the scarce resource and a wrong password cannot be told from a
right one before it is checked, so an attacker who empties the bucket makes the team wait
too. To keep that wait short, clients waiting for a token are served fewest failures first
(the team's first attempt goes before addresses that already failed), at most ``WAITING``
wait (a newcomer with fewer failures takes the place of the worst one, which gets 429),
and a password checked right in the last 5 minutes (``TeamAccess.remembered``) and a
logged-in browser never wait. So during an attack from addresses that failed before the
team waits about one token (2 s); an attacker with ever-new addresses can make a login
wait ``WAITING`` tokens (16 s) or be refused, but still guesses no faster than ``RATE``.
The server's address of a client is the socket's peer unless ``catscan serve
--behind-proxy`` trusts the proxy's X-Forwarded-For (docs/web.md).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from ..errors import CatscanError

FIRST_DELAY_S, MAX_DELAY_S = 0.25, 8.0     # per client, doubling per failure
FORGET_S = 3600.0                          # a client's failures, kept this long after the last
RATE, BURST = 0.5, 10                      # server-wide wrong-password checks: per s, at once
WAITING = 8                                # clients waiting for a token at once
QUEUED_PER_CLIENT = 8                      # a client's requests queued behind its check
MAX_CLIENTS = 10_000                       # clients whose failures are remembered


class TooManyAttempts(CatscanError):
    """A password not checked because too many checks are waiting (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many password attempts; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass
class _Client:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    users: int = 0                         # requests holding or queued on the lock


@dataclass(eq=False)
class _Waiter:
    key: tuple[int, int]                   # (failures, arrival): smallest is served first
    woken: anyio.Event = field(default_factory=anyio.Event)
    evicted: bool = False


class Turn:
    """One client's turn to have a password checked (see PasswordThrottle.turn)."""

    def __init__(self, throttle: PasswordThrottle, client: str) -> None:
        self.throttle, self.client, self.token = throttle, client, False

    async def ready(self) -> None:
        """Wait for the client's delay, then for a server-wide token. The wait does not
        count against the request's time limit (catscan.budget): it is the server's."""
        from ..budget import current

        budget = current()
        with budget.paused() if budget is not None else contextlib.nullcontext():
            await anyio.sleep(self.throttle.delay(self.client))
            await self.throttle.take_token(self.client)
        self.token = True

    def record(self, ok: bool) -> None:
        self.throttle.record(self.client, ok, refund=ok and self.token)


class PasswordThrottle:
    """The limits above, for one server (its state lives in the server's event loop)."""

    def __init__(self, rate: float = RATE, burst: int = BURST) -> None:
        self.rate, self.burst = rate, burst
        self._tokens, self._stamp = float(burst), time.monotonic()
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._clients: dict[str, _Client] = {}
        self._waiting: list[_Waiter] = []
        self._arrivals = itertools.count()

    # ---- per client ------------------------------------------------------------------
    def failures(self, client: str) -> int:
        count, last = self._failures.get(client, (0, 0.0))
        return count if time.monotonic() - last < FORGET_S else 0

    def delay(self, client: str) -> float:
        """Seconds a client waits before its next check (0 after no failure)."""
        count = self.failures(client)
        return 0.0 if count == 0 else min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (count - 1))

    def record(self, client: str, ok: bool, refund: bool = False) -> None:
        if ok:
            self._failures.pop(client, None)
            if refund:
                self._tokens = min(float(self.burst), self._tokens + 1)
            return
        self._failures[client] = (self.failures(client) + 1, time.monotonic())
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    @asynccontextmanager
    async def turn(self, client: str):
        """``async with throttle.turn(client) as turn``: the client's checks one at a time;
        call ``await turn.ready()`` before checking and ``turn.record(ok)`` after."""
        entry = self._clients.setdefault(client, _Client())
        failed = self.failures(client)
        if entry.users and (failed or entry.users > QUEUED_PER_CLIENT):
            raise TooManyAttempts(max(1.0, self.delay(client)))
        entry.users += 1
        try:
            async with entry.lock:
                if self.failures(client) > failed:     # the check ahead of this one failed
                    raise TooManyAttempts(max(1.0, self.delay(client)))
                yield Turn(self, client)
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._clients.pop(client, None)

    # ---- server-wide -----------------------------------------------------------------
    def _refill(self) -> float:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return (1.0 - self._tokens) / self.rate if self._tokens < 1 else 0.0

    async def take_token(self, client: str) -> None:
        """Wait for a server-wide token, fewest failures first; TooManyAttempts when too
        many clients wait and this one has no fewer failures than any of them."""
        me = _Waiter((self.failures(client), next(self._arrivals)))
        if len(self._waiting) >= WAITING:
            worst = max(self._waiting, key=lambda w: w.key)
            if worst.key[0] <= me.key[0]:
                raise TooManyAttempts(WAITING / self.rate)
            worst.evicted = True
            self._waiting.remove(worst)
            worst.woken.set()
        self._waiting.append(me)
        try:
            while True:
                wait = self._refill()
                if me.evicted:
                    raise TooManyAttempts(WAITING / self.rate)
                if wait == 0 and min(self._waiting, key=lambda w: w.key) is me:
                    self._tokens -= 1
                    return
                with anyio.move_on_after(wait if wait > 0 else 1.0 / self.rate):
                    await me.woken.wait()
                me.woken = anyio.Event()
        finally:
            if me in self._waiting:
                self._waiting.remove(me)
            if self._waiting:                  # the next one may take a token now
                min(self._waiting, key=lambda w: w.key).woken.set()
