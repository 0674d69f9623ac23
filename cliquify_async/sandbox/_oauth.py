"""The token helpers under /oauth: access-token, introspect and revoke (docs/contract.md §2).

Documented behaviour: build the bodies and messages exactly as the contract lists them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._state import STATE

_FIELD_REQUIRED = "The {} field is required."
_INVALID_CLIENT: dict[str, Any] = {
    "success": False,
    "message": "Client authentication failed. Check client ID/secret.",
    "details": {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    },
}


async def access_token(request: web.Request) -> web.Response:
    """POST /oauth/access-token: client credentials, as JSON or form fields."""
    state = request.app[STATE]
    config = state.config
    fields = await _read_fields(request, accept=config.token_body)
    if fields.get("grant_type", "client_credentials") != "client_credentials":
        return _failure(400, "Unsupported grant type.")
    missing = {
        name: [_FIELD_REQUIRED.format(name.replace("_", " "))]
        for name in ("client_id", "client_secret")
        if name not in fields
    }
    if missing:
        return _failure(422, "The given data was invalid.", details=missing)
    if not (
        _same(fields["client_id"], config.client_id)
        and _same(fields["client_secret"], config.client_secret)
    ):
        return web.json_response(_INVALID_CLIENT, status=401)
    if not config.enterprise_active:
        return _failure(403, "Inactive enterprise.")
    token = state.tokens.issue(config.client_id, config.scopes)
    body = {
        "token_type": "Bearer",
        "expires_in": int(config.token_lifetime),
        "access_token": token.value,
    }
    shape = config.token_shape
    return web.json_response(body if shape == "bare" else {"success": True, "token": body})


async def introspect(request: web.Request) -> web.Response:
    """POST /oauth/introspect: what the server knows about a token (revoked ones are inactive)."""
    state = request.app[STATE]
    value = (await _read_fields(request)).get("token")
    if value is None:
        return _token_error("Token required.")
    token = state.tokens.get(value)
    if token is None or state.tokens.expired(token):
        return _token_error("Invalid or expired token.")
    data = {
        "active": not token.revoked,
        "client_id": token.client_id,
        "user_id": None,
        "scopes": list(token.scopes),
        "expires_at": token.expires_at_utc.strftime("%Y-%m-%d %H:%M:%S"),
    }
    wrapped = state.config.introspect_shape == "wrapped"
    return web.json_response({"success": True, "message": "", "data": data} if wrapped else data)


async def revoke(request: web.Request) -> web.Response:
    """POST /oauth/revoke: end a live token."""
    tokens = request.app[STATE].tokens
    value = (await _read_fields(request)).get("token")
    if value is None:
        return _token_error("Token required.")
    token = tokens.get(value)
    if token is None:
        return _token_error("Token not found.")
    if not tokens.active(token):
        return _token_error("Invalid or expired token.")
    token.revoked = True
    return web.json_response(
        {"success": True, "message": "Token successfully revoked.", "data": None}
    )


async def _read_fields(request: web.Request, *, accept: str = "both") -> Mapping[str, str]:
    """Non-empty input fields from a JSON object body or a form body, as strings; a body of
    a kind the server does not `accept` reads as no fields at all, like Laravel's."""
    raw: Mapping[str, Any]
    kind = "json" if request.content_type == "application/json" else "form"
    if accept not in ("both", kind):
        return {}
    if kind == "json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        raw = body if isinstance(body, dict) else {}
    else:
        raw = await request.post()
    return {k: str(v) for k, v in raw.items() if v is not None and v != ""}


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _failure(status: int, message: str, *, details: Any = None) -> web.Response:
    """The token endpoint's error shape: ``{"success": false, "message", "details"?}``."""
    body: dict[str, Any] = {"success": False, "message": message}
    if details is not None:
        body["details"] = details
    return web.json_response(body, status=status)


def _token_error(message: str) -> web.Response:
    """Introspect/revoke's 422 shape: ``{"success": false, "message", "data": null}``."""
    return web.json_response({"success": False, "message": message, "data": None}, status=422)
