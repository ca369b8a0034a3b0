"""Nights written side by side: one process per core, results taken in night order.

A night's files depend only on its job (plan, scan keys, seed), so any process may write
it. The caller consumes nights in plan order and says when it has enough (``--rows``); the
nights already started past that point are discarded (their directories removed), so the
output is the same as writing the nights one after the other, whatever the worker count.
Workers are spawned, not forked (the parent may hold DuckDB or Polars threads), and run
Polars on one thread each: the processes already use every core.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .generate import NightCounts, NightJob


def _init_worker() -> None:
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


def run_nights(jobs: Iterator[NightJob], workers: int,
               enough: Callable[[], bool]) -> Iterator[NightCounts]:
    """Write the jobs' nights and yield their counts in job order until ``enough()``."""
    from .generate import write_night

    if workers <= 1:
        for job in jobs:
            if enough():
                return
            yield write_night(job)
        return
    pending: deque[tuple[NightJob, Future]] = deque()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        def fill() -> None:
            while len(pending) < workers:
                job = next(jobs, None)
                if job is None:
                    return
                pending.append((job, pool.submit(write_night, job)))

        try:
            fill()
            while pending and not enough():
                _, future = pending.popleft()
                counts = future.result()
                fill()                      # keep the workers busy while the caller works
                yield counts
        finally:
            for _, future in pending:
                future.cancel()
            for job, future in pending:     # started ahead, not wanted: as if never written
                if not future.cancelled():
                    future.exception()
                shutil.rmtree(job.directory, ignore_errors=True)
