"""The exceptions raised by cliquify-async.

Catch `CliquifyError` for everything the SDK raises; catch a subclass to react to one
cause. The tree::

    CliquifyError
    ├── ConfigurationError            bad constructor arguments or environment
    ├── ClientClosedError             the client was used after aclose()
    ├── EventLoopError                the client was used on another event loop than its own
    ├── UntrustedURLError             a response pointed the client at another origin
    │   └── MalformedURLError         ... or at a URL that is not a usable http(s) URL
    ├── PaginationError               a listing went past a bound (announced pages, repeats)
    ├── APIConnectionError            the request never got an HTTP answer
    │   └── APITimeoutError           ... because a timeout ran out
    │       └── DeadlineExceededError ... the call's own, gate wait and retries included
    ├── OutputError                   the harvest output cannot be written safely (an OSError)
    │   └── OutputLockedError         ... because another live harvest holds it
    ├── ResponseDecodeError           a 2xx body that is not the JSON we expect
    │   ├── ResponseTooLargeError     ... or is larger than the client reads
    │   └── FileMismatchError         ... or a file unlike its length, size or checksum
    └── APIStatusError                the server answered with an error status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        │   └── InvalidClientError    wrong client id or secret
        ├── PermissionDeniedError     403
        │   ├── InsufficientScopeError
        │   └── InactiveEnterpriseError
        ├── NotFoundError             404
        │   └── CompanyNotFoundError
        ├── ValidationError           422
        │   ├── InvalidTokenError     "Invalid or expired token."
        │   └── TokenNotFoundError    "Token not found."
        ├── RateLimitError            429
        └── ServerError               5xx

Messages and the attributes that keep what the server sent (`text`, `body`, `headers`, `url`)
never contain the client secret or a token the client has held: they are masked by value,
in whatever encoding the server echoed them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from ._redact import redact, scrub

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "CliquifyError",
    "CompanyNotFoundError",
    "ConfigurationError",
    "DeadlineExceededError",
    "EventLoopError",
    "FileMismatchError",
    "InactiveEnterpriseError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidTokenError",
    "MalformedURLError",
    "NotFoundError",
    "OutputError",
    "OutputLockedError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "TokenNotFoundError",
    "UntrustedURLError",
    "ValidationError",
]

_EXCERPT_CHARS = 200


def excerpt(text: str) -> str:
    """Shorten a body for an exception message; the full text stays on the exception."""
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."


class CliquifyError(Exception):
    """Base class of every exception raised by cliquify-async; text arguments are redacted."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(arg) if isinstance(arg, str) else arg for arg in args))


class ConfigurationError(CliquifyError, ValueError):
    """The client was configured wrongly: missing credentials, an unsafe base URL."""


class EventLoopError(CliquifyError, RuntimeError):
    """A client was used on an event loop other than the one it was opened on: its session,
    locks and gate belong to that loop. Make a client inside each `asyncio.run`, or keep one
    loop for the program's life."""


class ClientClosedError(CliquifyError, RuntimeError):
    """The client (or its session) was used after it was closed."""


class UntrustedURLError(CliquifyError):
    """A response named a URL outside the API's origin; the client will not send its token there."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = redact(url)


class MalformedURLError(UntrustedURLError):
    """A response named a URL the client will not request: unparsable, a bad port or host name,
    credentials in it, not http(s), or longer than the client reads."""


class PaginationError(CliquifyError):
    """A listing went past a bound: more pages or items than its server announced, a page
    that only repeats items it already gave, more than 100 empty pages in a row that each say
    more follow (`_pagination.rules.MAX_EMPTY_PAGES`), or `max_pages`.

    `url` is the page at which it stopped, `pages` how many pages it had handed out, and
    `bound` which bound it was ("last_page", "total", "repeat", "empty" or "max_pages").
    The items before it were each yielded once; `next_token` still names where it stopped.
    """

    def __init__(self, message: str, *, url: str, pages: int, bound: str) -> None:
        super().__init__(message)
        self.url = redact(url)
        self.pages = pages
        self.bound = bound


class OutputError(CliquifyError, OSError):
    """The harvest output cannot be written safely: a symlink the SDK did not create sits
    where it would write. Also an OSError, since it is about the user's own disk."""


class OutputLockedError(OutputError):
    """Another live harvest holds the output (its lock file); the two never run side by side."""


class APIConnectionError(CliquifyError):
    """The request did not get an HTTP response: refused, reset, dropped mid-body."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{message} ({method} {url})")
        self.method = method
        self.url = redact(url)


class APITimeoutError(APIConnectionError):
    """A connect, read or total timeout ran out before the response was complete."""


class DeadlineExceededError(APITimeoutError):
    """A call's deadline (`with_options(timeout=...)`) ran out: the wait at the rate gate,
    the attempts and the backoff between them, all counted. The message says where the time
    went; so do `gate_wait`, `attempts` and `in_attempts` (seconds)."""

    def __init__(
        self,
        deadline: float,
        *,
        gate_wait: float,
        attempts: int,
        in_attempts: float,
        method: str,
        url: str,
    ) -> None:
        backoff = max(0.0, deadline - gate_wait - in_attempts)
        super().__init__(
            f"deadline of {deadline:g} s exceeded: {gate_wait:.2f} s waiting at the rate gate, "
            f"{in_attempts:.2f} s in {attempts} attempt{'' if attempts == 1 else 's'}, "
            f"{backoff:.2f} s between them",
            method=method,
            url=url,
        )
        self.deadline = deadline
        self.gate_wait = gate_wait
        self.attempts = attempts
        self.in_attempts = in_attempts


class ResponseDecodeError(CliquifyError):
    """A successful response whose body is not the JSON the SDK expects.

    `text` keeps the raw body and `data` the parsed JSON when it parsed at all.
    """

    def __init__(
        self,
        reason: str,
        *,
        text: str = "",
        data: Any = None,
        status: int | None = None,
        url: str | None = None,
    ) -> None:
        text = redact(text)  # before the excerpt: a cut through a secret would show part of it
        where = " ".join(str(part) for part in (status, url) if part is not None)
        where = f" ({where})" if where else ""
        shown = f": {excerpt(text)!r}" if text else ""
        super().__init__(f"{reason}{where}{shown}")
        self.reason = reason
        self.text = text
        self.data = scrub(data)
        self.status = status
        self.url = None if url is None else redact(url)


class ResponseTooLargeError(ResponseDecodeError):
    """A body longer than the client's bound (`ReadLimits`), refused before it was held."""


class FileMismatchError(ResponseDecodeError):
    """A downloaded file whose bytes differ from its announced length, its item's `size` or
    its item's checksum: it is never put in place."""


class APIStatusError(CliquifyError):
    """The server answered with a non-success status; the body is kept as it came."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(f"{status} {message} ({method} {url})")
        self.message = redact(message)
        self.status = status
        self.code = None if code is None else redact(code)
        self.body = scrub(body)
        shown = CIMultiDict((name, redact(value)) for name, value in (headers or {}).items())
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(shown)
        self.method = method
        self.url = redact(url)


class BadRequestError(APIStatusError):
    """400: the server refused the request as malformed."""


class AuthenticationError(APIStatusError):
    """401: the token (or, on the token endpoint, the client credentials) was refused."""


class InvalidClientError(AuthenticationError):
    """401 from the token endpoint: the client id or secret is wrong."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed."""


class InsufficientScopeError(PermissionDeniedError):
    """403: the token lacks the scope this endpoint needs."""


class InactiveEnterpriseError(PermissionDeniedError):
    """403 from the token endpoint: the enterprise account is inactive."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist."""


class CompanyNotFoundError(NotFoundError):
    """404: no active company is linked to the OAuth client."""


class ValidationError(APIStatusError):
    """422: the request failed validation; `errors` maps each field to its messages."""

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors: dict[str, list[str]] = scrub(dict(errors or {}))


class InvalidTokenError(ValidationError):
    """422 from introspect or revoke: the token is invalid or expired."""


class TokenNotFoundError(ValidationError):
    """422 from revoke: the server never issued that token."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` is the server's wait in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server (or a proxy in front of it) failed."""
