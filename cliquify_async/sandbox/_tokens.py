"""Issued access tokens: opaque JWT-looking strings with a server-side expiry and revocation."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

# base64url of {"typ":"JWT","alg":"RS256"}: tokens look like Passport's, but carry nothing.
_JWT_HEADER: Final = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"


@attrs.define(kw_only=True)
class Token:
    """One issued token; ``expires_at`` is on the sandbox clock, ``expires_at_utc`` wall time."""

    value: str = attrs.field(repr=False)
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    expires_at_utc: datetime
    revoked: bool = False


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if that is what it holds."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class TokenStore:
    """Issues tokens and answers whether a presented one is known, live, expired or revoked."""

    def __init__(self, *, lifetime: float, clock: Callable[[], float]) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._tokens: dict[str, Token] = {}

    def __repr__(self) -> str:
        return f"<TokenStore issued={len(self._tokens)} lifetime={self._lifetime}s>"

    def issue(self, client_id: str, scopes: tuple[str, ...]) -> Token:
        """A fresh token valid for the configured lifetime."""
        value = f"{_JWT_HEADER}.{secrets.token_urlsafe(96)}.{secrets.token_urlsafe(192)}"
        token = Token(
            value=value,
            client_id=client_id,
            scopes=scopes,
            expires_at=self._clock() + self._lifetime,
            expires_at_utc=datetime.now(UTC) + timedelta(seconds=self._lifetime),
        )
        self._tokens[value] = token
        return token

    def get(self, value: str | None) -> Token | None:
        """The token issued as ``value``, whatever its state."""
        return self._tokens.get(value) if value else None

    def expired(self, token: Token) -> bool:
        return self._clock() >= token.expires_at

    def active(self, token: Token | None) -> bool:
        """Whether ``token`` exists, is not revoked and has not expired."""
        return token is not None and not token.revoked and not self.expired(token)

    def revoke_all(self) -> None:
        for token in self._tokens.values():
            token.revoked = True

    def expire_all(self) -> None:
        now, now_utc = self._clock(), datetime.now(UTC)
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)
            token.expires_at_utc = min(token.expires_at_utc, now_utc)
