"""RedisRateGate: the rate gate of `LocalRateGate`, its state kept in Redis for a whole fleet."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Any, Self

from redis.asyncio import Redis, RedisCluster

from .._ratelimit import int_header, window_budget
from ._connect import make_redis
from ._health import Down, RedisUnavailableError, backoff, shared_health
from ._keys import BudgetKeys
from ._scripts import ACQUIRE, COOL_DOWN, OBSERVE

logger = logging.getLogger("cliquify_async.redis")

US = 1_000_000
STATE_TTL_MS = 86_400_000  # an idle budget's state is dropped after a day
PROBE_POLL = 0.01  # seconds between asking whether the probe after a fresh start was answered
PROBE_WAIT = 10.0  # seconds the others wait for the probe's answer at most (or one window)
FAIL_CLOSED = "every request waits until it is back (fail closed)"

RedisClient = Redis | RedisCluster


class RedisRateGate:
    """A RateGate shared through Redis by every process configured with the same key.

    Same semantics as LocalRateGate, across processes: one permit every `rate_window / limit`
    seconds with no burst, at most `limit` requests in a fixed window that the first request
    after the last one closed opens, the limit and the window learned from X-RateLimit-*
    headers, and a 429's Retry-After holding everyone back. Each step is one Lua script on
    Redis's clock. Fail closed: while Redis is unreachable no permit is given (the wait is
    retried with capped backoff, and logged once per outage); with `max_outage` set, a wait
    longer than that raises RedisUnavailableError instead. A Redis client you pass in is
    never closed; one made by `from_url` is closed by `aclose()`.
    """

    def __init__(
        self,
        redis: RedisClient,
        key: str = "default",
        *,
        requests_per_minute: float = 60,
        rate_window: float = 60.0,
        max_outage: float | None = None,
    ) -> None:
        self._configured_limit, guard = window_budget(requests_per_minute, rate_window)
        self.keys = BudgetKeys(key)
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self.max_outage = max_outage
        self._limit = self._configured_limit
        self._window_us = round(rate_window * US)
        self._guard_us = round(guard * US)
        self._redis = redis
        self._owns_redis = False
        self._acquire = redis.register_script(ACQUIRE)
        self._observe = redis.register_script(OBSERVE)
        self._cool_down = redis.register_script(COOL_DOWN)
        self._health = shared_health(redis, key)
        self._queue = asyncio.Lock()  # one task per process asks Redis; the rest queue here
        self._local_resume = 0.0  # a cool-down this process heard of, on the loop's clock

    @classmethod
    def from_url(cls, redis_url: str, key: str = "default", **options: Any) -> Self:
        """A gate with a Redis client of its own (closed by `aclose()`)."""
        gate = cls(make_redis(redis_url), key, **options)
        gate._owns_redis = True
        return gate

    def __repr__(self) -> str:
        return (
            f"<RedisRateGate key={self.keys.key!r} limit={self.limit}/{self.rate_window:g}s "
            f"redis_down={self._health.down_since is not None}>"
        )

    @property
    def key(self) -> str:
        """The budget's name: every gate with the same key and Redis shares one budget."""
        return self.keys.key

    @property
    def limit(self) -> int:
        """Requests per window: configured, or learned from X-RateLimit-Limit (as last seen)."""
        return self._limit

    @property
    def interval(self) -> float:
        """Seconds between two permits at the current pace."""
        return self.rate_window / self._limit

    async def acquire(self) -> float:
        """Wait for a permit from the shared budget; returns its send time (Redis clock).

        Only one task per process polls Redis at a time, sleeping as long as Redis says.
        Cancelled while waiting, it leaves no trace; cancelled in the very round trip that
        granted a permit, that permit is spent unused (on the safe side).
        """
        loop = asyncio.get_running_loop()
        async with self._queue:
            attempt = 0
            while True:
                hold = self._local_resume - loop.time()
                if hold > 0:
                    await asyncio.sleep(hold)
                    continue
                answer = await self._health.call(
                    self._acquire(
                        keys=[self.keys.gate, self.keys.sends],
                        args=[
                            self._configured_limit,
                            self._window_us,
                            self._guard_us,
                            round(PROBE_POLL * US),
                            STATE_TTL_MS,
                            round(PROBE_WAIT * US),
                        ],
                    ),
                    FAIL_CLOSED,
                )
                if isinstance(answer, Down):
                    down_for = self._health.down_for()
                    if self.max_outage is not None and down_for >= self.max_outage:
                        raise RedisUnavailableError(
                            f"Redis unreachable for {down_for:.1f} s; the shared budget "
                            f"{self.key!r} gave no permit"
                        ) from answer.error
                    await asyncio.sleep(backoff(attempt))
                    attempt += 1
                    continue
                attempt = 0
                granted, value, limit = answer
                self._learned(int(limit))
                if granted:
                    return int(value) / US
                await asyncio.sleep(int(value) / US)

    async def observe(self, sent_at: float, headers: Mapping[str, str]) -> None:
        """Share what a response's X-RateLimit-* headers say; lost (and logged) if Redis is
        down, which only makes the gate learn later."""
        limit = int_header(headers, "X-RateLimit-Limit")
        remaining = int_header(headers, "X-RateLimit-Remaining")
        learned = await self._health.call(
            self._observe(
                keys=[self.keys.gate, self.keys.sends],
                args=[
                    round(sent_at * US),
                    "" if limit is None else limit,
                    "" if remaining is None else remaining,
                    self._configured_limit,
                    self._window_us,
                    self._guard_us,
                    STATE_TTL_MS,
                ],
            ),
            FAIL_CLOSED,
        )
        if not isinstance(learned, Down):
            self._learned(int(learned))

    async def cool_down(self, seconds: float) -> None:
        """Hold every process of the budget back for `seconds` (a 429's Retry-After); this
        process holds back even if Redis cannot be told."""
        loop = asyncio.get_running_loop()
        self._local_resume = max(self._local_resume, loop.time() + seconds)
        later = await self._health.call(
            self._cool_down(
                keys=[self.keys.gate],
                args=[math.ceil(seconds * US), self._window_us, self._guard_us, STATE_TTL_MS],
            ),
            FAIL_CLOSED,
        )
        if not isinstance(later, Down) and int(later):
            logger.info(
                "rate limited: every process of budget %r waits %.2f s (Retry-After)",
                self.key,
                seconds,
            )

    async def aclose(self) -> None:
        """Close the Redis client if this gate made it; a client passed in is left open."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    def _learned(self, limit: int) -> None:
        if limit != self._limit:
            logger.info("the server allows %d requests per window; pacing to that", limit)
            self._limit = limit
