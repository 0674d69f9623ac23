"""The fixed-window model behind the rate gate, driven with plain numbers for time."""

from __future__ import annotations

import logging

import pytest

from cliquify_async._ratelimit.limits import RateLimit, Reading, ServerLimits
from cliquify_async._ratelimit.window import FixedWindow


def window(limit: int = 3) -> FixedWindow:
    return FixedWindow(limit=limit, window=10.0)  # guard: 1% of 10 s = 0.1 s


def answer(remaining: int | None, *, limit: int | None = 10, **more: object) -> Reading:
    fields: dict[str, object] = {"status": 200, "closes_in": None, "retry_after": None}
    fields.update(more)
    return Reading(limit=limit, remaining=remaining, **fields)  # type: ignore[arg-type]


def test_a_window_takes_limit_requests_then_holds_until_it_has_surely_closed() -> None:
    model = window()
    for moment in (0.0, 1.0, 2.0):
        assert model.hold_until(moment) == moment
        model.record_send(moment)
    assert model.hold_until(3.0) == 10.1  # opened at 0, + window + guard
    assert model.hold_until(10.1) == 10.1
    model.record_send(10.1)
    assert model.opened_at == 10.1  # the first request after the close opens the next


def test_the_request_the_server_says_opened_its_window_realigns_ours() -> None:
    model = window(limit=5)
    model.record_send(0.0)
    model.record_send(4.0)
    # The server counted the 0.0 request in an older window: its window opened when the 4.0
    # request arrived, so one sent 10 s after it (plus the guard) arrives after the close.
    model.observe(4.0, 4.1, remaining=4, closes_in=None)
    assert model.opened_at == 4.0
    assert model.closes_at == pytest.approx(14.1)


def test_a_budget_used_up_by_requests_in_flight_closes_the_window_early() -> None:
    model = window(limit=10)
    for moment in (0.0, 0.1, 0.2):
        model.record_send(moment)
    # Another process behind the same IP spent most of the window: 2 left after the first,
    # and the two requests sent after it take them.
    model.observe(0.0, 0.05, remaining=2, closes_in=None)
    assert model.exhausted
    assert model.hold_until(0.3) == pytest.approx(10.1)


def test_requests_sent_after_the_window_has_passed_belong_to_the_next_one() -> None:
    model = window(limit=10)
    for moment in (0.0, 9.9, 10.05, 10.2):
        model.record_send(moment)
    # Two were left after 9.9; the requests sent 10 s after the opener arrive after the
    # close (with the same delay on the way), so they do not spend this window.
    model.observe(9.9, 10.3, remaining=1, closes_in=None)
    assert not model.exhausted


def test_remaining_budget_left_keeps_the_window_open() -> None:
    model = window(limit=10)
    model.record_send(0.0)
    model.record_send(0.1)
    model.observe(0.0, 0.05, remaining=9, closes_in=None)
    assert not model.exhausted
    assert model.hold_until(0.2) == 0.2


def test_a_429_closes_the_window_at_retry_after() -> None:
    model = window(limit=10)
    model.record_send(0.0)
    model.rate_limited(closes_by=7.0)
    assert model.closes_at == pytest.approx(7.1)
    assert model.hold_until(3.0) == pytest.approx(7.1)


def test_an_unknown_window_holds_nothing_back_by_count_only_when_the_budget_runs_out() -> None:
    model = FixedWindow(limit=3, window=3.0, known=False, learns=True)
    for moment in (0.0, 0.1, 0.2, 0.3):
        assert model.hold_until(moment) == moment  # three a window, yet a fourth may go
        model.record_send(moment)
    model.observe(0.3, 0.35, remaining=0, closes_in=None)  # the server says: used up
    assert model.hold_until(0.4) == pytest.approx(3.03)  # the assumed window, from its opener


def test_the_window_is_learned_from_one_opener_to_the_next_and_only_tightens() -> None:
    model = FixedWindow(limit=5, window=60.0, known=False, learns=True)
    model.record_send(0.0)
    assert not model.observe(0.0, 0.01, remaining=4, closes_in=None)
    model.record_send(0.5)
    model.observe(0.5, 0.51, remaining=3, closes_in=None)
    model.record_send(1.2)
    # Remaining is back at limit - 1: a new window opened with this request; the old one
    # lasted at most from the old opener's send to this one's.
    assert model.observe(1.2, 1.21, remaining=4, closes_in=None)
    assert (model.window, model.known) == (pytest.approx(1.2), True)
    model.record_send(2.5)
    assert not model.observe(2.5, 2.51, remaining=4, closes_in=None)  # 1.3 > 1.2: no news
    model.record_send(3.6)
    assert model.observe(3.6, 3.61, remaining=4, closes_in=None)
    assert model.window == pytest.approx(1.1)


def test_an_idle_pause_between_two_openers_teaches_no_window() -> None:
    model = FixedWindow(limit=5, window=60.0, known=False, learns=True)
    model.record_send(0.0)
    model.observe(0.0, 0.01, remaining=4, closes_in=None)
    model.record_send(1.0)
    model.observe(1.0, 1.01, remaining=3, closes_in=None)
    model.record_send(600.0)  # ten minutes later: a new window, but not a 600 s one
    assert not model.observe(600.0, 600.01, remaining=4, closes_in=None)
    assert not model.known
    for moment in (630.0, 650.0):  # a pause of 30 s within the window: its end is unknown
        model.record_send(moment)
        model.observe(moment, moment + 0.01, remaining=3, closes_in=None)
    model.record_send(661.0)
    assert not model.observe(661.0, 661.01, remaining=4, closes_in=None)
    for moment in (673.0, 685.0, 697.0, 709.0):  # at the pace (12 s), the window's end shows
        model.record_send(moment)
        model.observe(moment, moment + 0.01, remaining=3, closes_in=None)
    model.record_send(721.0)
    assert model.observe(721.0, 721.01, remaining=4, closes_in=None)
    assert model.window == pytest.approx(60.0)


def test_an_explicit_window_is_believed() -> None:
    model = FixedWindow(limit=5, window=60.0)
    model.record_send(0.0)
    model.observe(0.0, 0.01, remaining=4, closes_in=None)
    model.record_send(1.0)
    assert not model.observe(1.0, 1.01, remaining=4, closes_in=None)
    assert model.window == 60.0


def test_a_reset_or_a_retry_after_bounds_the_window_from_the_confirmed_opener() -> None:
    model = FixedWindow(limit=5, window=60.0, known=False, learns=True)
    model.record_send(10.0)
    assert model.observe(10.0, 10.02, remaining=4, closes_in=0.98)
    assert model.window == pytest.approx(1.0)
    other = FixedWindow(limit=5, window=60.0, known=False, learns=True)
    other.record_send(10.0)
    other.observe(10.0, 10.02, remaining=4, closes_in=None)
    assert other.bound_by_close(12.5)
    assert other.window == pytest.approx(2.5)


def test_an_answer_overtaken_by_a_newer_one_moves_nothing_back() -> None:
    model = FixedWindow(limit=5, window=60.0, known=False, learns=True)
    for moment in (0.0, 1.0):
        model.record_send(moment)
    model.observe(1.0, 1.01, remaining=4, closes_in=None)  # 1.0 opened a window
    assert not model.observe(0.0, 1.02, remaining=4, closes_in=None)  # late news of 0.0
    assert (model.server_opened, model.known) == (1.0, False)


def test_the_pace_follows_the_configured_rate_until_a_window_is_learned() -> None:
    limits = ServerLimits.configured(600, 60.0, learns=True)  # told 600 a minute, window unknown
    assert limits.interval == pytest.approx(0.1)
    limits.record_send(0.0)
    limits.observe(0.0, 0.01, answer(9))  # the server allows 10 per window: not slower yet
    assert limits.interval == pytest.approx(0.1)
    assert limits.limits() == (RateLimit(10, pytest.approx(1.0), False),)  # type: ignore[arg-type]
    for moment in (0.1, 0.2, 0.3):
        limits.record_send(moment)
        limits.observe(moment, moment + 0.01, answer(9))
    # Each request opened a window: the window is at most 0.1 s, the pace 10 per 0.1 s.
    assert limits.interval == pytest.approx(0.01)
    assert str(limits.limits()[0]) == "10 requests per 0.1 s"


def test_a_learned_window_is_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    limits = ServerLimits.configured(600, 60.0, learns=True)  # one request every 0.1 s
    caplog.set_level(logging.DEBUG, logger="cliquify_async.ratelimit")
    # Openers at 0.0, 0.4 and 0.7: a window of at most 0.4 s, then of at most 0.3 s.
    for moment, remaining in zip([i / 10 for i in range(8)], [9, 8, 7, 6, 9, 8, 7, 9], strict=True):
        limits.record_send(moment)
        limits.observe(moment, moment + 0.01, answer(remaining))
    assert not caplog.records  # the lines wait in the journal until the state is kept
    limits.journal.flush()
    learned = [r for r in caplog.records if "server window learned" in r.getMessage()]
    assert [r.levelno for r in learned] == [logging.INFO, logging.DEBUG]
    assert learned[0].getMessage() == "server window learned: 10 requests per 0.4 s"
    assert limits.primary.window == pytest.approx(0.3)


def test_a_429_of_another_limit_adds_a_stacked_limit_both_are_respected() -> None:
    limits = ServerLimits.configured(1200, 60.0, learns=True)
    for step in range(5):  # 20 a second; the app reports 100 per window
        limits.record_send(step * 0.05)
        limits.observe(step * 0.05, step * 0.05 + 0.01, answer(99 - step, limit=100))
    # The sixth request met a per-second proxy limit of 5 whose window closes in 0.76 s:
    # that window opened with the fifth send before it, at 0.0.
    limits.record_send(0.25)
    limits.observe(0.25, 0.26, answer(0, limit=5, status=429, retry_after=0.76))
    limits.cool_down(1.02)
    stacked = limits.stacked[5]
    assert stacked.window == pytest.approx(1.02)
    assert limits.interval == pytest.approx(stacked.window / 5)
    assert limits.hold_until(0.3) >= 1.02
    assert [str(limit) for limit in limits.limits()] == [
        "100 requests per 5.0 s",
        "5 requests per 1.0 s",
    ]


def test_a_429_of_the_reporting_limit_bounds_its_window() -> None:
    limits = ServerLimits.configured(6000, 60.0, learns=True)  # told 100 a second
    limits.record_send(0.0)
    limits.observe(0.0, 0.01, answer(9))
    for step in range(1, 11):
        limits.record_send(step * 0.01)
    limits.observe(0.1, 0.11, answer(0, status=429, retry_after=0.4))
    assert limits.primary.window == pytest.approx(0.51)
    assert limits.limits()[0].learned


@pytest.mark.parametrize(
    ("headers", "closes_in", "retry_after"),
    [
        ({"Retry-After": "0.123"}, None, 0.1235),  # rounded to nearest: up to 0.0005 short
        ({"Retry-After": "2"}, None, 2.0),  # whole seconds are rounded up already
        ({"Retry-After": "2", "X-RateLimit-Reset": "1.5"}, 1.55, 2.0),
    ],
)
def test_a_delay_header_is_read_at_its_latest_so_a_learned_window_is_never_short(
    headers: dict[str, str], closes_in: float | None, retry_after: float
) -> None:
    reading = Reading.of(429, headers, now=0.0)
    assert reading.closes_in == pytest.approx(closes_in)
    assert reading.retry_after == pytest.approx(retry_after)


def test_a_limit_learned_from_bare_429s_is_dropped_once_long_unmet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = ServerLimits.configured(60, 60.0, learns=True)  # one a second
    limits.record_send(0.0)
    limits.observe(0.0, 0.01, answer(59, limit=60))  # the API names its limit
    bare = {"status": 429, "limit": None, "retry_after": 30.0}
    limits.record_send(1.0)
    limits.observe(1.0, 1.01, answer(None, **bare))  # shed load: its wait ends at 31
    limits.cool_down(31.01)
    for moment in (32.0, 33.0):
        limits.record_send(moment)
        limits.observe(moment, moment + 0.01, answer(57, limit=60))
    limits.record_send(34.0)
    limits.observe(34.0, 34.01, answer(None, **bare))  # again: two requests since 31
    limits.cool_down(64.01)
    assert [str(limit) for limit in limits.limits()][1:] == ["2 requests per 32.0 s"]

    # Never met again: after four of its windows (and a minute at least) it is dropped.
    assert limits.hold_until(100.0) >= 100.0
    assert len(limits.limits()) == 2
    caplog.set_level(logging.INFO, logger="cliquify_async.ratelimit")
    limits.hold_until(64.01 + 4 * 32.0 + 1)
    limits.journal.flush()
    assert len(limits.limits()) == 1
    assert "limit no longer met, paced without it: 2 requests per 32.0 s" in caplog.text
