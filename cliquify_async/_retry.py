"""Which failures deserve another attempt, and how long to wait before it (via backoff)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Generator
from typing import Any, ParamSpec, TypeVar, cast

import backoff
from attrs import frozen

from . import errors
from ._log import get_logger
from ._ratelimit.limits import DEFAULT_MAX_WAIT, check_max_wait
from ._wire import RETRYABLE_STATUSES, retry_after_from

P = ParamSpec("P")
R = TypeVar("R")

logger = get_logger("retry")


def is_retryable(exc: BaseException) -> bool:
    """True for failures that a later attempt may not meet: 408, 429, 5xx gateways, the network."""
    if isinstance(exc, errors.APIStatusError):
        return exc.status in RETRYABLE_STATUSES
    return isinstance(exc, errors.APIConnectionError)


def server_wait(exc: BaseException) -> float | None:
    """The wait a retryable error response asked for with Retry-After, if any."""
    if isinstance(exc, errors.APIStatusError) and exc.status in RETRYABLE_STATUSES:
        return retry_after_from(exc.headers)
    return None


def retry_reason(exc: BaseException) -> str:
    """A short name of why `exc` is retried: its status ("429", "503"), or "timeout" or
    "connection" for a request that got no answer."""
    if isinstance(exc, errors.APIStatusError):
        return str(exc.status)
    return "timeout" if isinstance(exc, errors.APITimeoutError) else "connection"


@frozen(kw_only=True, cache_hash=True)  # hashed on every request (Transport._retrying)
class RetryPolicy:
    """How many retries (not attempts) a request gets and how the waits between them grow.

    Waits are capped exponential with full jitter, except that a wait the server gave in
    Retry-After is honoured as given (never jittered down). A server wait longer than
    `max_retry_after` is not slept through: the error is raised with its `retry_after`.
    It is the client's max_wait too: its gate learns no wait, and no window, longer than
    that. A negative `max_retries`, or a `max_retry_after` that is not a positive finite
    number, raises ConfigurationError.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = DEFAULT_MAX_WAIT

    def __attrs_post_init__(self) -> None:
        if self.max_retries < 0:
            raise errors.ConfigurationError("max_retries must be 0 or more")
        check_max_wait(self.max_retry_after, "max_retry_after")

    def backoff_wait(self, retry_number: int, rng: random.Random) -> float:
        """Full-jitter exponential wait before retry `retry_number` (0-based)."""
        return rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**retry_number))

    def gives_up_on(self, exc: BaseException) -> bool:
        """True when `exc` must be raised now rather than retried."""
        if not is_retryable(exc):
            return True
        wait = server_wait(exc)
        return wait is not None and wait > self.max_retry_after

    def _waits(self) -> Generator[float, BaseException, None]:
        """backoff's wait generator: it is sent each failure and yields the wait before retrying."""
        rng = _JITTER
        retry_number = 0
        exc = yield 0.0
        while True:
            wait = server_wait(exc)
            exc = yield wait if wait is not None else self.backoff_wait(retry_number, rng)
            retry_number += 1

    def wrap(
        self,
        attempt: Callable[P, Awaitable[R]],
        *,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> Callable[P, Awaitable[R]]:
        """`attempt` retried by this policy; `on_retry(exc, wait)` hears of each retry."""

        def _announce(details: Any) -> None:
            exc, wait = details["exception"], details["wait"]
            logger.info(
                "retrying in %.2f s after %s (retry %d of %d)",
                wait,
                _describe(exc),
                details["tries"],
                self.max_retries,
            )
            if on_retry is not None:
                on_retry(exc, wait)

        async def attempt_once(*args: P.args, **kwargs: P.kwargs) -> R:
            # backoff retries only what asyncio.iscoroutinefunction() recognises.
            return await attempt(*args, **kwargs)

        # backoff sends each failure into the generator; its stubs only know send type None.
        waits = cast(Callable[[], Generator[float, None, None]], self._waits)
        decorated: Callable[P, Awaitable[R]] = backoff.on_exception(
            waits,
            errors.CliquifyError,
            max_tries=self.max_retries + 1,
            giveup=self.gives_up_on,
            jitter=None,
            on_backoff=_announce,
            logger=None,
        )(attempt_once)
        return decorated


_JITTER = random.Random()
"""One generator for every backoff: seeding one per request cost more than the request's
own bookkeeping."""


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a failure for the log."""
    if isinstance(exc, errors.APIStatusError):
        return f"HTTP {exc.status} from {exc.method} {exc.url}"
    return f"{type(exc).__name__}: {exc}"
