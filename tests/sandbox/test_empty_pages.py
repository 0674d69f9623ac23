"""Empty pages that say more follow: the sandbox serves them (`empty_pages`) in every shape that
can point on, and a listing goes past them to exactly the server's items."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest

from cliquify_async import CliquifyClient
from cliquify_async.sandbox import SandboxConfig
from cliquify_async.sandbox._pagination import PageRequest, decode_cursor, encode_cursor, render
from tests.conftest import ClientFactory, SandboxFactory

POINTING: tuple[str, ...] = ("resource", "cursor_resource", "flat", "simple", "cursor")
"""The shapes whose pages can say more follow, hence can be empty in the middle."""
ITEMS = [{"id": n} for n in range(1, 24)]  # 23 items: five pages of five
REQUEST = PageRequest(path="http://h/api/assets", query=(("per_page", "5"),), per_page=5)


def following(body: Any) -> PageRequest | None:
    """The request for the page after `body`, as its next link says; None at the end."""
    link = body["links"]["next"] if isinstance(body.get("links"), dict) else body["next_page_url"]
    if link is None:
        return None
    if "next_cursor" in body.get("meta", body):
        return attrs.evolve(REQUEST, cursor=link.rpartition("cursor=")[2])
    return attrs.evolve(REQUEST, page=int(link.rpartition("page=")[2]))


def walk(shape: Any, empty: set[int], items: list[dict[str, Any]]) -> list[list[int]]:
    """The ids of each page of a walk of `items` rendered in `shape`, from the first page on."""
    pages: list[list[int]] = []
    request: PageRequest | None = REQUEST
    while request is not None:
        body = render(shape, items, request, frozenset(empty))
        pages.append([item["id"] for item in body["data"]])
        request = following(body)
    return pages


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", POINTING)
def test_empty_positions_come_between_the_pages_and_lose_nothing(shape: str) -> None:
    ids = list(range(1, 24))
    full = [ids[:5], ids[5:10], ids[10:15], ids[15:20], ids[20:]]

    assert walk(shape, set(), ITEMS) == full
    assert walk(shape, {1}, ITEMS) == [[], *full]
    assert walk(shape, {2, 3, 6}, ITEMS) == [full[0], [], [], full[1], full[2], [], *full[3:]]
    assert walk(shape, {6, 9}, ITEMS) == full  # past the last page: never reached
    assert walk(shape, {1}, []) == [[], []]


def test_an_empty_numbered_page_keeps_the_count_and_positions_of_the_rest() -> None:
    empty = frozenset({1, 3})
    first = render("flat", ITEMS, REQUEST, empty)
    fourth = render("flat", ITEMS, attrs.evolve(REQUEST, page=4), empty)

    assert (first["data"], first["from"], first["to"], first["last_page"]) == ([], None, None, 7)
    assert first["next_page_url"] == "http://h/api/assets?per_page=5&page=2"
    assert (fourth["data"], fourth["from"], fourth["to"]) == (ITEMS[5:10], 6, 10)
    assert (fourth["total"], fourth["current_page"]) == (23, 4)


def test_an_empty_first_cursor_page_leads_to_the_first_items() -> None:
    first = render("cursor", ITEMS, REQUEST, frozenset({1}))

    assert (first["data"], first["prev_cursor"]) == ([], None)
    assert decode_cursor(first["next_cursor"]) is None  # no item yet: from the start
    second = render(
        "cursor", ITEMS, attrs.evolve(REQUEST, cursor=first["next_cursor"]), frozenset({1})
    )
    assert second["data"] == ITEMS[:5]


def test_without_empty_pages_cursors_stay_laravel_s() -> None:
    assert render("cursor", ITEMS, REQUEST)["next_cursor"] == encode_cursor(5, forward=True)


@pytest.mark.parametrize("shape", ["data", "bare"])
def test_shapes_that_cannot_point_on_have_no_empty_pages(shape: Any) -> None:
    assert render(shape, ITEMS, REQUEST, frozenset({1})) == render(shape, ITEMS, REQUEST)


@pytest.mark.parametrize("positions", [[0], [-1], [True], ["2"], [1.0]])
def test_empty_pages_are_positions_from_one(positions: list[Any]) -> None:
    with pytest.raises(ValueError, match="empty_pages"):
        SandboxConfig(empty_pages=positions)


# --- a listing through the client -------------------------------------------------------------


@pytest.mark.parametrize("empty", [{1}, {2}, {2, 3, 4}, {1, 2, 7, 8}])
@pytest.mark.parametrize("shape", POINTING)
async def test_a_listing_goes_past_empty_pages_to_exactly_the_server_s_items(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str, empty: set[int]
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=47, pagination=shape, empty_pages=empty)
    client = make_client(sandbox)

    assets = await client.assets.list(per_page=10).undecoded().collect()

    assert assets == sandbox.items("/api/assets")
    assert sandbox.stats.count("/api/assets") == 5 + len(empty)


@pytest.mark.parametrize("options", [{"page_concurrency": 4}, {"prefetch": True}])
@pytest.mark.parametrize("shape", POINTING)
async def test_pages_read_ahead_past_empty_ones_come_in_order(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str, options: dict[str, Any]
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=47, pagination=shape, empty_pages={1, 3})
    client = make_client(sandbox, **options)

    pages = [page async for page in client.assets.list(per_page=10).pages()]

    assert [len(page.items) for page in pages] == [0, 10, 0, 10, 10, 10, 7]
    assert [item for page in pages for item in page.raw] == sandbox.items("/api/assets")
    assert pages[-1].next_token is None


@pytest.mark.parametrize("shape", POINTING)
async def test_a_filtered_listing_keeps_its_filter_past_an_empty_page(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, empty_pages={1, 2})
    client = make_client(sandbox)

    assets = await client.assets.list(folder_id=2, per_page=3).undecoded().collect()

    assert assets and assets == sandbox.items("/api/assets", folder_id=2)


async def test_a_listing_resumes_from_the_token_of_an_empty_page(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination="cursor", empty_pages={2})
    client = make_client(sandbox)
    listing = client.assets.list(per_page=50)

    first = await listing.next_page()
    empty = await listing.next_page()
    assert first is not None and empty is not None and empty.items == []
    assert empty.next_token is not None
    rest = await listing.resume_from(empty.next_token).undecoded().collect()

    assert [asset.id for asset in first.items] + [item["id"] for item in rest] == [
        item["id"] for item in sandbox.items("/api/assets")
    ]


@pytest.mark.parametrize("shape", POINTING)
async def test_following_empty_pages_is_logged_once_per_listing(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    shape: str,
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, empty_pages={1, 3, 4, 6})
    client = make_client(sandbox)
    caplog.set_level(logging.INFO, logger="cliquify_async.pagination")

    for _ in range(2):
        assert len(await client.assets.list(per_page=30).collect()) == 120

    lines = [r for r in caplog.records if r.name == "cliquify_async.pagination"]
    assert len(lines) == 2  # one per listing, however many empty pages it had
    assert all(r.levelno == logging.INFO for r in lines)
    assert "/api/assets" in lines[0].getMessage()
    assert "empty page" in lines[0].getMessage()


async def test_a_listing_without_empty_pages_logs_nothing(
    client: CliquifyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cliquify_async.pagination")
    assert len(await client.assets.list(per_page=30).collect()) == 120
    assert [r for r in caplog.records if r.name == "cliquify_async.pagination"] == []


@pytest.mark.parametrize("shape", ["data", "bare"])
async def test_an_unpaginated_list_is_served_whole(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination=shape, empty_pages={1, 2})
    client = make_client(sandbox)

    assert await client.assets.list().undecoded().collect() == sandbox.items("/api/assets")
    assert sandbox.stats.count("/api/assets") == 1
