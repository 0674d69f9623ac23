"""No header holds the client longer than its max_wait, nor teaches it an absurd limit.

A loopback server answers one request with the hostile headers under test: that call gets
its typed error (or its data), the limits the client paces to are unchanged, and the same
client then lists again at once. `asyncio.wait_for` is a hang guard here, not a speed test.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cliquify_async import CliquifyClient, RateGate, RateLimitError, RetryPolicy
from cliquify_async._endpoints import TOKEN_PATH
from cliquify_async._ratelimit.gate import LocalRateGate
from cliquify_async.errors import ConfigurationError
from cliquify_async.redis import RedisRateGate
from tests.conftest import serving
from tests.shared_budget import conftest as shared_budget

# The shared-budget fixtures, for the Redis gate: the test Redis and a budget key per test.
redis_url, redis, key = shared_budget.redis_url, shared_budget.redis, shared_budget.key

HANG_GUARD = 5.0  # seconds: far beyond a normal listing, far short of any hostile wait
FOLDERS = {"data": [{"id": 1, "name": "one"}], "current_page": 1, "last_page": 1}
Answer = tuple[int, dict[str, str]]


class Server:
    """Answers /api/folders with the planned (status, headers), then plainly; issues tokens."""

    def __init__(self) -> None:
        self.planned: list[Answer] = []
        self.app = web.Application()
        self.app.router.add_post(TOKEN_PATH, self._token)
        self.app.router.add_get("/api/folders", self._folders)

    async def _token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    async def _folders(self, request: web.Request) -> web.Response:
        status, headers = self.planned.pop(0) if self.planned else (200, {})
        body: Any = FOLDERS if status == 200 else {"message": "Too Many Attempts."}
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    served = Server()
    async with serving(served.app) as url:
        yield served, url


ClientMaker = Callable[..., CliquifyClient]


@pytest.fixture
async def make() -> AsyncIterator[ClientMaker]:
    """Clients with the local gate on (600 a minute) and no retries, closed after the test."""
    made: list[CliquifyClient] = []

    def build(url: str, **options: Any) -> CliquifyClient:
        options.setdefault("requests_per_minute", 600)
        options.setdefault("max_retries", RetryPolicy(max_retries=0))
        made.append(CliquifyClient("id", "secret", base_url=url, **options))
        return made[-1]

    yield build
    for client in made:
        await client.aclose()


@pytest.fixture(params=["local", "redis"])
def make_gate(request: pytest.FixtureRequest) -> Callable[..., RateGate]:
    """Gates at 600 a minute: the in-process one, and the Redis one on this test's budget
    key. Every scenario here runs against both, so the two are held to one table."""
    if request.param == "local":
        return lambda **options: LocalRateGate(600, **options)
    redis, key = request.getfixturevalue("redis"), request.getfixturevalue("key")
    return lambda **options: RedisRateGate(redis, key, requests_per_minute=600, **options)


async def listing(client: CliquifyClient) -> list[Any]:
    """One listing of folders, guarded against a hang."""
    return await asyncio.wait_for(client.folders.list().collect(), HANG_GUARD)


FAR = str(10**12)  # unix time in the year 33658

HOSTILE_200S = [
    pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": FAR}, id="reset-10**12"),
    pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e308"}, id="reset-1e308"),
    pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "inf"}, id="reset-inf"),
    pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "NaN"}, id="reset-nan"),
    pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "-5"}, id="reset-negative"),
    pytest.param({"X-RateLimit-Limit": "9" * 400, "X-RateLimit-Remaining": "0"}, id="limit-400"),
    pytest.param({"X-RateLimit-Limit": "1_000", "X-RateLimit-Remaining": "0"}, id="limit-1_000"),
    pytest.param({"X-RateLimit-Limit": "2000000", "X-RateLimit-Remaining": "0"}, id="limit-2e6"),
    pytest.param({"X-RateLimit-Limit": "-5", "X-RateLimit-Remaining": "0"}, id="limit-negative"),
    pytest.param({"X-RateLimit-Limit": "0"}, id="limit-zero"),
    pytest.param({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "-1"}, id="remaining-neg"),
    pytest.param(
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "\uff11"}, id="remaining-wide"
    ),
]


@pytest.mark.parametrize("headers", HOSTILE_200S)
async def test_a_200_with_a_hostile_rate_limit_header_is_not_learned(
    server: tuple[Server, str],
    make: ClientMaker,
    make_gate: Callable[..., RateGate],
    headers: dict[str, str],
) -> None:
    served, url = server
    client = make(url, rate_gate=make_gate())
    before = client.rate_limits
    served.planned.append((200, headers))

    assert [folder.id for folder in await listing(client)] == [1]
    assert client.rate_limits == before
    assert [folder.id for folder in await listing(client)] == [1]  # not held back
    assert client.rate_limits == before


HOSTILE_429S = [
    pytest.param({"Retry-After": str(10**9)}, 1e9, id="retry-after-10**9"),
    pytest.param({"Retry-After": "1e308"}, 1e308, id="retry-after-1e308"),
    pytest.param({"Retry-After": "121"}, 121.0, id="retry-after-past-max-wait"),
    pytest.param(
        {"X-RateLimit-Reset": FAR}, pytest.approx(1e12 - time.time(), rel=1e-6), id="reset"
    ),
    pytest.param({"Retry-After": "NaN"}, None, id="retry-after-nan"),
    pytest.param({"Retry-After": "inf"}, None, id="retry-after-inf"),
    pytest.param({"Retry-After": "1_000"}, None, id="retry-after-1_000"),
    pytest.param({"Retry-After": "-5"}, 0.0, id="retry-after-negative"),
]


@pytest.mark.parametrize(("headers", "retry_after"), HOSTILE_429S)
async def test_a_429_with_a_hostile_wait_raises_and_teaches_nothing(
    server: tuple[Server, str],
    make: ClientMaker,
    make_gate: Callable[..., RateGate],
    headers: dict[str, str],
    retry_after: object,
) -> None:
    served, url = server
    client = make(url, rate_gate=make_gate())
    # A window the server confirmed opening: what a later 429's close used to teach from.
    served.planned += [(200, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59"})]
    await listing(client)
    before = client.rate_limits
    served.planned.append((429, {"X-RateLimit-Limit": "60", **headers}))

    with pytest.raises(RateLimitError) as caught:
        await listing(client)

    assert caught.value.retry_after == retry_after
    assert client.rate_limits == before
    assert [folder.id for folder in await listing(client)] == [1]
    assert client.rate_limits == before


async def test_each_kind_of_refusal_is_warned_of_once(
    server: tuple[Server, str], make: ClientMaker, caplog: pytest.LogCaptureFixture
) -> None:
    served, url = server
    client = make(url)
    far = (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": FAR})
    huge = (200, {"X-RateLimit-Limit": "9" * 400})
    served.planned += [far, far, huge, far, huge]
    caplog.set_level(logging.DEBUG, logger="cliquify_async.ratelimit")

    for _ in range(5):
        await listing(client)

    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2
    assert "(wait)" in warned[0] and "X-RateLimit-Reset" in warned[0]
    assert "(count)" in warned[1] and "..." in warned[1]  # the 400 digits cut short
    assert all(len(message) < 400 for message in warned)


async def test_a_spent_budget_of_an_assumed_window_holds_at_most_max_wait(
    server: tuple[Server, str], make: ClientMaker, make_gate: Callable[..., RateGate]
) -> None:
    # A million a window is in bounds; at 600 a minute the window it implies is a day long.
    served, url = server
    policy = RetryPolicy(max_retries=0, max_retry_after=0.3)
    client = make(url, rate_gate=make_gate(max_wait=0.3), max_retries=policy)
    served.planned.append((200, {"X-RateLimit-Limit": "1000000", "X-RateLimit-Remaining": "0"}))

    await listing(client)
    await listing(client)  # held at most 0.3 s, not a day

    assert client.rate_limits[0].requests == 1_000_000


async def test_a_window_longer_than_max_wait_is_not_learned(
    make_gate: Callable[..., RateGate], caplog: pytest.LogCaptureFixture
) -> None:
    gate = make_gate(max_wait=0.3)
    await observe(gate, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"})  # an opener
    before = gate.limits
    await asyncio.sleep(0.2)

    # Its close bounds the window at 0.45 s or more: longer than max_wait, so refused.
    await observe(gate, {"X-RateLimit-Limit": "10", "Retry-After": "0.25"}, status=429)

    assert gate.limits == before
    assert not gate.limits[0].learned
    assert any("(window)" in r.getMessage() for r in caplog.records if r.levelno >= 30)


async def observe(gate: Any, headers: dict[str, str], status: int = 200) -> None:
    """One permit and the answer to it, straight through a gate."""
    await gate.observe(await gate.acquire(), status, headers)


@pytest.mark.parametrize("max_wait", [0, -1, float("nan"), float("inf")])
def test_max_wait_must_be_a_positive_finite_number(max_wait: float) -> None:
    with pytest.raises(ConfigurationError, match="max_retry_after"):
        RetryPolicy(max_retry_after=max_wait)
    with pytest.raises(ConfigurationError, match="max_wait"):
        LocalRateGate(60, max_wait=max_wait)


async def test_max_retry_after_is_the_gates_max_wait(server: tuple[Server, str]) -> None:
    _, url = server
    policy = RetryPolicy(max_retry_after=600.0)
    async with CliquifyClient("id", "secret", base_url=url, max_retries=policy) as client:
        gate = client._transport.gate
        assert isinstance(gate, LocalRateGate)
        assert gate.max_wait == 600.0


async def test_the_harvest_cli_is_not_held_by_a_hostile_reset(
    server: tuple[Server, str], tmp_path: Path
) -> None:
    served, url = server
    far = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": FAR}
    served.planned += [(200, far)] * 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIQUIFY_")}
    env |= {"CLIQUIFY_BASE_URL": url, "CLIQUIFY_CLIENT_ID": "id", "CLIQUIFY_CLIENT_SECRET": "s"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cliquify_async", "harvest", "--out", str(tmp_path / "out"),
        "--resources", "folders", "--requests-per-minute", "600",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)  # a hang guard only

    assert process.returncode == 0, err.decode()
    assert (tmp_path / "out" / "folders.jsonl").read_text().count("\n") == 1
