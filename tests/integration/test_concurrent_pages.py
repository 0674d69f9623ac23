"""Pages read ahead: fetched concurrently through the gate, delivered in order, cancelled on close.

No assertion here is about speed: they check order, exactness and which requests were made
before which page was delivered (both sides use the same monotonic clock).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cliquify_async import ServerError
from cliquify_async.sandbox import Fault
from tests.conftest import ClientFactory, SandboxFactory, client_tasks


def page_arrivals(sandbox: Any, path: str) -> dict[str, float]:
    return {
        r.query.get("page") or r.query.get("cursor") or "1": r.time
        for r in sandbox.stats.requests
        if r.path == path
    }


@pytest.mark.parametrize("shape", ["resource", "flat"])
async def test_length_aware_pages_are_fetched_ahead_and_delivered_in_order(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, latency=0.2)
    client = make_client(sandbox, page_concurrency=4)
    delivered: list[float] = []
    numbers: list[int | None] = []
    items: list[Any] = []

    async for page in client.assets.list(per_page=10).pages():
        delivered.append(time.monotonic())
        numbers.append(page.number)
        items += page.items

    assert [a.id for a in items] == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert numbers == list(range(1, 13))
    arrivals = page_arrivals(sandbox, "/api/assets")
    # Pages 2 to 5 were all requested before page 2 was handed over: four at a time.
    assert all(arrivals[str(n)] < delivered[1] for n in range(2, 6))
    # ...and never more than four ahead: page 6 only after page 2 was delivered.
    assert arrivals["6"] >= delivered[1]


async def test_prefetch_reads_one_cursor_page_ahead(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination="cursor", latency=0.1)
    client = make_client(sandbox, prefetch=True)
    delivered: list[float] = []
    items: list[Any] = []

    async for page in client.assets.list(per_page=40).pages():
        delivered.append(time.monotonic())
        items += page.items

    assert [a.id for a in items] == [raw["id"] for raw in sandbox.items("/api/assets")]
    cursor_requests = sorted(
        r.time for r in sandbox.stats.requests if r.path == "/api/assets" and "cursor" in r.query
    )
    assert len(cursor_requests) == len(delivered) - 1
    assert cursor_requests[0] < delivered[1]  # page 2 was on its way before page 1 was used


async def test_without_prefetch_a_cursor_list_is_read_one_page_at_a_time(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination="cursor")
    client = make_client(sandbox, page_concurrency=4)
    paginator = client.assets.list(per_page=40)

    await paginator.pages().__anext__()
    await asyncio.sleep(0.05)

    assert sandbox.stats.count("/api/assets") == 1


async def test_closing_a_paginator_left_by_break_cancels_its_read_ahead(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, latency=0.5)
    client = make_client(sandbox, page_concurrency=4)
    await client.auth.token()
    before = client_tasks()

    async with client.assets.list(per_page=10) as paginator:
        async for _ in paginator:
            break
        assert client_tasks() > before  # pages 2 to 5 on their way

    assert client_tasks() == before
    assert [asset async for asset in paginator] == []


async def test_a_failed_page_read_ahead_is_fetched_again_and_nothing_is_lost(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    client = make_client(sandbox, page_concurrency=4, max_retries=0)
    paginator = client.assets.list(per_page=10)
    first = await paginator.collect(max_items=10)
    sandbox.faults.add(Fault.status(503), path="/api/assets", times=2)

    collected = list(first)
    failures = 0
    while True:
        try:
            collected += await paginator.collect()
            break
        except ServerError:
            failures += 1

    assert failures >= 1
    assert [a.id for a in collected] == [raw["id"] for raw in sandbox.items("/api/assets")]
