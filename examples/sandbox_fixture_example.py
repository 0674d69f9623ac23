"""Testing your own code against the sandbox: pytest fixtures to copy into your conftest.py.

    python -m pytest examples/sandbox_fixture_example.py

The sandbox is a real HTTP server on 127.0.0.1 that implements the Cliquify API (tokens, every
list endpoint with generated data, Laravel's rate limit, every pagination shape) and can
inject faults, so your code meets the same bytes it will meet in production, with no mocks.
Needs pytest and pytest-asyncio. (This file is named so that pytest does not collect it
unless asked; name yours `test_*.py`.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from cliquify_async import CliquifyClient, RetryPolicy, ServerError
from cliquify_async.sandbox import Fault, Sandbox

pytestmark = pytest.mark.asyncio


# --- the code under test: yours ---------------------------------------------------------------


async def assets_per_folder(client: CliquifyClient) -> dict[int, int]:
    """How many assets each folder holds, counted over every page."""
    counts: Counter[int] = Counter()
    async for asset in client.assets.list():
        counts[int(asset.folder_id or 0)] += 1
    return dict(counts)


# --- the fixtures -------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A fresh sandbox per test: 50 assets in small pages, no rate limit (tests stay fast)."""
    async with Sandbox(assets=50, rate_limit=None, seed=1) as sb:
        yield sb


@pytest_asyncio.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[CliquifyClient]:
    """A client of that sandbox: no rate gate, and retries that wait milliseconds, not seconds."""
    async with CliquifyClient(
        sandbox.client_id,
        sandbox.client_secret,
        base_url=sandbox.url,
        requests_per_minute=None,
        max_retries=RetryPolicy(max_retries=2, backoff_base=0.001, backoff_cap=0.01),
    ) as client:
        yield client


# --- the tests ----------------------------------------------------------------------------------


def expected_counts(sandbox: Sandbox) -> dict[int, int]:
    """The answer, from the sandbox's own data (every item exactly as it serves them)."""
    return dict(Counter(int(item["folder_id"]) for item in sandbox.items("/api/assets")))


async def test_counts_every_asset_of_every_page(sandbox: Sandbox, client: CliquifyClient) -> None:
    counts = await assets_per_folder(client)

    assert counts == expected_counts(sandbox)
    assert sum(counts.values()) == 50


async def test_survives_a_proxy_error_page(sandbox: Sandbox, client: CliquifyClient) -> None:
    # The next two requests to /api/assets get nginx's HTML 502 page; the SDK retries them.
    sandbox.faults.add(Fault.html(502), path="/api/assets", times=2)

    assert await assets_per_folder(client) == expected_counts(sandbox)
    assert client.stats.retries == 2


async def test_reports_an_outage_as_a_typed_error(sandbox: Sandbox, client: CliquifyClient) -> None:
    # More failures in a row than the client retries: the error reaches our code, typed.
    sandbox.faults.add(Fault.status(503), path="/api/assets", times=3)

    with pytest.raises(ServerError) as caught:
        await assets_per_folder(client)

    assert caught.value.status == 503


async def test_stays_under_the_rate_limit() -> None:
    # Laravel's fixed window, compressed: 5 requests per 0.5 s. The client's gate paces itself
    # to it, so the server never answers 429.
    async with (
        Sandbox(assets=50, rate_limit=5, rate_window=0.5) as sb,
        CliquifyClient(
            sb.client_id,
            sb.client_secret,
            base_url=sb.url,
            requests_per_minute=5 * 60 / 0.5,
            rate_window=0.5,
        ) as client,
    ):
        assets = await client.assets.list(per_page=5).collect()

    assert len(assets) == 50
    assert sb.stats.rate_limited == 0
