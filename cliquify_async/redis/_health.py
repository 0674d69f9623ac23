"""Outage handling shared by the gate and the token store: what counts as Redis being down,
one loud log line per outage (not per request), and the capped backoff between retries."""

from __future__ import annotations

import random
import time
import weakref
from collections.abc import Awaitable
from typing import Final, TypeVar

from attrs import frozen
from redis import exceptions as rx
from redis.asyncio import Redis, RedisCluster

from .._log import get_logger
from ..errors import CliquifyError

logger = get_logger("redis")

OUTAGE_ERRORS: Final[tuple[type[BaseException], ...]] = (
    rx.ConnectionError,  # refused, reset, auth or loading (BusyLoadingError) on reconnect
    rx.TimeoutError,
    rx.ReadOnlyError,  # a primary demoted to replica during a failover
    rx.ClusterDownError,
    rx.TryAgainError,
    OSError,
)
"""Errors that mean "Redis is not available now", as opposed to a bug or a bad script."""

BACKOFF_BASE: Final = 0.05
BACKOFF_CAP: Final = 2.0

T = TypeVar("T")


class RedisUnavailableError(CliquifyError):
    """Redis cannot serve the shared budget: unreachable for longer than the gate's
    `max_outage`, or it refused a command (an ACL, a key of the wrong type)."""


def refused(exc: rx.RedisError, key: str) -> RedisUnavailableError:
    """The error raised when Redis answers a gate or store command with an error."""
    return RedisUnavailableError(f"Redis refused a command of the cliquify budget {key!r}: {exc}")


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt` (0-based): doubling from 50 ms up to 2 s, jittered."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) * random.uniform(0.5, 1.0)


@frozen
class Down:
    """What `Health.call` answers while Redis is unreachable: the error that showed it."""

    error: BaseException


class Health:
    """Whether Redis answered last time; logs an ERROR when an outage starts and a WARNING
    when it ends, once each, however many requests run into it meanwhile."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.down_since: float | None = None

    def __repr__(self) -> str:
        return f"<Health key={self.key!r} down={self.down_since is not None}>"

    async def call(self, command: Awaitable[T], consequence: str) -> T | Down:
        """Redis's answer to `command`; Down if Redis is unreachable (the outage logged once,
        with `consequence`); RedisUnavailableError if Redis refused the command."""
        try:
            answer = await command
        except OUTAGE_ERRORS as exc:
            self.failed(exc, consequence)
            return Down(exc)
        except rx.RedisError as exc:
            raise refused(exc, self.key) from exc
        self.ok()
        return answer

    def failed(self, exc: BaseException, consequence: str) -> None:
        """Redis did not answer; the first failure of an outage is logged with `consequence`."""
        if self.down_since is not None:
            return
        self.down_since = time.monotonic()
        # The exception's text names host and port, never the URL's password.
        logger.error(
            "Redis is unreachable for the cliquify budget %r (%s: %s): %s",
            self.key,
            type(exc).__name__,
            exc,
            consequence,
        )

    def down_for(self) -> float:
        """Seconds since the current outage began (0 when Redis is up)."""
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def ok(self) -> None:
        """Redis answered; logs the end of an outage."""
        if self.down_since is None:
            return
        lasted = time.monotonic() - self.down_since
        self.down_since = None
        logger.warning(
            "Redis is reachable again for the cliquify budget %r after %.1f s", self.key, lasted
        )


_SHARED: weakref.WeakKeyDictionary[Redis | RedisCluster, dict[str, Health]] = (
    weakref.WeakKeyDictionary()
)


def shared_health(redis: Redis | RedisCluster, key: str) -> Health:
    """The one Health of budget `key` on this Redis client, so that its gate and token stores
    log an outage once between them."""
    budgets = _SHARED.setdefault(redis, {})
    if key not in budgets:
        budgets[key] = Health(key)
    return budgets[key]
