"""`client.auth`: the OAuth token helpers."""

from __future__ import annotations

from typing import Any

from .._convert import structure
from .._endpoints import INTROSPECT_PATH, REVOKE_PATH
from .._wire import unwrap
from ..errors import InvalidTokenError, TokenNotFoundError
from ..models import AccessToken, TokenInfo
from ._base import Resource
from ._raw import RawResponse


class Auth(Resource):
    """The client's access token, and the introspection and revocation endpoints."""

    async def token(self) -> AccessToken:
        """The cached access token, fetched (once, however many tasks ask) when needed.

        Raises InvalidClientError for wrong credentials, InactiveEnterpriseError, or the
        connection and server errors of the token request after its retries.
        """
        return await self._transport.tokens.get()

    async def introspect(self, token: str | AccessToken | None = None) -> TokenInfo:
        """What the server knows of `token` (default: the client's own).

        Raises InvalidTokenError for an unknown or expired token.
        """
        return (await self._introspect(token)).parse()

    async def _introspect(self, token: str | AccessToken | None) -> RawResponse[TokenInfo]:
        body = {"token": await self._value(token)}
        answer = await self._transport.post_oauth(INTROSPECT_PATH, body, self._options)
        return RawResponse.of(answer, _token_info)

    async def revoke(self, token: str | AccessToken | None = None) -> None:
        """Revoke `token` (default: the client's own, which the next call then replaces).

        Raises InvalidTokenError or TokenNotFoundError when the server does not know it;
        either way the client stops using that token. After any other failure it keeps it,
        since the server may still honour it.
        """
        (await self._revoke(token)).parse()

    async def _revoke(self, token: str | AccessToken | None) -> RawResponse[None]:
        value = await self._value(token)
        try:
            answer = await self._transport.post_oauth(REVOKE_PATH, {"token": value}, self._options)
        except (InvalidTokenError, TokenNotFoundError):
            await self._transport.tokens.discard(value)
            raise
        await self._transport.tokens.discard(value)
        return RawResponse.of(answer, _nothing)

    async def _value(self, token: str | AccessToken | None) -> str:
        if token is None:
            token = await self.token()
        return token.access_token if isinstance(token, AccessToken) else token


class RawAuth:
    """`client.with_raw_response.auth`: introspection and revocation, each returning the
    answer as it came (`RawResponse`: status, headers, request id, body) with `parse()`."""

    def __init__(self, auth: Auth) -> None:
        self._auth = auth

    async def introspect(self, token: str | AccessToken | None = None) -> RawResponse[TokenInfo]:
        """`client.auth.introspect`, as its raw answer."""
        return await self._auth._introspect(token)

    async def revoke(self, token: str | AccessToken | None = None) -> RawResponse[None]:
        """`client.auth.revoke`, as its raw answer."""
        return await self._auth._revoke(token)


def _token_info(body: Any) -> TokenInfo:
    return structure(unwrap(body, "data"), TokenInfo, url=INTROSPECT_PATH)


def _nothing(body: Any) -> None:
    return None
