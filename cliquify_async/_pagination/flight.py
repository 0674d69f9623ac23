"""How many pages a client keeps in flight when `page_concurrency="auto"`.

By Little's law the requests in flight are the rate times the time each takes: to keep the
rate gate busy, a client needs about `answer time / interval` pages on their way, plus one
waiting at the gate for the next permit. Both are known at run time (the gate's current
pace, the answers' recent times), so the number follows a learned limit and a changing
latency. No more than that: a page read ahead costs memory, and a request wasted if the
caller stops early. The count is the client's, shared by every listing, walk and harvest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal

from attrs import define

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from .._transport import Transport

AUTO: Final = "auto"
UNGATED: Final = 4  # pages at once when no gate paces the client (requests_per_minute=None)
MAX_IN_FLIGHT: Final = 64  # the most an automatic count reaches, whatever the figures say

Concurrency = int | Literal["auto"]


def check_concurrency(pages: Concurrency) -> Concurrency:
    """`pages` if it is "auto" or a whole number from 1, else ConfigurationError."""
    if pages == AUTO:
        return pages
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        raise ConfigurationError(f'page_concurrency must be "auto" or at least 1, got {pages!r}')
    return pages


@define
class Flight:
    """The pages a client has on their way, and how many it should have.

    `interval` is the gate's current seconds per request (0 when there is no gate) and
    `answer_time` the recent seconds from sending a request to its answer (None before the
    first one).
    """

    interval: Callable[[], float]
    answer_time: Callable[[], float | None]
    in_flight: int = 0

    @classmethod
    def of(cls, transport: Transport) -> Flight:
        """The flight of a client's transport: its gate's pace and its answers' times."""
        return cls(
            interval=lambda: transport.gate.interval,
            answer_time=lambda: transport.answer_time.seconds,
        )

    def target(self) -> int:
        """Pages in flight that keep the gate busy: answer time over interval, plus one
        waiting at the gate for its permit."""
        interval, answer_time = self.interval(), self.answer_time()
        if interval <= 0:
            return UNGATED
        if answer_time is None:
            return 1
        return max(1, min(MAX_IN_FLIGHT, math.ceil(answer_time / interval) + 1))

    def ahead(self, held: int) -> int:
        """How many pages past the one just delivered a listing holding `held` of them (on
        their way or fetched) may have: what the client-wide target leaves room for."""
        target = self.target()
        return max(0, min(target, held + target - self.in_flight))
