"""`page_concurrency="auto"`: as many pages in flight as the gate's pace times the answers'
time needs, so slow answers do not leave the budget idle, and no more.

The speed figure here is loose (the tight one is benchmark 9's): a fixed four pages at once
take about 1.6 times the floor in this setting, the automatic count well under 1.4.
"""

from __future__ import annotations

import asyncio
import time

from tests.conftest import ClientFactory, SandboxFactory


async def test_slow_answers_keep_the_gate_busy(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(
        rate_limit=20, rate_window=1.0, latency=0.3, retry_after_precision="float", assets=600
    )
    client = make_client(sandbox, requests_per_minute=1200)  # the true rate, the window learned

    started = time.monotonic()
    assets = await client.assets.list(per_page=10).collect()
    elapsed = time.monotonic() - started

    assert [a.id for a in assets] == [item["id"] for item in sandbox.items("/api/assets")]
    assert sandbox.stats.rate_limited == 0
    floor = 60 / 20  # 60 pages at 20 a second
    assert elapsed < 1.4 * floor


async def test_no_more_pages_are_read_ahead_than_the_gate_can_use(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=20, rate_window=1.0, assets=600)
    client = make_client(sandbox, requests_per_minute=1200)

    async with client.assets.list(per_page=10) as listing:
        async for _ in listing.pages():
            await asyncio.sleep(0.3)  # time for six permits: what is read ahead is sent
            break  # one page wanted

    # Fast answers and a permit every 50 ms: one page on its way and one waiting for its
    # permit keep the gate busy, so two were read ahead; a fixed four would have been four.
    assert sandbox.stats.count("/api/assets") == 1 + 2
