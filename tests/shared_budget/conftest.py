"""Fixtures: a real redis-server over loopback (never a fake), and a key per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

# `redis.asyncio`, not `redis`: a folder named redis on the path would satisfy the latter.
pytest.importorskip("redis.asyncio", reason="redis-py is not installed (the [test] extra has it)")

from redis.asyncio import Redis

from cliquify_async import CliquifyClient
from cliquify_async.redis import client_from_redis_url
from cliquify_async.sandbox import Sandbox
from tests import redis_server
from tests.conftest import need_redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """$CLIQUIFY_TEST_REDIS_URL, or a redis-server of our own for the whole session."""
    if not os.environ.get(redis_server.ENV_URL):
        need_redis_server()
    with redis_server.redis_url() as url:
        yield url


@pytest.fixture
async def key(redis_url: str) -> AsyncIterator[str]:
    """A budget key no other test uses, so tests share one Redis without meeting; its keys,
    and those of keys made from it (`key + "-2"`), are deleted afterwards (the Redis may be a
    long-lived one from CLIQUIFY_TEST_REDIS_URL)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client: Redis = Redis.from_url(redis_url)
    try:
        async for found in client.scan_iter(match=f"cliquify:{{{name}*"):
            await client.delete(found)
    finally:
        await client.aclose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test Redis, closed after the test."""
    client: Redis = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def shared_client(sandbox: Sandbox, redis_url: str, key: str, **options: Any) -> CliquifyClient:
    """A client of `sandbox` sharing its budget (and token) under `key` of the Redis at
    `redis_url`; `options` are client_from_redis_url's."""
    return client_from_redis_url(
        redis_url,
        sandbox.client_id,
        sandbox.client_secret,
        base_url=sandbox.url,
        key=key,
        **options,
    )
