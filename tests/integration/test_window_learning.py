"""The gate learns the server's window as well as its count: a client told only "N requests
per minute" runs at the server's real pace, without a stream of 429s, whatever the window.

Each server here has a fixed window of a fraction of a second that differs from the client's
configuration; the client is configured by `requests_per_minute` alone. The wall-time bound
is the issue's: 1.25 x (the server's own floor + one window), the window being what the
client needs to see before it can know it.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import pytest

from cliquify_async import CliquifyClient
from cliquify_async.sandbox import Sandbox
from tests.conftest import ClientFactory, SandboxFactory

PER_PAGE = 2


@pytest.fixture(autouse=True)
def _no_garbage_left() -> None:
    """A full collection mid-run would stall the loop for tens of milliseconds."""
    gc.collect()


async def timed_listing(client: CliquifyClient) -> tuple[int, float]:
    """Items listed from /api/assets and the seconds it took, the token fetched beforehand."""
    await client.auth.token()
    started = time.monotonic()
    assets = await client.assets.list(per_page=PER_PAGE).collect()
    return len(assets), time.monotonic() - started


def floor_seconds(sandbox: Sandbox, limit: int, window: float) -> float:
    """The server's own floor for the listing: its requests at `limit` per `window`."""
    return len(sandbox.items("/api/assets")) / PER_PAGE * window / limit


@pytest.mark.parametrize(
    ("limit", "window", "rpm", "server", "assets"),
    [
        (10, 0.25, 600, {}, 160),  # the server allows 4x the configured pace
        (30, 1.0, 600, {}, 180),  # 3x, over a longer window
        (10, 0.5, 1200, {}, 120),  # exactly the configured pace
        (10, 0.5, 1200, {"reset_header": "seconds"}, 120),  # X-RateLimit-Reset, seconds
        (10, 0.5, 1200, {"reset_header": "epoch"}, 120),  # X-RateLimit-Reset, unix time
        (10, 0.5, 6000, {}, 120),  # the server allows a fifth of the configured pace
        (20, 0.5, 24000, {}, 200),  # a tenth
    ],
    ids=[
        "4x-faster",
        "3x-faster-1s",
        "matched",
        "reset-seconds",
        "reset-epoch",
        "5x-slower",
        "10x-slower",
    ],
)
async def test_a_client_told_only_a_rate_runs_at_the_servers_pace(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    limit: int,
    window: float,
    rpm: float,
    server: dict[str, Any],
    assets: int,
) -> None:
    sandbox = await make_sandbox(
        rate_limit=limit,
        rate_window=window,
        retry_after_precision="float",
        assets=assets,
        **server,
    )
    client = make_client(sandbox, requests_per_minute=rpm)

    count, wall = await timed_listing(client)

    assert count == len(sandbox.items("/api/assets"))
    configured_at_or_below = rpm <= limit * 60 / window
    assert sandbox.stats.rate_limited <= (0 if configured_at_or_below else 1)
    assert wall <= 1.25 * (floor_seconds(sandbox, limit, window) + window)
    (learned,) = client.rate_limits
    assert learned.learned
    assert learned.requests == limit
    assert window <= learned.window <= 1.25 * window


async def test_stacked_limits_are_both_learned_and_respected(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    # The app allows 40 per 2 s and reports it on every answer; a proxy in front allows only
    # 5 per 0.5 s, and shows itself only in its own 429s.
    sandbox = await make_sandbox(
        rate_limit=40,
        rate_window=2.0,
        extra_rate_limits=[(5, 0.5)],
        retry_after_precision="float",
        assets=120,
    )
    client = make_client(sandbox, requests_per_minute=1200)

    count, wall = await timed_listing(client)

    assert count == len(sandbox.items("/api/assets"))
    assert sandbox.stats.rate_limited == 1  # the proxy's first 429 is how it is met
    assert [(limit.requests, limit.learned) for limit in client.rate_limits] == [
        (40, True),
        (5, True),
    ]
    assert 0.5 <= client.rate_limits[1].window <= 0.6
    assert wall <= 1.25 * (floor_seconds(sandbox, 5, 0.5) + 0.5)


async def test_an_explicit_rate_window_is_believed(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=10, rate_window=0.25, retry_after_precision="float")
    client = make_client(sandbox, requests_per_minute=1200, rate_window=0.5)

    count, _ = await timed_listing(client)

    assert count == len(sandbox.items("/api/assets"))
    assert sandbox.stats.rate_limited == 0
    (believed,) = client.rate_limits
    assert (believed.requests, believed.window, believed.learned) == (10, 0.5, False)
    assert client.rate_interval == pytest.approx(0.05)
