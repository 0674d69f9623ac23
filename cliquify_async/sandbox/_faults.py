"""Fault injection: what can go wrong on the wire, a FIFO plan of it, and acting it out.

Note for client tests: aiohttp's ClientSession silently retries an idempotent request once
when the server disconnects, so a ``Fault.reset()`` on a GET needs ``times=2`` to surface.
"""

from __future__ import annotations

import asyncio
import enum
import json
import random
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import attrs
from aiohttp import hdrs, web

from ._body import BodyResponse, hang_up

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SERVER_ERROR: Final = b'{"message": "Server Error"}'
_NGINX_PAGE: Final = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class FaultKind(enum.Enum):
    """How a fault acts: a canned answer, a broken connection, or a bent normal answer."""

    RESPOND = "respond"  # send the fault's own status, headers and payload
    RESET = "reset"  # close the connection before any response
    RESET_MID_BODY = "reset_mid_body"  # real response, Content-Length, half the body, close
    TRUNCATED = "truncated"  # real response, chunked, half the body, close before last chunk
    SLOW = "slow"  # real response after ``delay`` seconds
    WRONG_CONTENT_TYPE = "wrong_content_type"  # real response labelled text/plain


@attrs.frozen(kw_only=True)
class Fault:
    """One injected failure; build it with the class methods, e.g. ``Fault.status(503)``."""

    kind: FaultKind
    code: int = 200
    payload: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0

    @classmethod
    def status(
        cls,
        code: int,
        *,
        body: Any = None,
        retry_after: float | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer ``code``; ``body`` is JSON-encoded unless str/bytes (default: Server Error)."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra[hdrs.RETRY_AFTER] = f"{retry_after:g}"
        if body is None:
            payload = _SERVER_ERROR
        elif isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()
        return cls(
            kind=FaultKind.RESPOND,
            code=code,
            payload=payload,
            content_type=content_type,
            headers=tuple(extra.items()),
        )

    @classmethod
    def html(cls, code: int) -> Fault:
        """An nginx-style HTML error page, as a proxy sends on 502/503/504."""
        title = f"{code} {HTTPStatus(code).phrase}"
        return cls.status(code, body=_NGINX_PAGE.format(title), content_type="text/html")

    @classmethod
    def body(cls, value: Any, status: int = 200) -> Fault:
        """An arbitrary JSON body, e.g. ``data`` that is not a list or a foreign next-page URL."""
        return cls.status(status, body=json.dumps(value))

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 application/json whose body is not valid JSON."""
        return cls.status(200, body='{"data": [')

    @classmethod
    def empty_body(cls) -> Fault:
        """200 application/json with an empty body."""
        return cls.status(200, body=b"")

    @classmethod
    def unauthorized(cls) -> Fault:
        """401 Unauthenticated, whatever the token."""
        return cls.status(401, body={"message": "Unauthenticated."})

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection before sending anything."""
        return cls(kind=FaultKind.RESET)

    @classmethod
    def reset_mid_body(cls) -> Fault:
        """Send the real headers with its Content-Length, half the body, then close."""
        return cls(kind=FaultKind.RESET_MID_BODY)

    @classmethod
    def truncated(cls) -> Fault:
        """Send the real response chunked and close halfway through the body."""
        return cls(kind=FaultKind.TRUNCATED)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Delay the real response by ``seconds``."""
        return cls(kind=FaultKind.SLOW, delay=seconds)

    @classmethod
    def wrong_content_type(cls) -> Fault:
        """The real response, labelled ``text/plain``."""
        return cls(kind=FaultKind.WRONG_CONTENT_TYPE)


@attrs.define
class _Planned:
    fault: Fault
    path: str | None
    remaining: int


@attrs.frozen
class _Chaos:
    faults: tuple[Fault, ...]
    probability: float
    path: str | None
    rng: random.Random = attrs.field(eq=False)


class FaultPlan:
    """Faults queued for the next matching requests, consumed first in, first out, and an
    optional chaos mode that faults a random share of the requests the queue leaves alone.

    Locked, so a test on one thread can plan faults while the server on another takes them
    (the pytest plugin serves the sandbox from a thread of its own).
    """

    def __init__(self) -> None:
        self._queue: list[_Planned] = []
        self._chaos: _Chaos | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<FaultPlan pending={len(self)}>"

    def __len__(self) -> int:
        """How many requests will still be faulted."""
        with self._lock:
            return sum(planned.remaining for planned in self._queue)

    def add(self, fault: Fault, *, path: str | None = None, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path starts with ``path``."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._queue.append(_Planned(fault, path, times))

    def chaos(
        self,
        faults: Sequence[Fault],
        *,
        probability: float,
        path: str | None = None,
        seed: int = 0,
    ) -> None:
        """Answer a random ``probability`` share of requests (under ``path``) with one of
        ``faults``, chosen by a generator seeded with ``seed``; ``probability=0`` stops it."""
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be between 0 and 1, got {probability}")
        if probability and not faults:
            raise ValueError("chaos needs at least one fault")
        chaos = (
            _Chaos(tuple(faults), probability, path, random.Random(seed)) if probability else None
        )
        with self._lock:
            self._chaos = chaos

    def clear(self) -> None:
        """Forget queued faults and stop chaos."""
        with self._lock:
            self._queue.clear()
            self._chaos = None

    def take(self, path: str) -> Fault | None:
        """The fault for a request to ``path``, consuming one use of it, if any is planned."""
        with self._lock:
            for planned in self._queue:
                if planned.path is None or path.startswith(planned.path):
                    planned.remaining -= 1
                    if not planned.remaining:
                        self._queue.remove(planned)
                    return planned.fault
            chaos = self._chaos
            if chaos is None or (chaos.path is not None and not path.startswith(chaos.path)):
                return None
            if chaos.rng.random() < chaos.probability:
                return chaos.rng.choice(chaos.faults)
            return None


async def perform(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer ``request`` as ``fault`` says, calling ``handler`` for the real response if needed."""
    if fault.kind is FaultKind.RESPOND:
        canned = web.Response(status=fault.code, body=fault.payload, headers=dict(fault.headers))
        canned.content_type = fault.content_type
        return canned
    if fault.kind is FaultKind.RESET:
        hang_up(request)
        return web.Response()  # never delivered: aiohttp drops it on the closed transport
    if fault.kind is FaultKind.SLOW:
        await asyncio.sleep(fault.delay)
        return await handler(request)
    response = await handler(request)
    if fault.kind is FaultKind.WRONG_CONTENT_TYPE:
        response.content_type = "text/plain"
        return response
    # cut short: whoever sends the body (the record middleware) stops halfway and hangs up
    body = response if isinstance(response, BodyResponse) else BodyResponse.holding(response)
    body.cut_in_half(chunked=fault.kind is FaultKind.TRUNCATED)
    return body
