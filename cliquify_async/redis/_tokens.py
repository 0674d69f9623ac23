"""RedisTokenStore: one access token for a whole fleet, fetched once under a Redis lock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Self

from redis.asyncio import Redis, RedisCluster

from .._log import get_logger
from .._plugins import StoredToken
from .._tasks import background
from ..errors import ConfigurationError
from ..models import AccessToken
from ._connect import make_redis
from ._health import Down, RedisUnavailableError, shared_health
from ._keys import BudgetKeys
from ._scripts import DISCARD_STORED, EXTEND_LOCK, RELEASE_LOCK, SAVE_STORED

logger = get_logger("auth")

RedisClient = Redis | RedisCluster

DEFAULT_LOCK_TIMEOUT = 10.0  # seconds a crashed fetcher can hold the others up
DEFAULT_POLL_INTERVAL = 0.05  # seconds between two looks at a lock someone else holds
_OUTAGE_CONSEQUENCE = "tokens are fetched under a per-process lock until it is back"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTokenStore:
    """A TokenStore in Redis: every process with the same key (and client id) uses one token.

    `fetching()` is a lock across processes (SET NX PX with a random owner, renewed while
    held, released by compare-and-delete), so a cold fleet makes one token request: the
    others wait, polling every `poll_interval` seconds, and then load the token the winner
    saved. `discard()` deletes the token only if it is still the one that got the 401, so a
    late 401 never deletes the newer token. The token is a secret: it is stored in Redis (with
    the token's lifetime as TTL) and never logged, so protect that Redis like the client
    secret. If Redis is down, the store keeps working for its own process: a local lock, and
    the last token it saw (logged once per outage). A Redis client you pass in is never
    closed; one made by `from_url` is.
    """

    def __init__(
        self,
        redis: RedisClient,
        key: str = "default",
        *,
        client_id: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        if lock_timeout <= 0 or poll_interval <= 0:
            raise ConfigurationError("lock_timeout and poll_interval must be positive")
        self.keys = BudgetKeys(key)
        self.token_key = self.keys.token(client_id)
        self.lock_key = self.keys.lock(client_id)
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self._redis = redis
        self._owns_redis = False
        self._save = redis.register_script(SAVE_STORED)
        self._discard = redis.register_script(DISCARD_STORED)
        self._release = redis.register_script(RELEASE_LOCK)
        self._extend = redis.register_script(EXTEND_LOCK)
        self._health = shared_health(redis, key)
        self._local = asyncio.Lock()  # the fallback lock, and one Redis poller per process
        self._last: StoredToken | None = None  # what load() answers while Redis is down

    @classmethod
    def from_url(cls, redis_url: str, key: str = "default", **options: Any) -> Self:
        """A store with a Redis client of its own (closed by `aclose()`)."""
        store = cls(make_redis(redis_url), key, **options)
        store._owns_redis = True
        return store

    def __repr__(self) -> str:
        return f"<RedisTokenStore key={self.token_key!r}>"

    async def load(self) -> StoredToken | None:
        """The token in Redis, if any; while Redis is down, the last one this store saw."""
        raw = await self._health.call(self._redis.hgetall(self.token_key), _OUTAGE_CONSEQUENCE)
        if isinstance(raw, Down):
            return self._last
        self._last = self._decode(raw)
        return self._last

    def _decode(self, raw: Mapping[Any, Any]) -> StoredToken | None:
        if not raw:
            return None
        fields = {_text(name): _text(value) for name, value in raw.items()}
        try:
            record = json.loads(fields["record"])
            token = AccessToken(
                access_token=fields["access_token"],
                token_type=str(record.get("token_type") or "Bearer"),
                expires_in=record.get("expires_in"),
                extra=dict(record.get("extra") or {}),
            )
            expires_at = record.get("expires_at")
            return StoredToken(
                token=token, expires_at=None if expires_at is None else float(expires_at)
            )
        except (KeyError, ValueError, TypeError, AttributeError):
            logger.warning("ignoring a malformed token record at %s", self.token_key)
            return None

    async def save(self, stored: StoredToken) -> None:
        """Store a new token for everyone, expiring with it (only here if Redis is down)."""
        self._last = stored
        token = stored.token
        record = json.dumps(
            {
                "token_type": token.token_type,
                "expires_in": token.expires_in,
                "extra": token.extra,
                "expires_at": stored.expires_at,
            }
        )
        ttl_ms = 0
        if stored.expires_at is not None:
            ttl_ms = max(1, math.ceil((stored.expires_at - time.time()) * 1000))
        await self._health.call(
            self._save(keys=[self.token_key], args=[token.access_token, record, ttl_ms]),
            _OUTAGE_CONSEQUENCE,
        )

    async def discard(self, access_token: str) -> None:
        """Delete the stored token if it is still `access_token` (compare-and-delete)."""
        if self._last is not None and self._last.token.access_token == access_token:
            self._last = None
        await self._health.call(
            self._discard(keys=[self.token_key], args=[access_token]), _OUTAGE_CONSEQUENCE
        )

    def fetching(self) -> AbstractAsyncContextManager[object]:
        """The single-flight lock: held across processes while one of them fetches a token."""
        return self._fetching()

    async def aclose(self) -> None:
        """Close the Redis client if this store made it; a client passed in is left open."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    @contextlib.asynccontextmanager
    async def _fetching(self) -> AsyncIterator[None]:
        async with self._local:
            owner = await self._lock()
            if owner is None:  # Redis is down: the local lock alone
                yield
                return
            keeper = background(self._keep(owner))
            try:
                yield
            finally:
                keeper.cancel()
                await asyncio.wait([keeper])
                # Released even if this task is cancelled again meanwhile: the others wait.
                await asyncio.shield(background(self._unlock(owner)))

    async def _lock(self) -> str | None:
        """Take the Redis lock, waiting while another process holds it; None if Redis is down."""
        owner = secrets.token_hex(16)
        while True:
            taken = await self._health.call(
                self._redis.set(
                    self.lock_key, owner, nx=True, px=math.ceil(self.lock_timeout * 1000)
                ),
                _OUTAGE_CONSEQUENCE,
            )
            if isinstance(taken, Down):
                return None
            if taken:
                return owner
            await asyncio.sleep(self.poll_interval)

    async def _keep(self, owner: str) -> None:
        """Extend the lock while the fetch runs, so only a crashed holder's lock expires; no
        one awaits this task, so a refused command is logged."""
        while True:
            await asyncio.sleep(self.lock_timeout / 3)
            try:
                kept = await self._health.call(
                    self._extend(
                        keys=[self.lock_key], args=[owner, math.ceil(self.lock_timeout * 1000)]
                    ),
                    _OUTAGE_CONSEQUENCE,
                )
            except RedisUnavailableError as exc:
                logger.warning("cannot extend the token lock %s (%s)", self.lock_key, exc)
                return
            if isinstance(kept, Down):
                continue
            if not kept:
                logger.warning("lost the token lock %s; another may fetch too", self.lock_key)
                return

    async def _unlock(self, owner: str) -> None:
        """Release the lock; while Redis is down it expires by itself."""
        await self._health.call(
            self._release(keys=[self.lock_key], args=[owner]), _OUTAGE_CONSEQUENCE
        )
