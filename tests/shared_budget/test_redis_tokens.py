"""The Redis token store: one token for every client of a key, replaced once after a 401."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redis.asyncio import Redis

from cliquify_async import AccessToken, CliquifyClient, StoredToken
from cliquify_async.redis import RedisTokenStore, RedisUnavailableError
from cliquify_async.sandbox import Sandbox
from tests.conftest import ClientFactory, SandboxFactory
from tests.redis_server import free_port
from tests.shared_budget.conftest import shared_client


def stored(value: str, lifetime: float | None = 3600) -> StoredToken:
    expires_at = None if lifetime is None else time.time() + lifetime
    token = AccessToken(access_token=value, expires_in=lifetime, extra={"scope": "x"})
    return StoredToken(token=token, expires_at=expires_at)


def two_clients(
    sandbox: Sandbox, make_client: ClientFactory, redis: Redis, key: str
) -> list[CliquifyClient]:
    return [
        make_client(sandbox, token_store=RedisTokenStore(redis, key, client_id=sandbox.client_id))
        for _ in range(2)
    ]


async def test_a_hundred_first_calls_across_two_clients_make_one_token_request(
    sandbox: Sandbox, make_client: ClientFactory, redis: Redis, key: str
) -> None:
    clients = two_clients(sandbox, make_client, redis, key)

    pages = await asyncio.gather(
        *(clients[n % 2].folders.list(per_page=1).pages().__anext__() for n in range(100))
    )

    assert len(pages) == 100
    assert sandbox.stats.token_requests == 1
    assert sum(client.stats.token_requests for client in clients) == 1
    tokens = {r.token for r in sandbox.stats.requests if r.path.startswith("/api/")}
    assert len(tokens) == 1


async def test_a_revoked_token_is_replaced_once_for_everyone(
    sandbox: Sandbox, make_client: ClientFactory, redis: Redis, key: str
) -> None:
    clients = two_clients(sandbox, make_client, redis, key)
    await asyncio.gather(*(client.folders.list().collect() for client in clients))
    sandbox.revoke_all_tokens()

    results = await asyncio.gather(
        *(clients[n % 2].folders.list(per_page=2).collect() for n in range(20))
    )

    assert all(len(folders) == len(sandbox.items("/api/folders")) for folders in results)
    assert sandbox.stats.token_requests == 2  # the first one, and one replacement
    assert sum(client.stats.auth_replays for client in clients) >= 2


async def test_discard_is_compare_and_delete(redis: Redis, key: str) -> None:
    store = RedisTokenStore(redis, key)
    await store.save(stored("old"))
    await store.save(stored("new"))

    await store.discard("old")  # a late 401 for the old token
    kept = await store.load()
    await store.discard("new")

    assert kept is not None
    assert kept.token == AccessToken(access_token="new", expires_in=3600, extra={"scope": "x"})
    assert await store.load() is None


async def test_the_token_expires_in_redis_with_its_lifetime(redis: Redis, key: str) -> None:
    store = RedisTokenStore(redis, key)
    await store.save(stored("short", lifetime=100))
    await RedisTokenStore(redis, key, client_id="other").save(stored("forever", lifetime=None))

    assert 99_000 <= await redis.pttl(store.token_key) <= 100_000
    assert await redis.pttl(RedisTokenStore(redis, key, client_id="other").token_key) == -1


async def test_the_lock_is_single_flight_across_stores(redis: Redis, key: str) -> None:
    stores = [RedisTokenStore(redis, key, poll_interval=0.01) for _ in range(3)]
    inside = 0
    most = 0

    async def hold(store: RedisTokenStore) -> None:
        nonlocal inside, most
        async with store.fetching():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(hold(stores[n % 3]) for n in range(6)))

    assert most == 1
    assert await redis.exists(stores[0].lock_key) == 0  # released, not left to expire


async def test_the_secret_token_is_never_logged_or_shown(
    make_sandbox: SandboxFactory, redis_url: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = await make_sandbox(rate_limit=None)
    async with shared_client(sandbox, redis_url, key, requests_per_minute=6000) as client:
        await client.folders.list().collect()
        token = (await client._transport.tokens.get()).access_token
        store = client._transport.tokens.store
        loaded = await store.load()

    assert token not in repr(store)
    assert token not in repr(loaded)
    assert token not in caplog.text


async def test_without_redis_tokens_are_fetched_per_process(
    sandbox: Sandbox, make_client: ClientFactory, key: str
) -> None:
    store = RedisTokenStore.from_url(f"redis://127.0.0.1:{free_port()}/0", key)
    try:
        clients = [make_client(sandbox, token_store=store) for _ in range(2)]
        await asyncio.gather(*(c.folders.list().collect() for c in clients for _ in range(5)))
    finally:
        await store.aclose()

    assert sandbox.stats.token_requests == 1  # the local lock still made it single-flight


async def test_a_lock_release_redis_refuses_is_a_cliquify_error(redis: Redis, key: str) -> None:
    store = RedisTokenStore(redis, key)

    async def fetch_while_the_lock_is_replaced() -> None:
        async with store.fetching():
            await redis.delete(store.lock_key)
            await redis.hset(store.lock_key, "not", "a lock")  # say, another app's key

    with pytest.raises(RedisUnavailableError, match="WRONGTYPE"):
        await fetch_while_the_lock_is_replaced()


async def test_a_lock_extension_redis_refuses_is_logged(
    redis: Redis, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cliquify_async.redis")
    store = RedisTokenStore(redis, key, lock_timeout=0.3)  # extended every 0.1 s

    async with store.fetching():
        await redis.delete(store.lock_key)
        await redis.hset(store.lock_key, "not", "a lock")
        async with asyncio.timeout(10):
            while "cannot extend the token lock" not in caplog.text:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await redis.delete(store.lock_key)  # so the release finds nothing to refuse

    assert "WRONGTYPE" in caplog.text
