"""The fault matrix: one test per way the network or the server can misbehave.

Each row checks the outcome (the exact items, or the exact typed error) and then that the same
client still works: a clean listing afterwards returns every item.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from cliquify_async import (
    APITimeoutError,
    AuthenticationError,
    CliquifyClient,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    UntrustedURLError,
)
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory


def ids(items: list[Any]) -> list[Any]:
    return [item.id for item in items]


def expected(sandbox: Sandbox, path: str) -> list[Any]:
    return [raw["id"] for raw in sandbox.items(path)]


async def assert_usable(client: CliquifyClient, sandbox: Sandbox) -> None:
    """The client recovered: a clean listing returns every item, promptly."""
    sandbox.faults.clear()
    folders = await asyncio.wait_for(client.folders.list().collect(), timeout=10)
    assert ids(folders) == expected(sandbox, "/api/folders")


@pytest.mark.parametrize(
    "fault",
    [Fault.reset(), Fault.reset_mid_body(), Fault.truncated()],
    ids=["reset-before-response", "reset-mid-body", "truncated-body"],
)
async def test_dropped_connections_are_retried_to_the_exact_items(
    sandbox: Sandbox, client: CliquifyClient, fault: Fault
) -> None:
    # times=2: aiohttp itself retries a GET once on a dropped keep-alive connection.
    sandbox.faults.add(fault, path="/api/assets", times=2)

    assets = await client.assets.list(per_page=20).collect()

    assert ids(assets) == expected(sandbox, "/api/assets")
    assert client.stats.retries >= 1
    await assert_usable(client, sandbox)


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_html_gateway_errors_are_retried_then_typed(
    sandbox: Sandbox, make_client: ClientFactory, status: int
) -> None:
    client = make_client(sandbox, max_retries=2)
    sandbox.faults.add(Fault.html(status), path="/api/assets", times=2)
    assert ids(await client.assets.list().collect()) == expected(sandbox, "/api/assets")

    sandbox.faults.add(Fault.html(status), path="/api/assets", times=3)
    with pytest.raises(ServerError) as caught:
        await client.assets.list().collect()

    assert caught.value.status == status
    assert "<html>" in caught.value.body
    assert caught.value.message.startswith(str(status))
    await assert_usable(client, sandbox)


async def test_a_503_with_retry_after_is_waited_out(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.status(503, retry_after=0.3), path="/api/tags", times=1)
    loop = asyncio.get_running_loop()
    started = loop.time()

    tags = await client.templates.tags().collect()

    assert loop.time() - started >= 0.3
    assert ids(tags) == expected(sandbox, "/api/tags")
    await assert_usable(client, sandbox)


async def test_a_response_slower_than_the_timeout(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, timeout=0.2, max_retries=1)
    sandbox.faults.add(Fault.slow(0.6), path="/api/tags", times=1)
    assert ids(await client.templates.tags().collect()) == expected(sandbox, "/api/tags")

    sandbox.faults.add(Fault.slow(0.6), path="/api/tags", times=2)
    with pytest.raises(APITimeoutError):
        await client.templates.tags().collect()
    await assert_usable(client, sandbox)


@pytest.mark.parametrize(
    "fault",
    [Fault.malformed_json(), Fault.empty_body(), Fault.body({"data": "not a list"})],
    ids=["malformed-json", "empty-body", "data-not-a-list"],
)
async def test_a_bad_success_body_is_a_decode_error_and_the_page_can_be_retried(
    sandbox: Sandbox, client: CliquifyClient, fault: Fault
) -> None:
    paginator = client.assets.list(per_page=20)
    first = await paginator.collect(max_items=20)
    sandbox.faults.add(fault, path="/api/assets", times=1)

    with pytest.raises(ResponseDecodeError):
        await paginator.collect()
    rest = await paginator.collect()  # the failed page is fetched again; nothing is lost

    assert ids(first + rest) == expected(sandbox, "/api/assets")
    await assert_usable(client, sandbox)


async def test_json_under_a_non_json_content_type_is_read(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.wrong_content_type(), path="/api/folders", times=1)
    assert ids(await client.folders.list().collect()) == expected(sandbox, "/api/folders")
    await assert_usable(client, sandbox)


async def test_items_missing_optional_fields_and_carrying_unknown_ones(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, extra_fields=True, drop_fields=("name", "created_at")
    )
    client = make_client(sandbox)

    templates = await client.templates.list().collect()

    assert ids(templates) == expected(sandbox, "/api/templates")
    raw = sandbox.items("/api/templates")
    for template, item in zip(templates, raw, strict=True):
        assert template.name is None and template.created_at is None
        assert template.extra and set(template.extra) <= set(item)
    await assert_usable(client, sandbox)


async def test_a_next_page_link_to_another_host_is_not_followed(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    body = {"data": [{"id": 1}], "current_page": 1, "next_page_url": "https://x.example/steal"}
    sandbox.faults.add(Fault.body(body), path="/api/folders", times=1)

    with pytest.raises(UntrustedURLError) as caught:
        await client.folders.list().collect()

    assert caught.value.url == "https://x.example/steal"
    assert sandbox.stats.count("/api/") == 1  # the faulted page only, nothing after it
    await assert_usable(client, sandbox)


async def test_a_next_page_link_on_another_scheme_is_fetched_from_the_api_origin(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    # The sandbox is plain http on loopback, so its mirror image is an https:// link.
    link = sandbox.url.replace("http://", "https://") + "/api/folders?per_page=100&page=2"
    body = {"data": [{"id": -1}], "current_page": 1, "last_page": 2, "next_page_url": link}
    sandbox.faults.add(Fault.body(body), path="/api/folders", times=1)

    folders = await client.folders.list().collect()

    assert ids(folders) == [-1]  # page 2 of the real data is empty at per_page=100
    second = [r for r in sandbox.stats.requests if r.path == "/api/folders"][-1]
    assert second.query == {"per_page": "100", "page": "2"}
    await assert_usable(client, sandbox)


async def test_a_next_page_link_that_repeats_forever_ends_the_listing(
    sandbox: Sandbox, client: CliquifyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cliquify_async")
    url = f"{sandbox.url}/api/folders?per_page=100"
    body = {"data": [{"id": 1}], "links": {"next": url}, "meta": {"current_page": 1}}
    sandbox.faults.add(Fault.body(body), path="/api/folders", times=50)

    folders = await asyncio.wait_for(client.folders.list().collect(), timeout=5)

    assert ids(folders) == [1]
    assert sandbox.stats.count("/api/folders") == 1
    assert any("repeats" in record.getMessage() for record in caplog.records)
    await assert_usable(client, sandbox)


async def test_a_server_that_refuses_every_token(sandbox: Sandbox, client: CliquifyClient) -> None:
    sandbox.faults.add(Fault.unauthorized(), path="/api/", times=2)

    with pytest.raises(AuthenticationError) as caught:
        await client.assets.list().collect()

    assert caught.value.status == 401
    assert sandbox.stats.token_requests == 2  # the first token and one refresh
    assert sandbox.stats.count("/api/") == 2  # the request and its one replay
    await assert_usable(client, sandbox)


async def test_the_token_endpoint_failing_while_100_tasks_wait(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=1)
    sandbox.faults.add(Fault.status(502), path="/oauth/access-token", times=2)

    results = await asyncio.gather(
        *(client.templates.tags().collect() for _ in range(100)), return_exceptions=True
    )

    assert all(isinstance(result, ServerError) for result in results)
    assert sandbox.stats.token_requests == 2  # one request per attempt, shared by all 100
    await assert_usable(client, sandbox)


async def test_a_token_revoked_mid_harvest_loses_nothing(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    paginator = client.assets.list(per_page=15)
    first = await paginator.collect(max_items=45)
    sandbox.revoke_all_tokens()
    rest = await paginator.collect()

    assert ids(first + rest) == expected(sandbox, "/api/assets")
    assert sandbox.stats.token_requests == 2
    await assert_usable(client, sandbox)


async def test_a_429_storm_longer_than_max_retries_is_resumable(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    # One page at a time, so the queued 429s meet the page after the first thirty items.
    client = make_client(sandbox, max_retries=2, page_concurrency=1)
    paginator = client.assets.list(per_page=15)
    first = await paginator.collect(max_items=30)
    sandbox.faults.add(Fault.status(429, retry_after=0.05), path="/api/assets", times=3)

    with pytest.raises(RateLimitError) as caught:
        await paginator.collect()

    assert caught.value.retry_after == pytest.approx(0.055)  # "0.05", read at the latest
    token = paginator.next_token
    assert token is not None
    rest = await client.assets.list().resume_from(token).collect()
    assert ids(first + rest) == expected(sandbox, "/api/assets")
    await assert_usable(client, sandbox)
