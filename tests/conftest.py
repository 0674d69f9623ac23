"""Shared fixtures: a sandbox server on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from cliquify_async import CliquifyClient
from cliquify_async.pytest_plugin import sandbox_client
from cliquify_async.sandbox import Sandbox
from tests import redis_server

pytest_plugins = ["pytester"]

SandboxFactory = Callable[..., Awaitable[Sandbox]]
ClientFactory = Callable[..., CliquifyClient]


NO_SKIP = "CLIQUIFY_TEST_NO_SKIP"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With $CLIQUIFY_TEST_NO_SKIP set (CI sets it), a skip fails the run: CI provides all."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if os.environ.get(NO_SKIP) and skipped:
        for report in skipped:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
            reporter.write_line(f"skipped under ${NO_SKIP}: {report.nodeid}: {reason}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def need_redis_server() -> None:
    """Skip the calling test, saying what to install, when no redis-server is on PATH."""
    if shutil.which("redis-server") is None:
        pytest.skip(redis_server.MISSING)


@pytest.fixture
def own_redis() -> Iterator[redis_server.RedisServer]:
    """A redis-server of this test's own, which it may stop and restart."""
    need_redis_server()
    with redis_server.running() as server:
        yield server


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
        await sandbox.aclose()


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
    """Tasks of this loop other than the in-process sandbox's connection handlers and each
    open client's one task that closes its session when the loop ends."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if not any(
            part in getattr(task.get_coro(), "__qualname__", "")
            for part in ("RequestHandler", "_close_with_the_loop")
        )
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
