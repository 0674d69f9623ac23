"""Laravel's ``throttle`` middleware: a fixed window per key that opens at its first hit.

A window allows ``limit`` hits and closes ``window`` seconds after its first hit; rejected
hits are not counted (Laravel checks ``tooManyAttempts`` before ``hit``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

import attrs


@attrs.frozen(kw_only=True)
class Verdict:
    """The throttle's answer to one request, and the headers that report it."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until the current window closes

    def headers(self, precision: Literal["seconds", "float"]) -> dict[str, str]:
        """``X-RateLimit-*`` headers; a rejection adds ``Retry-After`` and ``X-RateLimit-Reset``."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            if precision == "float":
                headers["Retry-After"] = f"{max(self.retry_after, 0.001):.3f}"
            else:
                headers["Retry-After"] = str(max(math.ceil(self.retry_after), 1))
            headers["X-RateLimit-Reset"] = str(math.ceil(time.time() + self.retry_after))
        return headers


@attrs.frozen
class _Window:
    opened: float
    hits: int


class FixedWindowThrottle:
    """Counts hits per key in fixed windows measured on an injectable monotonic clock."""

    def __init__(self, *, limit: int, window: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def __repr__(self) -> str:
        return f"<FixedWindowThrottle limit={self._limit} window={self._window}s>"

    def hit(self, key: str) -> Verdict:
        """Count one request for ``key`` unless its window is full."""
        now = self._clock()
        current = self._windows.get(key)
        if current is None or now >= current.opened + self._window:
            current = _Window(opened=now, hits=0)
        allowed = current.hits < self._limit
        if allowed:
            current = _Window(opened=current.opened, hits=current.hits + 1)
        self._windows[key] = current
        return Verdict(
            allowed=allowed,
            limit=self._limit,
            remaining=self._limit - current.hits,
            retry_after=current.opened + self._window - now,
        )
