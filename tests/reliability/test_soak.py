"""Soak: tens of thousands of requests through one client while 10% of them are faulted.

Fifty tasks share one `CliquifyClient` and keep walking random listings in small pages
against a sandbox whose chaos mode answers a seeded random 10% of /api requests with a
dropped connection, a cut-off or truncated body, a 502/503/504 (JSON or nginx HTML), a 429
with `Retry-After: 0`, or an answer slower than the client's timeout. Every listing must end
complete and exactly equal to what the server holds, or with a typed `CliquifyError`; nothing
else may ever escape. A few listings run with no retries at all, so the typed-error ending is
exercised too; each of those is then finished (by iterating the same paginator again, or by
`resume_from(next_token)`) and must still be exact: nothing lost.

Afterwards the client must still work and leave nothing behind: no connection checked out of
its pool and no server connection without a client, no extra asyncio task, no retained
memory, no warning and no error reported to the event loop.

The size is `CLIQUIFY_SOAK_REQUESTS` (default 20,000) requests counted by `client.stats`; CI
runs a short form. `pytest -m soak -s` prints a one-line summary.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import random
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import attrs
import pytest

from cliquify_async import AsyncPaginator, CliquifyClient, CliquifyError
from cliquify_async.pytest_plugin import fast_retries
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory

pytestmark = pytest.mark.soak

TARGET_REQUESTS = int(os.environ.get("CLIQUIFY_SOAK_REQUESTS", "20000"))
WORKERS = 50
FAULT_PROBABILITY = 0.10
# The slow fault answers after SLOW seconds and the client gives up at TIMEOUT. TIMEOUT must
# sit well above the latency of an ordinary request under this load: 50 listings reading up to
# 4 pages ahead keep up to 100 requests in flight (the connector's limit; the wait for a pooled
# connection counts against the timeout too) at ~450 requests/s on 2 cores, ~5 times fewer
# while tracemalloc traces, i.e. up to ~1.1 s per request. With 0.25 s, or even 0.8 s, healthy
# requests time out as well (measured at 0.8 s: ~700 retries more than faults injected).
SLOW = 2.0
TIMEOUT = 1.5
RETRIES = fast_retries(6)
NO_RETRY_SHARE = 0.05  # listings walked with max_retries=0: most of them end in a typed error
MIN_COMPLETE_SHARE = 0.90
# Memory is compared between two rest points (no listing in flight, gc.collect() done, the
# connection pool warm): before and after the last quarter of the run. tracemalloc makes every
# allocation ~5 times slower, so only that quarter is traced; what it allocated and still holds
# must stay under MAX_MEMORY_GROWTH (measured: 0.9-1.7 MiB whatever the length, the state of
# keep-alive connections opened to replace dropped ones). The interpreter's count of allocated
# blocks is free to read, and a leak of one object per request adds at least one block per
# request: it may grow by a pool's worth of connection state and a quarter block per request.
TRACED_SHARE = 0.25
MAX_MEMORY_GROWTH = 5 * 1024 * 1024
BLOCK_ALLOWANCE = 4000
MAX_BLOCKS_PER_REQUEST = 0.25

# Weighted so that most faulted requests are cheap; the slow fault costs a whole timeout, so it
# is the rarest. With 6 retries a page is lost only if 7 attempts in a row are faulted (about
# 1e-7), so every listing with retries must complete.
FAULT_MIX: tuple[Fault, ...] = (
    *[Fault.status(503)] * 3,
    *[Fault.status(502)] * 3,
    *[Fault.html(504)] * 3,
    *[Fault.status(429, retry_after=0)] * 3,
    *[Fault.reset()] * 2,
    *[Fault.reset_mid_body()] * 2,
    *[Fault.truncated()] * 2,
    Fault.slow(SLOW),
)

Listing = Callable[..., AsyncPaginator[Any]]


def listings(client: CliquifyClient) -> dict[str, Listing]:
    """Every list endpoint, by path, as the SDK call that walks it."""
    return {
        "/api/templates": client.templates.list,
        "/api/tags": client.templates.tags,
        "/api/folders": client.folders.list,
        "/api/assets": client.assets.list,
        "/api/assets/tags": client.assets.tags,
        "/api/brand-kit": client.brand_kit.list,
        "/api/brand-kit/logos": client.brand_kit.logos,
        "/api/brand-kit/colors": client.brand_kit.colors,
    }


def random_filters(sandbox: Sandbox, path: str, rng: random.Random) -> dict[str, int | str]:
    """Half the time a filter the endpoint supports, so filtered walks are soaked too."""
    if rng.random() < 0.5:
        return {}
    if path == "/api/assets":
        return {"folder_id": rng.choice(sandbox.dataset["folders"])["id"]}
    if path == "/api/templates":
        return {"search": rng.choice(["a", "e", "o", "sale"])}
    if path in ("/api/brand-kit/logos", "/api/brand-kit/colors"):
        return {"brand_kit_id": rng.choice(sandbox.dataset["brand_kits"])["id"]}
    return {}


def is_server_connection(task: asyncio.Task[Any]) -> bool:
    """aiohttp's server runs one `RequestHandler.start` task per open connection."""
    return getattr(task.get_coro(), "__qualname__", "") == "RequestHandler.start"


def client_side_tasks() -> int:
    """Tasks in this loop other than the sandbox's per-connection tasks: the test's and the SDK's.

    The sandbox keeps one task per keep-alive connection the client holds in its pool, so those
    follow the pool (checked separately), not the client's own bookkeeping.
    """
    return sum(not is_server_connection(task) for task in asyncio.all_tasks())


def server_connections() -> int:
    return sum(is_server_connection(task) for task in asyncio.all_tasks())


def connector_of(client: CliquifyClient) -> aiohttp.BaseConnector:
    session = client._transport._session
    assert session is not None
    assert session.connector is not None
    return session.connector


@attrs.define
class Tally:
    """What the workers saw."""

    complete: int = 0  # listings that ended complete and exact
    typed_errors: collections.Counter[str] = attrs.field(factory=collections.Counter)
    resumed_exact: int = 0  # of the typed errors: finished afterwards, nothing lost
    resumed_by: collections.Counter[str] = attrs.field(factory=collections.Counter)
    mismatches: list[str] = attrs.field(factory=list)
    foreign: list[BaseException] = attrs.field(factory=list)  # anything not a CliquifyError
    faults: collections.Counter[str] = attrs.field(factory=collections.Counter)

    @property
    def listings(self) -> int:
        return self.complete + sum(self.typed_errors.values())


async def walk(client: CliquifyClient, sandbox: Sandbox, tally: Tally, rng: random.Random) -> None:
    """One listing: a random endpoint, filter and page size, checked against the server.

    A listing that ends in a typed error is then finished, by iterating the same paginator
    again or by `resume_from(next_token)` on a new one, and must still be exact: nothing lost.
    `async with` closes each paginator, cancelling any page it was still reading ahead.
    """
    calls = listings(client)
    path = rng.choice(list(calls))
    filters = random_filters(sandbox, path, rng)
    per_page = rng.randint(5, 25)
    expected = [item["id"] for item in sandbox.items(path, **filters)]
    where = f"{path} {filters} per_page={per_page}"
    got: list[Any] = []
    view = client.with_options(max_retries=0) if rng.random() < NO_RETRY_SHARE else client
    async with listings(view)[path](per_page=per_page, **filters) as paginator:
        try:
            async for item in paginator:  # item by item: what came before an error counts
                got.append(item.id)
        except CliquifyError as exc:
            tally.typed_errors[type(exc).__name__] += 1
            token = paginator.next_token
            if token is None:
                tally.mismatches.append(f"{where}: {exc!r} left no next_token")
                return
            if rng.random() < 0.5:
                tally.resumed_by["iterating again"] += 1
                got.extend(await finish(paginator))
            else:
                tally.resumed_by["resume_from"] += 1
                await paginator.aclose()
                got.extend([item.id async for item in calls[path]().resume_from(token)])
            if got == expected:
                tally.resumed_exact += 1
            else:
                tally.mismatches.append(f"{where}, resumed")
            return
    if got == expected:
        tally.complete += 1
    else:
        tally.mismatches.append(where)


async def finish(paginator: AsyncPaginator[Any], attempts: int = 100) -> list[Any]:
    """The rest of a listing whose page failed: iterate it again until it ends."""
    rest: list[Any] = []
    for _ in range(attempts):
        try:
            async for item in paginator:
                rest.append(item.id)
        except CliquifyError:
            continue
        return rest
    raise AssertionError(f"{paginator!r} still failing after {attempts} attempts")


async def test_soak_every_listing_is_exact_or_a_typed_error(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, assets=200, templates=100, folders=30, asset_tags=40, template_tags=30
    )
    client = make_client(sandbox, requests_per_minute=None, max_retries=RETRIES, timeout=TIMEOUT)
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))

    # Warm up without faults: the token, the session, a walk of every endpoint (cattrs builds
    # its structuring code on first use), so the baselines below are steady.
    for path, call in listings(client).items():
        assert [x.id for x in await call().collect()] == [i["id"] for i in sandbox.items(path)]
    connector = connector_of(client)
    gc.collect()
    tasks_before = client_side_tasks()
    blocks_before = sys.getallocatedblocks()
    sandbox.stats.reset()
    requests_before = client.stats.requests
    retries_before = client.stats.retries
    tally = Tally()

    def sent() -> int:
        return client.stats.requests - requests_before

    async def worker(seed: int, until: int) -> None:
        rng = random.Random(seed)
        while sent() < until:
            try:
                await walk(client, sandbox, tally, rng)
            except Exception as exc:  # anything but a CliquifyError out of a listing,
                # or any error at all out of the (retried) resume of a failed one
                tally.foreign.append(exc)

    def drain_records() -> None:
        """Count the faults the sandbox injected, then forget its records (they add up)."""
        tally.faults.update(
            r.fault.kind.value if r.fault.code == 200 else f"{r.fault.code}"
            for r in sandbox.stats.requests
            if r.fault is not None
        )
        sandbox.stats.reset()

    async def leg(seeds: range, until: int) -> None:
        """Workers walk listings until `until` requests are sent; then every walk has ended."""
        workers = [asyncio.create_task(worker(seed, until)) for seed in seeds]
        while not all(task.done() for task in workers):
            await asyncio.wait(workers, timeout=0.2)
            drain_records()
        await asyncio.gather(*workers)

    async def settle() -> None:
        """Let abandoned slow answers finish on the server and dropped connections be seen."""
        await asyncio.sleep(SLOW + 0.2)
        drain_records()
        gc.collect()

    started = time.monotonic()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sandbox.faults.chaos(FAULT_MIX, probability=FAULT_PROBABILITY, path="/api/", seed=4)
            # Leg 1, untraced; then a rest point with a warm pool, where tracing starts.
            await leg(range(WORKERS), int(TARGET_REQUESTS * (1 - TRACED_SHARE)))
            await settle()
            traced_from = sent()
            blocks_at_rest = sys.getallocatedblocks()
            tracemalloc.start()
            memory_at_rest = tracemalloc.get_traced_memory()[0]
            # Leg 2, traced, with other seeds.
            await leg(range(WORKERS, 2 * WORKERS), TARGET_REQUESTS)
            elapsed = time.monotonic() - started
            sandbox.faults.clear()
            requests, retries = sent(), client.stats.retries - retries_before
            await settle()
            memory_after = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            blocks_after = sys.getallocatedblocks()
            tasks_after = client_side_tasks()
            acquired = len(connector._acquired)
            waiting = sum(len(waiters) for waiters in connector._waiters.values())
            pooled = sum(len(conns) for conns in connector._conns.values())
            served = server_connections()

            # The client still works: a clean walk of the biggest listing, exact.
            clean = [a.id async for a in client.assets.list(per_page=50)]
    finally:
        tracemalloc.stop()
        loop.set_exception_handler(None)

    growth = memory_after - memory_at_rest
    traced = requests - traced_from
    block_growth = blocks_after - blocks_at_rest
    typed = sum(tally.typed_errors.values())
    print(
        f"\nsoak: {requests} requests, {sum(tally.faults.values())} faults injected "
        f"{dict(sorted(tally.faults.items()))}, {retries} retries; {tally.listings} listings: "
        f"{tally.complete} complete and exact, {typed} typed errors "
        f"{dict(sorted(tally.typed_errors.items()))}, {tally.resumed_exact} of them finished "
        f"exact afterwards {dict(tally.resumed_by)}; "
        f"{elapsed:.1f} s; over the last {traced} requests memory {growth / 1024:+.0f} KiB and "
        f"{block_growth:+d} blocks ({blocks_after - blocks_before:+d} since warm-up); "
        f"connections acquired {acquired}, pooled {pooled}, server-side {served}; "
        f"tasks {tasks_before} -> {tasks_after}"
    )

    assert tally.foreign == []
    assert tally.mismatches == []
    assert requests >= TARGET_REQUESTS
    assert tally.complete / tally.listings > MIN_COMPLETE_SHARE
    assert tally.resumed_exact == typed
    if TARGET_REQUESTS >= 2000:  # ~25 unretried listings by then; each fails with p > 0.3
        assert typed > 0
    # The chaos really ran at about its probability (each fault is one recorded request).
    assert sum(tally.faults.values()) > 0.05 * requests
    assert clean == [i["id"] for i in sandbox.items("/api/assets")]
    # Connections: none checked out or waited for; idle keep-alive ones are bounded by the
    # connector's limit, and each is one the server still serves (none orphaned on either side).
    assert acquired == 0
    assert waiting == 0
    assert pooled <= connector.limit
    assert served == pooled
    assert tasks_after == tasks_before
    assert growth < MAX_MEMORY_GROWTH
    assert block_growth < BLOCK_ALLOWANCE + MAX_BLOCKS_PER_REQUEST * traced
    assert [str(w.message) for w in caught] == []
    assert loop_errors == []
