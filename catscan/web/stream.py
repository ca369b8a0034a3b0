"""Answers written and sent a piece at a time, inside the request's time.

The pieces come from a generator (catscan.results.encode_chunks, the TAP encoders) that
writes a chunk of rows per step and checks the request's budget between chunks; each step
runs in a thread outside the query sessions (SessionPool.encode). The first 256 KiB are
written before the status line, so that an error in writing is still a clean error
response, and a small answer goes out whole with its Content-Length. A bigger one is sent
chunked as it is written; when the request's time runs out or its client goes away, the
writing stops: a VOTable then ends with QUERY_STATUS ERROR after its rows (DALI), other
formats end with the connection closed before the end of the chunked body, which every
HTTP client reports as an incomplete answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ..budget import current
from ..errors import CatscanError

log = logging.getLogger("catscan.web")
PIECE_BYTES = 256 * 1024
SMALL_VALUES = 4_000     # values (rows x columns) of an answer begun where its query ran


@dataclass
class Begun:
    """An answer whose first piece was written in its query's thread (:func:`begin`)."""

    first: bytes
    ended: bool
    pieces: Iterator[bytes]


def begin(pieces: Iterator[bytes], values: int) -> Iterator[bytes] | Begun:
    """Called in the query's thread: a small answer (at most SMALL_VALUES values, well
    under a millisecond to write) is written there, which spares the request a second
    hand-off to a thread (a cone's answer is a few rows); a bigger one is left to
    :func:`stream`, outside the session, so that writing it keeps no query waiting."""
    if values > SMALL_VALUES:
        return pieces
    try:
        first, ended = _take(pieces)
    except BaseException:
        pieces.close()
        raise
    return Begun(first, ended, pieces)


def _take(pieces: Iterator[bytes], size: int = PIECE_BYTES) -> tuple[bytes, bool]:
    """At least ``size`` bytes of the next pieces (fewer at the end): (bytes, ended)."""
    out: list[bytes] = []
    taken = 0
    for piece in pieces:
        out.append(piece)
        taken += len(piece)
        if taken >= size:
            return b"".join(out), False
    return b"".join(out), True


async def stream(request: Request, pieces: Iterator[bytes] | Begun, media_type: str,
                 headers: dict[str, str] | None = None) -> Response:
    """The response for an answer written by ``pieces`` (or :func:`begin` of them); errors
    in writing its first piece are raised here."""
    pool = getattr(request.state, "pool", None) or request.app.state.pool
    if isinstance(pieces, Begun):
        first, ended, pieces = pieces.first, pieces.ended, pieces.pieces
    else:
        try:
            first, ended = await pool.encode(lambda: _take(pieces))
        except BaseException:
            pieces.close()
            raise
    if ended:
        return Response(first, media_type=media_type, headers=headers)
    return Streamed(first, pieces, pool, media_type, headers, request.app.state.limits.slack_s)


class Streamed(Response):
    """A chunked response whose body the pool's encoders write as it is sent."""

    def __init__(self, first: bytes, pieces: Iterator[bytes], pool, media_type: str,
                 headers: dict[str, str] | None, slack: float) -> None:
        self.status_code, self.media_type, self.background = 200, media_type, None
        self.first, self.pieces, self.pool, self.slack = first, pieces, pool, slack
        self.init_headers(headers)              # no body: no Content-Length, chunked

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        piece, ended = self.first, False
        try:
            while True:
                if not await self._send(send, piece, self.slack):
                    return
                if ended:
                    break
                try:
                    piece, ended = await self.pool.encode(lambda: _take(self.pieces))
                except CatscanError as exc:      # out of time, client gone, a bad value
                    log.warning("%s %s: answer stopped after it began: %s", scope["method"],
                                scope["path"], exc)
                    return                        # unfinished: the connection is closed
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.pieces.close()

    @staticmethod
    async def _send(send, piece: bytes, slack: float) -> bool:
        """Send a piece within the request's time (and ``slack`` seconds for the end of an
        answer stopped at the deadline): whether it went."""
        budget = current()
        left = budget.remaining() if budget is not None else None
        with anyio.move_on_after(None if left is None else left + slack) as late:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if late.cancelled_caught:
            log.warning("the client did not read the answer within the request's time")
        return not late.cancelled_caught
