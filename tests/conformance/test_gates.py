"""One table of rate-gate scenarios, played against the local gate and against the Redis gate
(a real redis-server): both must make the same decisions, send for send, and meet the row's
expectations. The window shapes are the benchmarks' (60 per 60 s and 120 per 60 s served
40 times faster, 10 and 20 per 1 s), then stacked limits, 429 storms, late timers and an
outage of the API.

What only one store has is tested where it lives: a Redis that is down or loses its state
(tests/shared_budget), a local gate has neither.
"""

from __future__ import annotations

import attrs
import pytest
from redis.asyncio import Redis

from cliquify_async import LocalRateGate, RateGate
from cliquify_async._ratelimit.state import dumps
from cliquify_async.redis import BudgetKeys, RedisRateGate
from tests.shared_budget import conftest as shared_budget

from .simulation import Run, Scenario, Tier, VirtualClock, play

redis_url, redis, key = shared_budget.redis_url, shared_budget.redis, shared_budget.key


@attrs.frozen(kw_only=True)
class Expect:
    """What a row's run must show, whatever the store."""

    rejected: int = 0
    """The most 429s."""
    use: float
    """The least accepted / allowed, from the first send to the last (gaps counted)."""
    limits: tuple[tuple[int, float, float], ...] = ()
    """Each limit in force at the end: (requests, least window, most window)."""


TABLE: list[tuple[Scenario, Expect]] = [
    (  # benchmark 1: the API's 60 per 60 s, 40 times faster, the window given
        Scenario(
            name="60/1.5s told",
            limit=60,
            window=1.5,
            requests_per_minute=2400,
            rate_window=1.5,
            accepted=300,
        ),
        Expect(use=0.98, limits=((60, 1.5, 1.5),)),
    ),
    (  # benchmark 6: windows learned from a pace alone
        Scenario(name="10/1s learned", limit=10, window=1.0, requests_per_minute=600, accepted=60),
        Expect(use=0.97, limits=((10, 1.0, 1.02),)),
    ),
    (
        Scenario(
            name="20/1s learned", limit=20, window=1.0, requests_per_minute=1200, accepted=120
        ),
        Expect(use=0.97, limits=((20, 1.0, 1.02),)),
    ),
    (
        Scenario(
            name="120/1.5s learned",
            limit=120,
            window=1.5,
            requests_per_minute=4800,
            accepted=720,
        ),
        Expect(use=0.97, limits=((120, 1.5, 1.52),)),
    ),
    (  # the reset as seconds on every answer bounds the window at once
        Scenario(
            name="reset learned",
            limit=10,
            window=1.0,
            reset="seconds",
            requests_per_minute=600,
            accepted=60,
        ),
        Expect(use=0.97, limits=((10, 1.0, 1.02),)),
    ),
    (  # a stacked limit met only in its own 429s (Laravel's named limiter)
        Scenario(
            name="stacked",
            limit=60,
            window=1.5,
            tiers=(Tier(limit=5, window=0.25),),
            requests_per_minute=2400,
            rate_window=1.5,
            accepted=200,
        ),
        Expect(rejected=1, use=0.45, limits=((60, 1.5, 1.5), (5, 0.25, 0.3))),
    ),
    (  # a proxy's 429s that name no count: the second shows its count
        Scenario(
            name="bare proxy",
            limit=60,
            window=1.5,
            tiers=(Tier(limit=5, window=0.25, bare=True),),
            requests_per_minute=2400,
            rate_window=1.5,
            accepted=100,
        ),
        Expect(rejected=2, use=0.45, limits=((60, 1.5, 1.5), (5, 0.25, 0.3))),
    ),
    (  # a 429 storm: another client behind the IP spends half of every window
        Scenario(
            name="429 storm",
            limit=20,
            window=1.0,
            requests_per_minute=1200,
            rate_window=1.0,
            accepted=100,
            others=10,
        ),
        Expect(use=0.48, limits=((20, 1.0, 1.0),)),
    ),
    (  # late timers: every sleep overruns by 40 % of an interval
        Scenario(
            name="late timers",
            limit=60,
            window=1.5,
            requests_per_minute=2400,
            rate_window=1.5,
            accepted=300,
            late=0.01,
        ),
        Expect(use=0.97, limits=((60, 1.5, 1.5),)),
    ),
    (  # the API answers 503 for a second: nothing learned, nothing exceeded
        Scenario(
            name="API outage",
            limit=20,
            window=1.0,
            requests_per_minute=1200,
            accepted=120,
            outage=(1.0, 2.0),
        ),
        Expect(use=0.7, limits=((20, 1.0, 1.02),)),
    ),
    (  # latency over the interval: the answers trail the sends
        Scenario(
            name="slow answers",
            limit=20,
            window=1.0,
            latency=0.3,
            requests_per_minute=1200,
            accepted=120,
        ),
        Expect(use=0.97, limits=((20, 1.0, 1.02),)),
    ),
    (  # a fleet: three processes taking turns on one budget
        Scenario(
            name="fleet of 3",
            limit=60,
            window=1.5,
            requests_per_minute=2400,
            rate_window=1.5,
            accepted=300,
            gates=3,
        ),
        Expect(use=0.98, limits=((60, 1.5, 1.5),)),
    ),
    (  # a proxy's bare 429s while the window is learned: they teach the proxy's limit, and
        # nothing of the API's window
        Scenario(
            name="bare proxy, learning",
            limit=60,
            window=1.5,
            tiers=(Tier(limit=5, window=1.0, bare=True),),
            requests_per_minute=2400,
            accepted=58,
        ),
        Expect(rejected=2, use=0.9 * 5 / 1.0 * 1.5 / 60, limits=((60, 1.5, 3.0), (5, 1.0, 1.05))),
    ),
]


def options(scenario: Scenario, clock: VirtualClock) -> dict[str, object]:
    return {"rate_window": scenario.rate_window, "clock": clock}


async def play_local(scenario: Scenario) -> Run:
    """The row against one local gate: a fleet's processes share one gate in one process."""
    clock = VirtualClock(scenario.late)
    gate = LocalRateGate(scenario.requests_per_minute, **options(scenario, clock))  # type: ignore[arg-type]
    return await play(scenario, [gate], clock)


async def play_redis(scenario: Scenario, redis: Redis, key: str) -> Run:
    """The row against Redis gates of one budget, one per process of the row; the budget
    starts from the state a local gate starts from (a fresh Redis state would first probe)."""
    clock = VirtualClock(scenario.late)
    gates: list[RateGate] = [
        RedisRateGate(
            redis,
            key,
            requests_per_minute=scenario.requests_per_minute,
            **options(scenario, clock),  # type: ignore[arg-type]
        )
        for _ in range(scenario.gates)
    ]
    initial = gates[0].initial_state()  # type: ignore[attr-defined]
    await redis.hset(BudgetKeys(key).gate, mapping={"state": dumps(initial), "version": 1})
    return await play(scenario, gates, clock)


@pytest.mark.parametrize(("scenario", "expect"), TABLE, ids=[row[0].name for row in TABLE])
async def test_both_gates_make_the_same_decisions(
    scenario: Scenario, expect: Expect, redis: Redis, key: str
) -> None:
    local = await play_local(scenario)
    shared = await play_redis(scenario, redis, key)

    assert shared.sends == local.sends
    assert shared.limits == local.limits
    assert local.rejected <= expect.rejected
    assert local.use(scenario.limit, scenario.window) >= expect.use
    found = [(limit.requests, limit.window) for limit in local.limits]
    assert [count for count, _ in found] == [count for count, _, _ in expect.limits]
    for (_, window), (_, least, most) in zip(found, expect.limits, strict=True):
        assert least - 1e-9 <= window <= most
