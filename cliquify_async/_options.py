"""How the calls of a client, or of a `with_options` view of it, are made: their retries,
their deadline, their priority at the rate gate, and the headers and query they add."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final, Literal

import attrs
from attrs import frozen

from ._retry import RetryPolicy
from .errors import ConfigurationError

Priority = Literal["normal", "high"]
PRIORITIES: Final = ("normal", "high")
SDK_HEADERS: Final = frozenset(
    {
        "authorization",
        "accept",
        "accept-encoding",
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "range",
        "if-range",
        "if-none-match",
        "if-modified-since",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "upgrade",
        "cookie",
    }
)
"""Headers the SDK or the HTTP layer sets (the token, what is accepted, the framing of the
message, the connection): a call's headers may not replace them."""
TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""A header name as RFC 9110 writes it: no space, no control character, nothing else."""
PAGING: Final = frozenset({"page", "cursor"})

Pairs = tuple[tuple[str, str], ...]


@frozen(kw_only=True)
class CallOptions:
    """Each call's settings; `with_options` gives a view of the client with others."""

    retry: RetryPolicy
    timeout: float | None = None
    """The deadline of each call in seconds: the wait at the gate, every attempt and the
    backoff between them (None: no deadline; each attempt keeps its own timeout)."""
    priority: Priority = "normal"
    """"high" goes ahead of the requests already waiting at this process's gate."""
    headers: Pairs = ()
    extra_query: Pairs = ()

    def evolve(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        priority: Priority | None = None,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str | int] | None = None,
    ) -> CallOptions:
        """These options with the ones given changed; headers and query add to (and replace
        by name) the ones already set."""
        return attrs.evolve(
            self,
            retry=retry or self.retry,
            timeout=self.timeout if timeout is None else check_timeout(timeout),
            priority=self.priority if priority is None else check_priority(priority),
            headers=merged(self.headers, check_headers(headers or {}), fold=True),
            extra_query=merged(self.extra_query, check_query(extra_query or {}), fold=False),
        )


def check_timeout(seconds: float) -> float:
    """A deadline in seconds: positive and finite, else ConfigurationError."""
    if isinstance(seconds, bool) or not (math.isfinite(seconds) and seconds > 0):
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def check_priority(priority: str) -> Priority:
    """ "normal" or "high", else ConfigurationError."""
    if priority == "high":
        return "high"
    if priority == "normal":
        return "normal"
    raise ConfigurationError(f'priority must be "normal" or "high", got {priority!r}')


def check_headers(headers: Mapping[str, str]) -> Pairs:
    """Headers a call may add: string names and values, no line breaks (a header could be
    injected), none of the SDK's own (the token and what the SDK accepts stay its)."""
    checked = []
    for name, value in headers.items():
        if not (isinstance(name, str) and isinstance(value, str)):
            raise ConfigurationError(f"headers must map names to strings, got {name!r}")
        if not TOKEN.fullmatch(name):
            raise ConfigurationError(f"{name!r} is not a header name (RFC 9110 token)")
        if any(c in value for c in "\r\n\0"):
            raise ConfigurationError(f"header {name!r} holds a line break")
        if name.lower() in SDK_HEADERS:
            raise ConfigurationError(f"the {name} header is the SDK's own; it cannot be replaced")
        checked.append((name, value))
    return tuple(checked)


def check_query(query: Mapping[str, str | int]) -> Pairs:
    """Query parameters a call adds: string names, string or integer values, and not the
    ones a listing moves by (`page`, `cursor`)."""
    checked = []
    for name, value in query.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigurationError(f"extra_query must map names to strings, got {name!r}")
        if name in PAGING:
            raise ConfigurationError(f"{name!r} is the listing's own; pass filters instead")
        checked.append((name, str(value)))
    return tuple(checked)


def merged(old: Pairs, new: Pairs, *, fold: bool) -> Pairs:
    """`old` with `new` added; a name in both (in any case, when `fold`) takes `new`'s."""

    def key(name: str) -> str:
        return name.lower() if fold else name

    replaced = {key(name) for name, _ in new}
    return tuple((n, v) for n, v in old if key(n) not in replaced) + new
