"""Error bodies become typed exceptions; transient failures are retried an exact number of times."""

from __future__ import annotations

import pytest

from cliquify_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    CliquifyClient,
    CompanyNotFoundError,
    InsufficientScopeError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
)
from cliquify_async.pytest_plugin import fast_retries
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory


async def test_a_missing_scope_is_insufficient_scope(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, scopes=["profile:read", "assets:read"])
    client = make_client(sandbox)

    with pytest.raises(InsufficientScopeError) as caught:
        await client.brand_kit.logos().collect()

    assert caught.value.status == 403
    assert caught.value.message == "Token does not have the required scope."
    assert sandbox.stats.count("/api/brand-kit/logos") == 1  # never retried


async def test_a_missing_company_is_company_not_found(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, company_exists=False)
    client = make_client(sandbox)

    with pytest.raises(CompanyNotFoundError, match="Company not found"):
        await client.templates.list().collect()
    assert sandbox.stats.count("/api/templates") == 1


async def test_validation_errors_carry_the_fields(sandbox: Sandbox, client: CliquifyClient) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.assets.list(per_page="lots").collect()

    assert caught.value.status == 422
    assert caught.value.errors == {"per_page": ["The per page must be an integer."]}
    assert sandbox.stats.count("/api/assets") == 1


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_a_persistent_503_is_retried_exactly_max_retries_times(
    sandbox: Sandbox, make_client: ClientFactory, max_retries: int
) -> None:
    client = make_client(sandbox, max_retries=max_retries)
    sandbox.faults.add(Fault.status(503), path="/api/assets", times=10)

    with pytest.raises(ServerError) as caught:
        await client.assets.list().collect()

    assert caught.value.status == 503
    assert sandbox.stats.count("/api/assets") == max_retries + 1
    assert client.stats.retries == max_retries


async def test_with_options_sets_retries_per_call(sandbox: Sandbox, client: CliquifyClient) -> None:
    sandbox.faults.add(Fault.status(502), path="/api/folders", times=10)

    with pytest.raises(ServerError):
        await client.with_options(max_retries=fast_retries(1)).folders.list().collect()

    assert sandbox.stats.count("/api/folders") == 2


async def test_a_failure_in_the_middle_of_a_listing_loses_nothing(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    paginator = client.assets.list(per_page=10)
    first = await paginator.collect(max_items=50)
    sandbox.faults.add(Fault.status(503, retry_after=0), path="/api/assets", times=2)
    sandbox.faults.add(Fault.status(429, retry_after=0), path="/api/assets", times=1)
    rest = [asset async for asset in paginator]

    ids = [a.id for a in first + rest]
    assert ids == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert client.stats.retries == 3


async def test_a_listing_survives_errors_beyond_max_retries_and_resumes(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    # One page at a time, so the queued faults meet the page after the first twenty items.
    client = make_client(sandbox, max_retries=1, page_concurrency=1)
    paginator = client.assets.list(per_page=10)
    first = await paginator.collect(max_items=20)
    sandbox.faults.add(Fault.status(429, retry_after=0), path="/api/assets", times=2)

    with pytest.raises(RateLimitError) as caught:
        await paginator.collect()
    assert caught.value.retry_after == 0
    token = paginator.next_token
    assert token is not None

    rest = await client.assets.list().resume_from(token).collect()
    ids = [a.id for a in first + rest]
    assert ids == [raw["id"] for raw in sandbox.items("/api/assets")]


async def test_a_retry_after_beyond_the_cap_is_raised_not_slept(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.status(429, retry_after=3600), path="/api/tags", times=1)

    with pytest.raises(RateLimitError) as caught:
        await client.templates.tags().collect()

    assert caught.value.retry_after == 3600
    assert sandbox.stats.count("/api/tags") == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_never_retried(
    sandbox: Sandbox, client: CliquifyClient, status: int
) -> None:
    sandbox.faults.add(Fault.status(status, body={"message": "no"}), path="/api/folders", times=3)

    with pytest.raises(APIStatusError) as caught:
        await client.folders.list().collect()

    assert caught.value.status == status
    # A 401 gets its one replay with a new token; nothing else is sent twice.
    assert sandbox.stats.count("/api/folders") == (2 if status == 401 else 1)


async def test_400_is_bad_request(sandbox: Sandbox, client: CliquifyClient) -> None:
    sandbox.faults.add(Fault.status(400, body={"message": "Bad."}), path="/api/folders")
    with pytest.raises(BadRequestError, match="Bad"):
        await client.folders.list().collect()


async def test_an_html_gateway_page_is_a_server_error_with_its_text(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=0)
    sandbox.faults.add(Fault.html(502), path="/api/templates")

    with pytest.raises(ServerError) as caught:
        await client.templates.list().collect()

    assert caught.value.status == 502
    assert "Bad Gateway" in str(caught.value.body)


@pytest.mark.parametrize(
    "fault",
    [Fault.malformed_json(), Fault.empty_body(), Fault.body({"data": {"id": 1}})],
    ids=["malformed", "empty", "data-not-a-list"],
)
async def test_an_unexpected_success_body_is_a_decode_error(
    sandbox: Sandbox, client: CliquifyClient, fault: Fault
) -> None:
    sandbox.faults.add(fault, path="/api/templates")

    with pytest.raises(ResponseDecodeError):
        await client.templates.list().collect()
    # Nothing is stuck: the same listing works on the next call.
    assert len(await client.templates.list().collect()) == len(sandbox.items("/api/templates"))


async def test_json_with_another_content_type_is_still_read(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    sandbox.faults.add(Fault.wrong_content_type(), path="/api/tags")
    tags = await client.templates.tags().collect()
    assert [t.id for t in tags] == [raw["id"] for raw in sandbox.items("/api/tags")]


@pytest.mark.parametrize(
    "fault", [Fault.reset(), Fault.reset_mid_body(), Fault.truncated()], ids=str
)
async def test_dropped_connections_are_retried(
    sandbox: Sandbox, client: CliquifyClient, fault: Fault
) -> None:
    sandbox.faults.add(fault, path="/api/folders", times=2)

    folders = await client.folders.list().collect()

    assert [f.id for f in folders] == [raw["id"] for raw in sandbox.items("/api/folders")]
    assert client.stats.retries >= 1


async def test_dropped_connections_beyond_max_retries_are_connection_errors(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, max_retries=1)
    sandbox.faults.add(Fault.reset(), path="/api/folders", times=10)

    with pytest.raises(APIConnectionError):
        await client.folders.list().collect()


async def test_a_slow_response_times_out_and_is_retried(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, timeout=0.3, max_retries=1)
    sandbox.faults.add(Fault.slow(1.0), path="/api/folders", times=2)

    with pytest.raises(APITimeoutError):
        await client.folders.list().collect()
    # The sandbox records a slow request only once it answers, so count on the client side.
    assert client.stats.requests == 2
    assert client.stats.retries == 1

    sandbox.faults.add(Fault.slow(1.0), path="/api/folders", times=1)
    folders = await client.folders.list().collect()
    assert len(folders) == len(sandbox.items("/api/folders"))
