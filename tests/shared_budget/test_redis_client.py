"""The public face of cliquify_async.redis: protocols met, one-line client, clean closing."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

import cliquify_async.redis
from cliquify_async import ConfigurationError, LocalRateGate, RateGate, TokenStore
from cliquify_async.redis import RedisRateGate, RedisTokenStore, client_from_redis_url
from tests.conftest import SandboxFactory
from tests.shared_budget.conftest import shared_client


def test_all_is_sorted_and_documented() -> None:
    names = cliquify_async.redis.__all__
    assert names == sorted(names)
    assert all(getattr(cliquify_async.redis, name).__doc__ for name in names)


async def test_the_gate_and_store_meet_the_protocols(redis: Redis, key: str) -> None:
    assert isinstance(RedisRateGate(redis, key), RateGate)
    assert isinstance(RedisTokenStore(redis, key), TokenStore)


async def test_the_one_line_client_shares_and_closes_its_redis(
    make_sandbox: SandboxFactory, redis: Redis, redis_url: str, key: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    before = len(await redis.client_list())
    async with shared_client(sandbox, redis_url, key, requests_per_minute=6000) as client:
        folders = await client.with_options(max_retries=0).folders.list(per_page=2).collect()
        assert isinstance(client._transport.gate, RedisRateGate)
        assert len(await redis.client_list()) > before

    assert len(folders) == len(sandbox.items("/api/folders"))
    for _ in range(100):  # the server notices the closed connection a moment later
        if len(await redis.client_list()) == before:
            break
        await asyncio.sleep(0.01)
    assert len(await redis.client_list()) == before
    assert await redis.exists(f"cliquify:{{{key}}}:token:{sandbox.client_id}") == 1


async def test_without_a_rate_the_gate_is_off_and_only_the_token_is_shared(
    make_sandbox: SandboxFactory, redis_url: str, key: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    clients = [shared_client(sandbox, redis_url, key, requests_per_minute=None) for _ in range(2)]
    try:
        await asyncio.gather(*(c.folders.list().collect() for c in clients))
    finally:
        for client in clients:
            await client.aclose()

    assert all(isinstance(c._transport.gate, LocalRateGate) for c in clients)
    assert sandbox.stats.token_requests == 1


def test_a_bad_url_is_a_configuration_error_that_hides_the_password() -> None:
    with pytest.raises(ConfigurationError, match="schemes") as caught:
        client_from_redis_url("http://user:hunter2@cache/0", "id", "secret")

    assert "hunter2" not in str(caught.value)
