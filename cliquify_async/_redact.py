"""Secrets by value: the client secret and every token a client has held, masked in any text.

A server may echo what it was sent (a request body, an Authorization header) in an error
page, a form-encoded answer or a JSON field. Masking by shape (a JWT, a `"token": "..."` pair)
misses most of those, so each client remembers its secret and tokens as it first uses them,
and while it is open they are masked wherever they appear, in each encoding a server or a
message may give them: as they are, JSON-escaped, percent- and form-encoded, HTML-escaped,
Python-quoted, and inside HTTP Basic credentials.
"""

from __future__ import annotations

import base64
import html
import json
import operator
import re
import threading
import urllib.parse
import weakref
from collections.abc import Mapping
from typing import Any, Final

MASK: Final = "[redacted]"
MIN_SECRET_CHARS: Final = 8
"""Shorter values are not masked by value: "secret" would mask every word that holds it."""
MAX_TOKENS: Final = 64
"""Tokens one client remembers: it renews its token a margin before expiry, so these reach
back many lifetimes; older ones have long expired."""

# Token-shaped values, masked even before (or without) being remembered: a JWT, or the value
# of a key that holds a secret, in JSON or in a form.
_SHAPED: Final = re.compile(
    r'("(?:access_token|refresh_token|token|client_secret)"\s*:\s*")[^"]*'
    r"|(\b(?:access_token|refresh_token|client_secret)=)[^&\s\"'<]*"
    r"|\beyJ[\w-]+\.[\w-]+(?:\.[\w-]*)?"
)


def _encodings(secret: str) -> set[str]:
    """The forms `secret` may take in a body, a header, a URL or a message."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        repr(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
        "".join(f"\\u{ord(ch):04x}" for ch in secret),  # JSON with every character escaped
        "".join(f"\\u{ord(ch):04X}" for ch in secret),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


class Secrets:
    """The secrets of one client: its client secret and the tokens it has held (the
    `MAX_TOKENS` most recent), each in every form `_encodings` gives. While the client is
    open they are `register`ed, so `redact` masks them in any text that leaves the SDK,
    whoever makes it. Adding is thread-safe; masking takes no lock."""

    def __init__(self) -> None:
        self._forms: dict[str, frozenset[str]] = {}
        self._tokens: list[str] = []  # in arrival order, the oldest first
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.longest = 0
        """The length of the longest form masked."""

    def __repr__(self) -> str:
        return f"<Secrets {len(self._forms)} values>"

    def remember_secret(self, secret: str, *, user: str) -> None:
        """Mask a client secret, alone and as `user:secret` (HTTP Basic)."""
        if len(secret) >= MIN_SECRET_CHARS:
            self._add(secret, _encodings(secret) | _encodings(f"{user}:{secret}"), keep=True)

    def remember_token(self, token: str) -> None:
        """Mask a token (one of the `MAX_TOKENS` most recent)."""
        if len(token) >= MIN_SECRET_CHARS:
            self._add(token, _encodings(token), keep=False)

    def _add(self, value: str, forms: set[str], *, keep: bool) -> None:
        with self._lock:
            if value in self._forms:
                return
            self._forms[value] = frozenset(forms)
            if not keep:
                self._tokens.append(value)
                if len(self._tokens) > MAX_TOKENS:
                    del self._forms[self._tokens.pop(0)]
            every = set().union(*self._forms.values())
            # Longest first, so a form that holds another is masked whole.
            ordered = sorted(every, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))
            self.longest = len(ordered[0])

    def mask(self, text: str) -> str:
        """`text` with this client's secrets masked."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)


_REGISTERED: Final[weakref.WeakSet[Secrets]] = weakref.WeakSet()


def register(secrets: Secrets) -> None:
    """Mask `secrets` in every text that leaves the SDK, until `unregister` (or until nothing
    holds them any more)."""
    _REGISTERED.add(secrets)


def unregister(secrets: Secrets) -> None:
    _REGISTERED.discard(secrets)


def redact(text: str) -> str:
    """`text` with the secrets of every open client, and anything shaped like one, masked."""
    for secrets in list(_REGISTERED):
        text = secrets.mask(text)
    return _SHAPED.sub(lambda m: (m.group(1) or m.group(2) or "") + MASK, text)


def redacted_start(text: str, limit: int) -> str:
    """The first `limit` characters of `text` redacted, without redacting all of a huge text,
    and never showing the part of a secret that a cut went through: masks shorten the text, so
    what is shown stops short, by the longest secret, of where the redacted part was cut."""
    margin = max([64, *(secrets.longest for secrets in list(_REGISTERED))])
    cut = limit + margin
    while True:
        shown = redact(text[:cut])
        if cut >= len(text) or len(shown) >= limit + margin:
            return shown[:limit]
        cut *= 2


def scrub(value: Any) -> Any:
    """`value` with every string in it redacted, keys included: the value itself when nothing
    needed masking, else a copy of the dicts and lists on the way to what did. It walks
    without recursion: a server may nest deeper than Python's stack."""
    if not isinstance(value, Mapping | list):
        return redact(value) if isinstance(value, str) else value
    containers, todo = [], [value]
    while todo:  # every dict and list, each before what it holds
        node = todo.pop()
        containers.append(node)
        todo.extend(c for c in (node.values() if isinstance(node, Mapping) else node) if _nests(c))
    done: dict[int, Any] = {}

    def scrubbed(item: Any) -> Any:
        if isinstance(item, str):
            return redact(item)
        return done[id(item)] if _nests(item) else item

    for node in reversed(containers):  # what a container holds is done before it
        if isinstance(node, Mapping):
            pairs = [(k, v, scrubbed(k), scrubbed(v)) for k, v in node.items()]
            same = all(k2 is k and v2 is v for k, v, k2, v2 in pairs)
            done[id(node)] = node if same else {k2: v2 for _, _, k2, v2 in pairs}
        else:
            items = [scrubbed(item) for item in node]
            done[id(node)] = node if all(map(operator.is_, items, node)) else items
    return done[id(value)]


def _nests(value: Any) -> bool:
    return isinstance(value, Mapping | list)
