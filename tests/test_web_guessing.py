"""Password guessing against a real server (catscan.web.throttle): however the guesses come
(one after another, from invented X-Forwarded-For addresses, over 64 parallel connections,
from many addresses through a trusted proxy), the server checks at most about one wrong
password per second after the first few, and the team's right password still gets in
within a few seconds during the attack. Each attack gets a server of its own (the
throttle's state is the server's)."""

from __future__ import annotations

import asyncio
import base64
import random
import time
from dataclasses import dataclass

import httpx
import pytest

from catscan.web.throttle import FIRST_DELAY_S

from conftest import TEAM_PASSWORD
from webserver import running_server

pytestmark = pytest.mark.slow

ATTACK_S = 10.0          # how long each attack runs
SETTLED_S = 3.0          # guesses answered after this are the sustained rate
MAX_SUSTAINED = 1.0      # wrong passwords checked per second, at most, once settled
PATH = "/findtile"       # team-only, cheap when allowed


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"team:{password}".encode()).decode()


@dataclass
class Attack:
    workers: int                         # requests in flight at once (connections)
    forwarded: str | None                # None: no X-Forwarded-For; "fresh": a new address
                                         # per request; "pool": worker i always uses one
    behind_proxy: str | None = None      # the server trusts X-Forwarded-For from these


def address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


async def attack(url: str, how: Attack, seed: int, legit=None) -> list[tuple[float, int]]:
    """(seconds since the start, status) of every answer to a wrong password; ``legit``, an
    async function of the client, runs alongside."""
    rng = random.Random(seed)
    answers: list[tuple[float, int]] = []
    start = time.monotonic()
    limits = httpx.Limits(max_connections=how.workers + 2, max_keepalive_connections=how.workers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker(n: int) -> None:
            own = f"10.99.0.{n + 1}"
            while time.monotonic() - start < ATTACK_S:
                headers = {"Authorization": basic(f"guess-{n}-{rng.randrange(10**9)}")}
                if how.forwarded == "fresh":
                    headers["X-Forwarded-For"] = address(rng)
                elif how.forwarded == "pool":
                    headers["X-Forwarded-For"] = own
                reply = await client.get(PATH, headers=headers)
                answers.append((time.monotonic() - start, reply.status_code))
                if reply.status_code == 429:    # refused unchecked: do not flood the machine
                    await asyncio.sleep(0.25)

        tasks = [worker(n) for n in range(how.workers)]
        if legit is not None:
            tasks.append(legit(client, start))
        await asyncio.gather(*tasks)
    return answers


def sustained_rate(answers: list[tuple[float, int]]) -> tuple[float, int, float]:
    """Wrong passwords checked (401) per second from SETTLED_S to the last answer (requests
    sent before ATTACK_S may be answered later), how many in all, and over how long."""
    checked = [t for t, status in answers if status == 401]
    late = [t for t in checked if t >= SETTLED_S]
    span = max([ATTACK_S, *(t for t, _ in answers)])
    return len(late) / (span - SETTLED_S), len(checked), span


ATTACKS = {
    "sequential, X-Forwarded-For": Attack(1, "fresh"),
    "concurrent, X-Forwarded-For": Attack(8, "fresh"),
    "64 connections": Attack(64, None),
    "behind a proxy, a new address each guess": Attack(8, "fresh", behind_proxy="127.0.0.1"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_password_guessing_is_bounded(web_db, name):
    how = ATTACKS[name]
    with running_server(web_db, behind_proxy=how.behind_proxy) as url:
        answers = asyncio.run(attack(url, how, seed=len(name)))
    statuses = {status for _, status in answers}
    assert statuses <= {401, 429}, f"unexpected answers {statuses}"
    rate, checked, span = sustained_rate(answers)
    assert rate <= MAX_SUSTAINED, (
        f"{name}: {rate:.1f} wrong passwords checked per second after {SETTLED_S:.0f} s "
        f"({checked} in {span:.0f} s)")
    assert checked / span <= 2 * MAX_SUSTAINED, f"{name}: {checked} checked in {span:.0f} s"


def test_the_team_gets_in_promptly_during_an_attack(web_db):
    """Eight addresses guess through a trusted proxy and keep the server-wide budget
    empty; the team's login from another address waits for about one token, not behind
    the attackers, and then a VO client sending the password just checked does not wait."""
    how = Attack(8, "pool", behind_proxy="127.0.0.1")
    waited: dict[str, float] = {}

    async def team(client: httpx.AsyncClient, start: float) -> None:
        await asyncio.sleep(ATTACK_S / 2 - (time.monotonic() - start))
        asked = time.monotonic()
        login = await client.post("/login", data={"password": TEAM_PASSWORD, "next": PATH},
                                  headers={"X-Forwarded-For": "192.0.2.8"})
        waited["login"] = time.monotonic() - asked
        assert login.status_code == 303, login.text
        vo = {"Authorization": basic(TEAM_PASSWORD), "X-Forwarded-For": "192.0.2.7"}
        asked = time.monotonic()
        again = await client.get(PATH, headers=vo)
        waited["vo"] = time.monotonic() - asked
        assert again.status_code == 200

    with running_server(web_db, behind_proxy=how.behind_proxy) as url:
        answers = asyncio.run(attack(url, how, seed=7, legit=team))
    rate, checked, span = sustained_rate(answers)
    assert rate <= MAX_SUSTAINED, f"{rate:.1f} wrong passwords checked per second"
    assert waited["login"] < 3.0, waited
    assert waited["vo"] < 0.5, waited


def test_proxy_headers_are_ignored_unless_the_server_is_behind_a_proxy(web_db):
    """Without --behind-proxy an invented X-Forwarded-For does not change who the client
    is: failures from it slow the next attempt of the connection's address."""
    with running_server(web_db) as url, httpx.Client(base_url=url, timeout=60) as client:
        for n in range(3):
            client.get(PATH, headers={"Authorization": basic(f"wrong {n}"),
                                      "X-Forwarded-For": f"10.0.0.{n + 1}"})
        asked = time.monotonic()
        reply = client.get(PATH, headers={"Authorization": basic("wrong again"),
                                          "X-Forwarded-For": "10.0.0.9"})
        assert reply.status_code == 401
        # the 4th failure of the one client 127.0.0.1, not the first of 10.0.0.9
        assert time.monotonic() - asked >= 0.9 * FIRST_DELAY_S * 2 ** 2
