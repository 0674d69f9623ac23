"""The /oauth helpers: token issue in both shapes and encodings, introspect and revoke bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import FakeClock, get, issue_token, post

MakeSandbox = Callable[..., Any]
JWT_LIKE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
INVALID_CLIENT = {
    "success": False,
    "message": "Client authentication failed. Check client ID/secret.",
    "details": {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    },
}


def credentials(sb: Sandbox, **overrides: str) -> dict[str, str]:
    return {"client_id": sb.client_id, "client_secret": sb.client_secret, **overrides}


@pytest.mark.parametrize("grant_type", [{}, {"grant_type": "client_credentials"}])
async def test_json_request_gets_wrapped_token(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, grant_type: dict[str, str]
) -> None:
    sb: Sandbox = await make_sandbox()
    url = f"{sb.url}/oauth/access-token"
    status, body = await post(http, url, json=credentials(sb, **grant_type))
    assert status == 200
    assert body["success"] is True
    assert set(body) == {"success", "token"}
    assert body["token"]["token_type"] == "Bearer"
    assert body["token"]["expires_in"] == 31_536_000
    assert JWT_LIKE.fullmatch(body["token"]["access_token"])


async def test_form_request_and_bare_shape(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(token_shape="bare", token_lifetime=2_592_000)
    form = credentials(sb, grant_type="client_credentials")
    status, body = await post(http, f"{sb.url}/oauth/access-token", data=form)
    assert status == 200
    assert set(body) == {"token_type", "expires_in", "access_token"}
    assert body["expires_in"] == 2_592_000


async def test_each_token_is_new_and_counted(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=1)  # the token endpoint is never throttled
    tokens = {await issue_token(http, sb) for _ in range(3)}
    assert len(tokens) == 3
    assert sb.stats.token_requests == 3
    assert sb.stats.rate_limited == 0


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, ["client_id", "client_secret"]),
        ({"client_id": "x"}, ["client_secret"]),
        ({"client_id": "", "client_secret": "y"}, ["client_id"]),
    ],
)
async def test_missing_fields_are_422(
    make_sandbox: MakeSandbox,
    http: aiohttp.ClientSession,
    fields: dict[str, str],
    missing: list[str],
) -> None:
    sb: Sandbox = await make_sandbox()
    status, body = await post(http, f"{sb.url}/oauth/access-token", json=fields)
    assert status == 422
    assert body == {
        "success": False,
        "message": "The given data was invalid.",
        "details": {f: [f"The {f.replace('_', ' ')} field is required."] for f in missing},
    }


@pytest.mark.parametrize("wrong", [{"client_id": "nope"}, {"client_secret": "nope"}])
async def test_wrong_credentials_are_401(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, wrong: dict[str, str]
) -> None:
    sb: Sandbox = await make_sandbox()
    url = f"{sb.url}/oauth/access-token"
    assert await post(http, url, json=credentials(sb, **wrong)) == (401, INVALID_CLIENT)
    assert await post(http, url, data=credentials(sb, **wrong)) == (401, INVALID_CLIENT)


async def test_inactive_enterprise_and_unsupported_grant(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(enterprise_active=False)
    url = f"{sb.url}/oauth/access-token"
    inactive = {"success": False, "message": "Inactive enterprise."}
    assert await post(http, url, json=credentials(sb)) == (403, inactive)
    status, body = await post(http, url, json=credentials(sb, grant_type="password"))
    assert (status, body["success"]) == (400, False)


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
async def test_introspect(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, shape: str
) -> None:
    sb: Sandbox = await make_sandbox(introspect_shape=shape, token_lifetime=3600)
    token = await issue_token(http, sb)
    status, body = await post(http, f"{sb.url}/oauth/introspect", json={"token": token})
    assert status == 200
    if shape == "wrapped":
        assert (body["success"], body["message"]) == (True, "")
        body = body["data"]
    assert body["active"] is True
    assert body["client_id"] == sb.client_id
    assert body["user_id"] is None
    assert body["scopes"] == ["profile:read", "templates:read", "assets:read", "brandkit:read"]
    expires_at = datetime.strptime(body["expires_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    expected = datetime.now(UTC) + timedelta(hours=1)
    assert abs((expires_at - expected).total_seconds()) < 5


async def test_introspect_errors_and_revoked_token(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(clock=clock, token_lifetime=60)
    url = f"{sb.url}/oauth/introspect"
    assert await post(http, url, json={}) == (422, token_error("Token required."))
    assert await post(http, url, json={"token": "x.y.z"}) == (
        422,
        token_error("Invalid or expired token."),
    )
    revoked = await issue_token(http, sb)
    await post(http, f"{sb.url}/oauth/revoke", json={"token": revoked})
    status, body = await post(http, url, json={"token": revoked})
    assert (status, body["data"]["active"]) == (200, False)
    clock.advance(60)
    assert await post(http, url, json={"token": revoked}) == (
        422,
        token_error("Invalid or expired token."),
    )


async def test_revoke(make_sandbox: MakeSandbox, http: aiohttp.ClientSession) -> None:
    sb: Sandbox = await make_sandbox()
    url = f"{sb.url}/oauth/revoke"
    token = await issue_token(http, sb)
    assert (await get(http, f"{sb.url}/api/assets", token))[0] == 200
    assert await post(http, url, json={"token": token}) == (
        200,
        {"success": True, "message": "Token successfully revoked.", "data": None},
    )
    status, body, _ = await get(http, f"{sb.url}/api/assets", token)
    assert (status, body) == (401, {"message": "Unauthenticated."})
    assert await post(http, url, json={"token": token}) == (
        422,
        token_error("Invalid or expired token."),
    )
    assert await post(http, url, json={"token": "never-issued"}) == (
        422,
        token_error("Token not found."),
    )
    assert await post(http, url, data={}) == (422, token_error("Token required."))


async def test_expired_token_cannot_be_revoked(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox()
    token = await issue_token(http, sb)
    sb.expire_all_tokens()
    assert await post(http, f"{sb.url}/oauth/revoke", json={"token": token}) == (
        422,
        token_error("Invalid or expired token."),
    )


def token_error(message: str) -> dict[str, Any]:
    return {"success": False, "message": message, "data": None}
