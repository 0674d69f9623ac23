"""What the client knows of the server's fixed rate-limit window: pure accounting, no I/O.

Laravel's throttle counts requests per client IP in a fixed window that opens with the first
request and closes `window` seconds later (cliquify-api.md §6). Pacing alone drifts against
such a window; this model keeps each of our windows inside one of the server's. It opens a
window with the first request sent after the last one closed, lets `limit` requests into it,
and holds the next until the window has surely closed on the server too (its opener arrived
after it was sent, so `window + guard` after sending is safe). Responses refine it: the
`X-RateLimit-Limit` header replaces the configured limit, a `Remaining` of `limit - 1` marks
the request that opened the server's window, and a `Remaining` used up by requests already
in flight (other processes behind the same IP count too) closes the budget early.
"""

from __future__ import annotations

from collections import deque

from attrs import define, field


@define
class FixedWindow:
    """The client's picture of the server's current window, on one monotonic clock."""

    limit: int
    window: float
    guard: float
    opened_at: float | None = None
    exhausted: bool = False
    _sends: deque[float] = field(factory=deque)

    @property
    def closes_at(self) -> float | None:
        """When the current window has surely closed on the server as well."""
        return None if self.opened_at is None else self.opened_at + self.window + self.guard

    def hold_until(self, now: float) -> float:
        """The earliest time the next request may be sent: `now`, or when a spent window ends."""
        closes_at = self.closes_at
        if closes_at is None or now >= closes_at:
            return now
        assert self.opened_at is not None
        if self.exhausted or self.sent_since(self.opened_at) >= self.limit:
            return closes_at
        return now

    def sent_since(self, moment: float) -> int:
        """Requests sent at or after `moment`."""
        return sum(1 for sent in self._sends if sent >= moment)

    def record_send(self, now: float) -> None:
        """A request leaves now; the first one after a window closed opens the next."""
        closes_at = self.closes_at
        if closes_at is None or now >= closes_at:
            self.opened_at = now
            self.exhausted = False
        self._sends.append(now)
        while self._sends and self._sends[0] < now - 2 * (self.window + self.guard):
            self._sends.popleft()

    def observe(self, sent_at: float, limit: int | None, remaining: int | None) -> None:
        """Learn from the X-RateLimit-* headers of the response to the request sent at `sent_at`."""
        if limit is not None and limit > 0:
            self.limit = limit
        if remaining is None:
            return
        if remaining == self.limit - 1 and sent_at != self.opened_at:
            # The server says this request opened its window: align ours with it.
            self.opened_at = sent_at
            self.exhausted = False
        if self.opened_at is not None and sent_at >= self.opened_at:
            in_flight_after = self.sent_since(sent_at) - 1
            if in_flight_after >= remaining:
                self.exhausted = True

    def rate_limited(self, now: float, retry_after: float) -> None:
        """A 429 says the server's window closes `retry_after` seconds from now."""
        self.opened_at = now + retry_after - self.window - self.guard
        self.exhausted = True
