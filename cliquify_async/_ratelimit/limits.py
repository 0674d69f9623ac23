"""The server's rate limits as the client knows them, and the pace they allow: pure, no I/O.

One limit is the one every response reports in X-RateLimit-Limit/-Remaining. Others show only
in their own 429s: a per-second proxy limit in front of the per-minute app limit, or Laravel's
named limiters with several `Limit`s, whose 429 carries the limit it hit. Each becomes a
FixedWindow; the pace is the slowest any of them allows, and a request waits for all of them.

The server may be broken or hostile, so what it says is learned only within bounds:

* a wait (a 429's Retry-After, an X-RateLimit-Reset) of at most `max_wait` seconds, the
  client's RetryPolicy.max_retry_after (DEFAULT_MAX_WAIT, 120 s, unless configured);
* a count (X-RateLimit-Limit 1 to MAX_COUNT, X-RateLimit-Remaining 0 to MAX_COUNT), written
  as plain ASCII digits (no sign, `_` or 400-digit number);
* a window in (0, max_wait] (FixedWindow.fits), and a window only assumed holds a spent
  budget at most `max_wait`.

An answer out of bounds is not learned at all (Reading.refused), with one WARNING per kind
and gate: the gate goes on as if it never came. A 429 that names a longer wait still raises
RateLimitError, with that `retry_after`, for the call that met it (RetryPolicy).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Final

from attrs import define, field, frozen

from .._log import get_logger
from .._redact import redact
from .._wire import at_the_latest, parse_retry_after, read_int, reset_in
from ..errors import ConfigurationError
from .window import FixedWindow, Refusals

logger = get_logger("ratelimit")

DEFAULT_MAX_WAIT: Final = 120.0
"""Seconds: the longest wait any header may impose (RetryPolicy.max_retry_after's default)."""
MAX_RESET: Final = 86_400.0
"""Seconds: the furthest reset a budget reports (a later one is a broken header)."""
UNNAMED_EXPIRY: Final = 4
"""Windows a limit learned from 429s that name no count may go unmet before it is dropped
(and at least UNNAMED_MIN_AGE seconds): found again, a real one costs two 429s a time."""
UNNAMED_MIN_AGE: Final = 60.0
UNNAMED: Final = 0
"""In ServerLimits.limited: a 429 that named no count (no limit has a count of 0)."""
MAX_COUNT: Final = 1_000_000
"""The most requests per window a server may report (no API needs more; a larger number is
a broken header, and multiplied by the pace it would stand for an endless window)."""


def check_max_wait(max_wait: float, name: str = "max_wait") -> float:
    """`max_wait` if it is a positive finite number of seconds, else ConfigurationError."""
    if not (math.isfinite(max_wait) and max_wait > 0):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {max_wait!r}")
    return max_wait


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """A response header's count (0 or more, plain ASCII digits); None if it is missing or
    anything else."""
    return read_int(headers.get(name), low=0)


@frozen
class Refusal:
    """Why an answer is not learned: its kind ("wait", "count") and the header at fault."""

    kind: str
    detail: str


def _shown(name: str, value: str) -> str:
    """A header for a log line, its value cut short (a hostile value may be long), and
    redacted before the cut."""
    value = redact(value)
    return f"{name}: {value[:40]!r}{'...' if len(value) > 40 else ''}"


@frozen(kw_only=True)
class Reading:
    """What one response says of the rate limit, times in seconds from its arrival."""

    status: int
    limit: int | None
    remaining: int | None
    closes_in: float | None
    """X-RateLimit-Reset: when the reporting limit's window closes."""
    retry_after: float | None
    refused: Refusal | None = None
    """Set when a header is out of bounds: then nothing of this answer may be learned."""

    @classmethod
    def of(
        cls,
        status: int,
        headers: Mapping[str, str],
        *,
        now: float,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> Reading:
        """Read the headers of a response that arrived at unix time `now`; `refused` says
        which one is out of bounds (module docstring), if any."""
        limit = int_header(headers, "X-RateLimit-Limit")
        remaining = int_header(headers, "X-RateLimit-Remaining")
        reset, retry_after = headers.get("X-RateLimit-Reset"), headers.get("Retry-After")
        closes_in = reset_in(reset, now=now)
        wait = parse_retry_after(retry_after) if status == 429 else None
        # The bounds are RetryPolicy's: the waits as read, before at_the_latest's rounding margin.
        counts = f"plain digits, a limit from 1 and a remainder from 0 up to {MAX_COUNT:,}"
        waits = f"a wait up to max_wait ({max_wait:g} s)"
        checks = (
            ("count", "X-RateLimit-Limit", limit is not None and 1 <= limit <= MAX_COUNT, counts),
            (
                "count",
                "X-RateLimit-Remaining",
                remaining is not None and remaining <= MAX_COUNT,
                counts,
            ),
            ("wait", "X-RateLimit-Reset", closes_in is not None and closes_in <= max_wait, waits),
            ("wait", "Retry-After", status != 429 or _within(retry_after, wait, max_wait), waits),
        )
        refused = next(
            (
                Refusal(kind, f"{_shown(name, headers[name])} is not {bound}")
                for kind, name, ok, bound in checks
                if not ok and name in headers
            ),
            None,
        )
        return cls(
            status=status,
            limit=limit,
            remaining=remaining,
            closes_in=at_the_latest(reset, closes_in),
            retry_after=at_the_latest(retry_after, wait),
            refused=refused,
        )


def _within(value: str | None, wait: float | None, max_wait: float) -> bool:
    """True for a Retry-After of at most `max_wait`, not printed negative: RFC 9110 allows
    none, and read as 0 it would name a close of the window at this very moment."""
    return wait is not None and wait <= max_wait and not (value or "").lstrip().startswith("-")


@frozen
class RateBudget:
    """What the latest answer said of the reporting limit's current window: `remaining` of
    `limit` requests left, and when the window resets (unix time), as seen at `seen_at`.
    A service can shed load before it is throttled."""

    limit: int | None
    remaining: int
    resets_at: float | None
    """None when the server did not say (Laravel names it only on a 429)."""
    seen_at: float

    @classmethod
    def of(cls, headers: Mapping[str, str], *, now: float) -> RateBudget | None:
        """The budget an answer's X-RateLimit-* headers show at unix time `now`; None when
        they show none, or one out of bounds."""
        remaining = int_header(headers, "X-RateLimit-Remaining")
        limit = int_header(headers, "X-RateLimit-Limit")
        if (
            remaining is None
            or remaining > MAX_COUNT
            or not (limit is None or 1 <= limit <= MAX_COUNT)
        ):
            return None
        closes_in = reset_in(headers.get("X-RateLimit-Reset"), now=now)
        if closes_in is not None and not closes_in <= MAX_RESET:
            closes_in = None
        return cls(limit, remaining, None if closes_in is None else now + closes_in, now)


@frozen
class RateLimit:
    """One limit in force: `requests` per fixed window of `window` seconds."""

    requests: int
    window: float
    learned: bool
    """True when the server showed the window; False while it is configured or assumed."""

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.window:.1f} s"


@define
class Journal:
    """The log lines a step of the gate's model asks for, written only once the step's state
    is kept: a shared store may run a step again on newer state, and must not log it twice."""

    lines: list[tuple[int, str, tuple[object, ...]]] = field(factory=list)

    def log(self, level: int, message: str, *args: object) -> None:
        self.lines.append((level, message, args))

    def flush(self) -> None:
        """Write the lines asked for since the last flush or drop."""
        for level, message, args in self.lines:
            logger.log(level, message, *args)
        self.lines.clear()

    def drop(self) -> None:
        """Forget the lines of a step whose state was not kept."""
        self.lines.clear()


@define
class ServerLimits:
    """Every limit the server has shown, each a FixedWindow, and the pace that fits them all.

    Built from the configuration (`configured`): `limit` requests per `window` seconds, where
    `learns` says whether the window is only assumed (the user gave a pace, not a window). An
    assumed window is `limit x pace`, so the count the server reports never slows the
    configured pace until the server shows its budget running out. `refusals` and `journal`
    belong to the process, not to the state: a store that keeps the state elsewhere gives
    its own back after loading it.
    """

    pace: float
    max_wait: float
    primary: FixedWindow
    stacked: dict[int, FixedWindow] = field(factory=dict)
    heard_limit: bool = False
    limited: set[int] = field(factory=set)
    """Tiers whose 429 the next cool-down applies to (UNNAMED: a 429 that named no count)."""
    unnamed_reset: float | None = None
    unnamed_met: dict[int, float] = field(factory=dict)
    """Per limit learned from 429s that name no count, when its last 429's wait ended: one
    unmet for long (UNNAMED_EXPIRY) is dropped, so load shed twice is no limit for good."""
    """When the window of a limit that names no count last reopened (its 429's cool-down end)."""
    refusals: Refusals = field(factory=Refusals, eq=False)
    journal: Journal = field(factory=Journal, eq=False)

    @classmethod
    def configured(
        cls, limit: int, window: float, *, learns: bool, max_wait: float = DEFAULT_MAX_WAIT
    ) -> ServerLimits:
        """The limits a client starts from: one, configured or assumed."""
        refusals = Refusals()
        primary = FixedWindow(
            limit=limit,
            window=window,
            known=not learns,
            learns=learns,
            max_window=max_wait,
            refusals=refusals,
        )
        return cls(window / limit, max_wait, primary, refusals=refusals)

    def attach(self, refusals: Refusals, journal: Journal) -> None:
        """Log through this process's `refusals` and `journal` (after loading from a store)."""
        self.refusals, self.journal = refusals, journal
        for tier in self.tiers:
            tier.refusals = refusals

    @property
    def tiers(self) -> list[FixedWindow]:
        """The reporting limit first, then the ones seen only in 429s, by count."""
        return [self.primary, *(self.stacked[count] for count in sorted(self.stacked))]

    @property
    def interval(self) -> float:
        """Seconds between two requests: the slowest pace any limit allows."""
        return max(tier.window / tier.limit for tier in self.tiers)

    def limits(self) -> tuple[RateLimit, ...]:
        """The limits in force, the reporting one first."""
        return tuple(_view(tier) for tier in self.tiers)

    def hold_until(self, now: float) -> float:
        """The earliest time the next request may go: every limit must have room."""
        self._expire_unnamed(now)
        return max(tier.hold_until(now) for tier in self.tiers)

    def _expire_unnamed(self, now: float) -> None:
        """Drop a limit learned from 429s that name no count once it has gone unmet for long
        (UNNAMED_EXPIRY): the next such 429s learn it again if it is real."""
        for count, met in list(self.unnamed_met.items()):
            tier = self.stacked.get(count)
            if tier is None or now > met + max(UNNAMED_EXPIRY * tier.window, UNNAMED_MIN_AGE):
                self.unnamed_met.pop(count)
                self.unnamed_reset = None
                if tier is not None:
                    del self.stacked[count]
                    self.journal.log(
                        logging.INFO, "limit no longer met, paced without it: %s", _view(tier)
                    )

    def record_send(self, now: float) -> None:
        """A request leaves now; every limit counts it."""
        for tier in self.tiers:
            tier.record_send(now)

    def observe(self, sent_at: float, received_at: float, reading: Reading) -> None:
        """Learn from the response to the request sent at `sent_at`, received at `received_at`;
        a reading out of bounds teaches nothing (and is logged once per kind)."""
        if reading.refused is not None:
            self.refusals.refuse(reading.refused.kind, reading.refused.detail)
            return
        if reading.status == 429:
            self._observe_429(sent_at, received_at, reading)
            return
        tier = self.primary
        if reading.limit is not None:
            self.hear_count(reading.limit)
        was_known = tier.known
        if tier.observe(
            sent_at, received_at, reading.remaining, reading.closes_in, pace=self.interval
        ):
            self._learned(tier, was_known)

    def hear_count(self, limit: int) -> None:
        """X-RateLimit-Limit of an answer that is not a 429: the reporting limit's count."""
        self.heard_limit = True
        self._count(limit)

    def cool_down(self, closes_by: float) -> None:
        """Every limit whose 429 was just heard is spent until `closes_by` (its Retry-After)."""
        for tier in self.tiers:
            if tier.limit in self.limited:
                tier.rate_limited(closes_by)
        if UNNAMED in self.limited:
            self.unnamed_reset = closes_by
            for count in self.limited & self.unnamed_met.keys():
                self.unnamed_met[count] = closes_by
        self.limited.clear()

    def _observe_429(self, sent_at: float, received_at: float, reading: Reading) -> None:
        wait = reading.retry_after if reading.retry_after is not None else reading.closes_in
        limit = reading.limit
        if limit is None and self.heard_limit:
            self.limited.add(UNNAMED)
            unnamed = self._unnamed_limit(sent_at, received_at, wait)
            if unnamed is not None:
                self.limited.add(unnamed.limit)
                self.unnamed_met.setdefault(unnamed.limit, received_at)
            return
        if limit is None or limit == self.primary.limit or not self.heard_limit:
            tier = self.primary
            if limit is not None:
                self._count(limit)
            was_known = tier.known
            if wait is not None and tier.bound_by_close(received_at + wait):
                self._learned(tier, was_known)
        else:
            tier = self._stacked_limit(limit, sent_at, received_at, wait)
        self.limited.add(tier.limit)

    def _count(self, limit: int) -> None:
        """The reporting limit's count, as the server said it; an assumed window follows."""
        if limit != self.primary.limit:
            self.journal.log(
                logging.INFO, "the server allows %d requests per window; pacing to that", limit
            )
            self.primary.limit = limit
            self.primary.assume(limit * self.pace)

    def _unnamed_limit(
        self, sent_at: float, received_at: float, wait: float | None
    ) -> FixedWindow | None:
        """A 429 that names no count from a server whose other answers name theirs: a limit
        in front of the API (a proxy, a gateway). Its first 429 only says when its window
        reopens; the next one shows its count, the requests we sent from then to this one,
        and becomes a limit like one named in its own 429s."""
        reset = self.unnamed_reset
        if reset is None or wait is None:
            return None
        count = self.primary.sent_since(reset) - self.primary.sent_since(sent_at)
        return self._stacked_limit(count, sent_at, received_at, wait) if count >= 1 else None

    def _stacked_limit(
        self, limit: int, sent_at: float, received_at: float, wait: float | None
    ) -> FixedWindow:
        """A limit the reporting headers never showed, met in its own 429.

        Its window opened with the `limit`-th request before this one (the server counted
        those; this one was one too many), so it is at most that long from then until the
        close the 429 names. A later 429 of the same limit proves its window longer still.
        """
        opened = self.primary.recent_send(limit, sent_at)
        tier = self.stacked.get(limit)
        if opened is None or wait is None:
            return tier or self.primary
        span = received_at + wait - opened
        if not self.primary.fits(span):
            return tier or self.primary
        if tier is None:
            tier = self.stacked[limit] = FixedWindow(
                limit=limit,
                window=span,
                learns=True,
                max_window=self.max_wait,
                refusals=self.refusals,
            )
            tier.opened_at = opened
            for sent in self.primary.sends_since(opened):
                tier.record_send(sent)
            self.journal.log(
                logging.INFO, "server window learned: %s (seen in its 429s)", _view(tier)
            )
            return tier
        if span > tier.window:
            tier.window = span
            self.journal.log(logging.INFO, "server window longer than thought: %s", _view(tier))
        tier.opened_at = opened
        return tier

    def _learned(self, tier: FixedWindow, was_known: bool) -> None:
        """Once at INFO when a window is first learned; each later tightening at DEBUG."""
        level = logging.DEBUG if was_known else logging.INFO
        self.journal.log(level, "server window learned: %s", _view(tier))


def _view(tier: FixedWindow) -> RateLimit:
    return RateLimit(tier.limit, tier.window, learned=tier.learns and tier.known)
