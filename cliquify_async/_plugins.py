"""The two pieces a deployment may replace: the rate gate and the token store.

The in-process ones are the default and need nothing else. A fleet of processes behind one IP
shares one rate budget and should share one token; plug in implementations that keep both in
a shared place (the `cliquify_async.redis` module does it with Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from attrs import frozen

from ._options import Priority
from ._ratelimit.limits import RateLimit
from .models import AccessToken


@runtime_checkable
class RateGate(Protocol):
    """Decides when each /api/* request may be sent; one per client, shared by all its tasks."""

    async def acquire(self, *, priority: Priority = "normal") -> float:
        """Wait until one request may be sent now; returns its send time (any clock) for
        `observe`. A "high" request goes ahead of those already waiting (the keyword is
        passed only for "high", so a gate without it serves normal calls). Cancellation
        must leave no trace."""
        ...

    async def observe(self, sent_at: float, status: int, headers: Mapping[str, str]) -> None:
        """Learn from the status and headers (X-RateLimit-*, Retry-After) of the response to
        the request sent at `sent_at`."""
        ...

    async def cool_down(self, seconds: float) -> None:
        """A 429 asked everyone to wait `seconds` (its Retry-After)."""
        ...

    @property
    def interval(self) -> float:
        """Seconds between two requests at the current pace (0 when unlimited)."""
        ...

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """The limits in force, configured or learned, the one every response reports first
        (empty when unlimited)."""
        ...


@frozen(kw_only=True)
class StoredToken:
    """A token as a store keeps it; `expires_at` is unix time (None: no expiry given)."""

    token: AccessToken
    expires_at: float | None


@runtime_checkable
class TokenStore(Protocol):
    """Where the access token lives between requests, and the lock that makes one fetch."""

    async def load(self) -> StoredToken | None:
        """The stored token, if any (fresh or not: the caller judges)."""
        ...

    async def save(self, stored: StoredToken) -> None:
        """Store a newly fetched token."""
        ...

    async def discard(self, access_token: str) -> None:
        """Forget the stored token if it is still `access_token` (a newer one survives)."""
        ...

    def fetching(self) -> AbstractAsyncContextManager[object]:
        """Held while one fetcher asks for a token, so the others wait and then reuse it."""
        ...


class MemoryTokenStore:
    """The default TokenStore: one process, one token, an asyncio lock."""

    def __init__(self) -> None:
        self._stored: StoredToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<MemoryTokenStore holding={self._stored is not None}>"

    async def load(self) -> StoredToken | None:
        """The token kept in this process, if any."""
        return self._stored

    async def save(self, stored: StoredToken) -> None:
        """Keep a newly fetched token."""
        self._stored = stored

    async def discard(self, access_token: str) -> None:
        """Forget the token if it is still `access_token`."""
        if self._stored is not None and self._stored.token.access_token == access_token:
            self._stored = None

    def fetching(self) -> AbstractAsyncContextManager[object]:
        """An asyncio lock: the token manager's own single flight does the rest."""
        return self._lock
