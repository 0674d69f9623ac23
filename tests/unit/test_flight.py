"""Flight: the pages in flight that keep the gate busy, by Little's law."""

from __future__ import annotations

import pytest

from cliquify_async._pagination.flight import (
    MAX_IN_FLIGHT,
    UNGATED,
    Flight,
    check_concurrency,
)
from cliquify_async.errors import ConfigurationError


def flight(interval: float, answer_time: float | None, in_flight: int = 0) -> Flight:
    return Flight(interval=lambda: interval, answer_time=lambda: answer_time, in_flight=in_flight)


@pytest.mark.parametrize(
    ("interval", "answer_time", "target"),
    [
        (0.05, 0.3, 7),  # 20 a second, 300 ms answers: six on their way, one at the gate
        (0.05, 0.001, 2),
        (1.0, 0.3, 2),  # one a second: the next is asked for while this one is answered
        (0.01, 5.0, MAX_IN_FLIGHT),  # bounded whatever the figures say
        (0.05, None, 1),  # nothing answered yet: the first page alone
        (0.0, 0.3, UNGATED),  # no gate: a fixed few
    ],
)
def test_the_target_is_the_pace_times_the_answer_time_plus_one(
    interval: float, answer_time: float | None, target: int
) -> None:
    assert flight(interval, answer_time).target() == target


def test_listings_share_the_client_s_pages_in_flight() -> None:
    shared = flight(0.05, 0.3, in_flight=0)  # a target of 7
    assert shared.ahead(held=0) == 7  # one listing alone: all of it
    shared.in_flight = 6  # other listings have six on their way
    assert shared.ahead(held=0) == 1
    shared.in_flight = 9
    assert shared.ahead(held=0) == 0
    assert shared.ahead(held=3) == 1  # three held, and no room: it asks for none more


@pytest.mark.parametrize("pages", [0, -1, True, 1.5, "many"])
def test_a_concurrency_that_is_not_auto_or_a_count_is_refused(pages: object) -> None:
    with pytest.raises(ConfigurationError, match="page_concurrency"):
        check_concurrency(pages)  # type: ignore[arg-type]


def test_auto_and_counts_are_taken() -> None:
    assert check_concurrency("auto") == "auto"
    assert check_concurrency(3) == 3
