"""Shared fixtures: a sandbox server on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from cliquify_async import CliquifyClient
from cliquify_async.pytest_plugin import sandbox_client
from cliquify_async.sandbox import Sandbox

pytest_plugins = ["pytester"]

SandboxFactory = Callable[..., Awaitable[Sandbox]]
ClientFactory = Callable[..., CliquifyClient]


@pytest.fixture
async def make_sandbox() -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with any options; all are closed when the test ends."""
    started: list[Sandbox] = []

    async def make(**options: Any) -> Sandbox:
        sandbox = Sandbox(**options)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        await sandbox.close()


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox with default data and no rate limit."""
    return await make_sandbox(rate_limit=None)


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Clients for a sandbox, with the rate gate off and fast retries unless told otherwise."""
    clients: list[CliquifyClient] = []

    def make(sandbox: Sandbox, **options: Any) -> CliquifyClient:
        client = sandbox_client(sandbox, **options)  # the plugin's: the same test defaults
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(sandbox: Sandbox, make_client: ClientFactory) -> CliquifyClient:
    """A client of the default sandbox."""
    return make_client(sandbox)


def client_tasks() -> int:
    """Tasks of this loop other than the in-process sandbox's connection handlers."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if "RequestHandler" not in getattr(task.get_coro(), "__qualname__", "")
    )


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on a free port of `host` (a loopback address); yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    try:
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
