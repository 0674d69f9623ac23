"""The Redis client made for a gate or store from a URL, tuned for the outage policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..errors import ConfigurationError

# A dead pooled connection (after a Redis restart) is replaced once, at once; anything longer
# is an outage, which the gate and the store handle with their own backoff and one log line.
# (redis-py's default of 10 retries would hold every call of an outage for seconds.)
DEFAULT_REDIS_OPTIONS: Mapping[str, Any] = {
    "socket_connect_timeout": 2.0,
    "socket_timeout": 5.0,
    "health_check_interval": 30,
}


def make_redis(redis_url: str, **options: Any) -> Redis:
    """A redis.asyncio client for `redis_url`; `options` override the defaults above."""
    settings = {
        "retry": Retry(NoBackoff(), 1),
        # redis-py 5 retries only the errors named here; 6 and later retry these by default.
        "retry_on_error": [exceptions.ConnectionError, exceptions.TimeoutError],
        **DEFAULT_REDIS_OPTIONS,
        **options,
    }
    try:
        client: Redis = Redis.from_url(redis_url, **settings)
    except ValueError as exc:  # redis-py's messages name the problem, never the URL's secret
        raise ConfigurationError(f"not a usable Redis URL: {exc}") from None
    return client
