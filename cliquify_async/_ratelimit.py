"""The rate gate: one per client, shared by every task, page and retry that calls /api/*."""

from __future__ import annotations

import asyncio
import logging

from aiolimiter import AsyncLimiter

logger = logging.getLogger("cliquify_async")


class RateGate:
    """A no-burst pace of `requests_per_minute`, plus a cool-down that one 429 imposes on all.

    `AsyncLimiter(60, 60)` would let 60 requests out at once and then one a second, up to 119
    in the first minute: a stream of 429s against the API's fixed 60 s window. Here the bucket
    holds a single permit that refills every 60/rpm seconds, so no window ever sees more than
    its share. The limiter is made lazily because aiolimiter binds to the loop of first use.
    """

    def __init__(self, requests_per_minute: float | None) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive, or None to disable the gate")
        self.requests_per_minute = requests_per_minute
        self._limiter: AsyncLimiter | None = None
        self._resume_at = 0.0

    def __repr__(self) -> str:
        rate = "off" if self.requests_per_minute is None else f"{self.requests_per_minute:g}/min"
        return f"<RateGate rate={rate} cooling_down={self.cooling_down}>"

    @property
    def interval(self) -> float:
        """Seconds between two permits (0 when the gate is off)."""
        return 0.0 if self.requests_per_minute is None else 60.0 / self.requests_per_minute

    @property
    def cooling_down(self) -> bool:
        """True while a 429's Retry-After holds every request back."""
        try:
            return self._resume_at > asyncio.get_running_loop().time()
        except RuntimeError:
            return False

    async def acquire(self) -> None:
        """Wait for the cool-down to pass and for a permit; cancellation leaves no trace.

        A permit granted while a cool-down is on is given up and a fresh one taken after it,
        so the tasks that queued during a cool-down leave at the pace, not in one burst.
        """
        while True:
            await self._wait_cool_down()
            if self.requests_per_minute is None:
                return
            if self._limiter is None:
                self._limiter = AsyncLimiter(1, self.interval)
            await self._limiter.acquire()
            if not self.cooling_down:
                return

    def cool_down(self, seconds: float) -> None:
        """Hold every request of this client back for `seconds` (from a 429's Retry-After)."""
        loop = asyncio.get_running_loop()
        resume_at = loop.time() + seconds
        if resume_at > self._resume_at:
            self._resume_at = resume_at
            logger.info("rate limited: all requests wait %.2f s (Retry-After)", seconds)

    async def _wait_cool_down(self) -> None:
        loop = asyncio.get_running_loop()
        # A loop, not an Event: a later 429 can push the deadline out while we sleep.
        while (delay := self._resume_at - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
