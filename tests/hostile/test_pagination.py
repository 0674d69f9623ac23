"""Hostile list responses: invented pages, repeats, endless empty pages, malformed links,
non-object items, absurd numbers. Each ends the listing with a typed error after every earlier
item was yielded once, and the same client then completes a normal listing."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from cliquify_async import (
    AsyncPaginator,
    CliquifyClient,
    CliquifyError,
    ConfigurationError,
    MalformedURLError,
    PaginationError,
    ResponseDecodeError,
    RetryPolicy,
    UntrustedURLError,
)
from cliquify_async._endpoints import FOLDERS
from cliquify_async._pagination.rules import MAX_EMPTY_PAGES, REMEMBERED_IDS, PageInfo, Tally
from cliquify_async._wire import MAX_URL_CHARS
from tests.conftest import serving

PATH = "/api/folders"
Respond = Callable[[int, web.Request], Any]
"""The body of the n-th (from 1) hostile request to PATH: JSON, raw JSON text, or a Response."""


def folders(*ids: int) -> list[dict[str, Any]]:
    """Folder items with these ids, as the server sends them."""
    return [{"id": n, "name": f"folder {n}"} for n in ids]


def pair(n: int) -> list[dict[str, Any]]:
    """Page n's two fresh items (ids 2n-1 and 2n)."""
    return folders(2 * n - 1, 2 * n)


def origin(request: web.Request) -> str:
    """The server's own origin, for absolute next links."""
    return str(request.url.origin())


def normal_page(request: web.Request) -> dict[str, Any]:
    """A well-behaved two-page flat listing, served for `?ok=1`."""
    page = int(request.query.get("page", "1"))
    following = f"{origin(request)}{PATH}?ok=1&page=2" if page == 1 else None
    return {
        "data": pair(page),
        "current_page": page,
        "last_page": 2,
        "per_page": 2,
        "total": 4,
        "next_page_url": following,
    }


@contextlib.asynccontextmanager
async def hostile(
    respond: Respond, **options: Any
) -> AsyncIterator[tuple[CliquifyClient, list[str]]]:
    """A client (with CliquifyClient `options`) of a loopback API whose PATH answers with
    `respond`, except for `?ok=1`. Yields the client and the path and query of each hostile
    request."""
    seen: list[str] = []

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t0k3n", "expires_in": 3600})

    async def listing(request: web.Request) -> web.Response:
        if request.query.get("ok") == "1":
            return web.json_response(normal_page(request))
        seen.append(request.path_qs)
        body = respond(len(seen), request)
        if isinstance(body, web.Response):
            return body
        if isinstance(body, str):
            return web.Response(text=body, content_type="application/json")
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/oauth/access-token", token)
    app.router.add_get(PATH, listing)
    async with (
        serving(app) as base_url,
        CliquifyClient(
            "id",
            "secret",
            base_url=base_url,
            requests_per_minute=None,
            max_retries=RetryPolicy(max_retries=0),
            **options,
        ) as client,
    ):
        yield client, seen


async def drain(listing: AsyncPaginator[Any]) -> tuple[list[Any], CliquifyError | None]:
    """Every item the listing yields, and the error that ended it (None if it ended well)."""
    items: list[Any] = []
    try:
        async for item in listing:
            items.append(item)
    except CliquifyError as exc:
        return items, exc
    return items, None


def ids(items: list[Any]) -> list[Any]:
    """The ids of decoded models or raw dicts, in the order yielded."""
    return [item["id"] if isinstance(item, dict) else item.id for item in items]


async def assert_recovers(client: CliquifyClient) -> None:
    """The same client lists a normal listing in full after the hostile one failed."""
    assert ids(await client.folders.list(ok=1).collect()) == [1, 2, 3, 4]


# --- invented pages ---------------------------------------------------------------------------


async def test_a_cursor_invented_forever_with_new_items_stops_at_max_pages() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n), "next_cursor": f"c{n}", "next_page_url": None}

    async with hostile(respond) as (client, seen):
        listing = client.folders.list(max_pages=5)
        items, error = await drain(listing)

        assert isinstance(error, PaginationError)
        assert error.bound == "max_pages"
        assert error.pages == 5
        assert PATH in str(error) and "max_pages=5" in str(error)
        assert ids(items) == list(range(1, 11))  # five pages, each item once
        assert len(seen) == 5  # the sixth page was never requested
        assert listing.next_token is not None and "cursor=c5" in listing.next_token
        await assert_recovers(client)


async def test_max_pages_applies_to_client_paginate_and_leaves_a_resumable_position() -> None:
    def respond(n: int, request: web.Request) -> Any:
        page = int(request.query.get("page", "1"))
        return {"data": pair(page), "current_page": page, "last_page": 3}

    async with hostile(respond) as (client, _):
        listing = client.paginate(FOLDERS, max_pages=2)
        items, error = await drain(listing)
        assert isinstance(error, PaginationError) and error.bound == "max_pages"
        assert ids(items) == [1, 2, 3, 4]

        assert listing.next_token is not None
        rest = await listing.resume_from(listing.next_token).collect()
        assert ids(rest) == [5, 6]


@pytest.mark.parametrize("shape", ["cursor", "cursor_resource", "flat_link", "page_hint"])
async def test_a_server_repeating_its_items_ends_with_a_typed_error(shape: str) -> None:
    def respond(n: int, request: web.Request) -> Any:
        nxt = f"{origin(request)}{PATH}?page={n + 1}"
        if shape == "cursor":
            return {"data": folders(1, 2), "next_cursor": f"c{n}", "next_page_url": None}
        if shape == "cursor_resource":
            return {"data": folders(1, 2), "links": {"next": nxt}, "meta": {"next_cursor": "c"}}
        if shape == "flat_link":
            return {"data": folders(1, 2), "current_page": 1, "next_page_url": nxt}
        return {"data": folders(1, 2)}  # ignores ?page=, under a "page" hint

    hints = {"folders.list": "page"} if shape == "page_hint" else {}
    async with hostile(respond, pagination=hints) as (client, seen):
        items, error = await drain(client.folders.list())

        assert isinstance(error, PaginationError)
        assert error.bound == "repeat"
        assert error.pages == 1
        assert PATH in str(error) and f"up to {REMEMBERED_IDS}" in str(error)
        assert ids(items) == [1, 2]
        assert len(seen) == 2
        await assert_recovers(client)


async def test_a_page_that_only_partly_repeats_is_handed_out() -> None:
    pages = [folders(1, 2), folders(2, 3), []]  # an offset list shifted by an insert

    def respond(n: int, request: web.Request) -> Any:
        following = f"?page={n + 1}" if n < len(pages) else None
        return {"data": pages[n - 1], "current_page": n, "next_page_url": following}

    async with hostile(respond) as (client, _):
        assert ids(await client.folders.list().collect()) == [1, 2, 2, 3]


@pytest.mark.parametrize("form", ["flat", "resource"])
async def test_pages_invented_past_last_page_end_with_a_typed_error(form: str) -> None:
    def respond(n: int, request: web.Request) -> Any:
        nxt = f"{origin(request)}{PATH}?page={n + 1}"
        if form == "flat":
            return {"data": pair(n), "current_page": n, "last_page": 3, "next_page_url": nxt}
        meta = {"current_page": n, "last_page": 3}
        return {"data": pair(n), "links": {"next": nxt}, "meta": meta}

    async with hostile(respond) as (client, seen):
        items, error = await drain(client.folders.list())

        assert isinstance(error, PaginationError)
        assert error.bound == "last_page"
        assert PATH in str(error) and "3 pages (last_page)" in str(error)
        assert ids(items) == [1, 2, 3, 4, 5, 6]
        assert len(seen) == 4
        await assert_recovers(client)


async def test_a_page_number_that_never_moves_still_counts_against_last_page() -> None:
    def respond(n: int, request: web.Request) -> Any:
        nxt = f"{origin(request)}{PATH}?page={n + 1}"
        return {"data": pair(n), "current_page": 1, "last_page": 2, "next_page_url": nxt}

    async with hostile(respond) as (client, _):
        items, error = await drain(client.folders.list())
        assert isinstance(error, PaginationError) and error.bound == "last_page"
        assert ids(items) == [1, 2, 3, 4]


async def test_items_invented_past_the_total_end_with_a_typed_error() -> None:
    def respond(n: int, request: web.Request) -> Any:
        nxt = f"{origin(request)}{PATH}?page={n + 1}"
        return {"data": pair(n), "links": {"next": nxt}, "meta": {"total": 5}}

    async with hostile(respond) as (client, _):
        items, error = await drain(client.folders.list())

        assert isinstance(error, PaginationError)
        assert error.bound == "total"
        assert PATH in str(error) and "5 (total)" in str(error)
        assert ids(items) == [1, 2, 3, 4]
        await assert_recovers(client)


async def test_the_undecoded_listing_has_the_same_bounds() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": [{"id": 1}, None], "next_cursor": f"c{n}"}

    async with hostile(respond) as (client, _):
        items, error = await drain(client.folders.list().undecoded())
        assert isinstance(error, PaginationError) and error.bound == "repeat"
        assert items == [{"id": 1}, None]


# --- empty pages -----------------------------------------------------------------------------


def empty_page(form: str, n: int, request: web.Request) -> dict[str, Any]:
    """The n-th page, with no items but saying more follow, in `form`."""
    nxt = f"{origin(request)}{PATH}?page={n + 1}"
    if form == "cursor":
        return {"data": [], "next_cursor": f"c{n}", "next_page_url": None}
    if form == "cursor_resource":
        return {"data": [], "links": {"next": nxt}, "meta": {"next_cursor": f"c{n}"}}
    if form == "flat_link":
        return {"data": [], "current_page": n, "next_page_url": nxt}
    page = int(request.query.get("page", "1"))  # pages are read ahead by number, out of order
    return {"data": [], "links": {}, "meta": {"current_page": page, "last_page": 10**9}}


def pagination_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the pagination logger said."""
    return [r.getMessage() for r in caplog.records if r.name == "cliquify_async.pagination"]


@pytest.mark.parametrize("form", ["cursor", "cursor_resource", "flat_link", "last_page"])
async def test_endless_empty_pages_end_with_a_typed_error_after_the_bound(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cliquify_async.pagination")

    async with hostile(lambda n, request: empty_page(form, n, request)) as (client, seen):
        listing = client.folders.list()
        items, error = await drain(listing)

        assert isinstance(error, PaginationError)
        assert error.bound == "empty"
        assert error.pages == MAX_EMPTY_PAGES
        assert PATH in str(error) and "MAX_EMPTY_PAGES" in str(error)
        assert items == []
        # The refused page, and at most the few read ahead past it (then cancelled).
        assert MAX_EMPTY_PAGES + 1 <= len(seen) <= MAX_EMPTY_PAGES + 8
        assert listing.next_token is not None  # still at the page refused
        lines = pagination_lines(caplog)
        assert len(lines) == 1 and "empty page" in lines[0] and PATH in lines[0]
        await assert_recovers(client)


async def test_runs_of_empty_pages_up_to_the_bound_are_followed() -> None:
    run = MAX_EMPTY_PAGES + 1  # a page with items, then MAX_EMPTY_PAGES empty ones

    def respond(n: int, request: web.Request) -> Any:
        full = n % run == 1
        data = pair(n // run + 1) if full else []
        return {"data": data, "next_cursor": f"c{n}" if n < 2 * run + 1 else None}

    async with hostile(respond) as (client, seen):
        assert ids(await client.folders.list().collect()) == [1, 2, 3, 4, 5, 6]
        assert len(seen) == 2 * run + 1


async def test_empty_pages_that_point_nowhere_end_the_listing_even_past_the_bound() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": [], "next_cursor": f"c{n}" if n <= MAX_EMPTY_PAGES else None}

    async with hostile(respond) as (client, seen):
        assert await client.folders.list().collect() == []
        assert len(seen) == MAX_EMPTY_PAGES + 1


async def test_an_empty_page_under_the_page_hint_ends_the_listing() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n) if n < 3 else []}

    async with hostile(respond, pagination={"folders.list": "page"}) as (client, seen):
        assert ids(await client.folders.list().collect()) == [1, 2, 3, 4]
        assert len(seen) == 3


# --- malformed links and cursors --------------------------------------------------------------

MALFORMED: dict[str, tuple[str, type[CliquifyError], str]] = {
    # kind: (link, with {o} for the server's origin and {h} for its host:port; error; rule)
    "invalid IPv6": ("http://[::1", MalformedURLError, "not a valid URL"),
    "bad port": ("http://127.0.0.1:99999/api/folders?page=2", MalformedURLError, "not a valid"),
    "port 0": ("http://{h0}:0/api/folders?page=2", MalformedURLError, "port outside 1..65535"),
    "long label": (f"http://{'a' * 64}.example/api/folders", MalformedURLError, "label longer"),
    "long idna label": (f"http://{'é' * 64}.example/api/folders", MalformedURLError, "valid URL"),
    "bad punycode": ("http://xn--zz/api/folders?page=2", MalformedURLError, "not a valid URL"),
    "credentials": ("http://user:pass@{h}/api/folders?page=2", MalformedURLError, "credentials"),
    "not http": ("ftp://{h}/api/folders?page=2", MalformedURLError, "not an absolute http"),
    "too long": ("{o}/api/folders?page=2&x=" + "a" * MAX_URL_CHARS, MalformedURLError, "longer"),
    "another origin": ("https://elsewhere.example/steal", UntrustedURLError, "leaves the API"),
}


def fill(link: str, request: web.Request) -> str:
    host = request.url.host or ""
    return link.format(o=origin(request), h=f"{host}:{request.url.port}", h0=host)


@pytest.mark.parametrize("form", ["links.next", "next_page_url", "cursor_resource"])
@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_next_link_is_a_typed_error(kind: str, form: str) -> None:
    link, error_type, rule = MALFORMED[kind]

    def respond(n: int, request: web.Request) -> Any:
        nxt = fill(link, request)
        if form == "links.next":
            return {"data": pair(n), "links": {"next": nxt}, "meta": {"current_page": n}}
        if form == "next_page_url":
            return {"data": pair(n), "current_page": n, "next_page_url": nxt}
        return {"data": pair(n), "links": {"next": nxt}, "meta": {"next_cursor": "c"}}

    async with hostile(respond) as (client, seen):
        items, error = await drain(client.folders.list())

        assert type(error) is error_type
        assert PATH in str(error) and rule in str(error)
        assert ids(items) == []  # the page is refused whole: going on from it is impossible
        assert len(seen) == 1
        await assert_recovers(client)


async def test_an_over_long_bare_cursor_is_a_typed_error() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n), "next_cursor": "c" * (MAX_URL_CHARS + 1)}

    async with hostile(respond) as (client, seen):
        listing = client.folders.list()
        items, error = await drain(listing)

        assert type(error) is MalformedURLError
        assert PATH in str(error) and f"longer than {MAX_URL_CHARS}" in str(error)
        assert ids(items) == []
        assert len(seen) == 1
        # The listing stays at the page that carried the cursor, and retries it whole.
        assert listing.next_token == f"{PATH}?per_page=100"
        items, again = await drain(listing)
        assert items == [] and type(again) is MalformedURLError
        assert len(seen) == 2
        await assert_recovers(client)


@pytest.mark.parametrize("cursor", ["http://[::1", "user:pass@x", "\ud800", "é" * 64, "a b&c=d#e"])
async def test_a_bare_cursor_is_sent_as_an_opaque_value_on_the_api(cursor: str) -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n), "next_cursor": cursor if n == 1 else None}

    async with hostile(respond) as (client, seen):
        assert ids(await client.folders.list().collect()) == [1, 2, 3, 4]
        assert len(seen) == 2 and seen[1].startswith(f"{PATH}?")


# --- items and numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("item", [None, 7, "x", [1], True, 1.5])
async def test_a_non_object_item_is_a_decode_error(item: Any) -> None:
    def respond(n: int, request: web.Request) -> Any:
        data = pair(1) if n == 1 else [{"id": 3, "name": "c"}, item]
        return {"data": data, "current_page": n, "next_page_url": f"?page={n + 1}"}

    async with hostile(respond) as (client, _):
        items, error = await drain(client.folders.list())

        assert type(error) is ResponseDecodeError
        assert PATH in str(error) and "expected an object" in str(error)
        assert ids(items) == [1, 2]
        await assert_recovers(client)


async def test_non_object_items_pass_the_undecoded_listing_raw() -> None:
    raw = [None, 7, "x", [1], {"id": [1]}, {"no": "id"}]

    def respond(n: int, request: web.Request) -> Any:
        return {"data": raw if n == 1 else raw[:2], "next_cursor": "c" if n == 1 else None}

    async with hostile(respond) as (client, _):
        assert await client.folders.list().undecoded().collect() == raw + raw[:2]


BIG = "1" + "0" * 400
HUGE = "1" + "0" * 5000  # past int()'s default digit limit


@pytest.mark.parametrize(
    "numbers",
    [
        f'"current_page": 1, "last_page": {BIG}, "total": "1e999", "per_page": {BIG}',
        f'"current_page": 1, "last_page": "{HUGE}", "total": -5, "per_page": "{HUGE}"',
        '"current_page": 1, "last_page": 1e999, "total": 1e999, "per_page": -1',
    ],
)
async def test_absurd_page_counts_and_totals_are_read_as_absent(numbers: str) -> None:
    def respond(n: int, request: web.Request) -> str:
        nxt = '"?page=2"' if n == 1 else "null"
        return f'{{"data": [{{"id": {n}}}], {numbers}, "next_page_url": {nxt}}}'

    async with hostile(respond) as (client, seen):
        pages = [page async for page in client.folders.list(per_page="max").pages()]

        assert [item.id for page in pages for item in page.items] == [1, 2]
        assert [(page.last_page, page.total, page.per_page) for page in pages] == [
            (None, None, None)
        ] * 2
        assert len(seen) == 2
        await assert_recovers(client)


async def test_an_absurd_current_page_is_not_counted_from() -> None:
    body = f'{{"data": [{{"id": 1}}], "current_page": "{HUGE}", "last_page": {BIG}}}'

    async with hostile(lambda n, request: body) as (client, seen):
        pages = [page async for page in client.folders.list().pages()]

        assert [(page.number, page.last_page) for page in pages] == [(None, None)]
        assert len(seen) == 1  # no page number to add one to, and no next link


async def test_max_pages_below_one_is_refused_at_once() -> None:
    async with hostile(lambda n, request: []) as (client, seen):
        for bad in (0, -1):
            with pytest.raises(ConfigurationError, match="max_pages"):
                client.assets.list(max_pages=bad)
        assert await client.folders.list(max_pages=None).collect() == []
        assert len(seen) == 1


def test_remembered_ids_are_bounded() -> None:
    tally = Tally(max_pages=None)
    page = PageInfo(shape="data", items=[{"id": n} for n in range(REMEMBERED_IDS + 10)])
    tally.record(page, tally.check(page, URL(f"http://127.0.0.1{PATH}")))

    assert len(tally._ids) == REMEMBERED_IDS
    assert tally.items == REMEMBERED_IDS + 10


async def test_an_absurd_maximum_in_a_per_page_422_falls_back_to_the_default_size() -> None:
    def respond(n: int, request: web.Request) -> Any:
        if n == 1:
            message = f"The per page field must not be greater than {HUGE}."
            errors = {"per_page": [message]}
            return web.json_response({"message": message, "errors": errors}, status=422)
        return {"data": pair(1), "current_page": 1, "last_page": 1}

    async with hostile(respond) as (client, seen):
        assert ids(await client.folders.list(per_page="max").collect()) == [1, 2]
        assert seen == [f"{PATH}?per_page=1000", f"{PATH}?per_page=100"]


@pytest.mark.parametrize("cursor", [2.5, True, {"k": 1}, [], ""])
async def test_a_cursor_that_is_neither_a_string_nor_null_is_a_typed_error(cursor: Any) -> None:
    # Read as "no cursor", it would end the listing silently with items still to come.
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n), "next_cursor": cursor if n == 1 else None}

    async with hostile(respond) as (client, seen):
        items, error = await drain(client.folders.list())

        assert type(error) is ResponseDecodeError and "next_cursor" in str(error)
        assert items == [] and len(seen) == 1
        await assert_recovers(client)


async def test_an_integer_cursor_is_followed() -> None:
    def respond(n: int, request: web.Request) -> Any:
        return {"data": pair(n), "next_cursor": 2 if n == 1 else None}

    async with hostile(respond) as (client, seen):
        assert ids(await client.folders.list().collect()) == [1, 2, 3, 4]
        assert seen[1].endswith("cursor=2")
