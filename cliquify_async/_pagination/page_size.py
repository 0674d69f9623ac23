"""The largest page a server honours, learned once per endpoint and kept for the client's life.

Under a per-minute limit a harvest's time is its request count, so fewer, larger pages are the
only speed left. Laravel takes `per_page` and caps it: a paginator reports the size it used
(`per_page` or `meta.per_page`), a form request answers a too-large value with a 422 that names
the maximum. `per_page="max"` asks for PROBE once, reads back what the server did, and pages
with that; a clamping server costs no extra request, a 422 one.

A server usually applies one cap to every endpoint, so the size one endpoint showed is what
the others are asked for first, and while one endpoint's first page is on its way with no
size known, the others wait for it: a harvest of every endpoint spends at most one refused
request, not one per endpoint.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Final

from ..errors import ValidationError
from .rules import PageInfo

MAX: Final = "max"
PROBE: Final = 1000  # the size asked for first: larger than any cap commonly configured
FALLBACK: Final = 100  # after a 422 that names no maximum: the contract's assumed maximum


class PageSizes:
    """Per endpoint key, the page size the server used when asked for the largest."""

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}
        self._expected: dict[str, int] = {}
        self._shown: int | None = None  # the size the first endpoint to answer showed
        self._probe = asyncio.Lock()  # held by a first page asked with nothing known

    def __repr__(self) -> str:
        return f"<PageSizes {self._sizes}>"

    def size_for(self, key: str) -> int:
        """The size to ask for: the one learned, else the one expected, else the one another
        endpoint showed, else PROBE."""
        return self._sizes.get(key) or self._expected.get(key) or self._shown or PROBE

    @asynccontextmanager
    async def first_page(self, key: str) -> AsyncIterator[int]:
        """Around the first request of a listing of `key` that learns its size: the size to
        ask for. While nothing is known for `key`, one such request runs at a time, so the
        others ask for the size it shows instead of each being refused."""
        if key in self._sizes or key in self._expected or self._shown is not None:
            yield self.size_for(key)
            return
        async with self._probe:
            yield self.size_for(key)

    def expect(self, key: str, size: int) -> None:
        """Ask for `size` first instead of PROBE (what an earlier session learned); the
        server's answer is read back and a 422 handled as for any probe."""
        self._expected[key] = size

    def learned(self, key: str) -> int | None:
        """The size the server used for the endpoint, once a listing has learned it."""
        return self._sizes.get(key)

    def learn(self, key: str, size: int) -> None:
        """Keep the size the server used for `key` (the first answer decides); the first
        size any endpoint shows is what the others ask for first."""
        self._sizes.setdefault(key, size)
        if self._shown is None:
            self._shown = size


def size_used(info: PageInfo, asked: int) -> int | None:
    """The page size the server used for a page asked at `asked`: the one it reports, or the
    number of items on a page that another follows; None if the page does not tell."""
    if info.per_page is not None and info.per_page > 0:
        return min(info.per_page, asked)
    more = info.number is not None and info.last_page is not None and info.number < info.last_page
    followed = more or info.next_url is not None or info.next_cursor is not None
    if followed and 0 < len(info.items) <= asked:
        return len(info.items)
    return None


_SCAN_CHARS: Final = 500  # of each message: a cap is stated early; a hostile one is long
_MAX_DIGITS: Final = 9  # a longer "maximum" is absurd (and int() refuses past 4300 digits)
# The bound a message states, in ASCII digits only, nine at most, and whole: a longer number,
# or one that goes on past a separator ("1,000", "10.5"), is none (its start would mislead).
_BOUND: Final = rf"(?P<n>[0-9]{{1,{_MAX_DIGITS}}})(?!\d|[.,]\d)"
_LOWER: Final = rf"-?[0-9]{{1,{_MAX_DIGITS}}}"  # a rule's lower bound, which caps nothing


def _said(words: str) -> re.Pattern[str]:
    """A rule's message from the verb on (the attribute's name may be anything): a space is
    any whitespace, {n} the bound read, {a} a lower bound, {unit} "not a count of digits"."""
    spaced = words.replace(" ", r"\s+")
    return re.compile(r"\b" + spaced.format(n=_BOUND, a=_LOWER, unit=r"(?!\s+digits\b)"), re.I)


def _reached(n: int) -> int:
    """A bound the value may reach is the cap."""
    return n


def _below(n: int) -> int:
    """Under an exclusive bound, the largest integer is one less."""
    return n - 1


def _digits(n: int) -> int | None:
    """The largest integer of n digits; None past nine digits (no usable number, as when a
    bound is written out longer), so the cap stays within nine digits."""
    return 10**n - 1 if n <= _MAX_DIGITS else None


# Laravel's messages for the rules that cap a number (modern "must", older "may" and "equal"
# without "to"), each with how its bound gives the cap. Lower bounds (min, gt, gte) match none.
_RULES: Final[tuple[tuple[re.Pattern[str], Callable[[int], int | None]], ...]] = (
    (_said("(?:must|may) not (?:be greater|have more) than {n}{unit}"), _reached),  # max:N
    (_said("must be between {a} and {n}{unit}"), _reached),  # between:A,B
    (_said("must be less than or equal (?:to )?{n}"), _reached),  # lte:N
    (_said("must be less than {n}"), _below),  # lt:N
    (_said("must be between {a} and {n} digits"), _digits),  # digits_between:A,B
    (_said("must be {n} digits"), _digits),  # digits:N
    (_said("(?:must|may) not have more than {n} digits"), _digits),  # max_digits:N
    (_said("must be {n}{unit}"), _reached),  # size:N
    (_said("maximum(?: of| is)?:? {n}"), _reached),  # a custom "maximum is N", as read before
)


def _head(message: str) -> str:
    """A message, or of a longer one than _SCAN_CHARS its sentences that end within them: a
    cut elsewhere could run through a number ("5000" read as 500) or drop a unit ("digits")."""
    if len(message) <= _SCAN_CHARS:
        return message
    return message[: message.rfind(". ", 0, _SCAN_CHARS + 1) + 1]


def _caps(message: str) -> Iterator[int]:
    """Each cap (1 or more) that a rule's message in `message` sets."""
    text = _head(message)
    for pattern, cap_from in _RULES:
        for found in pattern.finditer(text):
            cap = cap_from(int(found["n"]))
            if cap is not None and cap >= 1:
                yield cap


def size_refused(exc: ValidationError) -> int | None:
    """The cap a 422's per_page messages set, the smallest if several do (FALLBACK if none
    does); None when the 422 is not about per_page."""
    messages = exc.errors.get("per_page")
    if not messages:
        return None
    return min((cap for message in messages for cap in _caps(message)), default=FALLBACK)
