"""Tokens: one request for a cold start, renewal before expiry, one replay after a 401."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cliquify_async import (
    AuthenticationError,
    CliquifyClient,
    InactiveEnterpriseError,
    InvalidClientError,
    InvalidTokenError,
    ServerError,
    TokenNotFoundError,
)
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory


async def test_200_concurrent_first_calls_make_one_token_request(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    pages = await asyncio.gather(
        *(client.brand_kit.colors(per_page=1).pages().__anext__() for _ in range(200))
    )

    assert len(pages) == 200
    assert sandbox.stats.token_requests == 1
    assert client.stats.token_requests == 1
    tokens = {r.token for r in sandbox.stats.requests if r.path.startswith("/api/")}
    assert len(tokens) == 1


async def test_a_token_is_renewed_before_it_expires(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    # The sandbox sends expires_in as whole seconds: 2 s, renewed a tenth earlier, at 1.8 s.
    sandbox = await make_sandbox(rate_limit=None, token_lifetime=2)
    client = make_client(sandbox)

    await client.templates.tags().collect()
    await client.templates.tags().collect()
    assert sandbox.stats.token_requests == 1  # still fresh: reused
    await asyncio.sleep(1.85)  # past the renewal point, before the token expires
    await client.templates.tags().collect()

    assert sandbox.stats.token_requests == 2
    assert sandbox.stats.count("/api/", status=401) == 0


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_revoked_token_is_replaced_once_and_the_listing_loses_nothing(
    sandbox: Sandbox, make_client: ClientFactory, concurrency: int
) -> None:
    client = make_client(sandbox, page_concurrency=concurrency)
    paginator = client.assets.list(per_page=10)
    ids = [asset.id for asset in await paginator.collect(max_items=30)]
    sandbox.revoke_all_tokens()
    ids += [asset.id async for asset in paginator]

    assert ids == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert sandbox.stats.token_requests == 2  # one new token, however many pages saw the 401
    unauthorized = sandbox.stats.count("/api/", status=401)
    assert 1 <= unauthorized <= concurrency  # the pages in flight when it was revoked
    assert client.stats.auth_replays == unauthorized


async def test_a_second_401_raises_after_exactly_one_replay(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.unauthorized(), path="/api/folders", times=5)

    with pytest.raises(AuthenticationError) as caught:
        await client.folders.list().collect()

    assert caught.value.status == 401
    assert caught.value.message == "Unauthenticated."
    assert not isinstance(caught.value, InvalidClientError)
    assert sandbox.stats.count("/api/folders") == 2
    assert sandbox.stats.token_requests == 2


async def test_a_late_401_does_not_discard_a_newer_token(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    stale = await client.auth.token()
    sandbox.revoke_all_tokens()
    # Two tasks hit the 401 with the same stale token: one new token serves both.
    await asyncio.gather(client.templates.list().collect(), client.folders.list().collect())
    fresh = await client.auth.token()

    assert fresh.access_token != stale.access_token
    assert sandbox.stats.token_requests == 2


async def test_wrong_credentials_fail_after_one_request(sandbox: Sandbox) -> None:
    async with CliquifyClient(
        sandbox.client_id, "not-the-secret", base_url=sandbox.url, requests_per_minute=None
    ) as client:
        with pytest.raises(InvalidClientError) as caught:
            await client.assets.list().collect()

    assert caught.value.message == "Client authentication failed. Check client ID/secret."
    assert caught.value.code == "invalid_client"
    assert sandbox.stats.token_requests == 1
    assert sandbox.stats.count("/api/") == 0


async def test_an_inactive_enterprise_is_its_own_error(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, enterprise_active=False)
    client = make_client(sandbox)

    with pytest.raises(InactiveEnterpriseError, match="Inactive enterprise"):
        await client.auth.token()
    assert sandbox.stats.token_requests == 1


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
async def test_both_token_body_shapes_are_accepted(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, token_shape=shape, token_lifetime=2592000)
    client = make_client(sandbox)

    token = await client.auth.token()

    assert token.token_type == "Bearer"
    assert token.expires_in == 2592000
    assert token.access_token


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
async def test_introspect_describes_the_clients_token(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, introspect_shape=shape, token_lifetime=3600)
    client = make_client(sandbox)

    info = await client.auth.introspect()

    assert info.active is True
    assert info.client_id == sandbox.client_id
    assert info.user_id is None
    assert info.scopes == ["profile:read", "templates:read", "assets:read", "brandkit:read"]
    assert info.expires_at is not None and info.expires_at.tzinfo is UTC
    expected = datetime.now(UTC) + timedelta(seconds=3600)
    assert abs((info.expires_at - expected).total_seconds()) < 5


async def test_introspecting_an_unknown_token_raises(client: CliquifyClient) -> None:
    with pytest.raises(InvalidTokenError, match="Invalid or expired token"):
        await client.auth.introspect("never-issued")


async def test_revoking_the_own_token_makes_the_next_call_fetch_a_new_one(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    first = await client.auth.token()
    await client.auth.revoke()
    await client.brand_kit.list().collect()

    assert (await client.auth.token()).access_token != first.access_token
    assert sandbox.stats.token_requests == 2
    assert sandbox.stats.count("/api/", status=401) == 0
    info = await client.auth.introspect(first)
    assert info.active is False


async def test_revoking_an_unknown_token_raises(client: CliquifyClient) -> None:
    with pytest.raises(TokenNotFoundError, match="Token not found"):
        await client.auth.revoke("never-issued")


async def test_the_token_endpoint_failing_fails_every_waiter_with_one_request_per_attempt(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=2)
    sandbox.faults.add(Fault.status(503), path="/oauth/access-token", times=3)

    results = await asyncio.gather(
        *(client.folders.list().collect() for _ in range(100)), return_exceptions=True
    )

    assert all(isinstance(result, ServerError) and result.status == 503 for result in results)
    assert sandbox.stats.token_requests == 3  # one per attempt: 1 + max_retries
    # The next call recovers.
    assert len(await client.folders.list().collect()) == len(sandbox.items("/api/folders"))
    assert sandbox.stats.token_requests == 4


async def test_a_failed_revoke_keeps_the_token_the_server_still_honours(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=0)
    first = await client.auth.token()
    sandbox.faults.add(Fault.status(500), path="/oauth/revoke", times=1)

    with pytest.raises(ServerError):
        await client.auth.revoke()

    assert (await client.auth.token()).access_token == first.access_token
    assert sandbox.stats.token_requests == 1
