"""Crash safety (design notes §6): a `catscan load` killed with SIGKILL at any point leaves a
database that opens and holds whole files only, and a later load of the same file completes.
While a load runs, a second process is told the database is busy (exit 1, no traceback).

The loader runs as a real subprocess and is watched from outside, without hooks in catscan:
it holds the database's write lock (``/proc/locks``), it has the input file open
(``/proc/PID/fd``), it has printed its report on the file (done only after the file's
transaction committed). Kills are placed relative to those phases, so the test does not
depend on how fast the machine is.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import catscan
from catscan.errors import DatabaseBusy
from catscan.survey.synthetic_psc import synthetic_psc

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (sys.platform.startswith("linux") and Path("/proc/locks").exists()),
                       reason="watches the loader through Linux /proc"),
]

A_ROWS, A_FIRST_KEY = 3_000, 1
B_ROWS, B_FIRST_KEY = 300_000, 10_000_001   # B's pts_key range lies far above A's
COMPARED = ["pts_key", "ra", "dec", "designation", "j_m", "ph_qual"]
POLL = 0.005          # seconds between two looks at the loader
SETTLE = 0.2          # the input counts as read once closed this long after being open
TIMEOUT = 180.0       # seconds any one phase or command may take before the test gives up


@functools.cache
def _rows(n: int, seed: int, first_key: int) -> pa.Table:
    return synthetic_psc(n, seed=seed, first_key=first_key)


@dataclass(frozen=True)
class ReleaseFile:
    """A release file on disk and the rows written into it (what the database must hold)."""
    name: str
    path: Path
    rows: pa.Table

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @functools.cached_property
    def keys(self) -> np.ndarray:
        return np.sort(self.rows["pts_key"].to_numpy())


@pytest.fixture
def file_a(write_release) -> ReleaseFile:
    path = write_release("psc", _rows(A_ROWS, 1, A_FIRST_KEY), "a.psc")
    return ReleaseFile("A", path.resolve(), _rows(A_ROWS, 1, A_FIRST_KEY))


@pytest.fixture
def file_b(write_release) -> ReleaseFile:
    path = write_release("psc", _rows(B_ROWS, 2, B_FIRST_KEY), "b.psc")
    return ReleaseFile("B", path.resolve(), _rows(B_ROWS, 2, B_FIRST_KEY))


def catscan_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "catscan.cli", *args]


def run_catscan(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"}
    return subprocess.run(catscan_command(*args), capture_output=True, text=True, env=env,
                          timeout=TIMEOUT)


def copy_database(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


@dataclass
class Loader:
    """A running `catscan load psc FILE --db DB` and the phases it has been seen to reach:
    locked (holds the write lock), reading (has the input open), read (input closed again:
    checking and writing), reported (printed its report: the file's rows are committed)."""
    process: subprocess.Popen
    db: Path
    source: Path
    stdout: Path
    stderr: Path
    reached: dict[str, float] = field(default_factory=dict)
    _closed_since: float | None = None

    def _holds_lock(self) -> bool:
        st = os.stat(self.db)
        device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks") as locks:
            for line in locks:
                fields = line.split()   # 1: POSIX ADVISORY WRITE <pid> <maj:min:inode> ...
                if fields[1] != "->" and fields[4] == str(self.process.pid) \
                        and fields[5] == device:
                    return True
        return False

    def _has_input_open(self) -> bool:
        fds = Path(f"/proc/{self.process.pid}/fd")
        try:
            entries = list(fds.iterdir())
        except OSError:
            return False
        for entry in entries:
            try:
                if os.readlink(entry) == str(self.source):
                    return True
            except OSError:   # closed while we looked
                continue
        return False

    def _has_reported(self) -> bool:
        return str(self.source) in self.stdout.read_text()

    def look(self) -> None:
        """Look at the loader once and record the phases newly reached."""
        now = time.monotonic()
        if "locked" not in self.reached and self._holds_lock():
            self.reached["locked"] = now
        if "locked" in self.reached and "read" not in self.reached:
            if self._has_input_open():
                self.reached.setdefault("reading", now)
                self._closed_since = None
            elif "reading" in self.reached:
                self._closed_since = self._closed_since or now
                if now - self._closed_since >= SETTLE:
                    self.reached["read"] = self._closed_since
        if "reported" not in self.reached and self._has_reported():
            self.reached.setdefault("read", now)
            self.reached["reported"] = now

    def wait_for(self, phase: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while phase not in self.reached:
            running = self.process.poll() is None
            self.look()
            if phase in self.reached:
                break
            assert running, (f"the loader ended (exit {self.process.returncode}) before phase "
                             f"{phase!r}; phases seen: {sorted(self.reached)}; "
                             f"stderr: {self.stderr.read_text()}")
            assert time.monotonic() < deadline, f"the loader never reached phase {phase!r}"
            time.sleep(POLL)

    def wait_for_exit(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while self.process.poll() is None:
            self.look()
            assert time.monotonic() < deadline, "the loader did not finish"
            time.sleep(POLL)
        self.reached["exited"] = time.monotonic()
        return self.process.returncode

    def kill(self) -> bool:
        """SIGKILL the loader; True if it was still running (i.e. really interrupted)."""
        running = self.process.poll() is None
        self.process.kill()
        self.process.wait(timeout=TIMEOUT)
        return running


@contextmanager
def loading(db: Path, source: ReleaseFile, logs: Path) -> Iterator[Loader]:
    """Start `catscan load psc SOURCE --db DB`; the process is killed on the way out."""
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / "stdout.txt", logs / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if k != "CATSCAN_DB"}
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(
            catscan_command("load", "psc", str(source.path), "--db", str(db)),
            stdout=out, stderr=err, env=env)
    try:
        yield Loader(process, db, source.path, stdout, stderr)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT)


def files_held(db: Path, files: list[ReleaseFile], when: str) -> set[str]:
    """Check that the database opens and holds whole files only; return their names.

    Every ``loads`` row with status 'loaded' names one of ``files`` (same path and sha256),
    with that file's row count and exactly that file's pts_keys in psc; psc holds no other
    rows; and psc's content equals the rows written into those files.
    """
    by_path = {str(f.path): f for f in files}
    con = catscan.connect(db)      # must open after any crash, read-only (WAL replayed)
    try:
        loads = con.execute("SELECT load_id, path, sha256, rows_accepted FROM loads "
                            "WHERE status = 'loaded' ORDER BY load_id").fetchall()
        held: list[ReleaseFile] = []
        for load_id, path, sha256, rows_accepted in loads:
            assert path in by_path, f"{when}: load {load_id} names an unknown file {path}"
            loaded = by_path[path]
            assert sha256 == loaded.sha256, f"{when}: load {load_id} has a wrong sha256"
            assert rows_accepted == loaded.rows.num_rows, \
                f"{when}: load {load_id} of {loaded.name} claims {rows_accepted} rows"
            keys = con.execute("SELECT pts_key FROM psc WHERE load_id = ? ORDER BY pts_key",
                               [load_id]).fetchnumpy()["pts_key"]
            assert np.array_equal(keys, loaded.keys), (
                f"{when}: psc holds {len(keys)} rows of load {load_id} ({loaded.name}); "
                f"the file has {loaded.rows.num_rows}")
            held.append(loaded)
        names = [f.name for f in held]
        assert len(names) == len(set(names)), f"{when}: a file is loaded twice: {names}"
        actual = con.sql(f"SELECT {', '.join(COMPARED)} FROM psc "
                         "ORDER BY pts_key").to_arrow_table()
    finally:
        con.close()
    parts = [f.rows.select(COMPARED) for f in held] or [files[0].rows.select(COMPARED)[:0]]
    expected = pa.concat_tables(parts).sort_by("pts_key")
    assert actual.num_rows == expected.num_rows, (
        f"{when}: psc holds {actual.num_rows} rows; the files of its 'loaded' loads "
        f"({', '.join(names) or 'none'}) hold {expected.num_rows}")
    assert actual.equals(expected), f"{when}: psc rows differ from the rows of {names}"
    return set(names)


@dataclass(frozen=True)
class KillPoint:
    """Kill the loader ``fraction`` of the way through the stretch after ``phase`` (as long
    as it took in a full load); ``holds`` is the only correct outcome, if there is only one."""
    phase: str
    fraction: float
    what: str
    holds: frozenset[str] | None = None


ONLY_A, A_AND_B = frozenset({"A"}), frozenset({"A", "B"})
KILL_POINTS = [
    KillPoint("reading", 0.0, "while it reads B (before anything of B is written)", ONLY_A),
    KillPoint("read", 0.5, "halfway from reading B to reporting it (checking, writing)"),
    KillPoint("read", 0.9, "just before it reports B (writing, committing)"),
    KillPoint("reported", 0.0, "just after it reported B loaded (sorting psc)", A_AND_B),
    KillPoint("reported", 0.6, "after it reported B, before it ends (sorting, checkpoint)",
              A_AND_B),
]


def test_a_load_killed_at_any_point_leaves_a_database_of_whole_files(tmp_path, file_a, file_b):
    """A database holding file A; `catscan load psc B` is SIGKILLed at points from reading B
    to the end of the command. After each kill the database opens and holds the rows of A,
    or of A and B, whole; loading B again then completes and leaves A and B."""
    base = tmp_path / "base.duckdb"
    assert run_catscan("init", "--db", str(base)).returncode == 0
    first = run_catscan("load", "psc", str(file_a.path), "--db", str(base))
    assert first.returncode == 0, first.stderr
    assert files_held(base, [file_a, file_b], "after loading A") == ONLY_A

    # Calibrate: how long each stretch of a full load of B takes on this machine.
    calibration = copy_database(base, tmp_path / "calibration.duckdb")
    with loading(calibration, file_b, tmp_path / "calibration") as full:
        assert full.wait_for_exit() == 0, full.stderr.read_text()
    assert files_held(calibration, [file_a, file_b], "after a full load of B") == A_AND_B
    stretch = {"reading": 0.0,
               "read": full.reached["reported"] - full.reached["read"],
               "reported": full.reached["exited"] - full.reached["reported"]}

    for number, point in enumerate(KILL_POINTS):
        when = f"killed {point.what}"
        db = copy_database(base, tmp_path / f"kill{number}.duckdb")
        with loading(db, file_b, tmp_path / f"kill{number}") as loader:
            loader.wait_for(point.phase)
            time.sleep(point.fraction * stretch[point.phase])
            interrupted = loader.kill()
        if point.fraction == 0.0:
            assert interrupted, f"{when}: the loader had already ended"
        held = files_held(db, [file_a, file_b], when)
        assert held in (ONLY_A, A_AND_B), f"{when}: the database holds {sorted(held)}"
        if point.holds is not None:
            assert held == point.holds, f"{when}: expected {sorted(point.holds)}, " \
                                        f"found {sorted(held)}"

        again = run_catscan("load", "psc", str(file_b.path), "--db", str(db))
        assert again.returncode == 0, f"{when}, then loading B again failed: {again.stderr}"
        assert files_held(db, [file_a, file_b], f"{when}, then loaded again") == A_AND_B


def test_a_second_process_is_told_the_database_is_busy_while_a_load_runs(tmp_path, file_b):
    """While `catscan load` holds the database, `catscan info` exits 1 with catscan's one-line
    "database busy" message (no traceback), and catscan.connect raises DatabaseBusy; the load
    is not disturbed, and once it has ended, info works."""
    db = tmp_path / "busy.duckdb"
    assert run_catscan("init", "--db", str(db)).returncode == 0
    with loading(db, file_b, tmp_path / "loader") as loader:
        loader.wait_for("locked")
        info = run_catscan("info", "--db", str(db))
        with pytest.raises(DatabaseBusy, match="database busy"):
            catscan.connect(db).close()
        assert loader.process.poll() is None, "the load ended before the checks were done"
        assert loader.wait_for_exit() == 0, loader.stderr.read_text()

    assert info.returncode == 1, info.stdout + info.stderr
    assert "database busy" in info.stderr
    assert "Traceback" not in info.stderr
    assert info.stderr.strip().count("\n") == 0, "expected one line"
    assert files_held(db, [file_b], "after the load") == {"B"}
    after = run_catscan("info", "--db", str(db))
    assert after.returncode == 0, after.stderr
