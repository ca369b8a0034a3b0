"""A real uvicorn server for the web tests, on a free loopback port in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import uvicorn

from catscan.web import create_app, uvicorn_options


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
