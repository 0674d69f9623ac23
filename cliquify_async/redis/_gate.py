"""RedisRateGate: the rate gate of `LocalRateGate`, its state kept in Redis for a whole fleet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Self, TypeVar

from cattrs import BaseValidationError
from redis.asyncio import Redis, RedisCluster

from .._log import get_logger
from .._ratelimit.gate import Clock, StateGate, StoreUnavailable
from .._ratelimit.limits import DEFAULT_MAX_WAIT
from .._ratelimit.state import GateState, dumps, loads
from ._connect import make_redis
from ._health import Down, RedisUnavailableError, backoff, shared_health
from ._keys import BudgetKeys
from ._scripts import LOAD_STATE, SAVE_STATE

logger = get_logger("ratelimit")

T = TypeVar("T")

STATE_TTL_MS = 86_400_000  # an idle budget's state is dropped after a day
FAIL_CLOSED = "every request waits until it is back (fail closed)"

RedisClient = Redis | RedisCluster


class RedisRateGate(StateGate):
    """A RateGate shared through Redis by every process configured with the same key.

    The decisions are LocalRateGate's, made by the same model (GateState) on one state kept
    for the whole budget: the pace, the server's windows as any process has learned them,
    the limits seen only in their own 429s, the catch-up of late timers, a 429's cool-down.
    Each change is a compare-and-set on Redis (read the state and Redis's clock, decide,
    write back only if no other process wrote meanwhile, else decide again), so two
    processes never both take the last permit, and every time is Redis's, the one clock the
    fleet shares. One task per process asks Redis; the others queue locally.

    Unlike a local gate, its state can be lost (a Redis restart, a failover, an eviction):
    a fresh state keeps one interval of silence and lets one request go alone, whose answer
    shows where the server's window stands. Fail closed: while Redis is unreachable no
    permit is given (retried with capped backoff, logged once per outage); with
    `max_outage` set, a wait longer than that raises RedisUnavailableError instead. A Redis
    client you pass in is never closed; one made by `from_url` is closed by `aclose()`.

    Like LocalRateGate, it learns nothing from an answer naming a wait longer than
    `max_wait` (give it the client's RetryPolicy.max_retry_after if you changed that), nor a
    count or window out of bounds; each kind is logged once at WARNING. `clock` replaces
    Redis's time and the loop's sleep (a virtual clock, in tests).
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
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            requests_per_minute, rate_window=rate_window, max_wait=max_wait, clock=clock
        )
        self.keys = BudgetKeys(key)
        self.max_outage = max_outage
        self._redis = redis
        self._owns_redis = False
        self._redis_time = clock is None
        self._load = redis.register_script(LOAD_STATE)
        self._save = redis.register_script(SAVE_STATE)
        self._health = shared_health(redis, key)
        self._seen = self._attached(self.initial_state())
        self._steps = asyncio.Lock()  # this process's steps one at a time: no conflict between
        # its own tasks, and each step's log lines are its own when kept or dropped

    @classmethod
    def from_url(cls, redis_url: str, key: str = "default", **options: Any) -> Self:
        """A gate with a Redis client of its own (closed by `aclose()`)."""
        gate = cls(make_redis(redis_url), key, **options)
        gate._owns_redis = True
        return gate

    def __repr__(self) -> str:
        limits = ", ".join(map(str, self.limits))
        return (
            f"<RedisRateGate key={self.keys.key!r} {limits} "
            f"redis_down={self._health.down_since is not None}>"
        )

    @property
    def key(self) -> str:
        """The budget's name: every gate with the same key and Redis shares one budget."""
        return self.keys.key

    async def aclose(self) -> None:
        """Close the Redis client if this gate made it; a client passed in is left open."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    def _state_seen(self) -> GateState:
        return self._seen

    async def _change(self, step: Callable[[GateState, float], T]) -> T:
        async with self._steps:
            return await self._change_alone(step)

    async def _change_alone(self, step: Callable[[GateState, float], T]) -> T:
        answer = await self._call(self._load(keys=[self.keys.gate]))
        while True:
            stored, version, now = self._read(answer)
            state = self._decode(stored, now)
            result = step(state, now)
            text = dumps(state)
            if text != stored:
                saved = await self._call(
                    self._save(keys=[self.keys.gate], args=[version, text, STATE_TTL_MS])
                )
                if not int(saved[0]):
                    self._journal.drop()  # another process wrote first: decide again
                    answer = saved[1:]
                    continue
            self._seen = state
            self._journal.flush()
            return result

    async def _call(self, command: Any) -> Sequence[Any]:
        """Redis's answer, or StoreUnavailable while it is unreachable."""
        answer = await self._health.call(command, FAIL_CLOSED)
        if isinstance(answer, Down):
            raise StoreUnavailable(str(answer.error)) from answer.error
        return list(answer)

    def _read(self, answer: Sequence[Any]) -> tuple[str | None, int, float]:
        """The stored state, its version and the time: Redis's, unless a clock was given."""
        stored, version, seconds, micros = answer
        text = stored.decode() if isinstance(stored, bytes) else stored
        now = int(seconds) + int(micros) / 1_000_000 if self._redis_time else self._clock.now()
        return text, int(version), now

    def _decode(self, stored: str | None, now: float) -> GateState:
        """The state Redis holds, or a fresh one when it holds none or one this version
        cannot read."""
        if stored is not None:
            try:
                return self._attached(loads(stored))
            except (ValueError, TypeError, KeyError, BaseValidationError) as exc:
                logger.warning(
                    "the shared rate state of budget %r is unreadable (%s); starting afresh",
                    self.key,
                    type(exc).__name__,
                )
        return self._attached(self.initial_state().restarted(now))

    def _attached(self, state: GateState) -> GateState:
        return state.attach(self._refusals, self._journal)

    async def _unreachable(self, error: StoreUnavailable, attempt: int) -> None:
        down_for = self._health.down_for()
        if self.max_outage is not None and down_for >= self.max_outage:
            raise RedisUnavailableError(
                f"Redis unreachable for {down_for:.1f} s; the shared budget "
                f"{self.key!r} gave no permit"
            ) from error.__cause__
        await asyncio.sleep(backoff(attempt))

    def _cooled_down(self, seconds: float) -> None:
        logger.info(
            "rate limited: every process of budget %r waits %.2f s (Retry-After)",
            self.key,
            seconds,
        )
