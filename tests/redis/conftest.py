"""Fixtures: a real redis-server over loopback (never a fake), and a key per test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

pytest.importorskip("redis", reason="the [redis] extra is not installed")

from redis.asyncio import Redis

from tests.redis.redis_server import RedisServer

ENV_URL = "CLIQUIFY_TEST_REDIS_URL"


def _need_binary() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """$CLIQUIFY_TEST_REDIS_URL, or a redis-server of our own for the whole session."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    _need_binary()
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server this test may stop and restart (the shared one must stay up)."""
    _need_binary()
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


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
