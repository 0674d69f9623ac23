"""`client_from_redis_url`: a CliquifyClient sharing its budget and token through one Redis."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from .._client import CliquifyClient
from .._config import ENV_CLIENT_ID
from .._ratelimit.limits import DEFAULT_MAX_WAIT
from .._retry import RetryPolicy
from ._connect import make_redis
from ._gate import RedisRateGate
from ._tokens import RedisTokenStore


class _SharedBudgetClient(CliquifyClient):
    """A CliquifyClient that closes the Redis client made for it when it closes."""

    def __init__(self, *args: Any, redis: Redis, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_holder: list[Redis] = [redis]  # shared with with_options() views

    async def aclose(self) -> None:
        """Close the client, then the Redis client made for it; safe to call more than once."""
        try:
            await super().aclose()
        finally:
            if self._redis_holder:
                await self._redis_holder.pop().aclose()


def client_from_redis_url(
    redis_url: str,
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    key: str = "default",
    share_token: bool = True,
    max_outage: float | None = None,
    redis_options: Mapping[str, Any] | None = None,
    **client_options: Any,
) -> CliquifyClient:
    """A CliquifyClient whose rate budget (and token) every process with the same Redis URL
    and `key` shares: one line per process of a fleet behind one IP.

    `requests_per_minute` and `rate_window` set the shared gate (without `rate_window` the
    fleet learns the server's window and shares it); the other keyword options are
    CliquifyClient's. With `share_token=False` each process keeps its own token. The
    Redis client made here closes with the CliquifyClient; `redis_options` go to
    `redis.asyncio.Redis.from_url`. Credentials default to CLIQUIFY_* variables, as usual;
    bad arguments raise ConfigurationError here, and nothing connects before the first call.
    """
    redis = make_redis(redis_url, **(redis_options or {}))
    rate = client_options.pop("requests_per_minute", 60)
    window = client_options.pop("rate_window", None)
    retry = client_options.get("max_retries")
    max_wait = retry.max_retry_after if isinstance(retry, RetryPolicy) else DEFAULT_MAX_WAIT
    gate = None
    if rate is not None:
        gate = RedisRateGate(
            redis,
            key,
            requests_per_minute=rate,
            rate_window=window,
            max_outage=max_outage,
            max_wait=max_wait,
        )
    store = None
    if share_token:
        # One store per OAuth client: a budget (an IP) may be shared by several clients.
        store = RedisTokenStore(redis, key, client_id=client_id or os.environ.get(ENV_CLIENT_ID))
    return _SharedBudgetClient(
        client_id,
        client_secret,
        redis=redis,
        rate_gate=gate,
        token_store=store,
        requests_per_minute=rate,
        rate_window=window,
        **client_options,
    )
