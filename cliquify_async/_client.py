"""CliquifyClient: configuration, session lifecycle and the resource namespaces."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self, TypeVar

import aiohttp
import attrs
from yarl import URL

from ._closing import AsyncClosing
from ._config import ClientConfig
from ._endpoints import DEFAULT_PER_PAGE, Endpoint
from ._files.checks import UNKNOWN, Checksum, Expected
from ._files.fetch import Fetched, Validators, fetch_file
from ._network import NetworkSettings, SSLSetting, check_session_settings
from ._options import Priority
from ._pagination.flight import AUTO, Concurrency, Flight, check_concurrency
from ._pagination.page_size import MAX
from ._pagination.paginator import AsyncPaginator
from ._pagination.rules import DEFAULT_MAX_PAGES, PaginationHint, check_hints
from ._plugins import RateGate, TokenStore
from ._ratelimit.gate import LocalRateGate
from ._ratelimit.limits import RateBudget, RateLimit
from ._readers import DEFAULT_READ_LIMITS, ReadLimits
from ._retry import RetryPolicy
from ._telemetry import NO_TELEMETRY, Telemetry
from ._transport import ClientStats, Transport
from ._wire import QueryValue, encode_query, server_url, user_agent
from .errors import ConfigurationError
from .resources import Assets, Auth, BrandKits, Folders, RawAuth, Templates
from .resources._base import Calls

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_CONCURRENCY: Concurrency = AUTO


class CliquifyClient(AsyncClosing):
    """An async client of the Cliquify API, safe to share by every task of one event loop.

    Use it as `async with CliquifyClient(...) as client:` (or call `await client.aclose()`).
    Credentials and base URL default to CLIQUIFY_CLIENT_ID, CLIQUIFY_CLIENT_SECRET and
    CLIQUIFY_BASE_URL; missing credentials raise ConfigurationError here, not at first use.

    Every /api/* request passes one rate gate (`requests_per_minute`, None to turn it off),
    which fills the server's fixed windows without crossing their edges. It learns the real
    count and window from what the server shows (X-RateLimit-*, Retry-After) and then paces to
    them (`rate_limits`); set `rate_window` only to name the window yourself. Each request is
    retried up to `max_retries` times on 408, 429, 5xx, timeouts and dropped connections (pass a
    RetryPolicy instead of a number to set the backoff too). `timeout` (seconds, or an
    aiohttp.ClientTimeout) bounds each attempt, not the wait at the gate. `read_limits` bounds
    what one response may make the client hold or wait for (see ReadLimits).

    Once a page says how many pages there are, a listing fetches several pages at a time
    (still through the gate, still yielded in order), so slow responses do not leave the rate
    budget idle: by default (`page_concurrency="auto"`) as many as the gate's pace times the
    answers' recent time needs, across all the client's listings; a number fixes how many
    per listing. `prefetch=True` reads one page ahead on cursor lists too.
    A `session` you pass in is used as it is and never closed. `rate_gate` and `token_store`
    replace the in-process gate and token cache, so several processes can share one budget
    and one token (see `cliquify_async.redis`).

    Raises ConfigurationError (a ValueError) at construction for missing credentials, an
    invalid or plain-http non-loopback base URL, unknown `paths` or `pagination` keys,
    `trace_configs` or network settings together with a `session` (they would be ignored),
    an `ssl` CA path that cannot be read, and out-of-range numbers. Calls on a closed client
    raise ClientClosedError; everything the API or the network does wrong is a CliquifyError
    subclass (see `cliquify_async.errors`).
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        base_url: str | URL | None = None,
        requests_per_minute: float | None = 60,
        rate_window: float | None = None,
        max_retries: int | RetryPolicy = 3,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        rate_gate: RateGate | None = None,
        token_store: TokenStore | None = None,
        page_concurrency: Concurrency = DEFAULT_PAGE_CONCURRENCY,
        prefetch: bool = False,
        paths: Mapping[str, str] | None = None,
        pagination: Mapping[str, PaginationHint] | None = None,
        allow_insecure_http: bool = False,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        read_limits: ReadLimits = DEFAULT_READ_LIMITS,
        call_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        app_name: str | None = None,
        trust_env: bool = False,
        ssl: SSLSetting = True,
        connection_limit: int = 100,
        connection_limit_per_host: int = 0,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        config = ClientConfig.resolve(
            client_id,
            client_secret,
            base_url,
            allow_insecure_http=allow_insecure_http,
            paths=paths,
        )
        self._pagination = check_hints(pagination or {})
        if session is not None and trace_configs:
            raise ConfigurationError(
                "trace_configs apply to a session the client makes; add them to the "
                "aiohttp.ClientSession you pass instead"
            )
        network = NetworkSettings(
            trust_env=trust_env,
            ssl=ssl,
            connection_limit=connection_limit,
            connection_limit_per_host=connection_limit_per_host,
        )
        check_session_settings(network, session)
        retry = (
            max_retries
            if isinstance(max_retries, RetryPolicy)
            else RetryPolicy(max_retries=max_retries)
        )
        self._transport = Transport(
            config,
            # No header may hold the gate longer than the policy would sleep (its max_wait).
            gate=rate_gate
            or LocalRateGate(
                requests_per_minute, rate_window=rate_window, max_wait=retry.max_retry_after
            ),
            token_store=token_store,
            retry=retry,
            timeout=(
                timeout
                if isinstance(timeout, aiohttp.ClientTimeout)
                else aiohttp.ClientTimeout(total=timeout)
            ),
            session=session,
            trace_configs=trace_configs,
            read_limits=read_limits,
            user_agent=user_agent(app_name),
            network=network,
            telemetry=telemetry,
        )
        self._transport.options = self._transport.options.evolve(
            timeout=call_timeout, headers=default_headers
        )
        self._options = self._transport.options
        self._page_concurrency = check_concurrency(page_concurrency)
        self._flight = Flight.of(self._transport)
        self._prefetch = prefetch
        self._bind_resources()

    def _bind_resources(self) -> None:
        calls = Calls(transport=self._transport, options=self._options, paginate=self.paginate)
        self.templates = Templates(calls)
        self.folders = Folders(calls)
        self.assets = Assets(calls)
        self.brand_kit = BrandKits(calls)
        self.auth = Auth(calls)

    def __repr__(self) -> str:
        config = self._transport.config
        return (
            f"<CliquifyClient base_url={str(config.base_url)!r} "
            f"client_id={config.client_id!r} state={self._transport.state}>"
        )

    @property
    def base_url(self) -> URL:
        """The API's base URL; the only origin that ever receives the token."""
        return self._transport.config.base_url

    @property
    def client_id(self) -> str:
        """The OAuth client id (not a secret; introspection shows it too)."""
        return self._transport.config.client_id

    @property
    def rate_interval(self) -> float:
        """Seconds between two /api/* requests at the gate's current pace (0 when it is off)."""
        return self._transport.gate.interval

    @property
    def rate_limits(self) -> tuple[RateLimit, ...]:
        """The rate limits the gate paces to, configured or learned from the server; the one
        every response reports comes first (empty when the gate is off)."""
        return self._transport.gate.limits

    @property
    def with_raw_response(self) -> RawResponses:
        """This view's single-object calls, each returning its answer as it came
        (`RawResponse`: status, headers, request id, body, and `parse()` for the result);
        a listing's pages carry theirs already (`Page.status`, `headers`, `request_id`)."""
        return RawResponses(auth=RawAuth(self.auth))

    @property
    def rate_budget(self) -> RateBudget | None:
        """The current window's budget as the latest answer showed it: requests remaining
        (and when the window resets, if the server said), so a service can shed load before
        it is throttled. None until an answer names it."""
        return self._transport.rate_budget

    @property
    def stats(self) -> ClientStats:
        """Counters of requests, token requests, retries and 429s, shared with `with_options`."""
        return self._transport.stats

    @property
    def closed(self) -> bool:
        """True once `aclose()` has run."""
        return self._transport.state == "closed"

    def with_options(
        self,
        *,
        max_retries: int | RetryPolicy | None = None,
        timeout: float | None = None,
        priority: Priority | None = None,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str | int] | None = None,
        page_concurrency: Concurrency | None = None,
        prefetch: bool | None = None,
    ) -> Self:
        """A view of this client with other per-call settings, sharing its session and gate.

        `timeout` is each call's deadline in seconds, the wait at the rate gate, every attempt
        and the backoff between them included (DeadlineExceededError past it; for a listing,
        each page's). `priority="high"` goes ahead of the requests already waiting at the
        gate (never past the server's limits). `headers` and `extra_query` are added to each
        request (the SDK's own headers, Authorization and Accept, cannot be replaced).
        """
        clone = copy.copy(self)
        if page_concurrency is not None:
            clone._page_concurrency = check_concurrency(page_concurrency)
        if prefetch is not None:
            clone._prefetch = prefetch
        if isinstance(max_retries, RetryPolicy):
            retry = max_retries
        elif max_retries is not None:
            retry = attrs.evolve(self._options.retry, max_retries=max_retries)
        else:
            retry = self._options.retry
        clone._options = self._options.evolve(
            retry=retry,
            timeout=timeout,
            priority=priority,
            headers=headers,
            extra_query=extra_query,
        )
        clone._bind_resources()
        return clone

    def paginate(
        self,
        endpoint: Endpoint[T],
        *,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        **filters: QueryValue,
    ) -> AsyncPaginator[T]:
        """A paginator over any list endpoint; the resource methods are built on this.

        Path overrides and pagination hints given to the client apply here, so every listing
        (resources, harvest, walk) sees them. `per_page="max"` pages with the largest page the
        server honours: asked for once per endpoint, then kept for the client's life.
        `max_pages` bounds the pages the listing fetches (None: only by what the server
        announces); past it, PaginationError.
        """
        self._transport.check_open()
        endpoint = self._transport.config.endpoint(endpoint)
        sizes = self._transport.page_sizes
        per_page = filters.pop("per_page", DEFAULT_PER_PAGE)
        sizing = None
        if per_page == MAX:
            sizing = None if sizes.learned(endpoint.key) is not None else sizes
            per_page = sizes.size_for(endpoint.key)
        query = encode_query({"per_page": per_page, **filters})
        url = self._transport.config.url(endpoint.path).with_query(query)
        return AsyncPaginator(
            self._transport,
            endpoint,
            url,
            options=self._options,
            concurrency=self._page_concurrency,
            flight=self._flight,
            prefetch=self._prefetch,
            hint=self._pagination.get(endpoint.key, "auto"),
            sizing=sizing,
            max_pages=max_pages,
        )

    def expect_page_size(self, endpoint: Endpoint[Any], size: int) -> None:
        """Let `per_page="max"` listings of `endpoint` ask for `size` first instead of probing
        with 1000: a size an earlier session learned, as a harvest's checkpoint keeps it. The
        server's answer is still read back, and a 422 (its cap has come down) still handled."""
        if size < 1:
            raise ConfigurationError(f"a page size must be at least 1, got {size}")
        self._transport.page_sizes.expect(self._transport.config.endpoint(endpoint).key, size)

    def learned_page_size(self, endpoint: Endpoint[Any]) -> int | None:
        """The largest page size the server honoured for `endpoint`, once a `per_page="max"`
        listing on this client has learned it (what a harvest's checkpoint keeps)."""
        return self._transport.page_sizes.learned(self._transport.config.endpoint(endpoint).key)

    async def download(
        self,
        url: str | URL,
        path: str | os.PathLike[str],
        *,
        size: int | None = None,
        checksum: str | None = None,
    ) -> int:
        """Stream a file (an asset's `url`) to `path`; returns its size in bytes.

        The file appears at `path` only once complete and checked: its length against the
        answer's, and against `size` and `checksum` (`<hex>` or `sha256:<hex>`; md5, sha1,
        sha256 or sha512, told apart by length) when given. An interrupted download goes on
        from its `.part` with a Range request when called again; a mismatch is fetched
        again from the start, then raised as FileMismatchError. Only URLs under the API's
        /api/ get the token and pass the rate gate; files elsewhere (a CDN) are fetched
        without either. Failures are retried like API calls, then raised as APIStatusError
        subclasses or APIConnectionError; MalformedURLError for a URL that cannot be fetched
        safely (see `server_url`); ConfigurationError for a checksum that is not one;
        OSError if the file cannot be written.
        """
        expected = Expected(size=size, checksum=None if checksum is None else parse(checksum))
        return (await fetch(self, url, Path(path), expected=expected)).size

    async def __aenter__(self) -> Self:
        self._transport.open()
        return self

    async def aclose(self) -> None:
        """Close the client and the session it made; safe to call more than once."""
        await self._transport.aclose()


@attrs.frozen(kw_only=True)
class RawResponses:
    """`client.with_raw_response`: the namespaces whose calls return one object, raw."""

    auth: RawAuth


async def fetch(
    client: CliquifyClient,
    url: str | URL,
    path: Path,
    *,
    expected: Expected = UNKNOWN,
    revalidate: Validators | None = None,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> Fetched:
    """`client.download` with all it found out (for the harvest): see `fetch_file`."""
    checked = server_url(str(url), what="download URL", base=client.base_url)
    transport = client._transport
    return await fetch_file(
        transport,
        checked,
        path,
        options=client._options,
        limits=transport.read_limits,
        expected=expected,
        revalidate=revalidate,
        on_bytes=on_bytes,
    )


def parse(checksum: str) -> Checksum:
    """A checksum given by a caller, or ConfigurationError."""
    found = Checksum.parse(checksum)
    if found is None:
        raise ConfigurationError(
            f"{checksum!r} is not a checksum: give a hex md5, sha1, sha256 or sha512 digest, "
            "optionally as '<algorithm>:<hex>'"
        )
    return found


def pipeline(client: CliquifyClient) -> Transport:
    """The request pipeline behind `client`, for the SDK's own tools (the doctor probes
    through it and reads its counters); not public API."""
    return client._transport
