"""The shared gate learns the server's window from its answers, and the fleet shares it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from cliquify_async import CliquifyClient, RateLimit, RetryPolicy
from cliquify_async.redis import RedisRateGate
from tests.conftest import SandboxFactory

LIMIT, WINDOW = 10, 0.5  # the sandbox's window: 1200 a minute, twice what the clients are told
OPENER = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"}
ANSWERED: dict[str, str] = {}  # a response without X-RateLimit-* headers


@pytest.fixture
async def redis_clients(redis_url: str) -> AsyncIterator[list[Redis]]:
    """Two Redis clients of their own: what two processes of a fleet would have."""
    clients: list[Redis] = [Redis.from_url(redis_url) for _ in range(2)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


async def take(gate: RedisRateGate, headers: dict[str, str], status: int = 200) -> float:
    sent = await gate.acquire()
    await gate.observe(sent, status, headers)
    return sent


async def test_two_processes_learn_the_servers_window_and_share_it(
    make_sandbox: SandboxFactory,
    redis_clients: list[Redis],
    key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cliquify_async.ratelimit")
    sandbox = await make_sandbox(
        rate_limit=LIMIT, rate_window=WINDOW, retry_after_precision="float", assets=150
    )
    # Told only a pace (600 a minute), slower than the server allows: no window given.
    gates = [RedisRateGate(redis, key, requests_per_minute=600) for redis in redis_clients]
    assert gates[0].limits == (RateLimit(600, 60.0, False),)
    clients = [
        CliquifyClient(
            sandbox.client_id,
            sandbox.client_secret,
            base_url=sandbox.url,
            rate_gate=gate,
            requests_per_minute=600,
            max_retries=RetryPolicy(max_retries=3, backoff_cap=0.2),
        )
        for gate in gates
    ]
    try:
        listings = await asyncio.wait_for(
            asyncio.gather(
                *(
                    listing
                    for client in clients
                    for listing in (
                        client.assets.list(per_page=6).collect(),
                        client.templates.list(per_page=6).collect(),
                        client.folders.list(per_page=4).collect(),
                    )
                )
            ),
            timeout=30,
        )
    finally:
        for client in clients:
            await client.aclose()

    expected = [
        [item["id"] for item in sandbox.items(path)]
        for path in ("/api/assets", "/api/templates", "/api/folders")
    ]
    assert [[item.id for item in listing] for listing in listings] == expected * 2
    assert sandbox.stats.rate_limited == 0
    assert sum(client.stats.rate_limited for client in clients) == 0
    assert sandbox.stats.max_in_window(WINDOW * 0.97) <= LIMIT
    # The learned pace replaced the configured one: at 0.1 s a request, at most 6 would fit.
    assert sandbox.stats.max_in_window(WINDOW) >= 8
    # Both processes pace to what one of them learned: the server's count and window.
    for gate in gates:
        (limit,) = gate.limits
        assert limit.requests == LIMIT
        assert limit.learned
        # From openers' sends: short of the window by no more than two delays' difference,
        # which the guard (1% of the window) covers.
        assert WINDOW * 0.99 <= limit.window <= WINDOW + 0.1
        assert gate.interval == pytest.approx(limit.window / LIMIT)
    assert gates[0].limits == gates[1].limits
    learned = [r for r in caplog.records if "server window learned" in r.getMessage()]
    infos = [r for r in learned if r.levelno == logging.INFO]
    assert len(infos) == 1  # once for the whole budget, by whichever process learned it
    assert infos[0].getMessage().startswith("server window learned: 10 requests per 0.")


async def test_an_explicit_window_is_believed_while_a_learning_gate_learns(
    redis_clients: list[Redis], key: str
) -> None:
    told = RedisRateGate(redis_clients[0], key + "-told", requests_per_minute=600, rate_window=1.0)
    learning, other = (
        RedisRateGate(redis, key, requests_per_minute=600) for redis in redis_clients
    )

    # Every answer says its request opened a window: two openers sent an interval apart
    # (0.1 s, less half an interval at most for a late timer caught up on) bound it.
    sends: dict[RedisRateGate, list[float]] = {}
    for gate in (told, learning):
        sends[gate] = [await take(gate, OPENER), await take(gate, OPENER)]
    await other.acquire()  # the other process hears what is in force with its next permit

    assert told.limits == (RateLimit(10, 1.0, False),)
    assert told.interval == pytest.approx(0.1)
    (limit,) = learning.limits
    assert limit.learned
    first, second = sends[learning]
    assert limit.window == pytest.approx(second - first)
    assert 0.05 <= limit.window < 0.3
    assert other.limits == learning.limits
    assert other.interval == pytest.approx(limit.window / 10)


async def test_an_idle_pause_between_two_openers_teaches_no_window(redis: Redis, key: str) -> None:
    gate = RedisRateGate(redis, key, requests_per_minute=1200)  # a permit every 0.05 s

    await take(gate, OPENER)
    await asyncio.sleep(0.4)  # 8 intervals of silence: the next window's length is open
    opener = await take(gate, OPENER)
    assert gate.limits == (RateLimit(10, pytest.approx(0.5), False),)  # type: ignore[arg-type]

    await take(gate, {**OPENER, "X-RateLimit-Remaining": "8"})  # requests kept coming...
    last = await take(gate, OPENER)  # ...so this opener's answer bounds the window
    (limit,) = gate.limits
    assert limit.learned
    assert last - opener <= limit.window < last - opener + 0.1


async def test_an_unknown_window_holds_back_only_when_the_server_shows_it_spent(
    redis: Redis, key: str
) -> None:
    gate = RedisRateGate(redis, key, requests_per_minute=600)  # a permit every 0.1 s

    # Five a window, the server says: the window is assumed to be 5 x 0.1 s, not learned.
    opener = await take(gate, {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4"})
    left = await take(gate, {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "3"})
    spent = await take(gate, {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0"})
    after = await gate.acquire()

    assert gate.limits == (RateLimit(5, pytest.approx(0.5), False),)  # type: ignore[arg-type]
    assert left - opener < 0.1 + 0.05  # budget left: the pace alone, though none is known
    assert spent - left < 0.1 + 0.05
    assert after - opener >= 0.5 - 1e-6  # spent: held until the (assumed) window closed
    assert after - spent >= 0.3 - 1e-6  # not the pace's 0.1 s


async def test_a_retry_after_or_a_reset_bounds_the_window_from_the_confirmed_opener(
    redis_clients: list[Redis], key: str
) -> None:
    by_429, by_reset = (
        RedisRateGate(redis, f"{key}-{n}", requests_per_minute=600)
        for n, redis in enumerate(redis_clients)
    )

    opener = await take(by_429, OPENER)
    limited = await by_429.acquire()
    await by_429.observe(
        limited,
        429,
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "Retry-After": "0.2"},
    )
    await take(by_reset, OPENER)
    await take(by_reset, {**OPENER, "X-RateLimit-Remaining": "8", "X-RateLimit-Reset": "0.15"})

    # From the opener's send to the named close: at least the time that passed, plus it.
    assert by_429.limits[0].learned
    assert limited - opener + 0.2 <= by_429.limits[0].window < limited - opener + 0.2 + 0.1
    assert by_reset.limits[0].learned
    assert 0.1 + 0.15 <= by_reset.limits[0].window < 0.1 + 0.15 + 0.1


async def test_a_429_of_another_limit_teaches_nothing_of_this_window(
    redis: Redis, key: str
) -> None:
    gate = RedisRateGate(redis, key, requests_per_minute=600)
    await take(gate, OPENER)

    # A per-second proxy limit of 5 in front: its close is not this limit's.
    await take(gate, {"X-RateLimit-Limit": "5", "Retry-After": "0.05"}, status=429)

    assert gate.limits == (RateLimit(10, pytest.approx(1.0), False),)  # type: ignore[arg-type]
