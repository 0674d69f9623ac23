"""Session lifecycle, configuration from the environment, and cancellation leaving no trace."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cliquify_async import (
    ClientClosedError,
    CliquifyClient,
    ConfigurationError,
    Harvester,
    JSONLinesSink,
    SQLiteSink,
)
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory


async def test_a_closed_client_refuses_to_work(sandbox: Sandbox, client: CliquifyClient) -> None:
    pending = client.assets.list()
    await client.aclose()

    assert client.closed
    with pytest.raises(ClientClosedError):
        client.assets.list()
    with pytest.raises(ClientClosedError):
        await pending.collect()
    await client.aclose()  # idempotent


async def test_a_callers_session_is_used_and_left_open(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        async with CliquifyClient(
            sandbox.client_id,
            sandbox.client_secret,
            base_url=sandbox.url,
            session=session,
            requests_per_minute=None,
        ) as client:
            folders = await client.folders.list().collect()
        assert not session.closed
        assert len(folders) == len(sandbox.items("/api/folders"))


async def test_credentials_and_base_url_come_from_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIQUIFY_CLIENT_ID", sandbox.client_id)
    monkeypatch.setenv("CLIQUIFY_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("CLIQUIFY_BASE_URL", sandbox.url)

    async with CliquifyClient(requests_per_minute=None) as client:
        kits = await client.brand_kit.list().collect()

    assert len(kits) == len(sandbox.items("/api/brand-kit"))


def test_missing_credentials_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIQUIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("CLIQUIFY_CLIENT_SECRET", raising=False)

    with pytest.raises(ConfigurationError, match="CLIQUIFY_CLIENT_SECRET"):
        CliquifyClient("an-id")


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        CliquifyClient("id", "secret", base_url="http://api.example.test")


async def test_a_client_works_without_async_with(sandbox: Sandbox) -> None:
    client = CliquifyClient(
        sandbox.client_id, sandbox.client_secret, base_url=sandbox.url, requests_per_minute=None
    )
    try:
        assert len(await client.folders.list().collect()) == len(sandbox.items("/api/folders"))
    finally:
        await client.aclose()


async def test_cancelled_requests_leave_the_client_usable(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, requests_per_minute=600)
    sandbox.faults.add(Fault.slow(5.0), path="/api/assets", times=5)
    # Five tasks inside slow requests, twenty more queued at the gate: cancel them all.
    tasks = [asyncio.create_task(client.assets.list().collect()) for _ in range(25)]
    await asyncio.sleep(0.6)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)

    folders = await asyncio.wait_for(client.folders.list().collect(), timeout=5)

    assert len(folders) == len(sandbox.items("/api/folders"))
    assert not client._transport.gate.cooling_down


async def test_cancelled_waiters_do_not_cancel_the_shared_token_fetch(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.slow(0.3), path="/oauth/access-token", times=1)
    tasks = [asyncio.create_task(client.folders.list().collect()) for _ in range(10)]
    await asyncio.sleep(0.1)
    for task in tasks[:9]:
        task.cancel()

    folders = await tasks[9]
    await asyncio.gather(*tasks[:9], return_exceptions=True)

    assert len(folders) == len(sandbox.items("/api/folders"))
    assert sandbox.stats.token_requests == 1


async def test_closing_during_a_token_fetch_gives_waiters_client_closed(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.slow(2.0), path="/oauth/access-token", times=1)
    waiters = [asyncio.create_task(client.folders.list().collect()) for _ in range(5)]
    await asyncio.sleep(0.2)

    await client.aclose()
    results = await asyncio.gather(*waiters, return_exceptions=True)

    assert all(isinstance(result, ClientClosedError) for result in results)


async def test_a_callers_session_still_gets_the_clients_timeout(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    from cliquify_async import APITimeoutError

    async with aiohttp.ClientSession() as session:
        client = make_client(sandbox, session=session, timeout=0.2, max_retries=0)
        sandbox.faults.add(Fault.slow(1.5), path="/api/folders", times=1)
        with pytest.raises(APITimeoutError):
            await client.folders.list().collect()
        await client.aclose()


async def test_close_is_a_deprecated_name_of_aclose(tmp_path: Path) -> None:
    sandbox = await Sandbox().start()
    sinks: list[Any] = [JSONLinesSink(tmp_path / "jsonl"), SQLiteSink(tmp_path / "export.db")]
    for sink in sinks:
        await sink.open(base_url=sandbox.url, client_id=sandbox.client_id)

    for thing in [sandbox, *sinks]:
        with pytest.warns(DeprecationWarning, match=r"close\(\) is deprecated; use aclose\(\)"):
            await thing.close()

    assert repr(sandbox).startswith("<Sandbox closed")
    with pytest.raises(RuntimeError, match="not open"):
        await sinks[1].start("assets")


async def test_a_sink_of_the_old_protocol_is_closed_by_its_close(
    sandbox: Sandbox, make_client: ClientFactory, tmp_path: Path
) -> None:
    class OldSink:
        """A sink written when the protocol's last step was `close()`."""

        def __init__(self) -> None:
            self.inner = JSONLinesSink(tmp_path)
            self.closed = False

        def __getattr__(self, name: str) -> Any:
            if name == "aclose":
                raise AttributeError(name)
            return getattr(self.inner, name)

        async def close(self) -> None:
            await self.inner.aclose()
            self.closed = True

    old = OldSink()
    with pytest.warns(DeprecationWarning, match="HarvestSink.close is deprecated"):
        await Harvester(make_client(sandbox), old, resources=["colors"]).run()  # type: ignore[arg-type]
    assert old.closed
