"""The shared gate against a real Redis: pace, window, shared cool-down and learning, keys."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from cliquify_async import ConfigurationError
from cliquify_async._ratelimit.state import CATCH_UP
from cliquify_async.redis import (
    BudgetKeys,
    RedisRateGate,
    RedisTokenStore,
    RedisUnavailableError,
    client_from_redis_url,
)
from tests.redis_server import free_port

ANSWERED: dict[str, str] = {}  # a response without X-RateLimit-* headers


def make_gate(redis: Redis, key: str, *, limit: int, window: float) -> RedisRateGate:
    return RedisRateGate(redis, key, requests_per_minute=limit * 60 / window, rate_window=window)


async def take(gate: RedisRateGate, headers: dict[str, str] | None = None) -> float:
    """A permit, answered at once (the answer releases the probe after a fresh start)."""
    sent = await gate.acquire()
    await gate.observe(sent, 200, ANSWERED if headers is None else headers)
    return sent


async def test_permits_are_paced_across_instances(redis: Redis, key: str) -> None:
    first, second = (make_gate(redis, key, limit=20, window=1.0) for _ in range(2))

    sends = [await take(gate) for gate in itertools.islice(itertools.cycle([first, second]), 12)]

    assert first.interval == second.interval == pytest.approx(0.05)
    # Send times are Redis's own clock, so exact: never ahead of the pace's schedule, and a
    # late permit caught up on by half an interval at most, as the local gate does.
    assert sends[-1] - sends[0] >= (11 - CATCH_UP) * 0.05 - 1e-6
    assert min(b - a for a, b in itertools.pairwise(sends)) >= 0.05 * (1 - CATCH_UP) - 1e-6
    assert sends[-1] - sends[0] < 11 * 0.05 + 1.0  # and about the pace (generous for slow CI)


async def test_concurrent_tasks_of_two_gates_never_share_a_permit(redis: Redis, key: str) -> None:
    gates = [make_gate(redis, key, limit=50, window=1.0) for _ in range(2)]

    sends = await asyncio.gather(*(take(gates[n % 2]) for n in range(20)))

    ordered = sorted(sends)
    assert len(set(ordered)) == 20
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 0.02 * (1 - CATCH_UP) - 1e-6
    assert ordered[-1] - ordered[0] >= (19 - CATCH_UP) * 0.02 - 1e-6


async def test_a_window_holds_at_most_limit_requests(redis: Redis, key: str) -> None:
    gate = make_gate(redis, key, limit=4, window=0.4)  # a permit every 0.1 s

    sends = [await take(gate) for _ in range(6)]

    # Four fill the window; the fifth waits until it has closed (0.4 s + 0.004 s guard).
    assert sends[4] - sends[0] >= 0.4 + 0.004 - 1e-6
    assert sends[5] - sends[4] >= 0.1 - 1e-6


async def test_a_spent_server_budget_closes_the_window_for_every_instance(
    redis: Redis, key: str
) -> None:
    first, second = (make_gate(redis, key, limit=10, window=0.5) for _ in range(2))
    opener = await take(first, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"})
    # Someone else behind our IP spent the budget: the server says none is left.
    await take(first, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"})

    after = await second.acquire()

    assert after - opener >= 0.5 - 1e-6


async def test_a_cool_down_holds_back_every_instance(redis: Redis, key: str) -> None:
    first, second = (make_gate(redis, key, limit=100, window=1.0) for _ in range(2))
    await take(first)
    loop = asyncio.get_running_loop()

    await first.cool_down(0.3)
    started = loop.time()
    await second.acquire()

    assert loop.time() - started >= 0.3 - 0.01


async def test_the_learned_limit_is_shared(redis: Redis, key: str) -> None:
    first, second = (make_gate(redis, key, limit=20, window=1.0) for _ in range(2))

    await take(first, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"})
    sends = [await take(second) for _ in range(3)]

    assert first.limit == second.limit == 10
    assert second.interval == pytest.approx(0.1)
    # At the pace of 10 a window (20 would allow two sends in 0.1 s), a late permit caught up.
    assert sends[2] - sends[0] >= (2 - CATCH_UP) * 0.1 - 1e-6


async def test_lost_state_restarts_with_silence_then_one_probe(redis: Redis, key: str) -> None:
    gate = make_gate(redis, key, limit=10, window=1.0)  # a permit every 0.1 s
    before = await take(gate)
    keys = BudgetKeys(key)
    await redis.delete(keys.gate)  # what a restart without persistence does

    probe = await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.3)
    assert not waiter.done()  # nobody goes before the probe's answer
    await gate.observe(probe, 200, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"})
    await asyncio.wait_for(waiter, 2.0)  # the probe's answer releases the waiter

    assert probe - before >= 0.1 - 1e-6  # one interval of silence kept the pace


async def test_every_key_of_a_budget_carries_one_hash_tag(redis: Redis, key: str) -> None:
    gate = make_gate(redis, key, limit=100, window=1.0)
    store = RedisTokenStore(redis, key, client_id="client-1")
    await take(gate)
    await gate.cool_down(0.001)
    async with store.fetching():
        found = await redis.keys(f"cliquify:*{key}*")
        names = {name.decode() if isinstance(name, bytes) else name for name in found}

    assert names == {
        f"cliquify:{{{key}}}:rate",
        f"cliquify:{{{key}}}:lock:client-1",
    }
    assert {key_slot(name.encode()) for name in names} == {key_slot(key.encode())}
    assert store.token_key == f"cliquify:{{{key}}}:token:client-1"
    with pytest.raises(ConfigurationError, match="braces"):
        BudgetKeys("a{b}")


async def test_without_redis_the_gate_fails_closed_and_logs_once(
    key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cliquify_async.redis")
    gate = RedisRateGate.from_url(f"redis://127.0.0.1:{free_port()}/0", key, max_outage=0.4)
    try:
        with pytest.raises(RedisUnavailableError):
            await gate.acquire()
        await gate.observe(1.0, 200, ANSWERED)
        await gate.cool_down(0.01)
    finally:
        await gate.aclose()

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "fail closed" in errors[0].getMessage()


async def test_a_client_passed_in_is_never_closed(redis: Redis, key: str) -> None:
    gate = make_gate(redis, key, limit=100, window=1.0)
    store = RedisTokenStore(redis, key)

    await gate.aclose()
    await store.aclose()

    assert await redis.ping()


async def test_a_command_redis_refuses_is_a_cliquify_error(redis: Redis, key: str) -> None:
    await redis.set(BudgetKeys(key).gate, "not a hash")  # say, another app's key
    gate = make_gate(redis, key, limit=10, window=1.0)

    with pytest.raises(RedisUnavailableError, match="WRONGTYPE"):
        await gate.acquire()


async def test_a_rate_under_one_request_per_window_is_refused(
    redis: Redis, redis_url: str, key: str
) -> None:
    # 30 a minute is half a request per 1 s window: rounded up to one, it would send 60.
    with pytest.raises(ConfigurationError, match="less than one request per rate_window"):
        RedisRateGate(redis, key, requests_per_minute=30, rate_window=1.0)
    with pytest.raises(ConfigurationError, match="less than one request per rate_window"):
        client_from_redis_url(redis_url, "id", "secret", requests_per_minute=30, rate_window=1.0)


async def test_concurrent_answers_of_one_process_log_a_change_once(
    redis: Redis, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = make_gate(redis, key, limit=10, window=1.0)
    sent = await take(gate)
    caplog.set_level(logging.INFO, logger="cliquify_async.ratelimit")

    await asyncio.gather(*(gate.observe(sent, 200, {"X-RateLimit-Limit": "30"}) for _ in range(20)))

    told = [r for r in caplog.records if "the server allows 30" in r.getMessage()]
    assert len(told) == 1
    assert gate.limit == 30
