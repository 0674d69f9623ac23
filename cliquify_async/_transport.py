"""The request pipeline: rate gate, bearer token, aiohttp send, status mapping, retries.

Authentication is a step of this pipeline rather than an aiohttp client middleware on purpose:
aiohttp starts a request's total timeout before its middlewares run, and the one replay after
a 401 must pass the rate gate like every other request. Doing both here keeps the gate wait
out of the timeout and counts the replay against the budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Final, Literal, ParamSpec, Protocol, TypeVar, cast

import aiohttp
import attrs
from attrs import define, frozen
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from . import errors
from ._auth import ClientCredentials, TokenManager
from ._config import ClientConfig, same_origin
from ._endpoints import TOKEN_PATH
from ._log import get_logger
from ._network import DEFAULT_NETWORK, NetworkSettings
from ._options import CallOptions, Pairs
from ._pagination.page_size import PageSizes
from ._plugins import RateGate, TokenStore
from ._ratelimit.limits import RateBudget
from ._readers import (
    DEFAULT_READ_LIMITS,
    R,
    Reader,
    ReadLimits,
    read_error_text,
    read_json,
)
from ._redact import Secrets, redact, register, unregister
from ._retry import RetryPolicy, retry_reason
from ._telemetry import NO_TELEMETRY, CallTrace, Telemetry
from ._wire import DEFAULT_HEADERS, USER_AGENT, error_for_response, request_id, server_url
from .models import AccessToken

logger = get_logger("transport")

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
State = Literal["unopened", "open", "closed"]

# A file is saved as it was sent: never inflated into something larger than its transfer.
_FILE_HEADERS = {**DEFAULT_HEADERS, "Accept": "*/*", "Accept-Encoding": "identity"}
DEFAULT_READ_TIMEOUT = 30.0
"""Seconds of silence after which a read gives up, where the timeout sets no bound of its own."""


_CLOSERS: set[asyncio.Task[None]] = set()
"""The closers of open clients' sessions, kept alive until their loop ends them."""


@frozen
class Answer:
    """What one request got back: status, headers (secrets masked), the server's request id
    and the parsed (or raw) body."""

    status: int
    headers: Mapping[str, str]
    body: Any
    request_id: str | None = None

    @classmethod
    def of(cls, response: aiohttp.ClientResponse, body: Any) -> Answer:
        headers = CIMultiDictProxy(CIMultiDict((k, redact(v)) for k, v in response.headers.items()))
        return cls(response.status, headers, body, request_id(headers))


@define
class Spent:
    """Where a call's time went, for the message of a deadline that ran out."""

    gate_wait: float = 0.0
    attempts: int = 0
    in_attempts: float = 0.0


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
FILE_ANSWERS: Final = frozenset({304, 416})
"""Answers a file download reads itself: Not Modified, and a range past the file's end."""


class FileReader(Protocol[R_co]):
    """A file download's side of each attempt: the headers it adds (a `Range` from what is
    on disk by then) and how it reads the answer."""

    def request_headers(self) -> Pairs: ...

    async def receive(self, response: aiohttp.ClientResponse) -> R_co: ...


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
        user_agent: str = USER_AGENT,
        network: NetworkSettings = DEFAULT_NETWORK,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.secrets = Secrets()
        """The client secret and the tokens held, masked in every text that leaves the SDK
        while this client is open."""
        self.secrets.remember_secret(config.client_secret.reveal(), user=config.client_id)
        register(self.secrets)
        self.config = config
        self._api_prefix = config.url("/api/").path
        self.options = CallOptions(retry=retry)
        """The calls' settings where a call gives none (the client's own view)."""
        self.user_agent = user_agent
        self.timeout = api_timeout(timeout)
        self._download_timeout = download_timeout(timeout)
        self.read_limits = read_limits
        self._read_json: Reader[Any] = partial(read_json, limits=read_limits)
        self.gate = gate
        self.credentials = ClientCredentials(
            config, post=lambda body, form: self._post_token(body, form=form)
        )
        self.tokens = TokenManager(self.credentials.fetch, store=token_store, secrets=self.secrets)
        self.stats = ClientStats()
        self.answer_time = AnswerTime()
        self.rate_budget: RateBudget | None = None
        """The reporting limit's budget as the latest /api/* answer that named it said."""
        self.page_sizes = PageSizes()
        self._retried: dict[tuple[RetryPolicy, object], Callable[..., Awaitable[Any]]] = {}
        self._session = session
        self._owns_session = session is None
        self._trace_configs = trace_configs
        self._network = network
        self.telemetry = telemetry
        self.state: State = "unopened"
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it was opened on
        self._closer: asyncio.Task[None] | None = None

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of calls that give none (the client's own)."""
        return self.options.retry

    def check_open(self) -> None:
        """Raise ClientClosedError once the client (or a session given to it) is closed, and
        EventLoopError on a running loop other than the client's own."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no running loop: a listing may be set up before one runs
            loop = None
        if loop is not None:
            self._check_loop(loop)
        if self.state == "closed":
            raise errors.ClientClosedError("this CliquifyClient is closed; create a new one")
        if self._session is not None and self._session.closed:
            raise errors.ClientClosedError("the aiohttp session given to CliquifyClient is closed")

    def open(self) -> aiohttp.ClientSession:
        """The session, created in the running loop on first use; refuses after close, and
        on any other loop (EventLoopError)."""
        loop = asyncio.get_running_loop()
        self.check_open()
        self._loop = loop
        if self._session is None:
            self._session = self._network.session(self._trace_configs)
            self._closer = loop.create_task(self._close_with_the_loop())
            _CLOSERS.add(self._closer)  # held until it ends: a client dropped unclosed too
            self._closer.add_done_callback(_CLOSERS.discard)
        self.state = "open"
        return self._session

    def _check_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not None and loop is not self._loop:
            state = "closed" if self._loop.is_closed() else "still running"
            raise errors.EventLoopError(
                f"this CliquifyClient was opened on event loop {id(self._loop):#x} (now "
                f"{state}) and is used on event loop {id(loop):#x}; a client belongs to the "
                "loop it was opened on: make one inside each asyncio.run, or keep one loop"
            )

    async def _close_with_the_loop(self) -> None:
        """Waits until the loop cancels its tasks as it ends (asyncio.run does), then closes
        the session this client made: a client left open leaves no connection behind."""
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            if self._session is not None:
                await self._session.close()

    async def aclose(self) -> None:
        """Close the session if we made it; a caller's session is left open. Idempotent."""
        if self.state == "closed":
            return
        self.state = "closed"
        await self.tokens.aclose()
        unregister(self.secrets)
        if self._closer is None or self._loop is not asyncio.get_running_loop():
            return  # no session made; or made on a loop whose end closed it
        self._closer.cancel()
        await asyncio.gather(self._closer, return_exceptions=True)
        if self._session is not None:  # a closer cancelled before it ran closed nothing
            await self._session.close()

    def is_api(self, url: URL) -> bool:
        """True for URLs under the API's /api/ prefix: they take the token and pass the gate."""
        return same_origin(url, self.config.base_url) and url.path.startswith(self._api_prefix)

    async def get(
        self,
        url: URL,
        options: CallOptions | None = None,
        *,
        endpoint: str | None = None,
        page: int | None = None,
    ) -> Answer:
        """GET an /api/* URL through the gate with the bearer token; retried; one 401 replay;
        the answer with its status, headers and request id. `endpoint` and `page` name the
        call in its trace."""
        options = options or self.options
        return await self._api(url, self._read_answer, options, endpoint=endpoint, page=page)

    async def _read_answer(self, response: aiohttp.ClientResponse) -> Answer:
        return Answer.of(response, await self._read_json(response))

    async def download(
        self, url: URL, file: FileReader[R], options: CallOptions | None = None
    ) -> R:
        """GET a file, read by `file` (asked for its headers again at each attempt); the token
        and the gate only for /api/ URLs, all hops within the call's deadline.

        A file elsewhere is fetched with aiohttp following its redirects. One under /api/ is
        redirected here, hop by hop, so the token goes with a hop only to /api/ again.
        """
        options = options or self.options
        spent = Spent()
        async with self._deadline(options, "GET", url, spent):  # one for every hop
            for _ in range(MAX_REDIRECTS + 1):
                if not self.is_api(url):
                    send = self._retrying(options.retry, self._send)
                    return await send("GET", url, read=file.receive, file=file)
                try:
                    return await self._api(url, file.receive, options, file=file, spent=spent)
                except _Redirect as hop:
                    url = server_url(hop.location, what=f"redirect from {url.path}", base=url)
            raise errors.APIConnectionError(
                f"more than {MAX_REDIRECTS} redirects", method="GET", url=str(url)
            )

    async def probe(self, url: URL) -> Answer:
        """One GET of an /api/* URL that reports any answer instead of raising (for the
        doctor): through the gate with the token, no retries."""
        try:
            return await self.get(url, CallOptions(retry=RetryPolicy(max_retries=0)))
        except errors.APIStatusError as exc:
            return Answer(exc.status, exc.headers, exc.body, request_id(exc.headers))

    async def _post_token(self, body: dict[str, Any], *, form: bool) -> Any:
        return (await self.post_oauth(TOKEN_PATH, body, form=form)).body

    async def post_oauth(
        self,
        path: str,
        body: dict[str, Any],
        options: CallOptions | None = None,
        *,
        form: bool = False,
    ) -> Answer:
        """POST JSON (or a form) to an /oauth/* helper: no gate, no bearer token, retried,
        within the call's deadline; the answer with its status, headers and request id."""
        options = options or self.options
        send = self._retrying(options.retry, self._send)
        url = self.config.url(path)
        json_body, form_body = (None, body) if form else (body, None)
        async with self._deadline(options, "POST", url, Spent()):
            return await send(
                "POST",
                url,
                read=self._read_answer,
                headers=options.headers,
                json_body=json_body,
                form_body=form_body,
            )

    async def _api(
        self,
        url: URL,
        read: Reader[R],
        options: CallOptions,
        *,
        file: FileReader[Any] | None = None,
        endpoint: str | None = None,
        page: int | None = None,
        spent: Spent | None = None,
    ) -> R:
        """Send with the token through the gate, retried, with one 401 replay, all within
        the call's deadline (shared by a download's hops through `spent`); `file` marks a
        download (see `_send`)."""
        if not self.is_api(url):
            raise errors.UntrustedURLError(
                f"refusing to send the token to {url.origin()}{url.path}: not the API",
                url=str(url),
            )
        self.open()  # on this loop, or EventLoopError before the gate's loop-bound waits
        url = url.extend_query(options.extra_query) if options.extra_query else url
        send = self._retrying(options.retry, self._send_api)
        spent = spent or Spent()
        traced = self.telemetry.call(method="GET", url=str(url), endpoint=endpoint, page=page)
        with traced as call:
            try:
                async with self._deadline(options, "GET", url, spent):
                    token = await self.tokens.get()
                    try:
                        return await send(url, token, read, options, spent, call, file)
                    except errors.AuthenticationError:
                        await self.tokens.discard(token.access_token)
                        self.stats.auth_replays += 1
                        logger.info("401 from %s: replaying once with a new token", url.path)
                        token = await self.tokens.get()
                        return await send(url, token, read, options, spent, call, file)
            except errors.CliquifyError as exc:
                call.failed(exc)
                raise
            except _Redirect as hop:
                redirect = hop  # this call ends well: the download goes on at the next hop
        raise redirect

    @asynccontextmanager
    async def _deadline(
        self, options: CallOptions, method: str, url: URL, spent: Spent
    ) -> AsyncIterator[None]:
        """Within the call's deadline, if it has one: DeadlineExceededError past it."""
        if options.timeout is None:
            yield
            return
        try:
            async with asyncio.timeout(options.timeout):
                yield
        except TimeoutError as exc:  # an attempt's own timeout is an APITimeoutError
            raise errors.DeadlineExceededError(
                options.timeout,
                gate_wait=spent.gate_wait,
                attempts=spent.attempts,
                in_attempts=spent.in_attempts,
                method=method,
                url=str(url),
            ) from exc

    async def _send_api(
        self,
        url: URL,
        token: AccessToken,
        read: Reader[R],
        options: CallOptions,
        spent: Spent,
        call: CallTrace,
        file: FileReader[Any] | None,
    ) -> R:
        """One attempt: a permit from the gate, then the request; traced as an attempt."""
        loop = asyncio.get_running_loop()
        number = spent.attempts + 1
        with call.attempt(number) as attempt:
            asked = loop.time()
            try:
                if options.priority == "high":
                    sent_at = await self.gate.acquire(priority="high")
                else:
                    sent_at = await self.gate.acquire()
            finally:  # counted also when the deadline ends the wait
                started = loop.time()
                spent.gate_wait += started - asked
            attempt.waited(started - asked)
            try:
                return await self._send(
                    "GET",
                    url,
                    read=read,
                    bearer=token.access_token,
                    headers=options.headers,
                    file=file,
                    on_answer=partial(self._answered, sent_at, attempt.answered),
                )
            except _Redirect as hop:
                redirect = hop  # a hop of a download, not a failure: raised past the trace
            except errors.CliquifyError as exc:
                again = number <= options.retry.max_retries and not options.retry.gives_up_on(exc)
                attempt.failed(exc, retry_reason(exc) if again else None)
                if isinstance(exc, errors.RateLimitError):
                    self.stats.rate_limited += 1
                    # A wait beyond the retry cap is the caller's to decide on: it gets the
                    # error with retry_after, and the client is not frozen for that long.
                    wait = exc.retry_after
                    if wait is not None and wait <= options.retry.max_retry_after:
                        await self.gate.cool_down(wait)
                raise
            finally:
                spent.attempts += 1
                spent.in_attempts += loop.time() - started
        raise redirect

    async def _answered(
        self,
        sent_at: float,
        traced: Callable[[int], None],
        status: int,
        headers: Mapping[str, str],
    ) -> None:
        """An /api/* answer arrived: traced, the gate learns from it, its budget is kept."""
        traced(status)
        await self.gate.observe(sent_at, status, headers)
        budget = RateBudget.of(headers, now=time.time())
        if budget is not None:
            self.rate_budget = budget

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        read: Reader[R],
        json_body: dict[str, Any] | None = None,
        form_body: dict[str, Any] | None = None,
        bearer: str | None = None,
        headers: Pairs = (),
        file: FileReader[Any] | None = None,
        on_answer: Callable[[int, Mapping[str, str]], Awaitable[None]] | None = None,
    ) -> R:
        """One attempt: send, then `read` a success or raise the typed error for a failure.

        API calls never follow redirects (a Laravel redirect means a login page, and the
        token must not follow it). A `file` download accepts any type, undecoded, with no
        total timeout; it may be redirected to its storage, adds the headers it asks for at
        each attempt, and reads the answers FILE_ANSWERS too.
        """
        session = self.open()
        sent = {**(_FILE_HEADERS if file else DEFAULT_HEADERS), "User-Agent": self.user_agent}
        sent.update(headers)  # a call's own; never the SDK's (CallOptions refuses those)
        if file is not None:
            sent.update(file.request_headers())
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
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
                headers=sent,
                allow_redirects=file is not None and bearer is None,  # see download()
                auto_decompress=file is None,
                timeout=self.timeout if file is None else self._download_timeout,
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
                if file is not None and 300 <= response.status < 400 and location is not None:
                    raise _Redirect(location)
                answered = file is not None and response.status in FILE_ANSWERS
                if not (200 <= response.status < 300 or answered):
                    text = await read_error_text(response, self.read_limits)
                    raise error_for_response(
                        response.status, text, response.headers, method=method, url=str(url)
                    )
                result = await read(response)
                if bearer is not None and file is None:
                    self.answer_time.record(time.monotonic() - started)
                return result
        except TimeoutError as exc:
            raise errors.APITimeoutError("timed out", method=method, url=str(url)) from exc
        except aiohttp.ClientError as exc:
            raise errors.APIConnectionError(
                f"connection failed: {type(exc).__name__}", method=method, url=str(url)
            ) from exc
        except ValueError as exc:  # aiohttp: .netrc credentials beside the bearer token
            if isinstance(exc, errors.CliquifyError) or "AUTHORIZATION" not in str(exc):
                raise
            raise errors.ConfigurationError(
                f"the request to {url.host} could not be sent: {exc}; with trust_env=True, a "
                ".netrc entry for this host (or a default one) adds credentials of its own"
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
