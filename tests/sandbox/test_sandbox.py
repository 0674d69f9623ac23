"""Sandbox lifecycle, options, records, and the public namespace."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

import cliquify_async.sandbox as sandbox_module
from cliquify_async.sandbox import RecordedRequest, Sandbox, SandboxConfig, SandboxStats
from tests.sandbox.sandbox_helpers import FakeClock, get, issue_token

MakeSandbox = Callable[..., Any]


def test_public_names_are_sorted_and_real() -> None:
    names = sandbox_module.__all__
    assert names == sorted(names)
    assert all(hasattr(sandbox_module, name) for name in names)


async def test_lifecycle(http: aiohttp.ClientSession) -> None:
    sb = Sandbox(assets=5)
    assert "unstarted" in repr(sb)
    with pytest.raises(RuntimeError, match="not started"):
        _ = sb.url
    assert await sb.start() is sb
    assert sb.url.startswith("http://127.0.0.1:")
    assert (await get(http, f"{sb.url}/api/tags"))[0] == 401
    with pytest.raises(RuntimeError, match="only once"):
        await sb.start()
    await sb.aclose()
    await sb.aclose()
    assert "closed" in repr(sb)
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, f"{sb.url}/api/tags")


@pytest.mark.parametrize("turns", range(6))
async def test_close_ends_a_connection_however_far_it_got(turns: int) -> None:
    # A new connection waits in the backlog, is accepted, gets a transport, then reaches the
    # aiohttp Server, each a turn of the loop apart. asyncio's own server, closed between the
    # accept and the transport, left the socket open with no owner (CPython gh-109564), which
    # warnings-as-errors test suites then failed on. Closed at any turn, the connection ends.
    loop = asyncio.get_running_loop()
    sb = await Sandbox(assets=1).start()
    host, port = sb.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:  # loopback: at once
        client.setblocking(False)
        for _ in range(turns):
            await asyncio.sleep(0)
        await sb.aclose()
        try:
            received = await asyncio.wait_for(loop.sock_recv(client, 1), timeout=2)
        except ConnectionResetError:
            received = b""
    assert received == b""


async def test_context_manager_and_repr_hide_the_secret() -> None:
    async with Sandbox(client_secret="s3cr3t-value") as sb:
        assert sb.client_secret == "s3cr3t-value"
        assert "s3cr3t-value" not in repr(sb)
        assert "s3cr3t-value" not in repr(sb.config)
        assert sb.url in repr(sb)
    assert "closed" in repr(sb)


def test_options_from_a_config_with_overrides() -> None:
    base = SandboxConfig(assets=3, rate_limit=10)
    sb = Sandbox(base, rate_limit=None)
    assert (sb.config.assets, sb.config.rate_limit) == (3, None)
    assert Sandbox().config == SandboxConfig()
    assert Sandbox().client_id == "sandbox-client"


@pytest.mark.parametrize(
    "options",
    [
        {"pagination": "pages"},
        {"pagination": {"/api/nope": "flat"}},
        {"pagination": {"/api/assets": "pages"}},
        {"assets": -1},
        {"rate_limit": 0},
        {"rate_window": 0},
        {"token_shape": "jwt"},
        {"retry_after_precision": "ms"},
        {"port": 70_000},
        {"file_latency": -1},
        {"file_bandwidth": 0},
        {"asset_file_size": -1},
        {"asset_checksum": "crc32"},
    ],
)
def test_invalid_options(options: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        SandboxConfig(**options)


def test_unknown_option() -> None:
    with pytest.raises(TypeError):
        Sandbox(asets=3)


async def test_records(make_sandbox: MakeSandbox, http: aiohttp.ClientSession) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=None)
    token = await issue_token(http, sb)
    await get(http, f"{sb.url}/api/assets", token, per_page=5, folder_id=2)
    await get(http, f"{sb.url}/api/tags")
    token_request, listing, anonymous = sb.stats.requests
    assert (token_request.method, token_request.path, token_request.status) == (
        "POST",
        "/oauth/access-token",
        200,
    )
    assert token_request.token is None
    assert listing == RecordedRequest(
        method="GET",
        path="/api/assets",
        query={"per_page": "5", "folder_id": "2"},
        remote="127.0.0.1",
        status=200,
        time=listing.time,
        has_authorization=True,
        token=token,
        fault=None,
        throttled=False,
        body_bytes=listing.body_bytes,
        file_headers={},
    )
    assert listing.body_bytes > 0  # the JSON page
    assert token not in repr(listing)
    assert (anonymous.status, anonymous.has_authorization, anonymous.token) == (401, False, None)
    assert anonymous.body_bytes == 0  # error answers count no payload
    assert sb.stats.count("/api/") == 2
    assert sb.stats.count("/api/", status=401) == 1
    assert sb.stats.count() == 3
    assert sb.stats.token_requests == 1
    sb.stats.reset()
    assert sb.stats.requests == []


def test_max_in_window_slides() -> None:
    stats = SandboxStats(window=1.0)

    def record(at: float, path: str = "/api/assets", throttled: bool = False) -> None:
        stats.record(
            RecordedRequest(
                method="GET",
                path=path,
                query={},
                remote=None,
                status=429 if throttled else 200,
                time=at,
                has_authorization=True,
                token=None,
                fault=None,
                throttled=throttled,
            )
        )

    assert stats.max_in_window() == 0
    for at in (0.0, 0.5, 0.9, 1.0, 1.4, 1.45):
        record(at)
    record(1.2, throttled=True)  # rejected requests are not "let through"
    record(1.3, path="/oauth/access-token")  # nor are token requests counted
    assert stats.max_in_window() == 5  # 0.5, 0.9, 1.0, 1.4 and 1.45 fall within [0.5, 1.5)
    assert stats.max_in_window(0.1) == 2
    assert stats.max_in_window(path_prefix="/oauth/") == 1
    assert stats.rate_limited == 1


async def test_clock_is_injected(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(clock=clock)
    await get(http, f"{sb.url}/api/tags")
    clock.advance(5)
    await get(http, f"{sb.url}/api/tags")
    assert [r.time for r in sb.stats.requests] == [1_000.0, 1_005.0]
