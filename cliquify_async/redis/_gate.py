"""RedisRateGate: the rate gate of `LocalRateGate`, its state kept in Redis for a whole fleet."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Self

from redis.asyncio import Redis, RedisCluster

from .._log import get_logger
from .._ratelimit.gate import DEFAULT_WINDOW, window_budget
from .._ratelimit.limits import DEFAULT_MAX_WAIT, RateLimit, Reading, check_max_wait
from .._ratelimit.window import Refusals
from ._connect import make_redis
from ._health import Down, RedisUnavailableError, backoff, shared_health
from ._keys import BudgetKeys
from ._scripts import ACQUIRE, COOL_DOWN, OBSERVE

logger = get_logger("ratelimit")

US = 1_000_000
STATE_TTL_MS = 86_400_000  # an idle budget's state is dropped after a day
PROBE_POLL = 0.01  # seconds between asking whether the probe after a fresh start was answered
PROBE_WAIT = 10.0  # seconds the others wait for the probe's answer at most (or one window)
FAIL_CLOSED = "every request waits until it is back (fail closed)"

RedisClient = Redis | RedisCluster


class RedisRateGate:
    """A RateGate shared through Redis by every process configured with the same key.

    LocalRateGate's fixed-window model, across processes: a permit every `interval` seconds
    with no burst, at most `limit` requests in a fixed window that the first request after
    the last one closed opens, and a 429's Retry-After holding everyone back. Unlike
    LocalRateGate it tracks only the limit every response reports: a limit seen only in its
    own 429s (a proxy's) is not learned, though its Retry-After still holds the fleet, and a
    timer that fired late is not caught up on. Without
    `rate_window` the window is learned from what the server shows (X-RateLimit-*,
    Retry-After), shared by the fleet through Redis, and the learned count and window replace
    the configured pace; with it, the window is believed and only the count is learned. Each
    step is one Lua script on Redis's clock. Fail closed: while Redis is unreachable no
    permit is given (the wait is retried with capped backoff, and logged once per outage);
    with `max_outage` set, a wait longer than that raises RedisUnavailableError instead. A
    Redis client you pass in is never closed; one made by `from_url` is closed by `aclose()`.

    Like LocalRateGate, it learns nothing from an answer naming a wait longer than `max_wait`
    (give it the client's RetryPolicy.max_retry_after if you changed that), nor a count or
    window out of bounds (`cliquify_async._ratelimit.limits`); each kind is logged once at WARNING.
    """

    def __init__(
        self,
        redis: RedisClient,
        key: str = "default",
        *,
        requests_per_minute: float = 60,
        rate_window: float | None = None,
        max_outage: float | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        window = DEFAULT_WINDOW if rate_window is None else rate_window
        limit = window_budget(requests_per_minute, window)
        self.keys = BudgetKeys(key)
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self.max_outage = max_outage
        self.max_wait = check_max_wait(max_wait)
        self._refusals = Refusals()
        # What every gate script is told first: the configured limit and window, whether the
        # window is learned, the configured pace (which an unknown window follows), and the
        # longest window that may be learned or hold a spent budget.
        self._config = [
            limit,
            round(window * US),
            int(rate_window is None),
            math.ceil(window * US / limit),
            round(self.max_wait * US),
        ]
        # The reporting limit in force, as Redis last said: until then, the configuration.
        self._in_force = RateLimit(limit, window, learned=False)
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
            f"<RedisRateGate key={self.keys.key!r} {self._in_force} "
            f"redis_down={self._health.down_since is not None}>"
        )

    @property
    def key(self) -> str:
        """The budget's name: every gate with the same key and Redis shares one budget."""
        return self.keys.key

    @property
    def limit(self) -> int:
        """Requests per window: configured, or learned from X-RateLimit-Limit (as last seen)."""
        return self._in_force.requests

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """The limit every response reports, as Redis last said: its count and the window in
        force, learned by any process of the budget or configured (or assumed)."""
        return (self._in_force,)

    @property
    def interval(self) -> float:
        """Seconds between two permits at the current pace: the window in force / limit."""
        return self._in_force.window / self._in_force.requests

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
                            *self._config,
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
                granted, value, limit, window, learned = answer
                self._take(int(limit), int(window), int(learned))
                if granted:
                    return int(value) / US
                await asyncio.sleep(int(value) / US)

    async def observe(self, sent_at: float, status: int, headers: Mapping[str, str]) -> None:
        """Share what a response says of the limit (X-RateLimit-*, a 429's Retry-After); lost
        (and logged) if Redis is down, which only makes the gate learn later."""
        reading = Reading.of(status, headers, now=time.time(), max_wait=self.max_wait)
        if reading.refused is not None:
            self._refusals.refuse(reading.refused.kind, reading.refused.detail)
            # Learned from as an answer that says nothing of the limit: it still ends the
            # wait of a first request that went alone (the probe), which nothing else would.
            reading = Reading(
                status=200, limit=None, remaining=None, closes_in=None, retry_after=None
            )
        answer = await self._health.call(
            self._observe(
                keys=[self.keys.gate, self.keys.sends],
                args=[
                    *self._config,
                    round(sent_at * US),
                    reading.status,
                    _arg(reading.limit),
                    _arg(reading.remaining),
                    _arg(_us(reading.closes_in)),
                    _arg(_us(reading.retry_after)),
                    STATE_TTL_MS,
                ],
            ),
            FAIL_CLOSED,
        )
        if isinstance(answer, Down):
            return
        limit, window, learned, news, refused = answer
        self._take(int(limit), int(window), int(learned))
        if int(news):
            # Once at INFO when the budget first learns its window; each tightening at DEBUG.
            level = logging.INFO if int(news) == 1 else logging.DEBUG
            logger.log(level, "server window learned: %s", self._in_force)
        if int(refused):
            self._refusals.refuse_window(int(refused) / US, self.max_wait)

    async def cool_down(self, seconds: float) -> None:
        """Hold every process of the budget back for `seconds` (a 429's Retry-After); this
        process holds back even if Redis cannot be told."""
        loop = asyncio.get_running_loop()
        self._local_resume = max(self._local_resume, loop.time() + seconds)
        later = await self._health.call(
            self._cool_down(
                keys=[self.keys.gate],
                args=[*self._config, math.ceil(seconds * US), STATE_TTL_MS],
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

    def _take(self, limit: int, window_us: int, learned: int) -> None:
        """Take the limit Redis says is in force (a count changed is logged)."""
        if limit != self._in_force.requests:
            logger.info("the server allows %d requests per window; pacing to that", limit)
        self._in_force = RateLimit(limit, window_us / US, bool(learned))


def _us(seconds: float | None) -> int | None:
    """Seconds as whole microseconds, rounded up (a bound stays a bound); None stays None."""
    return None if seconds is None else math.ceil(seconds * US)


def _arg(value: int | None) -> int | str:
    """A script argument: the number, or '' for none."""
    return "" if value is None else value
