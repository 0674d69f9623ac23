"""The rate gate: one per client, shared by every task, page and retry that calls /api/*."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from ._limits import RateLimit, Reading, ServerLimits
from .errors import ConfigurationError

logger = logging.getLogger("cliquify_async")

CATCH_UP = 1.05
ROUNDING = 1e-9  # so `L * 60 / W` a minute is L a window despite float rounding
DEFAULT_WINDOW = 60.0  # the documented window, assumed until the server shows its own
REPACE = 0.01  # a pace change smaller than this share keeps the limiter (and its bucket)


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


class LocalRateGate:
    """The default RateGate, for one process: a no-burst pace that fills the server's fixed
    windows without crossing their edges.

    `AsyncLimiter(60, 60)` would let 60 requests out at once and then one a second, up to 119
    in the first minute: a stream of 429s against the API's fixed 60 s window. Here
    aiolimiter's bucket holds a single permit that refills every `interval` seconds, and the
    server's limits (ServerLimits) hold the request that would be one too many in a window
    until that window has closed. Without `rate_window` the window is learned from what the
    server shows (X-RateLimit-*, Retry-After), and the learned count and window replace the
    configured pace; with it, the window is believed and only the count is learned. A 429
    holds every task back until its Retry-After has passed. The limiter is made lazily
    because aiolimiter binds to the loop of first use.
    """

    def __init__(
        self, requests_per_minute: float | None, *, rate_window: float | None = None
    ) -> None:
        window = DEFAULT_WINDOW if rate_window is None else rate_window
        limit = window_budget(requests_per_minute, window)
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self._limits = ServerLimits(limit, window, learns=rate_window is None)
        self._limiter: AsyncLimiter | None = None
        self._queue = asyncio.Lock()
        self._resume_at = 0.0

    def __repr__(self) -> str:
        if self.requests_per_minute is None:
            return f"<LocalRateGate off cooling_down={self.cooling_down}>"
        limits = ", ".join(map(str, self.limits))
        return f"<LocalRateGate {limits} cooling_down={self.cooling_down}>"

    @property
    def limit(self) -> int:
        """Requests allowed per window of the limit every response reports."""
        return self._limits.primary.limit

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """The limits in force, the one every response reports first (empty when off)."""
        return () if self.requests_per_minute is None else self._limits.limits()

    @property
    def interval(self) -> float:
        """Seconds between two permits (0 when the gate is off)."""
        return 0.0 if self.requests_per_minute is None else self._limits.interval

    @property
    def cooling_down(self) -> bool:
        """True while a 429's Retry-After holds every request back."""
        try:
            return self._resume_at > asyncio.get_running_loop().time()
        except RuntimeError:
            return False

    async def acquire(self) -> float:
        """Wait for a permit; returns the send time to pass back to `observe`.

        Requests queue first come, first served. The one at the head waits out any
        cool-down or spent window, then takes a permit at the pace, counted from the last
        send; if a 429 arrived meanwhile it waits again, so the queue leaves at the pace
        after a cool-down, not in one burst. Cancellation leaves no trace.
        """
        loop = asyncio.get_running_loop()
        if self.requests_per_minute is None:
            while True:  # only a cool-down holds a request back
                now = loop.time()
                if now >= self._resume_at:
                    return now
                await asyncio.sleep(self._resume_at - now)
        async with self._queue:
            while True:
                now = loop.time()
                hold = max(self._resume_at, self._limits.hold_until(now))
                if hold > now:
                    await asyncio.sleep(hold - now)
                    continue
                # One permit per interval; the bucket holds a sliver more than one permit so
                # a timer that fired late is caught up on, instead of every permit drifting.
                period = self.interval * CATCH_UP
                if self._limiter is None or not _close(self._limiter.time_period, period):
                    self._limiter = AsyncLimiter(CATCH_UP, period)
                await self._limiter.acquire()
                now = loop.time()
                if max(self._resume_at, self._limits.hold_until(now)) <= now:
                    self._limits.record_send(now)
                    return now

    async def observe(self, sent_at: float, status: int, headers: Mapping[str, str]) -> None:
        """Learn the limits and their windows from a response's X-RateLimit-* headers, and
        from a 429's Retry-After."""
        if self.requests_per_minute is None:
            return
        reading = Reading.of(status, headers, now=time.time())
        self._limits.observe(sent_at, asyncio.get_running_loop().time(), reading)

    async def cool_down(self, seconds: float) -> None:
        """Hold every request of this client back for `seconds` (from a 429's Retry-After)."""
        loop = asyncio.get_running_loop()
        resume_at = loop.time() + seconds
        self._limits.cool_down(resume_at)
        if resume_at > self._resume_at:
            self._resume_at = resume_at
            logger.info("rate limited: all requests wait %.2f s (Retry-After)", seconds)


def _close(period: float, new: float) -> bool:
    """True when a new pace is too near the old to make a limiter anew: a fresh bucket would
    hand out a permit at once, and a learned window tightens by slivers."""
    return abs(new - period) <= REPACE * period
