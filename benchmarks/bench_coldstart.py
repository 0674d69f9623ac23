"""Benchmark 5 (cold start): 1000 concurrent first calls on a fresh client.

Every call lists /api/folders (one page of 8 folders) with no token in hand. The sandbox has
its rate limit off (1000 calls under a 60-per-window limit would measure the limit, not the
start), so the SDK runs with requests_per_minute=None and (a) without a limiter.

(a) is written the naive way: each task fetches a token if none is cached yet, and since all
1000 start before any token arrives, each fetches its own. (b) fetches one token, then makes
the 1000 calls one after another. Token requests are counted by the sandbox.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final, NamedTuple

import aiohttp

from cliquify_async import CliquifyClient

from ._baselines import Credentials, fetch_token, get_page
from ._contenders import credentials, measure
from ._report import Row, Table
from ._sandbox import SandboxProcess

CALLS: Final = 1000
FOLDERS: Final = "/api/folders"
RUN_LIMIT: Final = 60.0


class Timeline(NamedTuple):
    """Seconds from the start to the first call's items and to the last call's."""

    first: float
    last: float


def _timeline(started: float, done: list[float]) -> Timeline:
    if len(done) != CALLS:
        raise RuntimeError(f"{len(done)} of {CALLS} calls finished")
    return Timeline(min(done) - started, max(done) - started)


async def sdk_cold(creds: Credentials) -> Timeline:
    started = time.monotonic()
    done: list[float] = []
    async with CliquifyClient(
        creds.client_id, creds.client_secret, base_url=creds.base_url, requests_per_minute=None
    ) as client:

        async def call() -> None:
            if await client.folders.list().collect():
                done.append(time.monotonic())

        async with asyncio.TaskGroup() as group:
            for _ in range(CALLS):
                group.create_task(call())
    return _timeline(started, done)


async def concurrent_cold(creds: Credentials) -> Timeline:
    started = time.monotonic()
    done: list[float] = []
    token: str | None = None
    url = f"{creds.base_url}{FOLDERS}"
    async with aiohttp.ClientSession() as session:

        async def call() -> None:
            nonlocal token
            if token is None:
                token = await fetch_token(session, creds)
            if (await get_page(session, url, None, token))["data"]:
                done.append(time.monotonic())

        await asyncio.gather(*(call() for _ in range(CALLS)))
    return _timeline(started, done)


async def sequential_cold(creds: Credentials) -> Timeline:
    started = time.monotonic()
    done: list[float] = []
    url = f"{creds.base_url}{FOLDERS}"
    async with aiohttp.ClientSession() as session:
        token = await fetch_token(session, creds)
        for _ in range(CALLS):
            if (await get_page(session, url, None, token))["data"]:
                done.append(time.monotonic())
    return _timeline(started, done)


def coldstart() -> Table:
    started = time.monotonic()
    tokens: list[int] = []
    api: list[int] = []
    timelines: list[Timeline] = []
    with SandboxProcess(templates=0, rate_limit=None) as server:
        creds = credentials(server)
        for contender in (sdk_cold, concurrent_cold, sequential_cold):
            server.reset()
            timelines.append(measure(contender(creds), RUN_LIMIT).value)
            records = server.records()
            tokens.append(sum(r.path == "/oauth/access-token" for r in records))
            api.append(sum(r.path.startswith("/api/") for r in records))
    sdk, concurrent, sequential = timelines
    table = Table(
        5,
        f"Cold start: {CALLS} concurrent first calls on a fresh client",
        [
            f"each call: GET {FOLDERS} (one page); sandbox in its own process, rate limit off; "
            "SDK requests_per_minute=None, (a) without a limiter",
            "(a) naive token cache: a task fetches a token when none is cached yet; "
            f"(b) one token, then the {CALLS} calls one after another",
        ],
    )
    table.add(
        Row(
            label="token requests (sandbox)",
            values=(tokens[0], tokens[1], tokens[2]),
            fmt="{}",
            target="= 1",
            verdict=tokens[0] == 1,
        )
    )
    table.add(Row(label="/api requests", values=(api[0], api[1], api[2]), fmt="{}"))
    table.add(
        Row(
            label="time to first item, ms",
            values=(sdk.first * 1000, concurrent.first * 1000, sequential.first * 1000),
            fmt="{:.1f}",
        )
    )
    table.add(
        Row(
            label=f"time to all {CALLS} calls done, s",
            values=(sdk.last, concurrent.last, sequential.last),
            fmt="{:.3f}",
        )
    )
    table.seconds = time.monotonic() - started
    return table
