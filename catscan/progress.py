"""Progress display for long operations: a rich spinner with DuckDB's own query progress.

Shown only on a terminal; elsewhere (pipes, CI, tests) every call is a no-op.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

import duckdb


class Progress:
    """``with progress.step(con, "sorting psc"):`` shows the step and the query's percent."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._rich = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress
            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"),
                                      TimeElapsedColumn(), console=Console(stderr=True),
                                      transient=True)

    def __enter__(self) -> Progress:
        if self._rich:
            self._rich.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich:
            self._rich.stop()

    @contextmanager
    def step(self, con: duckdb.DuckDBPyConnection | None, description: str):
        if not self._rich:
            yield
            return
        task = self._rich.add_task(description, total=100)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.2):
                try:
                    pct = con.query_progress() if con is not None else -1
                except Exception:  # the connection is busy finishing: skip a beat
                    pct = -1
                if pct is not None and pct >= 0:
                    self._rich.update(task, completed=pct)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self._rich.update(task, completed=100)
            self._rich.remove_task(task)
