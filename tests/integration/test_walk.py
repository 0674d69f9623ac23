"""walk(): several listings at once through one gate, each in order, stopping on the first error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cliquify_async import CliquifyClient, ServerError, walk
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, client_tasks


async def test_the_assets_of_every_folder_at_once(sandbox: Sandbox, client: CliquifyClient) -> None:
    folders = await client.folders.list().collect()
    seen: dict[Any, list[Any]] = {folder.id: [] for folder in folders}
    numbers: dict[Any, list[int | None]] = {folder.id: [] for folder in folders}

    listings = {f.id: client.assets.list(folder_id=f.id, per_page=4) for f in folders}
    async with walk(listings) as pages:
        async for folder_id, page in pages:
            seen[folder_id] += [asset.id for asset in page.items]
            numbers[folder_id].append(page.number)

    for folder in folders:
        expected = sandbox.items("/api/assets", folder_id=folder.id)
        assert seen[folder.id] == [raw["id"] for raw in expected]
        assert numbers[folder.id] == list(range(1, len(numbers[folder.id]) + 1))


async def test_the_first_failure_stops_the_walk_and_every_listing_can_resume(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=0, page_concurrency=1)
    before = client_tasks()
    listings = {name: client.assets.list(per_page=2) for name in ("a", "b")}
    seen: dict[str, list[Any]] = {name: [] for name in listings}
    stopped = walk(listings, buffer=2)

    async def drain() -> None:
        async with stopped as pages:
            async for name, page in pages:
                if not any(seen.values()):  # pages are queued by now but not handed out
                    sandbox.faults.add(Fault.status(500), path="/api/assets", times=1)
                seen[name] += [asset.id for asset in page.items]
                await asyncio.sleep(0.02)  # a slow consumer: the queue fills, drivers wait

    with pytest.raises(ServerError):
        await drain()

    assert client_tasks() == before
    every = [raw["id"] for raw in sandbox.items("/api/assets")]
    for name in listings:
        token = stopped.next_tokens[name]
        assert token is not None
        rest = await client.assets.list().resume_from(token).collect()
        assert seen[name] + [asset.id for asset in rest] == every  # nothing lost or repeated


async def test_leaving_a_walk_early_cancels_what_is_in_flight(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    before = client_tasks()
    listings = {n: client.templates.list(per_page=2) for n in range(5)}

    async with walk(listings) as pages:
        async for _ in pages:
            break

    assert client_tasks() == before
