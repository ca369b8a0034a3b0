"""The PostgreSQL 15 + Q3C anchor of the benchmarks: install it, run a throwaway cluster.

``ensure_postgres()`` installs ``postgresql-15`` and its Q3C package with ``apt-get`` when
they are missing (Debian, as root). ``pg_cluster()`` runs ``initdb`` in a temporary
directory, starts the server listening on a Unix socket there only (no TCP), as the
``postgres`` user when we are root, and stops and deletes it afterwards, also after a failure.

Shared by ``bench/load.py`` (bulk loading) and ``bench/spatial.py`` (spatial queries).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PG_MAJOR = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
PG_PACKAGES = (f"postgresql-{PG_MAJOR}", f"postgresql-{PG_MAJOR}-q3c")
PG_USER = "postgres"
# A plain bulk-load setup: memory like catscan's 1 GB DuckDB limit, no WAL archiving.
BULK_SETTINGS = {
    "listen_addresses": "''",
    "shared_buffers": "1GB",
    "maintenance_work_mem": "1GB",
    "work_mem": "64MB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


def as_pg(cmd: list[str]) -> list[str]:
    """Run as the unprivileged PostgreSQL user when we are root (initdb refuses root)."""
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def is_installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package],
                          capture_output=True, text=True)
    return done.returncode == 0 and "install ok installed" in done.stdout


def q3c_package() -> str:
    """The Debian package with Q3C for our PostgreSQL major version."""
    wanted = f"postgresql-{PG_MAJOR}-q3c"
    found = subprocess.run(["apt-cache", "search", "q3c"], capture_output=True, text=True)
    names = [line.split(" - ")[0] for line in found.stdout.splitlines()]
    if wanted in names or not names:
        return wanted
    return next((n for n in names if n.startswith(f"postgresql-{PG_MAJOR}")), wanted)


def ensure_postgres() -> None:
    """apt-get install PostgreSQL 15 and Q3C when missing."""
    missing = [p for p in PG_PACKAGES if not is_installed(p)]
    if not missing:
        return
    print(f"installing {', '.join(missing)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    packages = [q3c_package() if p.endswith("-q3c") else p for p in missing]
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                   check=True, env=env, capture_output=True)


@dataclass
class Cluster:
    """A running throwaway PostgreSQL cluster, reachable on a Unix socket only."""
    socket_dir: Path

    def psql(self, sql: str, **kwargs) -> subprocess.CompletedProcess:
        cmd = as_pg([str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                     "-h", str(self.socket_dir), "-d", "postgres", "-c", sql])
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)

    def value(self, sql: str) -> str:
        return self.psql(sql).stdout.strip()

    @property
    def conninfo(self) -> str:
        """libpq connection string (for psycopg): the socket directory, trust auth."""
        return f"host={self.socket_dir} dbname=postgres user={PG_USER}"


@contextlib.contextmanager
def pg_cluster(settings: Mapping[str, str] = BULK_SETTINGS) -> Iterator[Cluster]:
    """initdb + start in a temp directory; stop and delete it afterwards, whatever happens."""
    root = Path(tempfile.mkdtemp(prefix="catscan-bench-pg-"))
    data = root / "data"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, PG_USER, PG_USER)
        subprocess.run(as_pg([str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER,
                              "-A", "trust", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)
        options = " ".join(f"-c {k}={v}" for k, v in settings.items())
        subprocess.run(as_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
                              str(root / "server.log"), "-w", "-o",
                              f"-k {root} {options}", "start"]),
                       check=True, capture_output=True)
        started = True
        yield Cluster(root)
    finally:
        if started:
            subprocess.run(as_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                  "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def seconds_of(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
