"""What to do with a successful response: parse it as JSON, or stream it into a file, reading
no more than the client's bounds allow (`ReadLimits`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Final, TypeVar

import aiohttp
from attrs import field, frozen, validators

from ._redact import redact
from ._wire import loads
from .errors import APITimeoutError, ResponseDecodeError, ResponseTooLargeError

R = TypeVar("R")
Reader = Callable[[aiohttp.ClientResponse], Awaitable[R]]
"""Reads a successful response into a result."""

MiB: Final = 2**20
GiB: Final = 2**30


@frozen(kw_only=True)
class ReadLimits:
    """How much of a response the client reads, and how slowly it lets it arrive.

    A JSON body longer than `max_json_bytes` (counted after decompression) is refused with
    ResponseTooLargeError before it is held, and so is one of more than `max_json_values`
    values (counted by their separators before parsing: `[{},{},...]` decodes to some thirty
    times its size in objects); an error body is cut at `max_error_bytes` (its start names
    the error). A downloaded file is read up to its announced length and its item's size,
    and never past `max_file_bytes` (ResponseTooLargeError). A body or file that arrives at
    fewer than `min_bytes_per_second`, averaged over each `slow_window` seconds, is given up
    with APITimeoutError, so a server that trickles cannot hold a call past its deadline;
    silence alone is bounded by the timeout's `sock_read`.
    """

    max_json_bytes: int = field(default=32 * MiB, validator=validators.gt(0))
    max_json_values: int = field(default=1_000_000, validator=validators.gt(0))
    max_error_bytes: int = field(default=64 * 1024, validator=validators.gt(0))
    max_file_bytes: int = field(default=256 * GiB, validator=validators.gt(0))
    min_bytes_per_second: float = field(default=1024.0, validator=validators.ge(0))
    slow_window: float = field(default=30.0, validator=validators.gt(0))


DEFAULT_READ_LIMITS: Final = ReadLimits()


async def stream(
    response: aiohttp.ClientResponse, limits: ReadLimits, *, max_bytes: int | None = None
) -> AsyncGenerator[bytes, None]:
    """The body's chunks as they arrive (decompressed, if the session decompresses), with
    ResponseTooLargeError once they pass `max_bytes` and APITimeoutError for a trickle."""
    if max_bytes is not None and (response.content_length or 0) > max_bytes:
        raise _too_large(response, max_bytes, f"Content-Length {response.content_length}")
    clock = asyncio.get_running_loop().time
    total = 0
    window_start, window_bytes = clock(), 0
    async for chunk in response.content.iter_any():
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise _too_large(response, max_bytes, f"more than {max_bytes} bytes")
        window_bytes += len(chunk)
        now = clock()
        if now - window_start >= limits.slow_window:
            if window_bytes < limits.min_bytes_per_second * (now - window_start):
                raise APITimeoutError(
                    f"the body arrived at {window_bytes / (now - window_start):.0f} bytes/s, "
                    f"below the floor of {limits.min_bytes_per_second:g} bytes/s",
                    method=response.method,
                    url=str(response.url),
                )
            window_start, window_bytes = now, 0
        yield chunk


def _too_large(response: aiohttp.ClientResponse, max_bytes: int, seen: str) -> Exception:
    return ResponseTooLargeError(
        f"the response body is larger than the client reads ({seen}; max_json_bytes={max_bytes})",
        status=response.status,
        url=str(response.url),
    )


async def read_error_text(response: aiohttp.ClientResponse, limits: ReadLimits) -> str:
    """The start of an error body as text, at most `max_error_bytes` of it."""
    kept = bytearray()
    async with contextlib.aclosing(stream(response, limits)) as chunks:  # closed, if left early
        async for chunk in chunks:
            kept += chunk[: limits.max_error_bytes - len(kept)]
            if len(kept) >= limits.max_error_bytes:
                break
    return kept.decode("utf-8", "replace")


async def read_json(
    response: aiohttp.ClientResponse, limits: ReadLimits = DEFAULT_READ_LIMITS
) -> Any:
    """The whole body as JSON, up to `limits.max_json_bytes`; ResponseDecodeError keeping the
    (redacted) text when it is not JSON."""
    raw = bytearray()
    async for chunk in stream(response, limits, max_bytes=limits.max_json_bytes):
        raw += chunk
    # An upper bound on the values (strings holding these bytes count too): one C pass each.
    values = raw.count(b",") + raw.count(b"{") + raw.count(b"[")
    if values > limits.max_json_values:
        raise ResponseTooLargeError(
            f"the response body holds more values than the client decodes ({values} separators; "
            f"max_json_values={limits.max_json_values})",
            status=response.status,
            url=str(response.url),
        )
    try:
        return loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ResponseDecodeError(
            "the response body is not JSON",
            text=redact(raw[: limits.max_error_bytes].decode("utf-8", "replace")),
            status=response.status,
            url=str(response.url),
        ) from exc
