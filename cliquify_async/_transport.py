"""The request pipeline: rate gate, bearer token, aiohttp send, status mapping, retries.

Authentication is a step of this pipeline rather than an aiohttp client middleware on purpose:
aiohttp starts a request's total timeout before its middlewares run, and the one replay after
a 401 must pass the rate gate like every other request. Doing both here keeps the gate wait
out of the timeout and counts the replay against the budget.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal, ParamSpec, cast

import aiohttp
import attrs
from attrs import define, frozen
from multidict import CIMultiDict
from yarl import URL

from . import errors
from ._auth import ClientCredentials, TokenManager
from ._config import ClientConfig, same_origin
from ._endpoints import TOKEN_PATH
from ._log import get_logger
from ._pagination.page_size import PageSizes
from ._plugins import RateGate, TokenStore
from ._readers import (
    DEFAULT_READ_LIMITS,
    R,
    Reader,
    ReadLimits,
    read_error_text,
    read_json,
    save_to,
)
from ._redact import Secrets, register, unregister
from ._retry import RetryPolicy
from ._wire import DEFAULT_HEADERS, error_for_response, server_url
from .models import AccessToken

logger = get_logger("transport")

P = ParamSpec("P")
State = Literal["unopened", "open", "closed"]

# A file is saved as it was sent: never inflated into something larger than its transfer.
_FILE_HEADERS = {**DEFAULT_HEADERS, "Accept": "*/*", "Accept-Encoding": "identity"}
DEFAULT_READ_TIMEOUT = 30.0
"""Seconds of silence after which a read gives up, where the timeout sets no bound of its own."""


@frozen
class Probe:
    """What one request got back: status, headers and the parsed (or raw) body."""

    status: int
    headers: Mapping[str, str]
    body: Any


@define
class ClientStats:
    """Counters of what the client did, for progress displays and tests."""

    requests: int = 0
    """Attempts sent to /api/* (each retry and replay counts)."""
    token_requests: int = 0
    """Attempts sent to the token endpoint (each renewal and retry counts)."""
    retries: int = 0
    """Attempts made again after a retryable failure, on any endpoint (not the 401 replays)."""
    rate_limited: int = 0
    """429 responses received."""
    auth_replays: int = 0
    """Requests replayed once with a new token after a 401."""


@define
class AnswerTime:
    """Recent seconds from sending an /api/* request to having read its answer: an average
    that follows a change within a few answers (what `page_concurrency="auto"` sizes by)."""

    seconds: float | None = None

    def record(self, seconds: float) -> None:
        if self.seconds is None:
            self.seconds = seconds
        else:
            self.seconds += ANSWER_WEIGHT * (seconds - self.seconds)


ANSWER_WEIGHT = 0.25  # the weight of the newest answer in AnswerTime's average
MAX_REDIRECTS = 10


class _Redirect(Exception):
    """A download under /api/ was redirected to `location`."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def api_timeout(timeout: aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """`timeout`, with a bound on each read when it sets no bound at all."""
    if timeout.total is None and timeout.sock_read is None:
        return attrs.evolve(timeout, sock_read=DEFAULT_READ_TIMEOUT)
    return timeout


def download_timeout(timeout: aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """A file may take any time in all; only connecting and each read are bounded (the
    ReadLimits' floor on the rate bounds a trickle)."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeout.connect,
        sock_connect=timeout.sock_connect,
        sock_read=timeout.sock_read or timeout.total or DEFAULT_READ_TIMEOUT,
    )


class Transport:
    """Owns the session, the gate, the token cache and the counters that one client shares."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        gate: RateGate,
        token_store: TokenStore | None,
        retry: RetryPolicy,
        timeout: aiohttp.ClientTimeout,
        session: aiohttp.ClientSession | None,
        trace_configs: list[aiohttp.TraceConfig] | None,
        read_limits: ReadLimits = DEFAULT_READ_LIMITS,
    ) -> None:
        self.secrets = Secrets()
        """The client secret and the tokens held, masked in every text that leaves the SDK
        while this client is open."""
        self.secrets.remember_secret(config.client_secret.reveal(), user=config.client_id)
        register(self.secrets)
        self.config = config
        self._api_prefix = config.url("/api/").path
        self.retry = retry
        self.timeout = api_timeout(timeout)
        self._download_timeout = download_timeout(timeout)
        self.read_limits = read_limits
        self._read_json: Reader[Any] = partial(read_json, limits=read_limits)
        self.gate = gate
        self.credentials = ClientCredentials(
            config, post=lambda body, form: self.post_oauth(TOKEN_PATH, body, form=form)
        )
        self.tokens = TokenManager(self.credentials.fetch, store=token_store, secrets=self.secrets)
        self.stats = ClientStats()
        self.answer_time = AnswerTime()
        self.page_sizes = PageSizes()
        self._retried: dict[tuple[RetryPolicy, object], Callable[..., Awaitable[Any]]] = {}
        self._session = session
        self._owns_session = session is None
        self._trace_configs = trace_configs
        self.state: State = "unopened"

    def check_open(self) -> None:
        """Raise ClientClosedError once the client (or a session given to it) is closed."""
        if self.state == "closed":
            raise errors.ClientClosedError("this CliquifyClient is closed; create a new one")
        if self._session is not None and self._session.closed:
            raise errors.ClientClosedError("the aiohttp session given to CliquifyClient is closed")

    def open(self) -> aiohttp.ClientSession:
        """The session, created in the running loop on first use; refuses after close."""
        self.check_open()
        if self._session is None:
            self._session = aiohttp.ClientSession(trace_configs=self._trace_configs)
        self.state = "open"
        return self._session

    async def aclose(self) -> None:
        """Close the session if we made it; a caller's session is left open. Idempotent."""
        if self.state == "closed":
            return
        self.state = "closed"
        await self.tokens.aclose()
        unregister(self.secrets)
        if self._owns_session and self._session is not None:
            await self._session.close()

    def is_api(self, url: URL) -> bool:
        """True for URLs under the API's /api/ prefix: they take the token and pass the gate."""
        return same_origin(url, self.config.base_url) and url.path.startswith(self._api_prefix)

    async def get_json(self, url: URL, *, retry: RetryPolicy | None = None) -> Any:
        """GET an /api/* URL through the gate with the bearer token; retried; one 401 replay."""
        return await self._api(url, self._read_json, retry or self.retry)

    async def download(self, url: URL, dest: Path, *, retry: RetryPolicy | None = None) -> int:
        """Stream `url` into `dest` atomically; the token and the gate only for /api/ URLs.

        A file elsewhere is fetched with aiohttp following its redirects. One under /api/ is
        redirected here, hop by hop, so the token goes with a hop only to /api/ again.
        """
        save = partial(save_to, dest, limits=self.read_limits)
        policy = retry or self.retry
        for _ in range(MAX_REDIRECTS + 1):
            if not self.is_api(url):
                return await self._retrying(policy, self._send)("GET", url, read=save, file=True)
            try:
                return await self._api(url, save, policy, file=True)
            except _Redirect as hop:
                url = server_url(hop.location, what=f"redirect from {url.path}", base=url)
        raise errors.APIConnectionError(
            f"more than {MAX_REDIRECTS} redirects", method="GET", url=str(url)
        )

    async def probe(self, url: URL) -> Probe:
        """One GET of an /api/* URL that reports any answer instead of raising (for the
        doctor): through the gate with the token, no retries."""

        async def keep(response: aiohttp.ClientResponse) -> Probe:
            body = await self._read_json(response)
            return Probe(response.status, CIMultiDict(response.headers), body)

        try:
            return await self._api(url, keep, RetryPolicy(max_retries=0))
        except errors.APIStatusError as exc:
            return Probe(exc.status, CIMultiDict(exc.headers), exc.body)

    async def post_oauth(
        self,
        path: str,
        body: dict[str, Any],
        *,
        retry: RetryPolicy | None = None,
        form: bool = False,
    ) -> Any:
        """POST JSON (or a form) to an /oauth/* helper: no gate, no bearer token, retried."""
        send = self._retrying(retry or self.retry, self._send)
        url = self.config.url(path)
        if form:
            return await send("POST", url, read=self._read_json, form_body=body)
        return await send("POST", url, read=self._read_json, json_body=body)

    async def _api(
        self, url: URL, read: Reader[R], policy: RetryPolicy, *, file: bool = False
    ) -> R:
        """Send with the token through the gate, retried, with one 401 replay; `file` marks
        a download (any Accept, redirects followed, no total timeout)."""
        if not self.is_api(url):
            raise errors.UntrustedURLError(
                f"refusing to send the token to {url.origin()}{url.path}: not the API",
                url=str(url),
            )
        send = self._retrying(policy, self._send_api)
        token = await self.tokens.get()
        try:
            return await send(url, token, read, policy.max_retry_after, file)
        except errors.AuthenticationError:
            await self.tokens.discard(token.access_token)
            self.stats.auth_replays += 1
            logger.info("401 from %s: replaying once with a new token", url.path)
            return await send(url, await self.tokens.get(), read, policy.max_retry_after, file)

    async def _send_api(
        self, url: URL, token: AccessToken, read: Reader[R], max_cool_down: float, file: bool
    ) -> R:
        sent_at = await self.gate.acquire()
        try:
            return await self._send(
                "GET",
                url,
                read=read,
                bearer=token.access_token,
                file=file,
                on_answer=partial(self.gate.observe, sent_at),
            )
        except errors.RateLimitError as exc:
            self.stats.rate_limited += 1
            # A wait beyond the retry cap is the caller's to decide on: it gets the error
            # with retry_after, and the client is not silently frozen for that long.
            if exc.retry_after is not None and exc.retry_after <= max_cool_down:
                await self.gate.cool_down(exc.retry_after)
            raise

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        read: Reader[R],
        json_body: dict[str, Any] | None = None,
        form_body: dict[str, Any] | None = None,
        bearer: str | None = None,
        file: bool = False,
        on_answer: Callable[[int, Mapping[str, str]], Awaitable[None]] | None = None,
    ) -> R:
        """One attempt: send, then `read` a success or raise the typed error for a failure.

        API calls never follow redirects (a Laravel redirect means a login page, and the
        token must not follow it); a file may be redirected to its storage.
        """
        session = self.open()
        headers = dict(_FILE_HEADERS if file else DEFAULT_HEADERS)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
            self.stats.requests += 1
        elif url.path.endswith(TOKEN_PATH):
            self.stats.token_requests += 1
        started = time.monotonic()
        try:
            async with session.request(
                method,
                url,
                json=json_body,
                data=form_body,
                headers=headers,
                allow_redirects=file and bearer is None,  # see download()
                auto_decompress=not file,
                timeout=self._download_timeout if file else self.timeout,
            ) as response:
                logger.debug(
                    "%s %s -> %d (%.3f s)",
                    method,
                    url,
                    response.status,
                    time.monotonic() - started,
                )
                if on_answer is not None:
                    await on_answer(response.status, response.headers)
                location = response.headers.get("Location")
                if file and 300 <= response.status < 400 and location is not None:
                    raise _Redirect(location)
                if not 200 <= response.status < 300:
                    text = await read_error_text(response, self.read_limits)
                    raise error_for_response(
                        response.status, text, response.headers, method=method, url=str(url)
                    )
                result = await read(response)
                if bearer is not None and not file:
                    self.answer_time.record(time.monotonic() - started)
                return result
        except TimeoutError as exc:
            raise errors.APITimeoutError("timed out", method=method, url=str(url)) from exc
        except aiohttp.ClientError as exc:
            raise errors.APIConnectionError(
                f"connection failed: {type(exc).__name__}", method=method, url=str(url)
            ) from exc

    def _retrying(
        self, policy: RetryPolicy, attempt: Callable[P, Awaitable[R]]
    ) -> Callable[P, Awaitable[R]]:
        """`attempt` retried by `policy`, wrapped once per policy: building backoff's wrapper
        cost more per request than the rest of the pipeline's bookkeeping."""
        key = (policy, attempt)
        if key not in self._retried:
            self._retried[key] = policy.wrap(attempt, on_retry=self._count_retry)
        return cast("Callable[P, Awaitable[R]]", self._retried[key])  # a string: no alias per call

    def _count_retry(self, exc: BaseException, wait: float) -> None:
        self.stats.retries += 1
