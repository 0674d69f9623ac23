"""What to do with a successful response: parse it as JSON, or stream it into a file."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
import msgspec

from .errors import ResponseDecodeError

R = TypeVar("R")
Reader = Callable[[aiohttp.ClientResponse], Awaitable[R]]
"""Reads a successful response into a result."""

DOWNLOAD_CHUNK = 64 * 1024

# Values that may be secrets, in case a broken response body ends up in an exception.
_SECRET_VALUE = re.compile(
    r'("(?:access_token|refresh_token|token|client_secret)"\s*:\s*")[^"]*'
    r"|\beyJ[\w-]+\.[\w-]+(?:\.[\w-]*)?"
)


def redact(text: str) -> str:
    """`text` with token-like values and JWTs masked: safe for a message or a log."""
    return _SECRET_VALUE.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


_decoder: Final = msgspec.json.Decoder()


def loads(raw: bytes) -> Any:
    """JSON from bytes: msgspec's parse (about 1.4 times as fast as json's on a page of assets,
    integers of any size exact), and json's for what msgspec refuses (NaN, lone surrogates,
    UTF-16, a byte-order mark), so nothing a server sends decodes differently from the
    standard library."""
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(raw)


async def read_json(response: aiohttp.ClientResponse) -> Any:
    """The whole body as JSON, or ResponseDecodeError keeping the (redacted) text."""
    raw = await response.read()
    try:
        return loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ResponseDecodeError(
            "the response body is not JSON",
            text=redact(raw.decode("utf-8", "replace")),
            status=response.status,
            url=str(response.url),
        ) from exc


async def save_to(dest: Path, response: aiohttp.ClientResponse) -> int:
    """Stream the body to `dest` through a temporary name, so `dest` only ever appears whole."""
    partial_file = dest.with_name(dest.name + ".part")
    written = 0
    try:
        with partial_file.open("wb") as out:
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                out.write(chunk)
                written += len(chunk)
        partial_file.replace(dest)
    except BaseException:
        partial_file.unlink(missing_ok=True)
        raise
    return written
