"""Feed one release file to DuckDB's CSV reader through a named pipe, decompressed once and
with its lines bounded on the way.

Checking the lines first (:func:`readers.check_lines`) and then letting DuckDB read the
gzipped file decompresses it twice, one pass after the other: for a 5 M-row PSC file about
6 s of CPU each with zlib. Here a thread decompresses it once (ISA-L's inflate, 2.4 s, the
GIL released) and bounds each chunk's lines before writing it into a FIFO that DuckDB reads
as a plain file, on the other cores, at the same time. A line too long is never written: the
thread writes a one-field line instead, which fails DuckDB's statement at once, and
:func:`stream` raises the line's error (the same as ``check_lines`` gives). A file that
cannot be read to its end is an error too, never a short load. Where the system has no
FIFOs, :func:`available` says so and the caller reads the file itself.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from catscan.errors import LoadError

from .readers import bounded_chunks

# Written instead of a line that is too long: one field, so no release record (and DuckDB,
# keeping no rejects, stops the statement).
_POISON = b"\n!\n"
_PIPE_BYTES = 1 << 20


def available() -> bool:
    return hasattr(os, "mkfifo")


class _Stopped(Exception):
    """The reader went away (its statement failed or ended): stop feeding."""


class _Feeder(threading.Thread):
    def __init__(self, source: Path, fifo: Path, fields: int):
        super().__init__(name=f"catscan-feed-{source.name}", daemon=True)
        self.source, self.fifo, self.fields = source, fifo, fields
        self.stop = threading.Event()
        self.error: LoadError | None = None
        self.complete = False

    def run(self) -> None:
        try:
            fd = self._open()
            try:
                try:
                    for chunk in bounded_chunks(self.source, self.fields, count_fields=False):
                        self._write(fd, chunk)
                except LoadError as error:
                    self.error = error
                    self._write(fd, _POISON)
                    return
                self.complete = True
            finally:
                os.close(fd)
        except (_Stopped, BrokenPipeError):
            pass

    def _open(self) -> int:
        """The FIFO's write end, once DuckDB has opened the read end."""
        while True:
            if self.stop.is_set():
                raise _Stopped()
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:        # no reader yet
                    raise
                self.stop.wait(0.002)
                continue
            with contextlib.suppress(ImportError, OSError, AttributeError):
                import fcntl  # Linux: a bigger pipe, fewer wake-ups
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            return fd

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.stop.is_set():
                raise _Stopped()
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                select.select([], [fd], [], 0.1)


@contextlib.contextmanager
def stream(path: Path, fields: int) -> Iterator[str]:
    """A FIFO's name that yields ``path``'s uncompressed bytes to the first reader, whose
    lines are at most ``fields × MAX_FIELD_BYTES`` long. On leaving, raises the line or read
    error the feeder met (also when the reader's statement failed because of it), or an error
    if the reader stopped before the end of the file."""
    folder = Path(tempfile.mkdtemp(prefix="catscan-feed-"))
    fifo = folder / "release"
    os.mkfifo(fifo, 0o600)
    feeder = _Feeder(path, fifo, fields)
    feeder.start()
    try:
        yield str(fifo)
    except BaseException:
        _finish(feeder)
        if feeder.error is not None:
            raise feeder.error from None
        raise
    else:
        _finish(feeder, wait=True)
        if feeder.error is not None:
            raise feeder.error
        if not feeder.complete:
            raise LoadError(str(path), "the reader stopped before the end of the file")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _finish(feeder: _Feeder, wait: bool = False) -> None:
    """Let the feeder end: it has, or is about to, when the reader read to the end of the
    file (``wait``); else stop it, also while it waits for a reader that never came."""
    if wait:
        feeder.join(timeout=10)
    if feeder.is_alive():
        feeder.stop.set()
        with contextlib.suppress(OSError):
            os.close(os.open(feeder.fifo, os.O_RDONLY | os.O_NONBLOCK))
        feeder.join()
