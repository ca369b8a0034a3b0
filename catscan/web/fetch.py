"""TAP uploads by URL (TAPRegExt ``upload-http``, ``upload-https``: ``UPLOAD=name,URL``):
the server fetches the table itself, within the upload's byte limit and the request's time.

A server that fetches URLs can be made to read what only it can reach, so a visitor's
request (the public service of released nights) may not fetch from loopback, private,
link-local or otherwise non-global addresses, redirects included; the team may (a table
on the team's own network). The server's own URLs are allowed to everyone (the examples'
upload, ``/tap/examples/targets.xml``): they hold nothing a visitor cannot read anyway.
Only http and https are fetched, without proxies from the environment and without
credentials."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import anyio.to_thread

from ..errors import CatscanError

SCHEMES = ("http", "https")
MAX_TIMEOUT_S = 20.0


class FetchError(CatscanError):
    """A URL the server will not or could not fetch; ``status`` for the HTTP answer."""

    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


def is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme.lower() in SCHEMES


def _checker(private_ok: bool, own_base: str) -> Callable[[str], None]:
    def check(url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            raise FetchError(f"{url}: only http and https URLs are fetched")
        if private_ok or url.startswith(own_base):
            return
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise FetchError(f"{url}: cannot resolve {parts.hostname}: {exc}") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise FetchError(f"{url}: {parts.hostname} is a private address "
                                 f"({address}); the public service fetches public URLs only")
    return check


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the same rules allow."""

    def __init__(self, check: Callable[[str], None]):
        self.check = check

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, max_bytes: int, timeout: float, *, private_ok: bool,
          own_base: str) -> bytes:
    """The bytes at ``url`` (at most ``max_bytes``: more is a 413 FetchError)."""
    check = _checker(private_ok, own_base)
    check(url)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _Redirects(check))
    request = urllib.request.Request(url, headers={"User-Agent": "catscan-tap-upload"})
    try:
        with opener.open(request, timeout=min(timeout, MAX_TIMEOUT_S)) as answer:
            data = answer.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: cannot fetch it: {reason}") from None
    if len(data) > max_bytes:
        raise FetchError(f"{url} holds more than this service's limit of {max_bytes:,} bytes "
                         "for an upload (max_upload_bytes)", 413)
    return data


async def fetch_async(url: str, max_bytes: int, timeout: float, *, private_ok: bool,
                      own_base: str) -> bytes:
    """:func:`fetch` in a worker thread (name resolution and reading block)."""
    return await anyio.to_thread.run_sync(
        lambda: fetch(url, max_bytes, timeout, private_ok=private_ok, own_base=own_base))
