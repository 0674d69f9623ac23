"""`FileFlight`: how many files a harvest fetches at once, a fixed number or one that follows
the host: start small and double while each file still arrives as fast as before (the host
is not the limit yet), then hold, never past a maximum."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final, Literal

from ..errors import ConfigurationError

AUTO: Final = "auto"
Concurrency = int | Literal["auto"]
START: Final = 4
"""Files in flight at first with "auto"."""
DEFAULT_MAX: Final = 64
"""The most files in flight with "auto", unless told."""
SAMPLE: Final = 0.05
"""Seconds of arrivals judged at each level before the next step, at least..."""
SAMPLE_BYTES: Final = 256 * 1024
"""... and this many bytes per file in flight, so that a slow host's few chunks are not
taken for its rate."""
GAIN: Final = 1.1
"""The gain in all files' bytes per second a doubled level must bring to be kept."""
REPROBE: Final = 10
"""Samples a settled level is held before one more file level is tried again: a noisy
sample must not hold the flight low for good, nor a host that got faster."""
FULL: Final = 0.9
"""The share of its slots a level must keep busy over a sample to be judged."""
HOLDS_UP: Final = 0.75
"""Each file's share of the bytes per second must stay at this part of the best seen for
more files to help: below it, the files share a limit (the host's, the link's, the gate's)."""


def check_concurrency(concurrency: object, maximum: object) -> None:
    """ConfigurationError unless `concurrency` is "auto" or a number from 1 and `maximum`
    a number from 1."""
    checked = (("download_concurrency", concurrency), ("max_download_concurrency", maximum))
    for name, value in checked:
        if value == AUTO and name == "download_concurrency":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f'{name} must be "auto" or at least 1, got {value!r}')


class Slot:
    """One file's place in the flight: tell it of each chunk with `received(n)`."""

    def __init__(self, flight: FileFlight) -> None:
        self._flight = flight
        self.flowing = False  # whether its first byte has come

    def received(self, size: int) -> None:
        self._flight.received(self, size)


class FileFlight:
    """Slots for files in flight: `async with flight.slot() as slot:` around each file, and
    `slot.received(n)` for each chunk. A number is kept as it is; "auto" starts at START and
    judges each level by the bytes per second of the files whose bytes have begun to come
    (a file still waiting for its first byte says nothing of the host's rate)."""

    def __init__(
        self,
        concurrency: Concurrency,
        maximum: int = DEFAULT_MAX,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_concurrency(concurrency, maximum)
        self.limit = min(START, maximum) if concurrency == AUTO else int(concurrency)
        self.maximum = maximum if concurrency == AUTO else self.limit
        self._clock = clock
        self._busy = 0  # slots held
        self._flowing = 0  # of those, whose bytes have begun to come
        self._waiters: list[asyncio.Future[None]] = []
        self._best: float | None = None  # the best bytes per second per file seen
        self._last_rate = 0.0  # all files' bytes per second at the level before
        self._fixed = concurrency != AUTO
        self.settled = self._fixed
        self._held = 0  # samples judged since the level settled
        self._since = self._marked = clock()  # the sample's start, the last change of busy
        self._bytes = 0
        self._busy_seconds = self._flowing_seconds = 0.0

    def __repr__(self) -> str:
        mode = "settled" if self.settled else "probing"
        return f"<FileFlight limit={self.limit} max={self.maximum} busy={self._busy} {mode}>"

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Wait for a free slot and hold it while the body runs."""
        while self._busy >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._account()
        self._busy += 1
        slot = Slot(self)
        try:
            yield slot
        finally:
            self._account()
            self._busy -= 1
            self._flowing -= slot.flowing
            self._wake()

    def received(self, slot: Slot, size: int) -> None:
        """`size` bytes of `slot`'s file arrived; at the end of a sample, judge the level."""
        if not slot.flowing:
            self._account()
            slot.flowing = True
            self._flowing += 1
        if self._fixed:
            return
        self._bytes += size
        now = self._clock()
        if now - self._since >= SAMPLE and self._bytes >= SAMPLE_BYTES * self.limit:
            self._account()
            self._judge(now)

    def _account(self) -> None:
        """Add the files held and flowing since the last change to the sample's seconds."""
        now = self._clock()
        self._busy_seconds += self._busy * (now - self._marked)
        self._flowing_seconds += self._flowing * (now - self._marked)
        self._marked = now

    def _judge(self, now: float) -> None:
        """Double the level while each file's rate holds up; else keep this level if it
        brought GAIN over the one before, or go back to that one, and hold it, trying the
        next level again every REPROBE samples. A sample whose slots were not nearly all
        held (too few files waiting) says nothing of the host."""
        elapsed = now - self._since
        if self._busy_seconds >= FULL * self.limit * elapsed and self._flowing_seconds > 0:
            rate = self._bytes / elapsed
            per_file = self._bytes / self._flowing_seconds
            if self.settled:
                self._held += 1
                if self._held >= REPROBE and self.limit < self.maximum:
                    self._grow(rate)
            elif self._best is None or per_file >= HOLDS_UP * self._best:
                self._best = max(self._best or 0.0, per_file)
                self._grow(rate)
            else:
                if rate < GAIN * self._last_rate:  # twice the files, hardly more bytes
                    self.limit = max(self.limit // 2, 1)
                self.settled, self._held = True, 0
        self._start_sample(now)

    def _grow(self, rate: float) -> None:
        """Try twice the files, remembering this level's rate to judge it by."""
        self._last_rate = rate
        self.limit = min(2 * self.limit, self.maximum)
        self.settled = self.limit == self.maximum
        self._wake()

    def _wake(self) -> None:
        """Let waiting files look again for a free slot."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _start_sample(self, now: float) -> None:
        self._since = self._marked = now
        self._bytes = 0
        self._busy_seconds = self._flowing_seconds = 0.0
