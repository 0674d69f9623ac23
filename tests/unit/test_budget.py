"""The per-window budget of a configured rate: never rounded up past what was asked."""

from __future__ import annotations

import pytest

from cliquify_async import CliquifyClient, ConfigurationError, LocalRateGate
from cliquify_async._ratelimit.gate import window_budget
from cliquify_async._ratelimit.window import FixedWindow


@pytest.mark.parametrize(("rate", "window"), [(30, 1.0), (59.9, 1.0), (1, 59.0), (100, 0.5)])
def test_a_rate_under_one_request_per_window_is_refused(rate: float, window: float) -> None:
    with pytest.raises(ConfigurationError, match="less than one request per rate_window"):
        LocalRateGate(rate, rate_window=window)
    with pytest.raises(ConfigurationError, match="less than one request per rate_window"):
        CliquifyClient("id", "secret", requests_per_minute=rate, rate_window=window)


@pytest.mark.parametrize("window", [0.43, 0.59, 1.18, 6.0, 60.0])
@pytest.mark.parametrize("limit", [1, 5, 60])
def test_l_per_w_seconds_is_a_budget_of_l_despite_float_rounding(limit: int, window: float) -> None:
    assert window_budget(limit * 60 / window, window) == limit


def test_the_guard_is_a_share_of_the_window_capped() -> None:
    assert FixedWindow(limit=60, window=60.0).guard == 0.25
    assert FixedWindow(limit=5, window=0.5).guard == pytest.approx(0.005)


@pytest.mark.parametrize("window", [0.1, 0.43, 1.0, 60.0])
def test_a_gate_that_is_off_takes_any_window(window: float) -> None:
    gate = LocalRateGate(None, rate_window=window)
    client = CliquifyClient("id", "secret", requests_per_minute=None, rate_window=window)

    assert gate.interval == client.rate_interval == 0.0


@pytest.mark.parametrize(
    ("rate", "window", "named"),
    [
        (float("nan"), 60.0, "requests_per_minute"),
        (float("inf"), 60.0, "requests_per_minute"),
        (0, 60.0, "requests_per_minute"),
        (60, float("nan"), "rate_window"),
        (60, float("inf"), "rate_window"),
        (60, 0.0, "rate_window"),
        (None, 0.0, "rate_window"),
    ],
)
def test_a_rate_or_window_that_is_not_a_positive_number_is_refused(
    rate: float | None, window: float, named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        LocalRateGate(rate, rate_window=window)
