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
START: Final = 2
"""Files in flight at first with "auto"."""
DEFAULT_MAX: Final = 32
"""The most files in flight with "auto", unless told."""
SAMPLE: Final = 0.25
"""Seconds of arrivals judged at each level before the next step."""
FULL: Final = 0.9
"""The share of its slots a level must keep busy over a sample to be judged."""
HOLDS_UP: Final = 0.75
"""Each file's share of the bytes per second must stay at this part of the best seen for
more files to help: below it, the files share a limit (the host's, the link's, the gate's)."""


def check_concurrency(concurrency: object, maximum: object) -> None:
    """ConfigurationError unless `concurrency` is "auto" or a number from 1 and `maximum`
    a number from 1."""
    for name, value in (("download_concurrency", concurrency), ("max_downloads", maximum)):
        if value == AUTO and name == "download_concurrency":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f'{name} must be "auto" or at least 1, got {value!r}')


class FileFlight:
    """Slots for files in flight: `async with flight.slot():` around each file, and
    `received(n)` for each chunk. A number is kept as it is; "auto" starts at START."""

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
        self._busy = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._best: float | None = None  # the best bytes per second per file seen
        self._last_rate = 0.0  # all files' bytes per second at the level before
        self.settled = concurrency != AUTO
        self._since = self._marked = clock()  # the sample's start, the last change of busy
        self._bytes = 0
        self._file_seconds = 0.0

    def __repr__(self) -> str:
        mode = "settled" if self.settled else "probing"
        return f"<FileFlight limit={self.limit} max={self.maximum} busy={self._busy} {mode}>"

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
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
        try:
            yield
        finally:
            self._account()
            self._busy -= 1
            self._wake()

    def received(self, size: int) -> None:
        """`size` bytes arrived; at the end of a sample, judge the level."""
        if self.settled:
            return
        self._bytes += size
        now = self._clock()
        if now - self._since >= SAMPLE:
            self._account()
            self._judge(now)

    def _account(self) -> None:
        """Add the files busy since the last change to the sample's file-seconds."""
        now = self._clock()
        self._file_seconds += self._busy * (now - self._marked)
        self._marked = now

    def _judge(self, now: float) -> None:
        """Double the level while each file's rate holds up; else keep the better of this
        level and the one before, and hold it. A sample whose slots were not nearly all
        busy (too few files waiting) says nothing of the host."""
        elapsed = now - self._since
        if self._file_seconds >= FULL * self.limit * elapsed:
            rate = self._bytes / elapsed
            per_file = self._bytes / self._file_seconds
            if self._best is None or per_file >= HOLDS_UP * self._best:
                self._best = max(self._best or 0.0, per_file)
                self._last_rate = rate
                self.limit = min(2 * self.limit, self.maximum)
                self.settled = self.limit == self.maximum
                self._wake()
            else:
                if rate < self._last_rate:
                    self.limit = max(self.limit // 2, 1)
                self.settled = True
        self._start_sample(now)

    def _wake(self) -> None:
        """Let waiting files look again for a free slot."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _start_sample(self, now: float) -> None:
        self._since = self._marked = now
        self._bytes = 0
        self._file_seconds = 0.0
