"""Pure wire knowledge: request headers, Retry-After, and mapping an error response to an exception.

Nothing here does I/O, so every rule is unit-tested with plain values (the sans-I/O split).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import msgspec
from multidict import CIMultiDict
from yarl import URL

from . import errors
from ._redact import redact
from ._version import __version__

USER_AGENT: Final = f"cliquify-async/{__version__}"
DEFAULT_HEADERS: Final[Mapping[str, str]] = {"Accept": "application/json"}
"""Sent with every API request, beside the User-Agent (`user_agent`) and the token."""

REQUEST_ID_HEADERS: Final = (
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "x-amz-request-id",
)
"""Headers in which servers and their gateways name a request, most common first."""
MAX_REQUEST_ID: Final = 200  # characters kept of a request id: an id, not a document


def request_id(headers: Mapping[str, str]) -> str | None:
    """The server's id of the request an answer is for, from the first header that names
    one; only printable ASCII is kept, and at most MAX_REQUEST_ID characters."""
    named = {name.lower(): value for name, value in headers.items()}
    for name in REQUEST_ID_HEADERS:
        value = "".join(c for c in named.get(name, "")[:MAX_REQUEST_ID] if " " <= c <= "~")
        if value.strip():
            return value.strip()
    return None


def user_agent(app_name: str | None) -> str:
    """The SDK's User-Agent, with the application's name after it when one is given."""
    if app_name is None:
        return USER_AGENT
    if not app_name.strip() or any(not " " <= c <= "~" for c in app_name):
        raise errors.ConfigurationError(f"app_name must be printable ASCII, got {app_name!r}")
    return f"{USER_AGENT} {app_name.strip()}"


# Statuses worth another attempt; everything else is the caller's problem.
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})

QueryValue = str | int | float | bool | Iterable[str | int | float] | None
"""What a keyword filter may be: a scalar, or a sequence sent as Laravel's `key[]`."""

_BY_STATUS: Final[Mapping[int, type[errors.APIStatusError]]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    422: errors.ValidationError,
    429: errors.RateLimitError,
}

# The documented bodies that name a more precise cause (docs/contract.md §2 and §5).
_BY_MESSAGE: Final[Mapping[tuple[int, str], type[errors.APIStatusError]]] = {
    (401, "client authentication failed. check client id/secret"): errors.InvalidClientError,
    (403, "token does not have the required scope"): errors.InsufficientScopeError,
    (403, "inactive enterprise"): errors.InactiveEnterpriseError,
    (404, "company not found"): errors.CompanyNotFoundError,
    (422, "invalid or expired token"): errors.InvalidTokenError,
    (422, "token not found"): errors.TokenNotFoundError,
}
_BY_CODE: Final[Mapping[tuple[int, str], type[errors.APIStatusError]]] = {
    (401, "invalid_client"): errors.InvalidClientError,
}


# A delay as a server may print it: plain ASCII decimal, maybe signed, maybe with an exponent
# ("1e308" is read, and refused later for its size). float() alone would also take "1_000",
# "nan", "infinity" and non-ASCII digits; the bounded lengths keep a megabyte of digits out.
_DECIMAL: Final = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][+-]?[0-9]{1,3})?")


def parse_seconds(value: str | None) -> float | None:
    """A header's plain decimal number of seconds (sign and exponent allowed); None unless it
    is one and finite."""
    if value is None or not _DECIMAL.fullmatch(value := value.strip()):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) else None


MAX_INT_DIGITS: Final = 4300
"""Longer decimal strings are not integers here: int() refuses them (sys.int_info)."""


def read_int(value: object, *, low: int | None = None, high: int | None = None) -> int | None:
    """An integer from a JSON integer, a whole float or a decimal ASCII string (surrounding
    space and a `-` allowed; no `+`, `_` or other scripts' digits), within `low`..`high`; None
    for anything else. The one reader of the integers a server sends: fields, page numbers,
    headers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    elif isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdecimal() and len(digits) <= MAX_INT_DIGITS):
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable.
    A negative wait or a date in the past is 0; how long a wait is too long is the caller's
    (RetryPolicy.max_retry_after, the gate's max_wait)."""
    if value is None:
        return None
    seconds = parse_seconds(value)
    if seconds is None:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)


EPOCH_FROM: Final = 1_000_000_000  # an X-RateLimit-Reset this large is unix time (2001 on)


def reset_in(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds until an X-RateLimit-Reset: unix time (Laravel, GitHub) or seconds from now
    (the IETF draft), told apart by size; None if unusable or negative. `now` is unix time."""
    reset = parse_seconds(value)
    if reset is None or reset < 0:
        return None
    if reset >= EPOCH_FROM:
        reset -= time.time() if now is None else now
    return max(reset, 0.0)


def at_the_latest(value: str | None, seconds: float | None) -> float | None:
    """A delay header's `seconds` at their latest: a `value` printed with decimals may have
    been rounded to nearest, so half a unit in its last place is added; whole seconds are taken
    as rounded up (Laravel). As a bound on the window, a delay must never come out short."""
    if seconds is None or value is None:
        return seconds
    _, point, decimals = value.strip().partition(".")
    return seconds + (0.5 * 10 ** -len(decimals) if point and decimals.isdigit() else 0.0)


def retry_after_from(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's wait from Retry-After, else from X-RateLimit-Reset, at the latest: the
    one reading of a delay, for a retry as for the rate gate."""
    after, reset = headers.get("Retry-After"), headers.get("X-RateLimit-Reset")
    wait = at_the_latest(after, parse_retry_after(after))
    return wait if wait is not None else at_the_latest(reset, reset_in(reset, now=now))


_decoder: Final = msgspec.json.Decoder()


def loads(raw: bytes | bytearray | str) -> Any:
    """JSON from bytes: msgspec's parse (about 1.4 times as fast as json's on a page of assets,
    integers of any size exact), and json's for what msgspec refuses (NaN, lone surrogates,
    UTF-16, a byte-order mark), so nothing a server sends decodes differently from the
    standard library."""
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(raw)


def decode_json(text: str) -> Any:
    """Parse JSON, or return None when the text is empty or not JSON at all."""
    if not text.strip():
        return None
    try:
        return loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None


_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _normalise(message: str) -> str:
    return " ".join(message.lower().split()).rstrip(".")


def _validation_errors(body: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field errors from `errors`, `details`, or a bare `{"field": ["msg"]}` body."""
    for candidate in (body.get("errors"), body.get("details"), body):
        if isinstance(candidate, Mapping):
            found = {
                str(field): [str(m) for m in messages]
                for field, messages in candidate.items()
                if isinstance(messages, list)
            }
            if found:
                return found
    return {}


def _message_and_code(body: Any, status: int, text: str) -> tuple[str, str | None]:
    """The human message and the machine code an error body carries, whatever its shape."""
    message: str | None = None
    code: str | None = None
    if isinstance(body, Mapping):
        if isinstance(body.get("message"), str) and body["message"]:
            message = body["message"]
        if isinstance(body.get("code"), str):
            code = body["code"]
        # OAuth error codes sit in `details.error` (documented) or, from Passport, in `error`.
        details = body.get("details")
        for holder in (details, body):
            error = holder.get("error") if isinstance(holder, Mapping) else None
            if code is None and isinstance(error, str):
                code = error
        if message is None:
            field_errors = _validation_errors(body).values()
            message = next((messages[0] for messages in field_errors if messages), None)
    if message is None:
        title = _HTML_TITLE.search(text)
        shown = title.group(1) if title else text
        message = errors.excerpt(shown) if shown.strip() else f"HTTP {status}"
    return message, code


def error_for_response(
    status: int,
    text: str,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str,
) -> errors.APIStatusError:
    """Map any error response to its exception; never raises, whatever the body holds. The
    text is redacted first: the message is an excerpt, and a cut must not halve a secret."""
    text = redact(text)
    headers = CIMultiDict(headers)
    body = decode_json(text)
    message, code = _message_and_code(body, status, text)
    cls = (
        _BY_CODE.get((status, code or ""))
        or _BY_MESSAGE.get((status, _normalise(message)))
        or _BY_STATUS.get(status)
        or (errors.ServerError if status >= 500 else errors.APIStatusError)
    )
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "body": body if body is not None else text,
        "headers": headers,
        "method": method,
        "url": url,
    }
    if issubclass(cls, errors.ValidationError):
        fields = _validation_errors(body) if isinstance(body, Mapping) else {}
        return cls(message, errors=fields, **common)
    if issubclass(cls, errors.RateLimitError):
        return cls(message, retry_after=retry_after_from(headers), **common)
    return cls(message, **common)


MAX_URL_CHARS: Final = 8192
"""A URL or cursor from the server longer than this is refused (servers rarely take longer)."""
_MAX_HOST_CHARS: Final = 253
_MAX_LABEL_CHARS: Final = 63


def server_url(text: str, *, what: str, base: URL, cursor: bool = False) -> URL:
    """A URL the server sent (`text`, absolute or relative to `base`; with `cursor`, a cursor
    to put in `base`'s query) checked as far as it can be without knowing whose it is.

    Raises MalformedURLError, naming `what` and the rule broken, for text that does not parse
    (yarl's ValueError or UnicodeError), names a port outside 1..65535, a host name over 253
    characters or with a label over 63, carries a user or password, is not http(s), or is
    longer than MAX_URL_CHARS.
    """

    def refuse(rule: str) -> errors.MalformedURLError:
        return errors.MalformedURLError(
            f"the {what} {rule}; not following it", url=text[:MAX_URL_CHARS]
        )

    if len(text) > MAX_URL_CHARS:
        raise refuse(f"is longer than {MAX_URL_CHARS} characters")
    try:
        url = base.update_query(cursor=text) if cursor else base.join(URL(text))
        url = url.with_fragment(None)
        # yarl checks some parts only when they are read or the URL is written out.
        host, raw_host, port = url.host, url.raw_host, url.port
        credentials = url.user is not None or url.password is not None
        str(url)
    except ValueError as exc:  # UnicodeError too: an IDNA host that does not encode
        raise refuse(f"is not a valid URL ({type(exc).__name__}: {str(exc)[:100]})") from None
    if url.scheme not in ("http", "https") or not host or not raw_host:
        raise refuse("is not an absolute http(s) URL")
    if credentials:
        raise refuse("carries credentials (user:password@)")
    if port is None or not 1 <= port <= 65535:
        raise refuse("names a port outside 1..65535")
    if len(raw_host) > _MAX_HOST_CHARS or any(
        len(label) > _MAX_LABEL_CHARS for label in raw_host.split(".")
    ):
        raise refuse(
            f"names a host longer than {_MAX_HOST_CHARS} characters "
            f"or with a label longer than {_MAX_LABEL_CHARS}"
        )
    return url


def unwrap(body: Any, key: str) -> Any:
    """The object under `key` of a `{"success": true, key: {...}}` body, or the body when bare."""
    if isinstance(body, Mapping) and isinstance(body.get(key), Mapping):
        return body[key]
    return body


def encode_query(filters: Mapping[str, QueryValue]) -> list[tuple[str, str]]:
    """Filters as query pairs: None dropped, booleans as 1/0, sequences as Laravel `key[]`."""
    pairs: list[tuple[str, str]] = []
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, str | int | float):
            pairs.append((key, _query_text(value)))
        else:
            pairs.extend((f"{key}[]", _query_text(item)) for item in value)
    return pairs


def _query_text(value: str | int | float) -> str:
    """One query value as Laravel reads it: booleans as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


_CONTENT_RANGE: Final = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})")
MAX_VALIDATOR_CHARS: Final = 256


def content_range(value: str | None) -> tuple[int, int, int] | None:
    """`Content-Range: bytes first-last/length` of a 206 as its three numbers; None for any
    other form (`*` lengths, units, a last before the first or past the length)."""
    found = _CONTENT_RANGE.fullmatch((value or "").strip())
    if found is None:
        return None
    first, last, length = map(int, found.groups())
    return (first, last, length) if first <= last < length else None


_UNSATISFIED: Final = re.compile(r"bytes \*/([0-9]{1,19})")


def unsatisfied_length(value: str | None) -> int | None:
    """The file's length in a 416's `Content-Range: bytes */length`, else None."""
    found = _UNSATISFIED.fullmatch((value or "").strip())
    return None if found is None else int(found.group(1))


def validator(value: str | None) -> str | None:
    """An `ETag` or `Last-Modified` as a later request may send it back (RFC 9110 §8.8) and a
    file may record it: printable ASCII of at most MAX_VALIDATOR_CHARS holding no secret the
    client knows (a server may echo one), else None."""
    if value is None or not 0 < len(value) <= MAX_VALIDATOR_CHARS:
        return None
    printable = value.isascii() and value.isprintable()
    return value if printable and redact(value) == value else None
