"""catscan.watchdog: one thread runs actions at their deadlines (query timeouts) in deadline
order; a cancelled action never runs, and after cancel() returns it cannot still run."""

from __future__ import annotations

import threading
import time

import pytest

from catscan import watchdog
from catscan.db import memory_database
from catscan.safety import QueryTimeout, run_readonly


def test_actions_run_at_their_deadlines_in_order():
    ran: list[tuple[str, float]] = []
    done = threading.Event()
    started = time.monotonic()
    watchdog.after(0.30, lambda: (ran.append(("late", time.monotonic())), done.set()))
    watchdog.after(0.10, lambda: ran.append(("early", time.monotonic())))
    cancelled = watchdog.after(0.05, lambda: ran.append(("cancelled", time.monotonic())))
    cancelled.cancel()
    assert done.wait(5)
    assert [name for name, _ in ran] == ["early", "late"]
    assert ran[0][1] - started >= 0.10 and ran[1][1] - started >= 0.30


def test_after_cancel_returns_the_action_cannot_run_any_more():
    for _ in range(200):                          # cancel right at the deadline
        ran = []
        alarm = watchdog.after(0.0005, lambda ran=ran: ran.append(1))
        time.sleep(0.0005)
        alarm.cancel()
        seen = len(ran)
        time.sleep(0.002)
        assert len(ran) == seen


def test_query_timeouts_still_interrupt_and_the_connection_stays_usable():
    con = memory_database()
    try:
        for _ in range(50):                      # many quick queries: nothing fires late
            assert run_readonly(con, "SELECT 42 AS a", timeout=0.2)[0].column(0)[0].as_py() \
                == 42
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="after 0.3 s"):
            run_readonly(con, "SELECT count(*) FROM range(100000000000) a, range(10) b",
                         timeout=0.3)
        assert time.monotonic() - started < 5
        assert run_readonly(con, "SELECT 7 AS b", timeout=1)[0].column(0)[0].as_py() == 7
        assert any(t.name == "catscan-watchdog" for t in threading.enumerate())
    finally:
        con.close()
