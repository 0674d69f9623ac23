"""The server's fixed windows, replayed from its arrival records, and the arithmetic of a
limit of L requests per W seconds (shared by benchmarks 1, 2, 6 and 7 and shared_gate,
whose workers must not import the aiohttp baselines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from ._sandbox import SandboxProcess


class Arrival(Protocol):
    """A request as the sandbox recorded it: when it arrived, and whether it was a 429."""

    @property
    def time(self) -> float: ...

    @property
    def throttled(self) -> bool: ...


class PacedRun:
    """A run of `requests` requests of `per_page` assets against a limit of `limit` per
    `window` seconds, answered after `latency` (a mixin for the benchmarks' settings, attrs
    classes holding those figures)."""

    __slots__ = ()
    limit: int
    window: float
    per_page: int
    latency: float

    @property
    def requests(self) -> int:
        """N, the requests the run sends."""
        raise NotImplementedError

    @property
    def floor(self) -> float:
        """The theoretical floor: N requests at L per W seconds, N x W / L."""
        return floor(self.requests, self.limit, self.window)

    @property
    def requests_per_minute(self) -> float:
        """What a user who knows the limit configures: L per W seconds, per minute."""
        return per_minute(self.limit, self.window)

    def sandbox(self) -> SandboxProcess:
        """A sandbox in a process of its own, serving the run's assets under its limit."""
        return SandboxProcess(
            assets=self.requests * self.per_page,
            templates=0,
            rate_limit=self.limit,
            rate_window=self.window,
            retry_after_precision="float",
            latency=self.latency,
        )


class Served:
    """The server's side of a contender's run (a mixin for the benchmarks' outcomes, attrs
    classes holding the sandbox's records of the run's /api requests)."""

    __slots__ = ()
    records: Sequence[Arrival]

    @property
    def sent(self) -> int:
        """Requests that reached the server."""
        return len(self.records)

    @property
    def rate_limited(self) -> int:
        """Of those, the ones answered 429."""
        return sum(r.throttled for r in self.records)


def floor(requests: int, limit: int, window: float) -> float:
    """The least time `requests` take at an even pace of `limit` per `window` s: N x W / L."""
    return requests * window / limit


def per_minute(limit: int, window: float) -> float:
    """`limit` requests per `window` seconds as a rate per minute (the SDK's setting)."""
    return limit * 60 / window


@attrs.frozen
class Window:
    """One of the server's fixed windows."""

    opened: float
    attempts: int
    accepted: int


def server_windows(arrivals: Sequence[Arrival], window: float) -> list[Window]:
    """The throttle's windows over ``arrivals`` (by time): one opens at the first arrival
    after the last one closed, and lasts ``window`` seconds."""
    windows: list[Window] = []
    for arrival in arrivals:
        if not windows or arrival.time >= windows[-1].opened + window:
            windows.append(Window(arrival.time, 0, 0))
        last = windows[-1]
        windows[-1] = Window(
            last.opened, last.attempts + 1, last.accepted + (not arrival.throttled)
        )
    return windows
