"""The largest page a server honours, learned once per endpoint and kept for the client's life.

Under a per-minute limit a harvest's time is its request count, so fewer, larger pages are the
only speed left. Laravel takes `per_page` and caps it: a paginator reports the size it used
(`per_page` or `meta.per_page`), a form request answers a too-large value with a 422 that names
the maximum. `per_page="max"` asks for PROBE once, reads back what the server did, and pages
with that; a clamping server costs no extra request, a 422 one.
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import ValidationError
from .rules import PageInfo

MAX: Final = "max"
PROBE: Final = 1000  # the size asked for first: larger than any cap commonly configured
FALLBACK: Final = 100  # after a 422 that names no maximum: the contract's assumed maximum
# At most nine digits: a longer "maximum" is absurd (and int() refuses past 4300 digits).
_LIMIT_IN_MESSAGE: Final = re.compile(
    r"(?:greater than|more than|maximum(?: of| is)?)\D{0,12}(\d{1,9})(?!\d)"
)


class PageSizes:
    """Per endpoint key, the page size the server used when asked for the largest."""

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}
        self._expected: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<PageSizes {self._sizes}>"

    def size_for(self, key: str) -> int:
        """The size to ask for: the one learned, else the one expected, else PROBE."""
        return self._sizes.get(key) or self._expected.get(key, PROBE)

    def expect(self, key: str, size: int) -> None:
        """Ask for `size` first instead of PROBE (what an earlier session learned); the
        server's answer is read back and a 422 handled as for any probe."""
        self._expected[key] = size

    def learned(self, key: str) -> int | None:
        """The size the server used for the endpoint, once a listing has learned it."""
        return self._sizes.get(key)

    def learn(self, key: str, size: int) -> None:
        """Keep the size the server used for `key` (the first answer decides)."""
        self._sizes.setdefault(key, size)


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


def size_refused(exc: ValidationError) -> int | None:
    """The maximum a 422 about per_page names (FALLBACK if it names none); None when the
    422 is not about per_page."""
    messages = exc.errors.get("per_page")
    if not messages:
        return None
    for message in messages:
        found = _LIMIT_IN_MESSAGE.search(message)
        if found and int(found.group(1)) > 0:
            return int(found.group(1))
    return FALLBACK
