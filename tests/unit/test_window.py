"""The fixed-window model behind the rate gate, driven with plain numbers for time."""

from __future__ import annotations

from cliquify_async._window import FixedWindow


def window(limit: int = 3) -> FixedWindow:
    return FixedWindow(limit=limit, window=10.0, guard=0.5)


def test_a_window_takes_limit_requests_then_holds_until_it_has_surely_closed() -> None:
    model = window()
    for moment in (0.0, 1.0, 2.0):
        assert model.hold_until(moment) == moment
        model.record_send(moment)
    assert model.hold_until(3.0) == 10.5  # opened at 0, + window + guard
    assert model.hold_until(10.5) == 10.5
    model.record_send(10.5)
    assert model.opened_at == 10.5  # the first request after the close opens the next


def test_the_servers_limit_replaces_the_configured_one() -> None:
    model = window(limit=3)
    model.record_send(0.0)
    model.observe(0.0, limit=2, remaining=1)
    model.record_send(1.0)
    assert model.limit == 2
    assert model.hold_until(2.0) == 10.5


def test_the_request_the_server_says_opened_its_window_realigns_ours() -> None:
    model = window(limit=5)
    model.record_send(0.0)
    model.record_send(4.0)
    # The server counted the 0.0 request in an older window: its window opened at 4.0.
    model.observe(4.0, limit=5, remaining=4)
    assert model.opened_at == 4.0
    assert model.closes_at == 14.5


def test_a_budget_used_up_by_requests_in_flight_closes_the_window_early() -> None:
    model = window(limit=10)
    for moment in (0.0, 0.1, 0.2):
        model.record_send(moment)
    # Another process behind the same IP spent most of the window: 2 left after the first,
    # and the two requests sent after it take them.
    model.observe(0.0, limit=10, remaining=2)
    assert model.exhausted
    assert model.hold_until(0.3) == 10.5


def test_remaining_budget_left_keeps_the_window_open() -> None:
    model = window(limit=10)
    model.record_send(0.0)
    model.record_send(0.1)
    model.observe(0.0, limit=10, remaining=9)
    assert not model.exhausted
    assert model.hold_until(0.2) == 0.2


def test_a_429_closes_the_window_at_retry_after() -> None:
    model = window(limit=10)
    model.record_send(0.0)
    model.rate_limited(now=2.0, retry_after=5.0)
    assert model.closes_at == 7.0
    assert model.hold_until(3.0) == 7.0
    assert model.hold_until(7.0) == 7.0
