"""The rate gate: a no-burst pace shared by every task and retry, and a cool-down after a 429.

Assertions here are lower bounds on time (a request may never come *early*), which hold however
slow the machine is; no test asserts speed.
"""

from __future__ import annotations

import asyncio
import gc
import itertools

import pytest

from cliquify_async import CliquifyClient
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory

SLACK = 0.02  # scheduling slack for arrival times measured on the server


@pytest.fixture(autouse=True)
def _no_garbage_left() -> None:
    """Collect earlier tests' garbage now: a full collection mid-test (~75 ms after the Redis
    tests) would stall the loop and bunch two paced requests together."""
    gc.collect()


def api_arrivals(sandbox: Sandbox, path: str = "/api/") -> list[float]:
    return sorted(r.time for r in sandbox.stats.requests if r.path.startswith(path))


async def test_concurrent_tasks_share_one_no_burst_pace(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, requests_per_minute=1200)  # one request every 0.05 s

    await asyncio.gather(
        *(client.brand_kit.colors(per_page=1).pages().__anext__() for _ in range(12))
    )

    arrivals = api_arrivals(sandbox)
    assert len(arrivals) == 12
    assert arrivals[-1] - arrivals[0] >= 11 * 0.05 - SLACK
    # No burst: no two requests arrive in one interval... within measurement slack.
    assert sandbox.stats.max_in_window(0.05 - SLACK) == 1


async def test_retries_pass_the_gate_too(sandbox: Sandbox, make_client: ClientFactory) -> None:
    client = make_client(sandbox, requests_per_minute=1200)
    sandbox.faults.add(Fault.status(503, retry_after=0), path="/api/folders", times=3)

    await client.folders.list().collect()

    arrivals = api_arrivals(sandbox, "/api/folders")
    assert len(arrivals) == 4
    assert all(b - a >= 0.05 - SLACK for a, b in itertools.pairwise(arrivals))


async def test_one_429_holds_back_every_task_until_retry_after(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    client = make_client(sandbox)
    await client.auth.token()
    sandbox.faults.add(Fault.status(429, retry_after=0.4), path="/api/folders", times=1)

    first = asyncio.create_task(client.folders.list().collect())
    while sandbox.stats.count("/api/folders") == 0:  # noqa: ASYNC110 - polling the server's log
        await asyncio.sleep(0.005)
    limited_at = sandbox.stats.requests[-1].time
    # A task that never saw the 429 waits it out as well.
    await client.templates.tags().collect()
    await first

    tags_arrival = api_arrivals(sandbox, "/api/tags")[0]
    assert tags_arrival - limited_at >= 0.4 - SLACK
    assert client.stats.rate_limited == 1


async def test_the_gate_wait_does_not_eat_the_request_timeout(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    # Ten requests at one per 0.1 s: the last waits ~0.9 s at the gate, far beyond its
    # 0.25 s timeout, and must still succeed because the timeout starts after the gate.
    client = make_client(sandbox, requests_per_minute=600, timeout=0.25, max_retries=0)

    pages = await asyncio.gather(
        *(client.templates.tags(per_page=1).pages().__anext__() for _ in range(10))
    )

    assert len(pages) == 10
    assert api_arrivals(sandbox)[-1] - api_arrivals(sandbox)[0] >= 0.9 - SLACK


@pytest.mark.parametrize("configured", [4, 8, 16], ids=["slower", "matched", "faster"])
async def test_the_gate_learns_the_servers_limit_and_never_crosses_a_window(
    make_sandbox: SandboxFactory, make_client: ClientFactory, configured: int
) -> None:
    # The server allows 8 requests per fixed 0.4 s window; the client is told 4, 8 or 16.
    sandbox = await make_sandbox(rate_limit=8, rate_window=0.4, retry_after_precision="float")
    client: CliquifyClient = make_client(
        sandbox, requests_per_minute=configured * 60 / 0.4, rate_window=0.4
    )

    assets = await client.assets.list(per_page=4).collect()

    assert len(assets) == len(sandbox.items("/api/assets"))  # 30 requests, several windows
    assert client._transport.gate.limit == 8
    assert sandbox.stats.rate_limited == 0
    assert sandbox.stats.max_in_window() <= 8


async def test_the_end_of_a_cool_down_is_paced_not_a_burst(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, requests_per_minute=1200)  # one request every 0.05 s
    await client.auth.token()
    sandbox.faults.add(Fault.status(429, retry_after=0.5), path="/api/tags", times=1)

    # Twenty tasks queue at the gate while the first one's 429 cools everyone down.
    await asyncio.gather(
        *(client.templates.tags(per_page=1).pages().__anext__() for _ in range(20))
    )

    limited_at = next(r.time for r in sandbox.stats.requests if r.status == 429)
    after = [t for t in api_arrivals(sandbox) if t > limited_at]
    assert len(after) == 20
    assert after[0] - limited_at >= 0.5 - SLACK
    assert all(b - a >= 0.05 - SLACK for a, b in itertools.pairwise(after))


async def test_a_retry_after_beyond_the_cap_does_not_freeze_the_client(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    from cliquify_async import RateLimitError

    sandbox.faults.add(Fault.status(429, retry_after=3600), path="/api/tags", times=1)
    with pytest.raises(RateLimitError):
        await client.templates.tags().collect()

    folders = await asyncio.wait_for(client.folders.list().collect(), timeout=5)

    assert len(folders) == len(sandbox.items("/api/folders"))
