"""The fixed-window rate limiter: limit, headers, 429, reset, and what counts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from sandbox_helpers import FakeClock, get, issue_token

from cliquify_async.sandbox import Sandbox
from cliquify_async.sandbox._throttle import FixedWindowThrottle

MakeSandbox = Callable[..., Any]


def test_window_opens_at_first_hit_and_ignores_rejections(clock: FakeClock) -> None:
    throttle = FixedWindowThrottle(limit=2, window=10.0, clock=clock)
    clock.advance(3)  # no wall-clock alignment: the window opens now
    assert [throttle.hit("a").remaining for _ in range(2)] == [1, 0]
    rejected = throttle.hit("a")
    assert (rejected.allowed, rejected.remaining, rejected.retry_after) == (False, 0, 10.0)
    assert throttle.hit("b").allowed  # per key
    clock.advance(9.999)
    assert not throttle.hit("a").allowed
    clock.advance(0.001)
    assert throttle.hit("a").remaining == 1


def test_retry_after_formats(clock: FakeClock) -> None:
    throttle = FixedWindowThrottle(limit=1, window=0.2, clock=clock)
    throttle.hit("a")
    clock.advance(0.05)
    verdict = throttle.hit("a")
    assert verdict.headers("float")["Retry-After"] == "0.150"
    headers = verdict.headers("seconds")
    assert headers["Retry-After"] == "1"  # whole seconds, at least one
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("1", "0")
    assert abs(int(headers["X-RateLimit-Reset"]) - time.time()) <= 2


async def test_limit_429_and_reset_over_http(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(
        rate_limit=5, rate_window=0.3, retry_after_precision="float", pagination="data"
    )
    token = await issue_token(http, sb)
    url = f"{sb.url}/api/tags"
    remaining = []
    for _ in range(5):
        status, _, headers = await get(http, url, token)
        assert (status, headers["X-RateLimit-Limit"]) == (200, "5")
        remaining.append(headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    status, body, headers = await get(http, url, token)
    assert (status, body) == (429, {"message": "Too Many Attempts."})
    assert headers["X-RateLimit-Remaining"] == "0"
    retry_after = float(headers["Retry-After"])
    assert 0 < retry_after <= 0.3
    assert "X-RateLimit-Reset" in headers
    await get(http, url, token)  # a second rejection does not extend the window
    await asyncio.sleep(retry_after + 0.01)
    status, _, headers = await get(http, url, token)
    assert (status, headers["X-RateLimit-Remaining"]) == (200, "4")
    assert sb.stats.rate_limited == 2
    assert sb.stats.max_in_window(0.3) <= 5


async def test_what_counts(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=3, clock=clock)
    token = await issue_token(http, sb)  # /oauth is not throttled
    status, _, headers = await get(http, f"{sb.url}/api/assets")  # a 401 counts
    assert (status, headers["X-RateLimit-Remaining"]) == (401, "2")
    async with http.get(sb.dataset["assets"][0]["url"]) as response:  # files are not throttled
        assert "X-RateLimit-Limit" not in response.headers
    await get(http, f"{sb.url}/api/assets", token)
    await get(http, f"{sb.url}/api/tags", token)  # one budget for every /api path
    status, _, headers = await get(http, f"{sb.url}/api/folders", token)
    assert (status, headers["Retry-After"]) == (429, "60")
    clock.advance(60)
    assert (await get(http, f"{sb.url}/api/folders", token))[0] == 200


async def test_throttling_can_be_disabled(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=None)
    token = await issue_token(http, sb)
    for _ in range(70):
        status, _, headers = await get(http, f"{sb.url}/api/tags", token)
        assert status == 200
    assert "X-RateLimit-Limit" not in headers
