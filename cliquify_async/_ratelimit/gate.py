"""The rate gate: one per client, shared by every task, page and retry that calls /api/*."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping

from .._log import get_logger
from ..errors import ConfigurationError
from .limits import DEFAULT_MAX_WAIT, RateLimit, Reading, ServerLimits, check_max_wait

logger = get_logger("ratelimit")

CATCH_UP = 0.5  # intervals a late timer is caught up on, so the pace keeps its average
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


class LocalRateGate:
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
    bounds, is not learned (see `cliquify_async._ratelimit.limits`), with one WARNING per kind.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        *,
        rate_window: float | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        window = DEFAULT_WINDOW if rate_window is None else rate_window
        limit = window_budget(requests_per_minute, window)
        self.requests_per_minute = requests_per_minute
        self.rate_window = rate_window
        self.max_wait = check_max_wait(max_wait)
        self._limits = ServerLimits(
            limit, window, learns=rate_window is None, max_wait=self.max_wait
        )
        self._next_at = 0.0  # when the pace allows the next request, on the loop's clock
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

        Requests queue first come, first served. The one at the head waits for the pace and
        for any cool-down or spent window, all judged again after each wait, so a 429 or a
        window that fills meanwhile holds it too. The next permit is due an interval after
        this send; only a send that waited for the pace itself keeps its place on the pace's
        schedule, so a timer that fired late is caught up on (by half an interval at most)
        while the end of a hold or an idle spell brings no burst. Cancellation leaves no
        trace.
        """
        loop = asyncio.get_running_loop()
        if self.requests_per_minute is None:
            while True:  # only a cool-down holds a request back
                now = loop.time()
                if now >= self._resume_at:
                    return now
                await asyncio.sleep(self._resume_at - now)
        async with self._queue:
            paced = False
            while True:
                now = loop.time()
                hold = max(self._resume_at, self._limits.hold_until(now))
                due = max(hold, self._next_at)
                if due > now:
                    paced = self._next_at >= hold
                    await asyncio.sleep(due - now)
                    continue
                self._limits.record_send(now)
                interval = self.interval
                on_schedule = max(self._next_at, now - CATCH_UP * interval)
                self._next_at = (on_schedule if paced else now) + interval
                return now

    async def observe(self, sent_at: float, status: int, headers: Mapping[str, str]) -> None:
        """Learn the limits and their windows from a response's X-RateLimit-* headers, and
        from a 429's Retry-After."""
        if self.requests_per_minute is None:
            return
        reading = Reading.of(status, headers, now=time.time(), max_wait=self.max_wait)
        self._limits.observe(sent_at, asyncio.get_running_loop().time(), reading)

    async def cool_down(self, seconds: float) -> None:
        """Hold every request of this client back for `seconds` (from a 429's Retry-After)."""
        loop = asyncio.get_running_loop()
        resume_at = loop.time() + seconds
        self._limits.cool_down(resume_at)
        if resume_at > self._resume_at:
            self._resume_at = resume_at
            logger.info("rate limited: all requests wait %.2f s (Retry-After)", seconds)
