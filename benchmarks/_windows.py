"""The server's fixed windows, replayed from its arrival records (shared by benchmark 1/2 and
shared_gate, whose workers must not import the aiohttp baselines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs


class Arrival(Protocol):
    """A request as the sandbox recorded it: when it arrived, and whether it was a 429."""

    @property
    def time(self) -> float: ...

    @property
    def throttled(self) -> bool: ...


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
