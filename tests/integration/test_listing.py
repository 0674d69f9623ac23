"""Listing every endpoint against the sandbox: exact items, every pagination shape, resume."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import pytest

from cliquify_async import (
    Asset,
    AsyncPaginator,
    BrandKit,
    CliquifyClient,
    Color,
    Folder,
    Logo,
    Tag,
    Template,
)
from cliquify_async.sandbox import Sandbox, Shape
from tests.conftest import ClientFactory, SandboxFactory

SHAPES = get_args(Shape)

# SDK call -> (sandbox path, model): the contract's endpoint table, seen from the outside.
CALLS: dict[str, tuple[str, type[Any]]] = {
    "templates.list": ("/api/templates", Template),
    "templates.tags": ("/api/tags", Tag),
    "folders.list": ("/api/folders", Folder),
    "assets.list": ("/api/assets", Asset),
    "assets.tags": ("/api/assets/tags", Tag),
    "brand_kit.list": ("/api/brand-kit", BrandKit),
    "brand_kit.logos": ("/api/brand-kit/logos", Logo),
    "brand_kit.colors": ("/api/brand-kit/colors", Color),
}


def requests_to(sandbox: Sandbox, path: str) -> int:
    return sum(1 for request in sandbox.stats.requests if request.path == path)


def call(client: CliquifyClient, name: str, **filters: Any) -> AsyncPaginator[Any]:
    namespace, method = name.split(".")
    paginator: AsyncPaginator[Any] = getattr(getattr(client, namespace), method)(**filters)
    return paginator


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(CALLS))
async def test_every_endpoint_in_every_shape_yields_the_exact_dataset(
    make_sandbox: SandboxFactory, make_client: ClientFactory, name: str, shape: str
) -> None:
    path, model = CALLS[name]
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, assets=45, templates=23)
    client = make_client(sandbox)

    items = [item async for item in call(client, name, per_page=10)]

    assert all(isinstance(item, model) for item in items)
    assert [item.id for item in items] == [raw["id"] for raw in sandbox.items(path)]
    # One request per page, and none past the last: every shape says where the list ends.
    pages = 1 if shape in ("data", "bare") else max(1, -(-len(items) // 10))
    assert requests_to(sandbox, path) == pages


@pytest.mark.parametrize("shape", ["resource", "flat"])
async def test_pages_report_the_servers_totals(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, templates=23)
    client = make_client(sandbox)

    pages = [page async for page in client.templates.list(per_page=10).pages()]

    assert [page.number for page in pages] == [1, 2, 3]
    assert [len(page.items) for page in pages] == [10, 10, 3]
    assert {page.total for page in pages} == {23}
    assert {page.last_page for page in pages} == {3}
    assert {page.per_page for page in pages} == {10}
    assert pages[-1].next_token is None
    assert pages[0].next_token is not None


async def test_filters_pass_through_as_query_parameters(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    folder_id = sandbox.dataset["folders"][1]["id"]

    assets = await client.assets.list(folder_id=folder_id, per_page=5).collect()

    expected = sandbox.items("/api/assets", folder_id=folder_id)
    assert expected, "the sandbox should put assets in every folder"
    assert [a.id for a in assets] == [raw["id"] for raw in expected]
    assert {a.folder_id for a in assets} == {folder_id}
    # The filter survives onto every next-page request.
    asset_requests = [r for r in sandbox.stats.requests if r.path == "/api/assets"]
    assert asset_requests and all(r.query["folder_id"] == str(folder_id) for r in asset_requests)


async def test_collect_stops_at_max_items_without_fetching_more_pages(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    assets = await client.assets.list(per_page=10).collect(max_items=15)

    assert [a.id for a in assets] == [raw["id"] for raw in sandbox.items("/api/assets")[:15]]
    assert requests_to(sandbox, "/api/assets") == 2


async def test_unknown_fields_are_kept_and_missing_ones_are_none(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, extra_fields=True, drop_fields=("url", "size"))
    client = make_client(sandbox)

    assets = await client.assets.list().collect()

    raw = sandbox.items("/api/assets")
    unknown = set(raw[0]) - {a.name for a in Asset.__attrs_attrs__}
    assert unknown, "the sandbox should add unknown fields"
    for asset, item in zip(assets, raw, strict=True):
        assert asset.url is None and asset.size is None
        assert asset.extra == {key: item[key] for key in unknown}


async def test_a_listing_resumes_from_a_saved_page_token(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    paginator = client.assets.list(per_page=25)
    first = await paginator.pages().__anext__()
    token = first.next_token
    assert token is not None and paginator.next_token == token

    rest = await client.assets.list().resume_from(token).collect()

    expected = [raw["id"] for raw in sandbox.items("/api/assets")]
    assert [a.id for a in first.items] + [a.id for a in rest] == expected


async def test_a_token_of_another_endpoint_is_refused(client: CliquifyClient) -> None:
    from cliquify_async import ConfigurationError

    with pytest.raises(ConfigurationError):
        client.assets.list().resume_from("/api/templates?page=2")


async def test_concurrent_consumers_of_one_paginator_share_its_items(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    paginator = client.assets.list(per_page=7)
    seen: list[Any] = []

    async def worker() -> None:
        async for asset in paginator:
            seen.append(asset.id)
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(5)))

    assert sorted(seen) == sorted(raw["id"] for raw in sandbox.items("/api/assets"))
    assert requests_to(sandbox, "/api/assets") == -(-len(seen) // 7)


async def test_break_then_aclose_ends_the_listing(sandbox: Sandbox, client: CliquifyClient) -> None:
    async with client.assets.list(per_page=10) as paginator:
        async for _ in paginator:
            break
    assert paginator.next_token is None
    assert [a async for a in paginator] == []
    assert requests_to(sandbox, "/api/assets") == 1


async def test_aclose_ends_the_listing_even_with_a_fetch_in_flight(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    from cliquify_async.sandbox import Fault

    sandbox.faults.add(Fault.slow(0.3), path="/api/assets", times=1)
    paginator = client.assets.list(per_page=10)
    first = asyncio.create_task(paginator.__anext__())
    await asyncio.sleep(0.1)
    await paginator.aclose()

    with pytest.raises(StopAsyncIteration):
        await first
    assert [asset async for asset in paginator] == []


async def test_pages_after_items_start_with_the_rest_of_the_current_page(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    paginator = client.assets.list(per_page=10)
    first = await paginator.__anext__()
    pages = [page async for page in paginator.pages()]

    ids = [first.id] + [asset.id for page in pages for asset in page.items]
    assert ids == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert len(pages[0].items) == len(pages[0].raw) == 9
    assert pages[0].raw[0]["id"] == pages[0].items[0].id
