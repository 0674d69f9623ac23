"""The seven list shapes: exact Laravel keys, page links, and walking to the whole dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import attrs
import pytest

from cliquify_async.sandbox import Sandbox
from cliquify_async.sandbox._pagination import (
    SHAPES,
    PageRequest,
    _page_window,
    decode_cursor,
    encode_cursor,
    render,
)
from tests.sandbox.sandbox_helpers import get, issue_token

FLAT_KEYS = [
    "current_page", "data", "first_page_url", "from", "last_page", "last_page_url", "links",
    "next_page_url", "path", "per_page", "prev_page_url", "to", "total",
]  # fmt: skip
SIMPLE_KEYS = [k for k in FLAT_KEYS if k not in {"last_page", "last_page_url", "total"}]
CURSOR_KEYS = ["data", "path", "per_page", "next_cursor", "next_page_url", "prev_cursor",
               "prev_page_url"]  # fmt: skip
META_KEYS = ["current_page", "from", "last_page", "links", "path", "per_page", "to", "total"]
ITEMS = [{"id": n} for n in range(1, 24)]  # 23 items
REQUEST = PageRequest(path="http://h/api/assets", query=(("per_page", "5"),), per_page=5)


def next_url(body: Any) -> str | None:
    """Where a client goes next, for any shape."""
    if isinstance(body, list) or set(body) == {"data"}:
        return None
    if isinstance(body.get("links"), dict):
        url: str | None = body["links"]["next"]
    else:
        url = body["next_page_url"]
    return url


def test_shape_names() -> None:
    assert SHAPES == ("resource", "flat", "simple", "cursor", "cursor_resource", "data", "bare")


def test_flat_page_keys_and_values() -> None:
    body = render("flat", ITEMS, attrs.evolve(REQUEST, page=2))
    assert list(body) == FLAT_KEYS
    assert body["data"] == ITEMS[5:10]
    assert (body["current_page"], body["from"], body["to"]) == (2, 6, 10)
    assert (body["last_page"], body["total"], body["per_page"]) == (5, 23, 5)
    assert body["path"] == "http://h/api/assets"
    assert body["first_page_url"] == "http://h/api/assets?per_page=5&page=1"
    assert body["last_page_url"] == "http://h/api/assets?per_page=5&page=5"
    assert body["prev_page_url"] == "http://h/api/assets?per_page=5&page=1"
    assert body["next_page_url"] == "http://h/api/assets?per_page=5&page=3"
    labels = [link["label"] for link in body["links"]]
    assert labels == ["&laquo; Previous", "1", "2", "3", "4", "5", "Next &raquo;"]
    assert [link["active"] for link in body["links"]].index(True) == 2
    assert body["links"][0]["url"] == body["prev_page_url"]
    assert body["links"][-1]["url"] == body["next_page_url"]


def test_last_and_beyond_last_page() -> None:
    last = render("flat", ITEMS, attrs.evolve(REQUEST, page=5))
    assert (last["data"], last["from"], last["to"]) == (ITEMS[20:], 21, 23)
    assert last["next_page_url"] is None
    beyond = render("flat", ITEMS, attrs.evolve(REQUEST, page=9))
    assert (beyond["data"], beyond["from"], beyond["to"], beyond["next_page_url"]) == (
        [],
        None,
        None,
        None,
    )
    empty = render("flat", [], REQUEST)
    assert (empty["last_page"], empty["total"], empty["data"]) == (1, 0, [])


def test_resource_splits_the_paginator() -> None:
    body = render("resource", ITEMS, REQUEST)
    flat = render("flat", ITEMS, REQUEST)
    assert list(body) == ["data", "links", "meta"]
    assert body["links"] == {
        "first": flat["first_page_url"],
        "last": flat["last_page_url"],
        "prev": None,
        "next": flat["next_page_url"],
    }
    assert list(body["meta"]) == META_KEYS
    assert body["meta"]["links"] == flat["links"]


def test_simple_has_no_totals() -> None:
    body = render("simple", ITEMS, attrs.evolve(REQUEST, page=5))
    assert list(body) == SIMPLE_KEYS
    assert body["next_page_url"] is None
    assert [link["label"] for link in body["links"]] == ["&laquo; Previous", "Next &raquo;"]
    assert render("simple", ITEMS, REQUEST)["next_page_url"].endswith("page=2")


@pytest.mark.parametrize(
    ("current", "last", "expected"),
    [
        (1, 13, list(range(1, 14))),
        (1, 20, [*range(1, 11), None, 19, 20]),
        (10, 20, [1, 2, None, *range(7, 14), None, 19, 20]),
        (18, 20, [1, 2, None, *range(11, 21)]),
    ],
)
def test_page_window_like_laravel(current: int, last: int, expected: list[int | None]) -> None:
    assert _page_window(current, last) == expected


def test_cursor_walks_forward_and_back() -> None:
    first = render("cursor", ITEMS, REQUEST)
    assert list(first) == CURSOR_KEYS
    assert first["prev_cursor"] is None
    assert decode_cursor(first["next_cursor"]) == (5, True)
    assert first["next_page_url"] == f"http://h/api/assets?per_page=5&cursor={first['next_cursor']}"
    second = render("cursor", ITEMS, attrs.evolve(REQUEST, cursor=first["next_cursor"]))
    assert [i["id"] for i in second["data"]] == [6, 7, 8, 9, 10]
    back = render("cursor", ITEMS, attrs.evolve(REQUEST, cursor=second["prev_cursor"]))
    assert back["data"] == first["data"]
    assert back["prev_cursor"] is None
    last = render("cursor", ITEMS, attrs.evolve(REQUEST, cursor=encode_cursor(20, forward=True)))
    assert ([i["id"] for i in last["data"]], last["next_cursor"]) == ([21, 22, 23], None)


def test_cursor_walks_sparse_ids_exactly_both_ways() -> None:
    """A filtered selection has gaps in its ids, and a cursor's id may be in none of them."""
    items = [{"id": n} for n in range(3, 80, 7)]  # 3, 10, ..., 73: 11 items
    ids = [i["id"] for i in items]

    def walk(cursor: str | None, direction: str) -> list[list[int]]:
        pages = []
        while True:
            body = render("cursor", items, attrs.evolve(REQUEST, cursor=cursor))
            pages.append([i["id"] for i in body["data"]])
            if (cursor := body[direction]) is None:
                return pages

    assert walk(None, "next_cursor") == [ids[:5], ids[5:10], ids[10:]]
    assert walk(encode_cursor(ids[10], forward=False), "prev_cursor") == [ids[5:10], ids[:5]]
    assert walk(encode_cursor(ids[4] + 3, forward=False), "prev_cursor") == [ids[:5]]
    assert walk(encode_cursor(ids[4] + 3, forward=True), "next_cursor") == [ids[5:10], ids[10:]]


def test_cursor_encoding_matches_laravel_and_tolerates_garbage() -> None:
    # base64url of {"id":15,"_pointsToNextItems":true}, padding stripped
    assert encode_cursor(15, forward=True) == "eyJpZCI6MTUsIl9wb2ludHNUb05leHRJdGVtcyI6dHJ1ZX0"
    for garbage in ("", "!!!", "bm90IGpzb24", "WzFd", "eyJpZCI6ImEifQ"):
        assert decode_cursor(garbage) is None
    assert render("cursor", ITEMS, attrs.evolve(REQUEST, cursor="garbage"))["data"] == ITEMS[:5]


def test_cursor_resource_shape() -> None:
    body = render("cursor_resource", ITEMS, REQUEST)
    assert list(body) == ["data", "links", "meta"]
    assert body["links"]["first"] is None
    assert body["links"]["last"] is None
    assert body["links"]["next"] is not None
    assert list(body["meta"]) == ["path", "per_page", "next_cursor", "prev_cursor"]


def test_unpaginated_shapes() -> None:
    assert render("data", ITEMS, REQUEST) == {"data": ITEMS}
    assert render("bare", ITEMS, REQUEST) == ITEMS


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_shape_walks_to_the_whole_dataset(
    make_sandbox: Callable[..., Any], http: aiohttp.ClientSession, shape: str
) -> None:
    sb: Sandbox = await make_sandbox(assets=47, pagination=shape, rate_limit=None)
    token = await issue_token(http, sb)
    url: str | None = f"{sb.url}/api/assets?per_page=10"
    collected: list[Any] = []
    pages = 0
    while url:
        status, body, _ = await get(http, url, token)
        assert status == 200
        pages += 1
        collected += body if isinstance(body, list) else body["data"]
        url = next_url(body)
    assert collected == sb.dataset["assets"]
    assert pages == (1 if shape in {"data", "bare"} else 5)


async def test_pagination_per_endpoint_and_filters_carried(
    make_sandbox: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(pagination={"/api/assets": "flat"}, rate_limit=None)
    token = await issue_token(http, sb)
    _, assets, _ = await get(http, f"{sb.url}/api/assets", token, folder_id=2, per_page=3)
    _, templates, _ = await get(http, f"{sb.url}/api/templates", token)
    assert list(assets) == FLAT_KEYS
    assert assets["next_page_url"] == f"{sb.url}/api/assets?folder_id=2&per_page=3&page=2"
    assert list(templates) == ["data", "links", "meta"]


async def test_per_page_default_and_clamp(
    make_sandbox: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(assets=150, rate_limit=None)
    token = await issue_token(http, sb)
    _, default, _ = await get(http, f"{sb.url}/api/assets", token)
    _, clamped, _ = await get(http, f"{sb.url}/api/assets", token, per_page=500)
    assert (default["meta"]["per_page"], len(default["data"])) == (15, 15)
    assert (clamped["meta"]["per_page"], len(clamped["data"])) == (100, 100)
    assert clamped["links"]["next"].endswith("per_page=500&page=2")
    _, beyond, _ = await get(http, f"{sb.url}/api/assets", token, page=99)
    assert beyond["data"] == []
