"""redis-server restarts in the middle of a harvest: it completes, and never over budget."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from cliquify_async import RetryPolicy
from tests.conftest import SandboxFactory
from tests.redis_server import RedisServer
from tests.shared_budget.conftest import shared_client

LIMIT, WINDOW = 20, 0.5


async def test_a_redis_restart_mid_harvest_loses_nothing_and_exceeds_nothing(
    make_sandbox: SandboxFactory, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cliquify_async.redis")
    sandbox = await make_sandbox(
        rate_limit=LIMIT,
        rate_window=WINDOW,
        retry_after_precision="float",
        assets=200,
        latency=0.03,
    )
    client = shared_client(
        sandbox,
        own_redis.url,
        "restart",
        requests_per_minute=LIMIT * 60 / WINDOW,
        rate_window=WINDOW,
        max_retries=RetryPolicy(max_retries=3, backoff_cap=0.2),
    )
    async with client:
        harvest = asyncio.gather(
            client.assets.list(per_page=5).collect(),
            client.templates.list(per_page=5).collect(),
            client.templates.tags(per_page=2).collect(),
            client.folders.list(per_page=2).collect(),
        )
        while sandbox.stats.count("/api/") < 30:  # noqa: ASYNC110 - polling the server's log
            await asyncio.sleep(0.01)
        await asyncio.to_thread(own_redis.stop)  # Redis is gone, and so is the gate's state
        stopped_at = time.monotonic()
        await asyncio.sleep(0.15)
        restarted_at = time.monotonic()
        await asyncio.to_thread(own_redis.start)  # back on the same port, empty
        assets, templates, tags, folders = await asyncio.wait_for(harvest, timeout=30)

    # Fail closed: nothing was sent while Redis was down (arrivals are on the sandbox's clock,
    # time.monotonic; a request let out just before the stop arrives within milliseconds).
    assert not [r for r in sandbox.stats.requests if stopped_at + 0.02 < r.time < restarted_at]
    assert [a.id for a in assets] == [item["id"] for item in sandbox.items("/api/assets")]
    assert [t.id for t in templates] == [item["id"] for item in sandbox.items("/api/templates")]
    assert [t.id for t in tags] == [item["id"] for item in sandbox.items("/api/tags")]
    assert [f.id for f in folders] == [item["id"] for item in sandbox.items("/api/folders")]
    assert sandbox.stats.max_in_window(WINDOW * 0.97) <= LIMIT
    assert sandbox.stats.rate_limited == 0
    assert sandbox.stats.token_requests == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    recovered = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "fail closed" in errors[0].getMessage()
    assert len(recovered) == 1
