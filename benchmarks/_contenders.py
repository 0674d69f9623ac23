"""One listing walked by each contender: the SDK, baseline (a) and baseline (b).

Each runner returns the number of items it saw; the caller times it. The SDK and (b) count
items as they arrive and keep none; (a) gets them all back from its gather, as users write it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Final, Generic, Literal, TypeVar

import aiohttp
import attrs

from cliquify_async import CliquifyClient

from ._baselines import Credentials, harvest_concurrent, iter_sequential
from ._sandbox import SandboxProcess

T = TypeVar("T")

ASSETS: Final = "/api/assets"


def credentials(server: SandboxProcess) -> Credentials:
    """What every contender needs to reach a started sandbox."""
    return Credentials(server.url, server.client_id, server.client_secret)


async def sdk_assets(
    creds: Credentials,
    *,
    per_page: int | Literal["max"],
    requests_per_minute: float | None,
    rate_window: float | None = None,
    **options: Any,
) -> int:
    """`async for` over client.assets.list(per_page=...), items discarded; `rate_window=None`
    (the client's default) leaves the window for the client to learn."""
    async with CliquifyClient(
        creds.client_id,
        creds.client_secret,
        base_url=creds.base_url,
        requests_per_minute=requests_per_minute,
        rate_window=rate_window,
        **options,
    ) as client:
        count = 0
        async for _asset in client.assets.list(per_page=per_page):
            count += 1
    return count


async def concurrent_assets(
    creds: Credentials, *, per_page: int, rate: tuple[float, float] | None
) -> int:
    """Baseline (a) over /api/assets; returns how many items its gather collected."""
    async with aiohttp.ClientSession() as session:
        items = await harvest_concurrent(session, creds, ASSETS, {"per_page": per_page}, rate=rate)
    return len(items)


async def sequential_assets(creds: Credentials, *, per_page: int) -> int:
    """Baseline (b) over /api/assets, items discarded as they come."""
    count = 0
    async with aiohttp.ClientSession() as session:
        async for _item in iter_sequential(session, creds, ASSETS, {"per_page": per_page}):
            count += 1
    return count


async def unlimited_assets(contender: int, creds: Credentials, *, per_page: int) -> int:
    """Contender 0 (SDK), 1 ((a)) or 2 ((b)) over /api/assets with the limit off."""
    if contender == 0:
        return await sdk_assets(creds, per_page=per_page, requests_per_minute=None)
    if contender == 1:
        return await concurrent_assets(creds, per_page=per_page, rate=None)
    return await sequential_assets(creds, per_page=per_page)


@attrs.frozen
class Measured(Generic[T]):
    """A contender's result, its wall time and the CPU time of this process meanwhile."""

    value: T
    wall: float
    cpu: float


def median_ratio(runs: Sequence[Measured[Any]], baseline: Sequence[Measured[Any]]) -> float:
    """The median over rounds of the rate of `runs` (work / wall time) over the same round's
    `baseline`, for the same work: each ratio compares two runs made moments apart."""
    return statistics.median(b.wall / r.wall for r, b in zip(runs, baseline, strict=True))


async def _timed(coroutine: Coroutine[Any, Any, T]) -> Measured[T]:
    started, cpu = time.monotonic(), time.process_time()
    value = await coroutine
    return Measured(value=value, wall=time.monotonic() - started, cpu=time.process_time() - cpu)


def measure(coroutine: Coroutine[Any, Any, T], limit: float) -> Measured[T]:
    """Run `coroutine` in a fresh event loop, timed, and cancelled after `limit` seconds."""

    async def bounded() -> Measured[T]:
        async with asyncio.timeout(limit):
            return await _timed(coroutine)

    return asyncio.run(bounded())


def measure_together(
    coroutines: Sequence[Coroutine[Any, Any, T]], limit: float
) -> list[Measured[T]]:
    """Run the coroutines at the same time in one fresh event loop, each timed on its own.

    Their `cpu` figures overlap (one process), so only their wall times are their own.
    """

    async def bounded() -> list[Measured[T]]:
        async with asyncio.timeout(limit):
            return list(await asyncio.gather(*(_timed(c) for c in coroutines)))

    return asyncio.run(bounded())
