"""The rate gate: one per client, shared by every task, page and retry that calls /api/*."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from ._window import FixedWindow
from .errors import ConfigurationError

logger = logging.getLogger("cliquify_async")

# How long after a window's first request we wait, beyond the window itself, before the next
# window's first request: the opener reached the server some time after we sent it.
MAX_GUARD = 0.25
GUARD_SHARE = 0.02
CATCH_UP = 1.05
ROUNDING = 1e-9  # so `L * 60 / W` a minute is L a window despite float rounding


def window_budget(requests_per_minute: float | None, rate_window: float) -> tuple[int, float]:
    """(requests per window, guard seconds) of a rate, or of no rate (a budget that holds
    nothing back). Refuses a rate that is not a positive finite number, and one below one
    request per window, since rounding up to one would send faster than asked."""
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
    return limit, min(MAX_GUARD, GUARD_SHARE * rate_window)


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """A response header's integer value; None if it is missing or not an integer."""
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


class LocalRateGate:
    """The default RateGate, for one process: a no-burst pace that fills the server's fixed
    windows without crossing their edges.

    `AsyncLimiter(60, 60)` would let 60 requests out at once and then one a second, up to 119
    in the first minute: a stream of 429s against the API's fixed 60 s window. Here
    aiolimiter's bucket holds a single permit that refills every `rate_window / limit`
    seconds, and a FixedWindow model holds the request that would be one too many in a window
    until that window has closed. The limit and the window's position are learned from
    X-RateLimit-* headers, and a 429 holds every task back until its Retry-After has passed.
    The limiter is made lazily because aiolimiter binds to the loop of first use.
    """

    def __init__(self, requests_per_minute: float | None, *, rate_window: float = 60.0) -> None:
        limit, guard = window_budget(requests_per_minute, rate_window)
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self._window = FixedWindow(limit=limit, window=rate_window, guard=guard)
        self._limiter: AsyncLimiter | None = None
        self._queue = asyncio.Lock()
        self._resume_at = 0.0

    def __repr__(self) -> str:
        if self.requests_per_minute is None:
            return f"<LocalRateGate off cooling_down={self.cooling_down}>"
        limit = f"{self.limit}/{self.rate_window:g}s"
        return f"<LocalRateGate limit={limit} cooling_down={self.cooling_down}>"

    @property
    def limit(self) -> int:
        """Requests allowed per window: configured, or learned from X-RateLimit-Limit."""
        return self._window.limit

    @property
    def interval(self) -> float:
        """Seconds between two permits (0 when the gate is off)."""
        return 0.0 if self.requests_per_minute is None else self.rate_window / self.limit

    @property
    def cooling_down(self) -> bool:
        """True while a 429's Retry-After holds every request back."""
        try:
            return self._resume_at > asyncio.get_running_loop().time()
        except RuntimeError:
            return False

    async def acquire(self) -> float:
        """Wait for a permit; returns the send time to pass back to `observe`.

        A permit granted while a cool-down is on, or that would overfill the window, is given
        up and a fresh one taken after the wait, so the tasks that queued meanwhile leave at
        the pace, not in one burst. Cancellation leaves no trace.
        """
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._resume_at > now:
                await asyncio.sleep(self._resume_at - now)
                continue
            if self.requests_per_minute is None:
                return now
            # One permit per interval; the bucket holds a sliver more than one permit so a
            # timer that fired late is caught up on, instead of every permit drifting later.
            period = self.interval * CATCH_UP
            if self._limiter is None or self._limiter.time_period != period:
                self._limiter = AsyncLimiter(CATCH_UP, period)
            async with self._queue:  # first come, first served: no barging past a waiter
                await self._limiter.acquire()
            now = loop.time()
            hold = max(self._resume_at, self._window.hold_until(now))
            if hold <= now:
                self._window.record_send(now)
                return now
            await asyncio.sleep(hold - now)

    async def observe(self, sent_at: float, headers: Mapping[str, str]) -> None:
        """Learn the limit and the window's position from a response's X-RateLimit-* headers."""
        if self.requests_per_minute is None:
            return
        limit = int_header(headers, "X-RateLimit-Limit")
        if limit is not None and limit != self.limit:
            logger.info("the server allows %d requests per window; pacing to that", limit)
        self._window.observe(sent_at, limit, int_header(headers, "X-RateLimit-Remaining"))

    async def cool_down(self, seconds: float) -> None:
        """Hold every request of this client back for `seconds` (from a 429's Retry-After)."""
        loop = asyncio.get_running_loop()
        resume_at = loop.time() + seconds
        self._window.rate_limited(loop.time(), seconds)
        if resume_at > self._resume_at:
            self._resume_at = resume_at
            logger.info("rate limited: all requests wait %.2f s (Retry-After)", seconds)
