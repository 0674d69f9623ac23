"""The token cache: one token per client, fetched once however many tasks ask at the same time."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from . import errors
from ._config import ClientConfig
from ._convert import structure
from ._endpoints import TOKEN_PATH
from ._log import get_logger
from ._plugins import MemoryTokenStore, StoredToken, TokenStore
from ._redact import Secrets
from ._tasks import background
from ._wire import unwrap
from .errors import ClientClosedError
from .models import AccessToken

logger = get_logger("auth")

# Renew this long before expiry (capped at a tenth of the lifetime for short-lived tokens).
DEFAULT_REFRESH_MARGIN = 60.0


class TokenManager:
    """Caches the access token, renews it before it expires, and never fetches it twice at once.

    Every caller that finds no fresh token joins the one fetch in flight (single flight), so a
    cold start of 200 tasks makes one token request, and a failed fetch fails all of them
    together instead of being retried once per waiter. A cancelled caller does not cancel the
    fetch the others wait for. The token lives in a TokenStore: under its `fetching()` lock a
    renewal first looks for a token another process stored, and only fetches if there is none.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        store: TokenStore | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self._fetch = fetch
        self._secrets = secrets or Secrets()
        self.store: TokenStore = store or MemoryTokenStore()
        self._token: AccessToken | None = None
        self._renew_at = 0.0
        self._inflight: asyncio.Task[AccessToken] | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "fresh" if self.current is not None else "none"
        return f"<TokenManager token={state}>"

    @property
    def current(self) -> AccessToken | None:
        """The cached token while it is fresh, else None. Never fetches."""
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        return None

    async def get(self) -> AccessToken:
        """The fresh cached token, or the result of the single fetch all callers share."""
        token = self.current
        if token is not None:
            return token
        if self._closed:
            raise ClientClosedError("this CliquifyClient is closed; create a new one")
        if self._inflight is None or self._inflight.done():
            self._inflight = background(self._renew())
        inflight = self._inflight
        try:
            return await asyncio.shield(inflight)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._closed and inflight.cancelled() and not (current and current.cancelling()):
                raise ClientClosedError("the client was closed while fetching a token") from None
            raise

    async def discard(self, access_token: str) -> None:
        """Drop the token if it is still `access_token` (it got a 401, or was revoked), here
        and in the store; a newer token survives a late 401."""
        if self._token is not None and self._token.access_token == access_token:
            self._token = None
        await self.store.discard(access_token)

    async def aclose(self) -> None:
        """Cancel a fetch nobody needs any more (the client is closing); callers get
        ClientClosedError rather than a CancelledError of their own."""
        self._closed = True
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._inflight
        self._token = None

    async def _renew(self) -> AccessToken:
        async with self.store.fetching():
            stored = await self.store.load()
            if stored is None or not self._adopt(stored):
                started = time.time()
                token = await self._fetch()
                lifetime = token.expires_in
                stored = StoredToken(
                    token=token, expires_at=None if lifetime is None else started + lifetime
                )
                await self.store.save(stored)
                # A token just issued serves at least the requests waiting for it, however
                # short the lifetime the server gave it.
                self._adopt(stored, fresh_from_server=True)
        assert self._token is not None
        return self._token

    def _adopt(self, stored: StoredToken, *, fresh_from_server: bool = False) -> bool:
        """Use `stored` if it is fresh enough (renewed a margin before it expires); either way
        it is a token this client has held, masked from every text from now on."""
        self._secrets.remember_token(stored.token.access_token)
        if stored.expires_at is None:
            self._token, self._renew_at = stored.token, float("inf")
            return True
        lifetime = stored.token.expires_in or 0.0
        margin = min(DEFAULT_REFRESH_MARGIN, lifetime * 0.1)
        left = stored.expires_at - time.time() - margin
        if left <= 0 and not fresh_from_server:
            return False
        self._token, self._renew_at = stored.token, time.monotonic() + max(left, 0.0)
        return True


# What a bearer token may hold: visible ASCII, no white space or control character (a CR or
# LF would break the header, and aiohttp refuses to send it), and no more than a server reads
# in one header line.
_SENDABLE = re.compile(r"[\x21-\x7e]{1,4096}")


class ClientCredentials:
    """The token request of OAuth client credentials (docs/contract.md §2): the documented
    JSON body, or, once the endpoint has refused JSON, the older docs' form, kept to from then
    on. `post(body, form)` sends it (the transport's, with its retries)."""

    def __init__(
        self, config: ClientConfig, *, post: Callable[[dict[str, Any], bool], Awaitable[Any]]
    ) -> None:
        self._config = config
        self._post = post
        self.form_encoded = False
        """True once the token endpoint refused JSON and took the older docs' form instead."""

    async def fetch(self) -> AccessToken:
        """A new access token from the token endpoint; ResponseDecodeError (keeping none of the
        answer) for one that is not the documented shape or cannot be sent in a header."""
        body = {
            "grant_type": "client_credentials",
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret.reveal(),
        }
        try:
            data = await self._post(body, self.form_encoded)
        except errors.ResponseDecodeError as exc:
            raise _token_shape_error(self._config, exc) from None
        except errors.APIStatusError as exc:
            if self.form_encoded or not _refuses_json(exc, body):
                raise
            logger.warning(
                "the token endpoint refused the documented JSON body (%d); retrying it "
                "form-encoded, as the older docs describe, and keeping to that",
                exc.status,
            )
            self.form_encoded = True
            data = await self._post(body, True)
        try:
            token = structure(unwrap(data, "token"), AccessToken)
            if not _SENDABLE.fullmatch(token.access_token):
                raise errors.ResponseDecodeError("its access_token cannot be sent in a header")
        except errors.ResponseDecodeError as exc:
            raise _token_shape_error(self._config, exc) from None
        logger.info("obtained an access token (expires in %s s)", token.expires_in)
        return token


def _token_shape_error(config: ClientConfig, exc: errors.ResponseDecodeError) -> Exception:
    """The token endpoint's answer was not the documented JSON: an error that keeps none of
    it, since it may hold a token not yet known to be one (a form-encoded answer, say)."""
    return errors.ResponseDecodeError(
        f"the token response is not the documented shape ({exc.reason})",
        status=exc.status,
        url=str(config.url(TOKEN_PATH)),
    )


def _refuses_json(exc: errors.APIStatusError, body: Mapping[str, Any]) -> bool:
    """True when the token endpoint did not read a JSON body: 415, or a 422 that says a field
    we did send is missing."""
    if exc.status == 415:
        return True
    return isinstance(exc, errors.ValidationError) and bool(set(exc.errors) & set(body))
