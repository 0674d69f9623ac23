"""Answers whose body the sandbox writes itself: in chunks, paced, counted, and cut short on
request, so file downloads and faults behave on the wire as they would from a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from aiohttp import hdrs, web
from multidict import CIMultiDict

_CHUNK: Final = 64 * 1024  # the most bytes one write hands to the transport
_STEPS_PER_SECOND: Final = 20  # a paced body is written in chunks of 1/20 s worth, or less

Reader = Callable[[int, int], bytes]  # the body's bytes from start to stop


class BodyResponse(web.StreamResponse):
    """An answer with a ``length``-byte body that ``read`` produces a slice at a time.

    Handlers return it unprepared, so the middlewares can still change it (a fault can cut it
    short); the record middleware then calls `send` and records `sent`, the body bytes written.
    """

    def __init__(
        self,
        read: Reader,
        length: int,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: CIMultiDict[str] | dict[str, str] | None = None,
        rate: float | None = None,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        self._read = read
        self._length = length
        self._rate = rate  # bytes per second at most; None: as fast as the client reads
        self._cut = False
        self.sent = 0

    @classmethod
    def holding(cls, response: web.StreamResponse) -> BodyResponse:
        """``response``, an answer with an in-memory body, as a BodyResponse."""
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes | None):
            raise TypeError("only a response with an in-memory body can be cut off")
        body = response.body or b""
        headers = CIMultiDict(response.headers)
        headers.popall(hdrs.CONTENT_LENGTH, None)
        return cls(
            lambda start, stop: body[start:stop],
            len(body),
            status=response.status,
            reason=response.reason,
            headers=headers,
        )

    def cut_in_half(self, *, chunked: bool) -> None:
        """Send only the first half of the body, then close the connection; ``chunked``: with
        Transfer-Encoding: chunked rather than the full Content-Length."""
        self._cut = True
        if chunked:
            self.enable_chunked_encoding()

    async def send(self, request: web.BaseRequest) -> None:
        """Write the status line, the headers and the body, or half of it when cut short."""
        if not self.chunked:
            self.content_length = self._length
        length = 0 if request.method == hdrs.METH_HEAD else self._length
        try:
            await self.prepare(request)
            await self._write(length // 2 if self._cut else length)
        except ConnectionError:
            return  # the client hung up; aiohttp's write_eof() finds that out too
        if self._cut:
            hang_up(request)

    async def _write(self, stop: int) -> None:
        """Write the body up to ``stop``, no faster than the rate allows."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        rate = self._rate
        step = _CHUNK if rate is None else max(1, min(_CHUNK, int(rate / _STEPS_PER_SECOND)))
        while self.sent < stop:
            chunk = self._read(self.sent, min(self.sent + step, stop))
            if rate is not None:  # not before the rate has earned it: no burst at the start
                await asyncio.sleep(started + (self.sent + len(chunk)) / rate - loop.time())
            await self.write(chunk)
            self.sent += len(chunk)


def hang_up(request: web.BaseRequest) -> None:
    """Close the connection; data already written is flushed first."""
    if request.transport is not None:
        request.transport.close()
