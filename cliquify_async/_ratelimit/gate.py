"""The rate gates: one per client, shared by every task, page and retry that calls /api/*.

`StateGate` is the gate itself, its decisions GateState's; where the state lives is a
subclass's: `LocalRateGate` keeps it in memory, `cliquify_async.redis.RedisRateGate` in Redis
for a fleet.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Protocol, TypeVar

from .._log import get_logger
from .._options import Priority
from ..errors import ConfigurationError
from .limits import DEFAULT_MAX_WAIT, Journal, RateLimit, Reading, ServerLimits, check_max_wait
from .state import Decision, GateState
from .turns import Turns
from .window import Refusals

logger = get_logger("ratelimit")

T = TypeVar("T")

ROUNDING = 1e-9  # so `L * 60 / W` a minute is L a window despite float rounding
DEFAULT_WINDOW = 60.0  # the documented window, assumed until the server shows its own


def window_budget(requests_per_minute: float | None, rate_window: float) -> int:
    """Requests per window of a rate, or of no rate (a budget that holds nothing back).
    Refuses a rate that is not a positive finite number, and one below one request per
    window, since rounding up to one would send faster than asked."""
    if not (math.isfinite(rate_window) and rate_window > 0):
        raise ConfigurationError("rate_window must be a positive number of seconds")
    if requests_per_minute is None:
        requests_per_minute = max(60.0, 60 / rate_window)
    elif not (math.isfinite(requests_per_minute) and requests_per_minute > 0):
        raise ConfigurationError("requests_per_minute must be positive, or None for no gate")
    limit = int(requests_per_minute * rate_window / 60 * (1 + ROUNDING))
    if limit < 1:
        raise ConfigurationError(
            f"requests_per_minute={requests_per_minute:g} allows less than one request per "
            f"rate_window of {rate_window:g} s; use at least {60 / rate_window:g} or a longer "
            "rate_window"
        )
    return limit


class Clock(Protocol):
    """A gate's time: the event loop's by default; a virtual one in tests."""

    def now(self) -> float:
        """Seconds on this clock's scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after `seconds` of this clock."""
        ...


class LoopClock:
    """The running event loop's clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class StoreUnavailable(Exception):
    """A gate's state could not be reached (the shared store is down)."""


class StateGate:
    """A RateGate whose every decision is GateState's (`cliquify_async._ratelimit.state`).

    Requests queue, "high" ones first, then first come, first served (Turns); the one at the
    head asks for a permit, waits as
    long as the answer says, and asks again, so a 429 or a window that fills meanwhile holds
    it too. A subclass says where the state lives and how a step changes it atomically
    (`_change`). While the store is unreachable, a cool-down heard here still holds this
    process, and `_unreachable` decides what a waiting request does.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        *,
        rate_window: float | None,
        max_wait: float,
        clock: Clock | None,
    ) -> None:
        self._window = DEFAULT_WINDOW if rate_window is None else rate_window
        self._budget = window_budget(requests_per_minute, self._window)  # checks both
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self.max_wait = check_max_wait(max_wait)
        self._clock: Clock = clock or LoopClock()
        self._refusals = Refusals()
        self._journal = Journal()
        self._turns = Turns()
        self._held_until = 0.0  # a cool-down the store could not be told of, on the loop's clock

    def initial_state(self) -> GateState:
        """The state a gate of this configuration starts from."""
        if self.requests_per_minute is None:
            return GateState(None)
        limits = ServerLimits.configured(
            self._budget, self._window, learns=self.rate_window is None, max_wait=self.max_wait
        )
        return GateState(limits)

    async def _change(self, step: Callable[[GateState, float], T]) -> T:
        """Run `step` on the state at the current time, atomically, and keep what it changed;
        StoreUnavailable if the state cannot be reached."""
        raise NotImplementedError

    async def _unreachable(self, error: StoreUnavailable, attempt: int) -> None:
        """What a request waiting for a permit does while the store is unreachable (the
        `attempt`-th time in a row): wait, or raise."""
        raise error

    def _state_seen(self) -> GateState:
        """The state as this process last saw it."""
        raise NotImplementedError

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """The limits in force, the one every response reports first (empty when off)."""
        limits = self._state_seen().limits
        return () if limits is None else limits.limits()

    @property
    def limit(self) -> int:
        """Requests allowed per window of the limit every response reports."""
        limits = self._state_seen().limits
        return 0 if limits is None else limits.primary.limit

    @property
    def interval(self) -> float:
        """Seconds between two permits at the current pace (0 when the gate is off)."""
        limits = self._state_seen().limits
        return 0.0 if limits is None else limits.interval

    async def acquire(self, *, priority: Priority = "normal") -> float:
        """Wait for a permit; returns the send time (on the gate's clock) to pass back to
        `observe`. A "high" request asks before the others waiting in this process (the
        server's limits hold it all the same). Cancelled while waiting, it leaves no trace."""
        async with self._turns.turn(priority):
            paced, attempt = False, 0
            while True:
                held = self._held_until - asyncio.get_running_loop().time()
                if held > 0:
                    await asyncio.sleep(held)
                    continue
                try:
                    now, decision = await self._change(partial(_try_send, paced=paced))
                except StoreUnavailable as error:
                    await self._unreachable(error, attempt)
                    attempt += 1
                    continue
                attempt = 0
                if decision.granted:
                    return now
                paced = decision.paced
                await self._clock.sleep(decision.wait)

    async def observe(self, sent_at: float, status: int, headers: Mapping[str, str]) -> None:
        """Learn the limits and their windows from a response's X-RateLimit-* headers, and
        from a 429's Retry-After; lost if the store is unreachable (the gate learns later)."""
        reading = Reading.of(status, headers, now=time.time(), max_wait=self.max_wait)
        try:
            await self._change(lambda state, now: state.observe(sent_at, now, reading))
        except StoreUnavailable:
            return

    async def cool_down(self, seconds: float) -> None:
        """Hold every request back for `seconds` (a 429's Retry-After); this process holds
        back even if the store cannot be told."""
        try:
            later = await self._change(lambda state, now: state.cool_down(now, seconds))
        except StoreUnavailable:
            loop_now = asyncio.get_running_loop().time()
            self._held_until = max(self._held_until, loop_now + seconds)
            return
        if later:
            self._cooled_down(seconds)

    def _cooled_down(self, seconds: float) -> None:
        logger.info("rate limited: all requests wait %.2f s (Retry-After)", seconds)


def _try_send(state: GateState, now: float, *, paced: bool) -> tuple[float, Decision]:
    return now, state.try_send(now, paced)


class LocalRateGate(StateGate):
    """The default RateGate, for one process: a no-burst pace that fills the server's fixed
    windows without crossing their edges.

    `AsyncLimiter(60, 60)` would let 60 requests out at once and then one a second, up to 119
    in the first minute: a stream of 429s against the API's fixed 60 s window. Here one
    request leaves every `interval` seconds, on a schedule kept from send to send, and the
    server's limits (ServerLimits) hold the request that would be one too many in a window
    until that window has closed. Without `rate_window` the window is learned from what the
    server shows (X-RateLimit-*, Retry-After), and the learned count and window replace the
    configured pace; with it, the window is believed and only the count is learned. A 429
    holds every task back until its Retry-After has passed.

    No answer holds it back longer than `max_wait` seconds (the client passes its
    RetryPolicy.max_retry_after): one naming a longer wait, or a count or window out of
    bounds, is not learned (see `cliquify_async._ratelimit.limits`), with one WARNING per
    kind. `clock` replaces the event loop's time and sleep (a virtual clock, in tests).
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        *,
        rate_window: float | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            requests_per_minute, rate_window=rate_window, max_wait=max_wait, clock=clock
        )
        self._state = self.initial_state().attach(self._refusals, self._journal)

    def __repr__(self) -> str:
        if self.requests_per_minute is None:
            return f"<LocalRateGate off cooling_down={self.cooling_down}>"
        limits = ", ".join(map(str, self.limits))
        return f"<LocalRateGate {limits} cooling_down={self.cooling_down}>"

    @property
    def cooling_down(self) -> bool:
        """True while a 429's Retry-After holds every request back."""
        try:
            return self._state.resume_at > self._clock.now()
        except RuntimeError:  # no running loop: nothing is waiting
            return False

    def _state_seen(self) -> GateState:
        return self._state

    async def _change(self, step: Callable[[GateState, float], T]) -> T:
        result = step(self._state, self._clock.now())
        self._journal.flush()
        return result
