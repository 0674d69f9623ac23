"""Unit tests of the retry policy in cliquify_async._retry."""

from __future__ import annotations

import json
import logging
import random

import pytest

from cliquify_async import errors
from cliquify_async._retry import RetryPolicy, is_retryable, server_wait
from cliquify_async._wire import error_for_response

URL = "https://oauth.cliquify.me/api/assets"


def status_error(status: int, headers: dict[str, str] | None = None) -> errors.APIStatusError:
    return error_for_response(
        status, json.dumps({"message": "x"}), headers or {}, method="GET", url=URL
    )


def fast(max_retries: int = 3, **options: float) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, backoff_base=0.001, backoff_cap=0.01, **options)


class Flaky:
    """`attempt`: an async function that raises the given errors in turn, then returns "ok"."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    async def attempt(self, *args: object, **kwargs: object) -> str:
        self.calls.append((args, kwargs))
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[BaseException, float]] = []

    def __call__(self, exc: BaseException, wait: float) -> None:
        self.calls.append((exc, wait))


class UpperBound(random.Random):
    """An rng whose uniform() always answers its upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- is_retryable / gives_up_on ---------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    exc = status_error(status)
    assert is_retryable(exc)
    assert not RetryPolicy().gives_up_on(exc)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 418, 422, 501, 505])
def test_not_retryable_statuses(status: int) -> None:
    exc = status_error(status)
    assert not is_retryable(exc)
    assert RetryPolicy().gives_up_on(exc)


@pytest.mark.parametrize(
    "exc",
    [
        errors.APIConnectionError("connection failed", method="GET", url=URL),
        errors.APITimeoutError("timed out", method="GET", url=URL),
    ],
)
def test_connection_failures_are_retryable(exc: BaseException) -> None:
    assert is_retryable(exc)
    assert not RetryPolicy().gives_up_on(exc)


@pytest.mark.parametrize(
    "exc",
    [
        errors.ConfigurationError("bad"),
        errors.ResponseDecodeError("not json"),
        errors.UntrustedURLError("elsewhere", url="https://evil.example/"),
        errors.ClientClosedError("closed"),
        ValueError("x"),
        TimeoutError(),
    ],
)
def test_other_errors_are_not_retryable(exc: BaseException) -> None:
    assert not is_retryable(exc)
    assert RetryPolicy().gives_up_on(exc)


def test_gives_up_when_retry_after_exceeds_cap() -> None:
    policy = RetryPolicy(max_retry_after=120.0)
    assert policy.gives_up_on(status_error(429, {"Retry-After": "121"}))
    assert policy.gives_up_on(status_error(503, {"Retry-After": "3600"}))


def test_does_not_give_up_at_or_below_cap() -> None:
    policy = RetryPolicy(max_retry_after=120.0)
    assert not policy.gives_up_on(status_error(429, {"Retry-After": "120"}))
    assert not policy.gives_up_on(status_error(429, {"Retry-After": "0"}))
    assert not policy.gives_up_on(status_error(429, {}))
    assert not policy.gives_up_on(status_error(429, {"Retry-After": "garbage"}))


def test_server_wait() -> None:
    assert server_wait(status_error(429, {"Retry-After": "7"})) == 7.0
    # Printed with a decimal, a wait may have been rounded down: half its last place is added.
    assert server_wait(status_error(503, {"Retry-After": "2.5"})) == 2.55
    assert server_wait(status_error(503)) is None
    # A non-retryable status's Retry-After is not a wait.
    assert server_wait(status_error(400, {"Retry-After": "7"})) is None
    assert server_wait(ValueError()) is None


# --- construction and backoff_wait ------------------------------------------------------------


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 3
    assert policy.backoff_cap >= policy.backoff_base > 0
    assert policy.max_retry_after > 0


@pytest.mark.parametrize("max_retries", [-1, -10])
def test_negative_max_retries_refused(max_retries: int) -> None:
    with pytest.raises(errors.ConfigurationError, match="max_retries"):
        RetryPolicy(max_retries=max_retries)


def test_zero_max_retries_allowed() -> None:
    assert RetryPolicy(max_retries=0).max_retries == 0


def test_backoff_wait_within_full_jitter_range() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=30.0)
    rng = random.Random(1234)
    for n in range(12):
        bound = min(30.0, 0.5 * 2**n)
        waits = [policy.backoff_wait(n, rng) for _ in range(50)]
        assert all(0.0 <= w <= bound for w in waits), (n, max(waits))
    # Jittered: not all the same.
    assert len({policy.backoff_wait(3, rng) for _ in range(20)}) > 1


def test_backoff_wait_upper_bound_grows_then_caps() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=30.0)
    tops = [policy.backoff_wait(n, UpperBound()) for n in range(10)]
    assert tops == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_backoff_wait_huge_retry_number_is_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=30.0)
    assert policy.backoff_wait(200, UpperBound()) == 30.0


# --- wrap -------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
async def test_wrap_makes_max_retries_plus_one_attempts(max_retries: int) -> None:
    failures = [status_error(503) for _ in range(max_retries + 5)]
    flaky = Flaky(*failures)
    on_retry = Recorder()
    wrapped = fast(max_retries).wrap(flaky.attempt, on_retry=on_retry)
    with pytest.raises(errors.ServerError) as info:
        await wrapped("a", key="b")
    assert len(flaky.calls) == max_retries + 1
    assert len(on_retry.calls) == max_retries
    assert info.value is failures[max_retries]
    assert all(call == (("a",), {"key": "b"}) for call in flaky.calls)


async def test_wrap_succeeds_after_failures() -> None:
    first, second = status_error(502), status_error(504)
    flaky = Flaky(first, second)
    on_retry = Recorder()
    assert await fast(3).wrap(flaky.attempt, on_retry=on_retry)() == "ok"
    assert len(flaky.calls) == 3
    assert [exc for exc, _ in on_retry.calls] == [first, second]
    assert all(0.0 <= wait <= 0.01 for _, wait in on_retry.calls)


async def test_wrap_success_first_time_no_retry() -> None:
    flaky = Flaky()
    on_retry = Recorder()
    assert await fast(3).wrap(flaky.attempt, on_retry=on_retry)() == "ok"
    assert len(flaky.calls) == 1
    assert on_retry.calls == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_wrap_non_retryable_raised_after_one_attempt(status: int) -> None:
    failure = status_error(status)
    flaky = Flaky(failure, failure, failure)
    on_retry = Recorder()
    with pytest.raises(errors.APIStatusError) as info:
        await fast(3).wrap(flaky.attempt, on_retry=on_retry)()
    assert info.value is failure
    assert len(flaky.calls) == 1
    assert on_retry.calls == []


async def test_wrap_foreign_exception_not_retried() -> None:
    flaky = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        await fast(3).wrap(flaky.attempt)()
    assert len(flaky.calls) == 1


async def test_wrap_connection_errors_retried() -> None:
    flaky = Flaky(
        errors.APIConnectionError("reset", method="GET", url=URL),
        errors.APITimeoutError("timed out", method="GET", url=URL),
    )
    assert await fast(3).wrap(flaky.attempt)() == "ok"
    assert len(flaky.calls) == 3


async def test_wrap_429_retry_after_zero_waits_zero() -> None:
    flaky = Flaky(status_error(429, {"Retry-After": "0"}), status_error(429, {"Retry-After": "0"}))
    on_retry = Recorder()
    assert await fast(3).wrap(flaky.attempt, on_retry=on_retry)() == "ok"
    assert len(flaky.calls) == 3
    assert [wait for _, wait in on_retry.calls] == [0.0, 0.0]


async def test_wrap_server_wait_is_not_jittered() -> None:
    # Backoff alone would wait at most 0.001 s here; the server's 0.02 s is taken as given.
    flaky = Flaky(*(status_error(503, {"Retry-After": "0.02"}) for _ in range(3)))
    on_retry = Recorder()
    assert await fast(3).wrap(flaky.attempt, on_retry=on_retry)() == "ok"
    assert [wait for _, wait in on_retry.calls] == [0.025, 0.025, 0.025]  # at the latest


async def test_wrap_backoff_waits_bounded() -> None:
    policy = RetryPolicy(max_retries=4, backoff_base=0.001, backoff_cap=0.002)
    flaky = Flaky(*(status_error(500) for _ in range(4)))
    on_retry = Recorder()
    assert await policy.wrap(flaky.attempt, on_retry=on_retry)() == "ok"
    waits = [wait for _, wait in on_retry.calls]
    assert len(waits) == 4
    for n, wait in enumerate(waits):
        assert 0.0 <= wait <= min(0.002, 0.001 * 2**n)


async def test_wrap_gives_up_on_long_retry_after() -> None:
    failure = status_error(429, {"Retry-After": "500"})
    flaky = Flaky(failure)
    on_retry = Recorder()
    with pytest.raises(errors.RateLimitError) as info:
        await fast(3, max_retry_after=120.0).wrap(flaky.attempt, on_retry=on_retry)()
    assert info.value is failure
    assert info.value.retry_after == 500.0
    assert len(flaky.calls) == 1
    assert on_retry.calls == []


async def test_wrap_without_on_retry() -> None:
    flaky = Flaky(status_error(503))
    assert await fast(1).wrap(flaky.attempt)() == "ok"
    assert len(flaky.calls) == 2


async def test_wrap_logs_each_retry_with_its_cause(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(status_error(503))
    with caplog.at_level(logging.INFO, logger="cliquify_async"):
        assert await fast(2).wrap(flaky.attempt)() == "ok"
    assert "retrying in" in caplog.text
    assert "HTTP 503" in caplog.text


async def test_each_wrap_call_starts_a_fresh_count() -> None:
    flaky = Flaky(status_error(503), status_error(503), status_error(503), status_error(503))
    wrapped = fast(1).wrap(flaky.attempt)
    with pytest.raises(errors.ServerError):
        await wrapped()
    with pytest.raises(errors.ServerError):
        await wrapped()
    assert len(flaky.calls) == 4


async def test_wrap_retries_any_callable_returning_an_awaitable() -> None:
    flaky = Flaky(status_error(503))
    assert await fast(1).wrap(lambda: flaky.attempt())() == "ok"
    assert len(flaky.calls) == 2
