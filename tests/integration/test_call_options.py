"""Per-call control: deadlines that count the wait at the gate, priority at the gate, headers
and query per call or per client, and what a successful answer said (status, headers,
request id, the budget left)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

from cliquify_async import (
    APITimeoutError,
    CliquifyClient,
    ConfigurationError,
    DeadlineExceededError,
    RetryPolicy,
    __version__,
)
from cliquify_async.sandbox import Fault
from tests.conftest import ClientFactory, SandboxFactory, serving
from tests.hostile.api import NORMAL_PAGE, HostileAPI, hostile_client, lists_normally


async def test_a_deadline_counts_the_wait_at_the_gate(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    client = make_client(sandbox, requests_per_minute=60)  # a permit a second
    await client.folders.list().collect()  # the first permit: the next is a second away

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught:
        await client.with_options(timeout=0.3).folders.list().collect()

    assert time.monotonic() - started < 0.9  # it did not wait for the permit
    assert isinstance(caught.value, APITimeoutError)
    assert caught.value.gate_wait >= 0.25
    assert caught.value.attempts == 0
    assert "waiting at the rate gate" in str(caught.value)
    assert sandbox.stats.count("/api/folders") == 1
    assert [f.id for f in await client.folders.list().collect()]  # usable afterwards


async def test_a_deadline_counts_the_attempts_and_the_backoff(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    client = make_client(sandbox, max_retries=RetryPolicy(max_retries=10, backoff_cap=0.2))
    sandbox.faults.add(Fault.status(503), path="/api/folders", times=20)

    with pytest.raises(DeadlineExceededError) as caught:
        await client.with_options(timeout=0.5).folders.list().collect()

    assert caught.value.attempts >= 2
    assert caught.value.deadline == 0.5
    assert f"in {caught.value.attempts} attempts" in str(caught.value)


async def test_a_high_priority_call_goes_ahead_of_queued_pages(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=10, rate_window=1.0)
    client = make_client(sandbox, requests_per_minute=600)  # a permit every 0.1 s
    bulk = [asyncio.create_task(client.folders.list().collect()) for _ in range(12)]
    await asyncio.sleep(0.15)  # the queue has formed

    urgent = client.with_options(priority="high", extra_query={"urgent": "1"})
    await urgent.folders.list().collect()
    await asyncio.gather(*bulk)

    arrivals = [r for r in sandbox.stats.requests if r.path == "/api/folders"]
    position = next(n for n, r in enumerate(arrivals) if r.query.get("urgent") == "1")
    # Asked after two or three bulk calls had gone, it went with the next permit or the one
    # after (the turn it found already taken), ahead of the nine still queued.
    assert position <= 4
    assert sandbox.stats.max_in_window(1.0) <= 10
    assert sandbox.stats.rate_limited == 0


async def test_headers_and_query_per_client_and_per_call() -> None:
    api = HostileAPI()
    async with hostile_client(
        api, default_headers={"X-Gateway-Key": "gw-1"}, app_name="brand-sync/2.1"
    ) as client:
        tagged = client.with_options(
            headers={"traceparent": "00-abc-def-01", "x-gateway-key": "gw-2"},
            extra_query={"locale": "de"},
        )
        await tagged.assets.list().collect()
        await client.assets.list().collect()

    first, second = api.requests
    assert first.headers["User-Agent"] == f"cliquify-async/{__version__} brand-sync/2.1"
    assert first.headers["traceparent"] == "00-abc-def-01"
    assert first.headers["X-Gateway-Key"] == "gw-2"  # the call's replaces the client's
    assert first.query["locale"] == "de"
    assert first.headers["Authorization"].startswith("Bearer ")
    assert second.headers["X-Gateway-Key"] == "gw-1"  # the client itself is unchanged
    assert "traceparent" not in second.headers and "locale" not in second.query


@pytest.mark.parametrize(
    "options",
    [
        {"headers": {"Authorization": "Bearer mine"}},
        {"headers": {"accept": "text/html"}},
        {"headers": {"X-Injected": "a\r\nX-Other: b"}},
        {"headers": {"Authorization ": "Basic evil"}},
        {"headers": {"Host\t": "evil.example"}},
        {"headers": {"Content-Length": "10"}},
        {"headers": {"Transfer-Encoding": "chunked"}},
        {"headers": {"Cookie": "session=1"}},
        {"extra_query": {"page": 3}},
        {"timeout": 0},
        {"timeout": float("nan")},
        {"priority": "urgent"},
    ],
)
async def test_options_that_would_break_a_call_are_refused(options: dict[str, object]) -> None:
    async with hostile_client(HostileAPI()) as client:
        with pytest.raises(ConfigurationError):
            client.with_options(**options)  # type: ignore[arg-type]
        await lists_normally(client)


async def test_a_page_carries_its_status_headers_and_request_id() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            NORMAL_PAGE,
            headers={
                "X-Request-Id": "req-42",
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Remaining": "41",
                "X-RateLimit-Reset": "30",
            },
        )

    async with hostile_client(HostileAPI(answer)) as client:
        assert client.rate_budget is None
        page = await client.assets.list().next_page()
        budget = client.rate_budget

    assert page is not None
    assert (page.status, page.request_id) == (200, "req-42")
    assert page.headers["X-RateLimit-Remaining"] == "41"
    assert "X-RateLimit" not in repr(page)  # the headers are there to read, not to print
    assert budget is not None
    assert (budget.limit, budget.remaining) == (60, 41)
    assert budget.resets_at is not None
    assert budget.resets_at - budget.seen_at == pytest.approx(30)


async def test_a_single_object_call_returns_its_raw_answer(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    client = make_client(sandbox)

    raw = await client.with_raw_response.auth.introspect()

    assert raw.status == 200
    assert raw.request_id is not None and len(raw.request_id) == 32
    assert raw.headers["Content-Type"].startswith("application/json")
    info = raw.parse()
    assert info == await client.auth.introspect()
    assert info.active
    assert "headers" not in repr(raw) and "body" not in repr(raw)


async def test_a_download_s_deadline_covers_every_hop(tmp_path: Path) -> None:
    async def slow_file(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(request.url.with_path("/storage/file")))

    api = HostileAPI(redirect)
    app = api.app()
    app.router.add_get("/storage/file", slow_file)
    async with (
        serving(app) as url,
        CliquifyClient(
            "id", "secret-0123456789", base_url=url, requests_per_minute=None, max_retries=0
        ) as client,
    ):
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await client.with_options(timeout=0.5).download(f"{url}/api/assets", tmp_path / "f")
        assert time.monotonic() - started < 2.0
