"""State kept beside the database, brought up to date by what a write changed instead of
computed again from everything (docs/operations.md, "Kept up to date by what changed").

Some answers cost seconds to minutes from scratch at whole-sky scale while a night changes
a few dozen tiles: the sky area's footprint unions (catscan/operations/area.py) and the
all-sky coverage map (catscan/operations/livemap.py). Each keeps, under a name, the inputs
it was made from with what it made: in this process, and in ``<db>.kept/NAME.npz`` (plus
files it names in ``NAME.files/``, e.g. a FITS MOC) for the next process. The kept state
never decides what is current: its owner compares the inputs it holds with the database's
as they are now, and the difference is the work. So a write needs no hook, and a state that
is missing, corrupt, of an older format or from another database is only slower: it is made
again, never served.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
SUFFIX = ".kept"
FORMAT = 1                      # the layout of a kept file: another one is ignored


@dataclass
class Stored:
    """A kept state as read back: its arrays, and the paths of the files it names."""

    arrays: dict[str, np.ndarray]
    files: dict[str, Path]


_memory: dict[tuple[Path, str], Any] = {}
_lock = threading.Lock()


def folder(db: Path) -> Path:
    """``<db>.kept/``, next to the database."""
    return db.with_name(db.name + SUFFIX)


def recall(db: Path, name: str, decode: Callable[[Stored], T]) -> T | None:
    """The state kept under ``name``: this process's, else the file's turned into one by
    ``decode`` (which raises on anything it cannot use); None when there is none or it
    cannot be read (any error: the caller makes it again)."""
    with _lock:
        hit = _memory.get((db, name))
    if hit is not None:
        return hit
    try:
        value = decode(_read(db, name))
    except Exception:           # noqa: BLE001 (a bad kept file is made again, never an error)
        return None
    if value is not None:
        with _lock:
            _memory.setdefault((db, name), value)
    return value


def keep(db: Path, name: str, value: Any, arrays: dict[str, np.ndarray],
         files: dict[str, tuple[str, Callable[[Path], None]]] | None = None) -> None:
    """Keep ``value`` in this process and its ``arrays`` (and ``files``: key -> (suffix, a
    writer of the file at a path)) in ``<db>.kept/`` for the next one. Each file gets a new
    name and the npz naming them is renamed over the old one, so a reader sees the old state
    or the new, never a mix; then the older files go. Skipped where the folder cannot be
    written."""
    with _lock:
        _memory[(db, name)] = value
    where, attached = folder(db), _attached(db, name)
    token = f"{os.getpid()}-{threading.get_ident()}-{time.time_ns()}"
    written = {key: f"{token}.{key}{suffix}" for key, (suffix, _) in (files or {}).items()}
    scratch = where / f"{name}.{token}.tmp"
    try:
        attached.mkdir(parents=True, exist_ok=True)
        for key, (_, write) in (files or {}).items():
            write(attached / written[key])
        with open(scratch, "wb") as out:
            np.savez(out, **arrays, _format=np.array(FORMAT),
                     _files=np.array(json.dumps(written)))
        os.replace(scratch, where / f"{name}.npz")
    except OSError:
        scratch.unlink(missing_ok=True)
        for file in written.values():
            (attached / file).unlink(missing_ok=True)
        return
    for old in attached.iterdir():
        if old.name not in written.values():
            old.unlink(missing_ok=True)


def forget(prefix: str = "") -> None:
    """Drop the states kept in this process whose names start with ``prefix`` (the files
    stay)."""
    with _lock:
        for key in [k for k in _memory if k[1].startswith(prefix)]:
            del _memory[key]


def remove(db: Path) -> None:
    """Delete ``<db>.kept/`` (a test's or a bench's fresh start)."""
    shutil.rmtree(folder(db), ignore_errors=True)


def _read(db: Path, name: str) -> Stored:
    with np.load(folder(db) / f"{name}.npz") as data:
        if int(data["_format"]) != FORMAT:
            raise ValueError("another format")
        files = {key: _attached(db, name) / file
                 for key, file in json.loads(str(data["_files"])).items()}
        arrays = {key: data[key] for key in data.files if not key.startswith("_")}
    return Stored(arrays, files)


def _attached(db: Path, name: str) -> Path:
    """Where the files a kept state names live: ``<db>.kept/NAME.files/``."""
    return folder(db) / f"{name}.files"
