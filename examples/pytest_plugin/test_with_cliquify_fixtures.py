"""Testing your own code with the cliquify fixtures: nothing to copy, only to request.

    pip install "cliquify-async[pytest]"    # or: cliquify-async pytest pytest-asyncio
    python -m pytest -p no:cacheprovider    # from this directory: it has its own pytest.ini

`cliquify_sandbox` is a fresh sandbox per test (a real HTTP server on 127.0.0.1, no rate limit
unless asked) and `cliquify_client` a CliquifyClient of it, with the rate gate off and
millisecond retries, closed after the test. Markers and indirect parameters configure both.
"""

from __future__ import annotations

from collections import Counter

import pytest

from cliquify_async import CliquifyClient, ServerError
from cliquify_async.sandbox import Fault, Sandbox

# --- the code under test: yours ---------------------------------------------------------------


async def assets_per_folder(client: CliquifyClient) -> dict[int, int]:
    """How many assets each folder holds, counted over every page."""
    counts: Counter[int] = Counter()
    async for asset in client.assets.list():
        counts[int(asset.folder_id or 0)] += 1
    return dict(counts)


def expected_counts(sandbox: Sandbox) -> dict[int, int]:
    """The answer, from the sandbox's own data (every item exactly as it serves them)."""
    return dict(Counter(int(item["folder_id"]) for item in sandbox.items("/api/assets")))


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.cliquify_sandbox(assets=50, seed=1)
async def test_counts_every_asset_of_every_page(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    counts = await assets_per_folder(cliquify_client)

    assert counts == expected_counts(cliquify_sandbox)
    assert sum(counts.values()) == 50


@pytest.mark.parametrize(
    "cliquify_sandbox",
    [{"pagination": "cursor"}, {"pagination": "simple"}, {"pagination": "bare"}],
    indirect=True,
    ids=["cursor", "simple", "bare"],
)
async def test_counts_whatever_the_pagination(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    assert await assets_per_folder(cliquify_client) == expected_counts(cliquify_sandbox)


async def test_survives_a_proxy_error_page(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    # The next two requests to /api/assets get nginx's HTML 502 page; the SDK retries them.
    cliquify_sandbox.faults.add(Fault.html(502), path="/api/assets", times=2)

    assert await assets_per_folder(cliquify_client) == expected_counts(cliquify_sandbox)
    assert cliquify_client.stats.retries == 2


@pytest.mark.cliquify_sandbox(faults=[{"fault": Fault.status(503), "path": "/api/assets"}])
@pytest.mark.cliquify_client(max_retries=0)
async def test_reports_an_outage_as_a_typed_error(cliquify_client: CliquifyClient) -> None:
    # A fault planned by the marker, and a client that does not retry: the error reaches us.
    with pytest.raises(ServerError) as caught:
        await assets_per_folder(cliquify_client)

    assert caught.value.status == 503


@pytest.mark.cliquify_sandbox(assets=30, rate_limit=5, rate_window=0.5)
@pytest.mark.cliquify_client(requests_per_minute=5 * 60 / 0.5, rate_window=0.5)
async def test_stays_under_the_rate_limit(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    # Laravel's fixed window, compressed to 5 requests per 0.5 s; the client paces itself.
    assets = await cliquify_client.assets.list(per_page=5).collect()

    assert len(assets) == 30
    assert cliquify_sandbox.stats.rate_limited == 0
