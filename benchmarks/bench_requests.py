"""Benchmark 8 (per-request overhead): requests per second through the SDK's pages against
plain aiohttp, with the rate limit off and no latency, on pages so small that the request,
not the decoding, is what costs.

One sandbox in a process of its own serves 2000 assets, one per page: 2000 requests a
listing. The SDK walks `client.assets.list(per_page=1).pages()` at its default read-ahead
(page_concurrency 4). Plain aiohttp with one `ClientSession` does the same two ways: (a4)
page 1 first, then pages 2..last gathered through an `asyncio.Semaphore(4)` (the SDK's
concurrency: the baseline the target is judged against), and (b) one page after another
following `links.next`. The three run one after another, REPEATS rounds; the verdict is the
median over rounds of the SDK's requests/s over (a4)'s in the same round, as in benchmark 3
(this machine's speed drifts within seconds, and a ratio of runs made moments apart is what
the drift disturbs least).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

import aiohttp

from cliquify_async import CliquifyClient

from ._baselines import Credentials, fetch_token, get_page
from ._contenders import (
    ASSETS,
    Measured,
    credentials,
    measure,
    median_ratio,
    sequential_assets,
)
from ._report import Row, Table
from ._sandbox import SandboxProcess, assets_only

PER_PAGE: Final = 1
REQUESTS: Final = 2000
ITEMS: Final = PER_PAGE * REQUESTS
CONCURRENCY: Final = 4  # the SDK's default page_concurrency
REPEATS: Final = 5
TARGET: Final = 0.85
RUN_LIMIT: Final = 60.0
NAMES: Final = ("SDK", f"(a{CONCURRENCY}) gather, {CONCURRENCY} at a time", "(b) sequential")


def sandbox() -> SandboxProcess:
    """No rate limit, no latency, ITEMS assets and nothing else."""
    return assets_only(
        ITEMS,
        rate_limit=None,
        latency=0.0,
    )


async def sdk_pages(creds: Credentials) -> int:
    """`async for page in client.assets.list(per_page=PER_PAGE).pages()`, items counted."""
    async with CliquifyClient(
        creds.client_id,
        creds.client_secret,
        base_url=creds.base_url,
        requests_per_minute=None,
    ) as client:
        count = 0
        async for page in client.assets.list(per_page=PER_PAGE).pages():
            count += len(page.items)
    return count


async def bounded_gather(creds: Credentials) -> int:
    """Plain aiohttp, one session: page 1, then pages 2..last gathered CONCURRENCY at a time."""
    async with aiohttp.ClientSession() as session:
        token = await fetch_token(session, creds)
        url = f"{creds.base_url}{ASSETS}"
        first = await get_page(session, url, {"per_page": PER_PAGE, "page": 1}, token)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(number: int) -> int:
            async with gate:
                body = await get_page(session, url, {"per_page": PER_PAGE, "page": number}, token)
            return len(body["data"])

        last_page = int(first["meta"]["last_page"])
        counts = await asyncio.gather(*(one(n) for n in range(2, last_page + 1)))
    return len(first["data"]) + sum(counts)


async def sequential(creds: Credentials) -> int:
    """Plain aiohttp, one session, one page after another (`links.next`)."""
    return await sequential_assets(creds, per_page=PER_PAGE)


CONTENDERS: Final[tuple[Callable[[Credentials], Coroutine[Any, Any, int]], ...]] = (
    sdk_pages,
    bounded_gather,
    sequential,
)


def _once(server: SandboxProcess, contender: int) -> Measured[int]:
    server.reset()
    measured = measure(CONTENDERS[contender](credentials(server)), RUN_LIMIT)
    sent = sum(r.path.startswith("/api/") for r in server.records())
    if measured.value != ITEMS or sent != REQUESTS:
        raise RuntimeError(
            f"{NAMES[contender]}: {measured.value} of {ITEMS} items in {sent} of {REQUESTS} "
            "requests"
        )
    return measured


def per_request() -> Table:
    """8. Per-request overhead: requests/s of small pages, SDK vs plain aiohttp."""
    started = time.monotonic()
    with sandbox() as server:
        runs: list[list[Measured[int]]] = [[], [], []]
        for _ in range(REPEATS):
            for contender in range(3):
                runs[contender].append(_once(server, contender))
    best = [min(r, key=lambda m: m.wall) for r in runs]
    over_a = [median_ratio(r, runs[1]) for r in runs]
    over_b = [median_ratio(r, runs[2]) for r in runs]
    table = Table(
        8,
        "Per-request overhead: requests per second on one-item pages, limit off",
        [
            f"sandbox (own process): rate limit off, no latency, {ITEMS} assets, {PER_PAGE} "
            f"per page ({REQUESTS} /api requests a listing, each checked against the "
            f"sandbox's count); {REPEATS} rounds, each running the three in turn",
            f"SDK: requests_per_minute=None, `async for page in client.assets.list(per_page="
            f"{PER_PAGE}).pages()`, page_concurrency default ({CONCURRENCY}); (a{CONCURRENCY}) "
            f"and (b): plain aiohttp, one ClientSession, page JSON as dicts; (a{CONCURRENCY}) "
            f"page 1 then asyncio.gather of pages 2..last under asyncio.Semaphore({CONCURRENCY})"
            ", (b) follows links.next",
        ],
        columns=NAMES,
    )
    table.add(Row(label="wall time, s (best run)", values=tuple(m.wall for m in best), ratio=False))
    table.add(
        Row(
            label="requests per second (best run)",
            values=tuple(REQUESTS / m.wall for m in best),
            fmt="{:,.0f}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label=f"requests/s over (a{CONCURRENCY})'s, median round",
            values=tuple(over_a),
            fmt="{:.3f}",
            ratio=False,
            target=f">= {TARGET}",
            verdict=over_a[0] >= TARGET,
        )
    )
    table.add(
        Row(
            label="requests/s over (b)'s, median round",
            values=tuple(over_b),
            fmt="{:.3f}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label="client CPU per request, µs (least)",
            values=tuple(min(m.cpu for m in r) / REQUESTS * 1e6 for r in runs),
            fmt="{:.0f}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label="client CPU per request, µs (median)",
            values=tuple(statistics.median(m.cpu for m in r) / REQUESTS * 1e6 for r in runs),
            fmt="{:.0f}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label="client CPU / wall (best run)",
            values=tuple(m.cpu / m.wall for m in best),
            ratio=False,
        )
    )
    for name, contender_runs in zip(NAMES, runs, strict=True):
        figures = ", ".join(f"{REQUESTS / m.wall:,.0f}" for m in contender_runs)
        table.notes.append(f"{name} requests/s per run: {figures}")
    table.notes.append(
        "wall and CPU include making the client or session and its token request (one per run)"
    )
    table.seconds = time.monotonic() - started
    return table
