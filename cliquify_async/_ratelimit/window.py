"""What the client knows of one of the server's fixed rate-limit windows: pure accounting.

Laravel's throttle counts requests per client IP in a fixed window that opens with the first
request and closes `window` seconds later (docs/contract.md §6). Pacing alone drifts against
such a window; this model keeps each of our windows inside one of the server's. It opens a
window with the first request sent after the last one closed, lets `limit` requests into it,
and holds the next until the window has surely closed on the server too.

Every moment is taken on the sending side: a request reaches the server some delay after
it is sent, about the same delay for each (the guard, a share of the window, covers the
difference). So a window the server opened at our opener's arrival closes for us `window`
after the opener's send, and the next may go then, plus the guard; waiting for the opener's
answer instead would lose the whole round trip at every window's edge.

The window's length is either given (the user set `rate_window`) or learned, from bounds: the
request the server says opened the next window (`Remaining == limit - 1`) arrived after this
one had closed, so `sent(next opener) - sent(this opener)` is not shorter than the window (with
the same delay on the way); nor is the close a 429's Retry-After or an X-RateLimit-Reset names,
received and measured from the opener's send. The window in force is the shortest such bound
seen, so it only ever tightens toward the truth from above.

No server answer may hold the client back longer than `max_window` (the client's max_wait,
120 s by default): a bound longer than that is not learned (a warning says so once), and a
window only assumed holds a spent budget at most that long.
"""

from __future__ import annotations

import logging
import math
from collections import deque

from attrs import define, field

from .._log import get_logger

logger = get_logger("ratelimit")

# How long after a window's first request we wait, beyond the window itself, before the next
# window's first request: the opener reached the server some time after we sent it.
MAX_GUARD = 0.25
GUARD_SHARE = 0.01
GAP = 1.25  # intervals between two sends, beyond which a span says little of the window


@define
class Refusals:
    """What a gate would not learn from the server, logged at WARNING once per kind (then at
    DEBUG): a server that answers every request alike must not flood the log."""

    _warned: set[str] = field(factory=set)

    def refuse(self, kind: str, detail: str) -> None:
        """Log that an answer of `kind` ("wait", "count", "window") was not learned."""
        first = kind not in self._warned
        self._warned.add(kind)
        logger.log(
            logging.WARNING if first else logging.DEBUG,
            "rate-limit answer not learned (%s): %s%s",
            kind,
            detail,
            "; the client goes on as if it never came (said once per kind)" if first else "",
        )

    def refuse_window(self, span: float, max_window: float) -> None:
        """Log that a window of `span` seconds, longer than `max_window`, was not learned."""
        self.refuse("window", f"a window of {span:.3g} s, beyond max_wait of {max_window:g} s")


@define
class FixedWindow:
    """The client's picture of one server limit: `limit` requests per `window` seconds.

    Until `known`, `window` is an assumption (the configured pace times `limit`): the count
    alone then holds nothing back, and only the server's own word (its budget used up, a
    named close) does.
    """

    limit: int
    window: float
    known: bool = True
    learns: bool = False
    max_window: float = math.inf
    """The longest window learned, and the longest an assumed one holds a spent budget."""
    refusals: Refusals = field(factory=Refusals)
    opened_at: float | None = None
    exhausted: bool = False
    closes_by: float | None = None
    """When the server said the current window closes (Retry-After, X-RateLimit-Reset)."""
    server_opened: float | None = None
    """The send time of the last request the server said opened its window."""
    _remaining: tuple[float, int] | None = None  # (send time, Remaining) of the latest send heard
    _sends: deque[float] = field(factory=deque)

    @property
    def guard(self) -> float:
        """Seconds waited past the window's end, for the opener's trip to the server."""
        return min(MAX_GUARD, GUARD_SHARE * self.window)

    @property
    def span(self) -> float:
        """How long the current window lasts: an assumed one holds at most `max_window`."""
        return self.window if self.known else min(self.window, self.max_window)

    @property
    def closes_at(self) -> float | None:
        """When a request sent may no longer arrive in the current window: `window` after
        its opener was sent, plus the guard, or the close the server named, if earlier."""
        estimate = None if self.opened_at is None else self.opened_at + self.span
        if self.closes_by is not None:
            # Both are upper bounds when the window is known; an assumed one is no bound.
            if estimate is None or not self.known:
                estimate = self.closes_by
            else:
                estimate = min(estimate, self.closes_by)
        return None if estimate is None else estimate + self.guard

    def hold_until(self, now: float) -> float:
        """The earliest time the next request may be sent: `now`, or when a spent window
        ends. A known window also never gets `limit + 1` of our requests into any span of
        its length, whatever its alignment: the sliding check that keeps the pace burst-free
        where our picture of the server's window is off by a request."""
        return max(self._fixed_hold(now), self._sliding_hold(now))

    def _fixed_hold(self, now: float) -> float:
        closes_at = self.closes_at
        if closes_at is None or now >= closes_at:
            return now
        if self.exhausted:
            return closes_at
        spent = self.opened_at is not None and self.sent_since(self.opened_at) >= self.limit
        return closes_at if self.known and spent else now

    def _sliding_hold(self, now: float) -> float:
        if not self.known or len(self._sends) < self.limit:
            return now
        return max(now, self._sends[-self.limit] + self.window + self.guard)

    def sent_since(self, moment: float) -> int:
        """Requests sent at or after `moment`: counted from the newest back (sends are in
        time order), so a check per request costs what is in the window, with no list."""
        count = 0
        for sent in reversed(self._sends):
            if sent < moment:
                break
            count += 1
        return count

    def sent_between(self, after: float, before: float) -> int:
        """Requests sent after `after` and before `before`."""
        return sum(1 for sent in reversed(self._sends) if after < sent < before)

    def sends_since(self, moment: float) -> list[float]:
        """The send times at or after `moment`, oldest first."""
        return [sent for sent in self._sends if sent >= moment]

    def recent_send(self, back: int, before: float) -> float | None:
        """The send time `back` sends before the one at `before` (1: the one just before)."""
        earlier = [sent for sent in self._sends if sent < before]
        return earlier[-back] if 0 < back <= len(earlier) else None

    def record_send(self, now: float) -> None:
        """A request leaves now; the first one after a window closed opens the next."""
        closes_at = self.closes_at
        if closes_at is None or now >= closes_at:
            self._open(now)
        self._sends.append(now)
        while self._sends and self._sends[0] < now - 2 * (self.window + self.guard):
            self._sends.popleft()

    def _open(self, sent_at: float) -> None:
        """A new window opens with the request sent at `sent_at`; nothing of the last holds."""
        self.opened_at = sent_at
        self.exhausted, self.closes_by = False, None

    def assume(self, window: float) -> None:
        """Take `window` as the length while none is known (the configured pace changed)."""
        if not self.known:
            self.window = window

    def learn(self, bound: float) -> bool:
        """A span the server's window surely fits in; True when it tightened the window. A
        span outside (0, max_window] is refused (and logged once): no window that long."""
        if not self.learns or (self.known and bound >= self.window):
            return False
        if not self.fits(bound):
            return False
        self.window, self.known = bound, True
        return True

    def fits(self, span: float) -> bool:
        """True when `span` is a window the client may learn: in (0, max_window]; a longer
        one is refused with a warning (once), since waiting it out would outlast max_wait."""
        if 0 < span <= self.max_window:
            return True
        if span > 0:
            self.refusals.refuse_window(span, self.max_window)
        return False

    def observe(
        self,
        sent_at: float,
        received_at: float,
        remaining: int | None,
        closes_in: float | None,
        pace: float = 0.0,
    ) -> bool:
        """Learn from the X-RateLimit-Remaining and -Reset of the response to the request sent
        at `sent_at`; True when the window's length tightened. `pace` is the seconds between
        requests in force (another limit may pace slower than this one)."""
        learned = False
        if remaining is not None:
            learned = self._place(sent_at, remaining, pace)
        if closes_in is not None and (self.opened_at is None or sent_at >= self.opened_at):
            closes_by = received_at + closes_in
            self.closes_by = closes_by if self.closes_by is None else min(self.closes_by, closes_by)
            if self.server_opened is not None and sent_at >= self.server_opened:
                learned = self.bound_by_close(closes_by) or learned
        if remaining is not None and self.opened_at is not None and sent_at >= self.opened_at:
            # The server will count in this window every request we sent after this one and
            # before the window's length had passed since its opener: with the same delay on
            # the way, a later one arrives after the close, in the next window.
            horizon = self.opened_at + self.span
            if self.sent_between(sent_at, horizon) >= remaining:
                self.exhausted = True
        return learned

    def _place(self, sent_at: float, remaining: int, pace: float) -> bool:
        """Align with a new window the server reports: this request opened it (`Remaining ==
        limit - 1`), or Remaining climbed back after an earlier send, so one opened between."""
        previous = self._remaining
        if previous is None or sent_at > previous[0]:
            self._remaining = (sent_at, remaining)
        if remaining == self.limit - 1:
            if self.server_opened is not None and sent_at <= self.server_opened:
                return False
            learned = self._learn_between_openers(sent_at, pace)
            self.server_opened = sent_at
            self._open(sent_at)
            return learned
        climbed = previous is not None and sent_at > previous[0] and remaining > previous[1]
        if climbed and (self.opened_at is None or sent_at > self.opened_at):
            # Someone else's request opened the window between ours: count from this one.
            self._open(sent_at)
        return False

    def _learn_between_openers(self, sent_at: float, pace: float) -> bool:
        """The previous window lasted at most until this opener, sent at `sent_at`. Until a
        window is known, that counts only if our requests kept coming at about the pace from
        one opener to the other: across a pause (idle, or the first page's round trip before
        the rest are asked for) the window's end could lie anywhere in it, and a span too
        long, once learned, would never tighten (the gate then holds each window that long)."""
        if self.server_opened is None:
            return False
        gap = GAP * max(pace, self.window / self.limit) + self.guard  # a hold waits a guard
        if not self.known and not self._paced(self.server_opened, sent_at, gap):
            return False
        return self.learn(sent_at - self.server_opened)

    def _paced(self, start: float, end: float, gap: float) -> bool:
        """True when no two of our consecutive sends from `start` to `end` are further apart
        than `gap`."""
        previous = start
        for sent in self._sends:
            if start < sent <= end:
                if sent - previous > gap:
                    return False
                previous = sent
        return True

    def bound_by_close(self, closes_by: float) -> bool:
        """The server named when its current window closes; True when that tightened the
        window's length (measured from the last opener it confirmed)."""
        if self.server_opened is None:
            return False
        return self.learn(closes_by - self.server_opened)

    def rate_limited(self, closes_by: float) -> None:
        """A 429 spent the window, which closes at `closes_by` (its Retry-After)."""
        self.closes_by = closes_by
        self.exhausted = True
