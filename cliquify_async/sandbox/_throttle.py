"""Laravel's ``throttle`` middleware: a fixed window per key that opens at its first hit.

A window allows ``limit`` hits and closes ``window`` seconds after its first hit; rejected
hits are not counted (Laravel checks ``tooManyAttempts`` before ``hit``). StackedThrottle puts
extra tiers in front of the main one, like a named limiter returning several ``Limit``s, and
counts as Laravel does: tier by tier, so the tiers before a refusing one have counted the hit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Literal

import attrs


def _seconds(seconds: float, precision: Literal["seconds", "float"]) -> str:
    """A delay as a header value: whole seconds rounded up (at least 1), or 3 decimals."""
    if precision == "float":
        return f"{max(seconds, 0.001):.3f}"
    return str(max(math.ceil(seconds), 1))


@attrs.frozen(kw_only=True)
class Verdict:
    """The throttle's answer to one request, and the headers that report it."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until the current window closes

    def headers(
        self,
        precision: Literal["seconds", "float"],
        reset: Literal["on-429", "epoch", "seconds"] = "on-429",
    ) -> dict[str, str]:
        """``X-RateLimit-*`` headers; a rejection adds ``Retry-After``.

        ``X-RateLimit-Reset`` is the window's close as unix time on rejections only ("on-429",
        as Laravel does) or on every answer ("epoch"), or on every answer as a delay ("seconds").
        """
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = _seconds(self.retry_after, precision)
        if reset == "seconds":
            headers["X-RateLimit-Reset"] = _seconds(self.retry_after, precision)
        elif reset == "epoch" or not self.allowed:
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


class StackedThrottle:
    """Tiers checked and counted in order, ``before`` then ``main``, as Laravel's throttle
    does with several limits: the first full tier rejects the hit with its own verdict (the
    tiers before it have counted it); a hit every tier lets through is reported by ``main``.
    """

    def __init__(
        self, main: FixedWindowThrottle, *, before: Sequence[FixedWindowThrottle] = ()
    ) -> None:
        self._main = main
        self._before = tuple(before)

    def __repr__(self) -> str:
        return f"<StackedThrottle main={self._main!r} before={list(self._before)!r}>"

    def hit(self, key: str) -> Verdict:
        """Count one request for ``key`` in each tier up to the first that is full."""
        for tier in self._before:
            verdict = tier.hit(key)
            if not verdict.allowed:
                return verdict
        return self._main.hit(key)
