"""The fixed-window rate limiter: limit, headers, 429, reset, and what counts."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Sandbox, SandboxConfig
from cliquify_async.sandbox._throttle import FixedWindowThrottle, StackedThrottle
from tests.sandbox.sandbox_helpers import FakeClock, get, issue_token

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


def test_stacked_tiers_count_a_hit_up_to_the_tier_that_refuses_it(clock: FakeClock) -> None:
    per_second = FixedWindowThrottle(limit=2, window=1.0, clock=clock)
    stack = StackedThrottle(
        FixedWindowThrottle(limit=3, window=10.0, clock=clock), before=[per_second]
    )
    passed = [stack.hit("a") for _ in range(2)]
    assert [(v.allowed, v.limit, v.remaining) for v in passed] == [(True, 3, 2), (True, 3, 1)]
    rejected = stack.hit("a")  # the extra tier refuses with its own limit and delay
    assert (rejected.allowed, rejected.limit, rejected.remaining) == (False, 2, 0)
    assert rejected.retry_after == 1.0
    clock.advance(1)
    assert stack.hit("a").remaining == 0  # the refused hit was not counted by the main tier
    rejected = stack.hit("a")  # the main tier refuses, after the per-second tier counted it
    assert (rejected.allowed, rejected.limit, rejected.retry_after) == (False, 3, 9.0)
    rejected = stack.hit("a")  # so the per-second tier is now full too, as in Laravel
    assert (rejected.allowed, rejected.limit) == (False, 2)
    assert stack.hit("b").allowed  # per key


async def test_stacked_limits_over_http(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=3, extra_rate_limits=[(2, 1)], clock=clock)
    assert sb.config.extra_rate_limits == ((2, 1.0),)
    token = await issue_token(http, sb)
    url = f"{sb.url}/api/tags"
    for remaining in ("2", "1"):
        status, _, headers = await get(http, url, token)
        assert (status, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (
            200,
            "3",
            remaining,
        )
        assert "X-RateLimit-Reset" not in headers  # "on-429", as Laravel does
    status, _, headers = await get(http, url, token)
    assert (status, headers["X-RateLimit-Limit"], headers["Retry-After"]) == (429, "2", "1")
    assert (headers["X-RateLimit-Remaining"], "X-RateLimit-Reset" in headers) == ("0", True)
    clock.advance(1)
    status, _, headers = await get(http, url, token)
    assert (status, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (
        200,
        "3",
        "0",
    )
    status, _, headers = await get(http, url, token)
    assert (status, headers["X-RateLimit-Limit"], headers["Retry-After"]) == (429, "3", "59")
    assert sb.stats.rate_limited == 2


async def test_reset_header_epoch_on_every_answer(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(
        rate_limit=2, rate_window=30, reset_header="epoch", clock=clock
    )
    token = await issue_token(http, sb)

    async def reset_in(seconds: float, status_wanted: int) -> None:
        """The answer's X-RateLimit-Reset is the unix time ``seconds`` from now."""
        before = time.time()
        status, _, headers = await get(http, f"{sb.url}/api/tags", token)
        assert status == status_wanted
        reset = int(headers["X-RateLimit-Reset"])
        assert math.ceil(before + seconds) <= reset <= math.ceil(time.time() + seconds)

    await reset_in(30, 200)  # the window opens now
    clock.advance(10)
    await reset_in(20, 200)
    await reset_in(20, 429)


@pytest.mark.parametrize(
    ("precision", "wanted"),
    [("seconds", ["30", "20", "20"]), ("float", ["30.000", "19.500", "19.500"])],
)
async def test_reset_header_seconds_on_every_answer(
    make_sandbox: MakeSandbox,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    precision: str,
    wanted: list[str],
) -> None:
    sb: Sandbox = await make_sandbox(
        rate_limit=2,
        rate_window=30,
        reset_header="seconds",
        retry_after_precision=precision,
        clock=clock,
    )
    token = await issue_token(http, sb)
    url = f"{sb.url}/api/tags"
    first = await get(http, url, token)
    clock.advance(10.5)
    answers = [first, await get(http, url, token), await get(http, url, token)]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    assert [headers["X-RateLimit-Reset"] for _, _, headers in answers] == wanted
    assert answers[2][2]["Retry-After"] == wanted[2]


async def test_no_rate_limit_headers_in_any_reset_mode(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(
        rate_limit=1, extra_rate_limits=[(5, 1.0)], reset_header="seconds", rate_limit_headers=False
    )
    token = await issue_token(http, sb)
    for status_wanted in (200, 429):
        status, _, headers = await get(http, f"{sb.url}/api/tags", token)
        assert status == status_wanted
        assert not [name for name in headers if name.startswith(("X-RateLimit", "Retry-After"))]


@pytest.mark.parametrize(
    "tiers",
    [
        [(0, 1.0)],
        [(-1, 1.0)],
        [(1.5, 1.0)],
        [(True, 1.0)],
        [(1, 0)],
        [(1, -1.0)],
        [(1, math.inf)],
        [(1, math.nan)],
        [(1, "1")],
    ],
)
def test_extra_rate_limits_are_validated(tiers: Any) -> None:
    with pytest.raises(ValueError, match="extra_rate_limits"):
        SandboxConfig(extra_rate_limits=tiers)


def test_extra_rate_limits_config() -> None:
    config = SandboxConfig(extra_rate_limits=[[5, 1], (60, 60.0)])
    assert config.extra_rate_limits == ((5, 1.0), (60, 60.0))
    assert SandboxConfig().extra_rate_limits == ()
    with pytest.raises(ValueError, match="rate_limit=None"):
        SandboxConfig(rate_limit=None, extra_rate_limits=[(5, 1.0)])
    assert SandboxConfig(rate_limit=None).reset_header == "on-429"
    with pytest.raises(ValueError, match="reset_header"):
        SandboxConfig(reset_header="always")
