"""A real uvicorn server for the web tests, on a free loopback port in a thread."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import uvicorn

from catscan.web import create_app, uvicorn_options


def copy_with_password(source: Path, directory: Path, password: str) -> Path:
    """A copy of the database ``source`` in ``directory`` with the team password set."""
    from catscan.db import connect
    from catscan.web.access import set_password

    path = Path(directory) / "catscan.duckdb"
    shutil.copy(source, path)
    con = connect(path, read_only=False)
    try:
        set_password(con, password)
    finally:
        con.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(db, behind_proxy: str | None = None, **options):
    """``catscan serve --db DB [--behind-proxy ADDRESSES]`` with create_app's options."""
    with running_app(create_app(db, **options), behind_proxy) as url:
        yield url


@contextlib.contextmanager
def running_app(app, behind_proxy: str | None = None):
    """``app`` (an ASGI app, e.g. create_app's with a route added) served by uvicorn."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, **uvicorn_options(behind_proxy))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serve_process(db, *args: str, log=None):
    """``catscan serve --db DB`` as a process of its own (write channel included): yields
    (process, base URL) once it answers; stopped with SIGTERM (SIGKILL if it hangs)."""
    import os
    import sys

    import httpx

    from catscan.channel import live_server

    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "catscan.cli", "serve", "--db", str(db), "--port", str(port),
         *args], stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"catscan serve exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("catscan serve did not start")
            try:
                if live_server(db) is not None and httpx.get(url + "/", timeout=2).status_code:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield process, url
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server process as an operator would (SIGTERM), killing it if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
