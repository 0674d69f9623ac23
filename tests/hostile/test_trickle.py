"""Time, for bodies: a body or a file that trickles, or falls silent, is given up with
APITimeoutError by its deadline (ReadLimits' floor on the rate, the timeout's sock_read),
and the same client then works as before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cliquify_async import APITimeoutError, ReadLimits
from tests.conftest import serving
from tests.hostile.api import HostileAPI, hostile_client, lists_normally

SLOW = ReadLimits(min_bytes_per_second=1000, slow_window=0.3)
NO_TOTAL = aiohttp.ClientTimeout(total=None, sock_read=5)


async def trickle(request: web.Request) -> web.StreamResponse:
    """A body of a byte every 20 ms, for ever (the client must hang up)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"data": [')
    while True:
        await asyncio.sleep(0.02)
        await response.write(b" ")


async def silence(request: web.Request) -> web.StreamResponse:
    """The start of a body, then nothing until the client hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"data": [')
    for _ in range(600):
        if request.transport is None or request.transport.is_closing():
            break
        await asyncio.sleep(0.05)
    return response


async def test_a_trickling_body_is_given_up_at_the_rate_floor() -> None:
    api = HostileAPI(trickle)
    async with hostile_client(api, read_limits=SLOW, timeout=NO_TOTAL) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="below the floor of 1000 bytes/s"):
            await asyncio.wait_for(client.assets.list().collect(), 10)
        assert time.monotonic() - started < 5  # the floor, not sock_read (5 s), gave up

        await lists_normally(client)


async def test_a_body_that_falls_silent_is_given_up_at_sock_read() -> None:
    api = HostileAPI(silence)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=0.3)
    async with hostile_client(api, timeout=timeout) as client:
        with pytest.raises(APITimeoutError):
            await asyncio.wait_for(client.assets.list().collect(), 10)

        await lists_normally(client)


async def test_a_trickling_file_is_given_up_and_leaves_no_file(tmp_path: Path) -> None:
    app = web.Application()
    app.router.add_get("/files/slow.bin", trickle)
    api = HostileAPI()
    async with serving(app) as files, hostile_client(api, read_limits=SLOW) as client:
        with pytest.raises(APITimeoutError, match="below the floor"):
            await asyncio.wait_for(client.download(f"{files}/files/slow.bin", tmp_path / "f"), 10)

        assert not any(map(Path.exists, [tmp_path / "f", tmp_path / ".f.part"]))
        await lists_normally(client)
