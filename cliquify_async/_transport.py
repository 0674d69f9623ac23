"""The request pipeline: rate gate, bearer token, aiohttp send, status mapping, retries.

Authentication is a step of this pipeline rather than an aiohttp client middleware on purpose:
aiohttp starts a request's total timeout before its middlewares run, and the one replay after
a 401 must pass the rate gate like every other request. Doing both here keeps the gate wait
out of the timeout and counts the replay against the budget.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
from attrs import define
from yarl import URL

from . import errors
from ._auth import TokenManager
from ._config import ClientConfig, same_origin
from ._convert import structure
from ._protocol import DEFAULT_HEADERS, error_for_response, unwrap
from ._ratelimit import RateGate
from ._retry import RetryPolicy
from .models import AccessToken

logger = logging.getLogger("cliquify_async")

TOKEN_PATH = "/oauth/access-token"  # noqa: S105 - a path, not a secret

State = Literal["unopened", "open", "closed"]


R = TypeVar("R")
Reader = Callable[[aiohttp.ClientResponse], Awaitable[R]]
"""Reads a successful response into a result (JSON, a file on disk)."""

DOWNLOAD_CHUNK = 64 * 1024


async def read_json(response: aiohttp.ClientResponse) -> Any:
    """The whole body as JSON, or ResponseDecodeError keeping the text."""
    raw = await response.read()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.ResponseDecodeError(
            "the response body is not JSON",
            text=raw.decode("utf-8", "replace"),
            status=response.status,
            url=str(response.url),
        ) from exc


async def save_to(dest: Path, response: aiohttp.ClientResponse) -> int:
    """Stream the body to `dest` through a temporary name, so `dest` only ever appears whole."""
    partial_file = dest.with_name(dest.name + ".part")
    written = 0
    try:
        with partial_file.open("wb") as out:
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                out.write(chunk)
                written += len(chunk)
        partial_file.replace(dest)
    except BaseException:
        partial_file.unlink(missing_ok=True)
        raise
    return written


@define
class ClientStats:
    """Counters of what the client did, for progress displays and tests."""

    requests: int = 0
    """Attempts sent to /api/* (each retry and replay counts)."""
    token_requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    """429 responses received."""
    auth_replays: int = 0
    """Requests replayed once with a new token after a 401."""


class Transport:
    """Owns the session, the gate, the token cache and the counters that one client shares."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        requests_per_minute: float | None,
        retry: RetryPolicy,
        timeout: aiohttp.ClientTimeout,
        session: aiohttp.ClientSession | None,
        trace_configs: list[aiohttp.TraceConfig] | None,
    ) -> None:
        self.config = config
        self.retry = retry
        self.timeout = timeout
        self.gate = RateGate(requests_per_minute)
        self.tokens = TokenManager(self._fetch_token)
        self.stats = ClientStats()
        self._session = session
        self._owns_session = session is None
        self._trace_configs = trace_configs
        self.state: State = "unopened"

    def open(self) -> aiohttp.ClientSession:
        """The session, created in the running loop on first use; refuses after close."""
        if self.state == "closed":
            raise errors.ClientClosedError("this CliquifyClient is closed; create a new one")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, trace_configs=self._trace_configs
            )
        elif self._session.closed:
            raise errors.ClientClosedError("the aiohttp session given to CliquifyClient is closed")
        self.state = "open"
        return self._session

    async def aclose(self) -> None:
        """Close the session if we made it; a caller's session is left open. Idempotent."""
        if self.state == "closed":
            return
        self.state = "closed"
        await self.tokens.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()

    def is_api(self, url: URL) -> bool:
        """True for URLs under the API's /api/ prefix: they take the token and pass the gate."""
        return same_origin(url, self.config.base_url) and url.path.startswith(
            self.config.url("/api/").path
        )

    async def get_json(self, url: URL, *, retry: RetryPolicy | None = None) -> Any:
        """GET an /api/* URL through the gate with the bearer token; retried; one 401 replay."""
        return await self._api(url, read_json, retry)

    async def download(self, url: URL, dest: Path, *, retry: RetryPolicy | None = None) -> int:
        """Stream `url` into `dest` atomically; the token and the gate only for /api/ URLs."""
        save = partial(save_to, dest)
        if self.is_api(url):
            return await self._api(url, save, retry)
        send = (retry or self.retry).wrap(self._send, on_retry=self._count_retry)
        return await send("GET", url, read=save, follow_redirects=True)

    async def post_oauth(self, path: str, body: dict[str, Any]) -> Any:
        """POST JSON to an /oauth/* helper: no gate, no bearer token, retried like the rest."""
        send = self.retry.wrap(self._send, on_retry=self._count_retry)
        return await send("POST", self.config.url(path), read=read_json, json_body=body)

    async def _api(self, url: URL, read: Reader[R], retry: RetryPolicy | None) -> R:
        if not self.is_api(url):
            raise errors.UntrustedURLError(
                f"refusing to send the token to {url.origin()}{url.path}: not the API",
                url=str(url),
            )
        send = (retry or self.retry).wrap(self._send_api, on_retry=self._count_retry)
        token = await self.tokens.get()
        try:
            return await send(url, token, read)
        except errors.AuthenticationError:
            self.tokens.invalidate(token)
            self.stats.auth_replays += 1
            logger.info("401 from %s: replaying once with a new token", url.path)
            return await send(url, await self.tokens.get(), read)

    async def _fetch_token(self) -> AccessToken:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.reveal(),
        }
        url = self.config.url(TOKEN_PATH)
        data = await self.post_oauth(TOKEN_PATH, body)
        token = structure(unwrap(data, "token"), AccessToken, url=str(url))
        logger.info("obtained an access token (expires in %s s)", token.expires_in)
        return token

    async def _send_api(self, url: URL, token: AccessToken, read: Reader[R]) -> R:
        await self.gate.acquire()
        try:
            return await self._send("GET", url, read=read, bearer=token.access_token)
        except errors.RateLimitError as exc:
            self.stats.rate_limited += 1
            if exc.retry_after is not None:
                self.gate.cool_down(exc.retry_after)
            raise

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        read: Reader[R],
        json_body: dict[str, Any] | None = None,
        bearer: str | None = None,
        follow_redirects: bool = False,
    ) -> R:
        """One attempt: send, then `read` a success or raise the typed error for a failure."""
        session = self.open()
        headers = dict(DEFAULT_HEADERS)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
            self.stats.requests += 1
        elif url.path.endswith(TOKEN_PATH):
            self.stats.token_requests += 1
        started = time.monotonic()
        try:
            async with session.request(
                method, url, json=json_body, headers=headers, allow_redirects=follow_redirects
            ) as response:
                logger.debug(
                    "%s %s -> %d (%.3f s)",
                    method,
                    url,
                    response.status,
                    time.monotonic() - started,
                )
                if not 200 <= response.status < 300:
                    text = (await response.read()).decode("utf-8", "replace")
                    raise error_for_response(
                        response.status, text, response.headers, method=method, url=str(url)
                    )
                return await read(response)
        except TimeoutError as exc:
            raise errors.APITimeoutError("timed out", method=method, url=str(url)) from exc
        except aiohttp.ClientError as exc:
            raise errors.APIConnectionError(
                f"connection failed: {type(exc).__name__}", method=method, url=str(url)
            ) from exc

    def _count_retry(self, exc: BaseException, wait: float) -> None:
        self.stats.retries += 1
