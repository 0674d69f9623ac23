"""Unit tests of the pagination rules in cliquify_async._pagination.rules (docs/contract.md §4)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from yarl import URL

from cliquify_async._pagination.rules import (
    PageInfo,
    next_page_url,
    points_further,
    read_page,
    trusted,
)
from cliquify_async._wire import encode_query
from cliquify_async.errors import ResponseDecodeError, UntrustedURLError

BASE = URL("https://oauth.cliquify.me")
PATH = "https://oauth.cliquify.me/api/assets"
ITEMS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
CURSOR = "eyJpZCI6MTUsIl9wb2ludHNUb05leHRJdGVtcyI6dHJ1ZX0"


def laravel_links(current: int, last: int) -> list[dict[str, Any]]:
    """The `links` array Laravel puts in a length-aware paginator."""
    prev = {"url": f"{PATH}?page={current - 1}" if current > 1 else None}
    nxt = {"url": f"{PATH}?page={current + 1}" if current < last else None}
    pages = [
        {"url": f"{PATH}?page={n}", "label": str(n), "active": n == current}
        for n in range(1, last + 1)
    ]
    return [
        {**prev, "label": "&laquo; Previous", "active": False},
        *pages,
        {**nxt, "label": "Next &raquo;", "active": False},
    ]


def resource_body(current: int = 1, last: int = 3, per_page: Any = 15) -> dict[str, Any]:
    """Shape 1: an API resource collection with links and meta."""
    return {
        "data": ITEMS,
        "links": {
            "first": f"{PATH}?page=1",
            "last": f"{PATH}?page={last}",
            "prev": f"{PATH}?page={current - 1}" if current > 1 else None,
            "next": f"{PATH}?page={current + 1}" if current < last else None,
        },
        "meta": {
            "current_page": current,
            "from": (current - 1) * 15 + 1,
            "last_page": last,
            "links": laravel_links(current, last),
            "path": PATH,
            "per_page": per_page,
            "to": (current - 1) * 15 + len(ITEMS),
            "total": 32,
        },
    }


def flat_body(current: int = 1, last: int = 3, per_page: Any = 15) -> dict[str, Any]:
    """Shape 2: a flat length-aware paginator (a paginator returned straight from a route)."""
    return {
        "current_page": current,
        "data": ITEMS,
        "first_page_url": f"{PATH}?page=1",
        "from": 1,
        "last_page": last,
        "last_page_url": f"{PATH}?page={last}",
        "links": laravel_links(current, last),
        "next_page_url": f"{PATH}?page={current + 1}" if current < last else None,
        "path": PATH,
        "per_page": per_page,
        "prev_page_url": f"{PATH}?page={current - 1}" if current > 1 else None,
        "to": 2,
        "total": 32,
    }


def simple_body(current: int = 1, has_more: bool = True) -> dict[str, Any]:
    """Shape 3: simplePaginate(): no last_page, last_page_url or total."""
    return {
        "current_page": current,
        "data": ITEMS,
        "first_page_url": f"{PATH}?page=1",
        "from": 1,
        "next_page_url": f"{PATH}?page={current + 1}" if has_more else None,
        "path": PATH,
        "per_page": "15",
        "prev_page_url": None,
        "to": 2,
    }


def cursor_body(next_cursor: str | None = CURSOR) -> dict[str, Any]:
    """Shape 4a: cursorPaginate() returned straight from a route."""
    return {
        "data": ITEMS,
        "path": PATH,
        "per_page": 15,
        "next_cursor": next_cursor,
        "next_page_url": f"{PATH}?cursor={next_cursor}" if next_cursor else None,
        "prev_cursor": None,
        "prev_page_url": None,
    }


def cursor_resource_body(next_cursor: str | None = CURSOR) -> dict[str, Any]:
    """Shape 4b: cursorPaginate() wrapped in an API resource collection."""
    return {
        "data": ITEMS,
        "links": {
            "first": None,
            "last": None,
            "prev": None,
            "next": f"{PATH}?cursor={next_cursor}" if next_cursor else None,
        },
        "meta": {
            "path": PATH,
            "per_page": 15,
            "next_cursor": next_cursor,
            "prev_cursor": None,
        },
    }


# --- read_page ------------------------------------------------------------------------------


def test_read_resource_shape() -> None:
    info = read_page(resource_body())
    assert info == PageInfo(
        shape="resource",
        items=ITEMS,
        number=1,
        per_page=15,
        total=32,
        last_page=3,
        next_url=f"{PATH}?page=2",
        next_cursor=None,
    )
    assert not info.is_cursor


def test_read_resource_last_page() -> None:
    info = read_page(resource_body(current=3, last=3))
    assert info.shape == "resource"
    assert info.number == 3
    assert info.next_url is None


def test_read_flat_shape() -> None:
    info = read_page(flat_body(current=2))
    assert info == PageInfo(
        shape="flat",
        items=ITEMS,
        number=2,
        per_page=15,
        total=32,
        last_page=3,
        next_url=f"{PATH}?page=3",
    )
    assert not info.is_cursor


def test_read_simple_shape() -> None:
    info = read_page(simple_body())
    assert info == PageInfo(
        shape="simple",
        items=ITEMS,
        number=1,
        per_page=15,
        total=None,
        last_page=None,
        next_url=f"{PATH}?page=2",
    )


def test_read_cursor_shape() -> None:
    info = read_page(cursor_body())
    assert info == PageInfo(
        shape="cursor",
        items=ITEMS,
        per_page=15,
        next_url=f"{PATH}?cursor={CURSOR}",
        next_cursor=CURSOR,
    )
    assert info.is_cursor


def test_read_cursor_shape_end() -> None:
    info = read_page(cursor_body(next_cursor=None))
    assert info.shape == "cursor"
    assert info.next_cursor is None
    assert info.next_url is None


def test_read_cursor_resource_shape() -> None:
    info = read_page(cursor_resource_body())
    assert info == PageInfo(
        shape="cursor_resource",
        items=ITEMS,
        per_page=15,
        next_url=f"{PATH}?cursor={CURSOR}",
        next_cursor=CURSOR,
    )
    assert info.is_cursor


def test_read_cursor_resource_end_keeps_shape() -> None:
    info = read_page(cursor_resource_body(next_cursor=None))
    assert info.shape == "cursor_resource"
    assert info.next_cursor is None


def test_read_data_only() -> None:
    assert read_page({"data": ITEMS}) == PageInfo(shape="data", items=ITEMS)


def test_read_bare_array() -> None:
    assert read_page(ITEMS) == PageInfo(shape="bare", items=ITEMS)


def test_read_empty_bare_array() -> None:
    info = read_page([])
    assert info.shape == "bare"
    assert info.items == []


@pytest.mark.parametrize("per_page", ["15", " 15 ", 15])
def test_laravel_string_per_page(per_page: Any) -> None:
    assert read_page(resource_body(per_page=per_page)).per_page == 15
    assert read_page(flat_body(per_page=per_page)).per_page == 15


@pytest.mark.parametrize("per_page", ["fifteen", "", "1.5", 1.5, True, None, [15], "-15"])
def test_unusable_per_page_is_none(per_page: Any) -> None:
    assert read_page(flat_body(per_page=per_page)).per_page is None


def test_string_page_numbers() -> None:
    body = {**flat_body(), "current_page": "2", "last_page": "5", "total": "70"}
    info = read_page(body)
    assert (info.number, info.last_page, info.total) == (2, 5, 70)


def test_resource_links_not_an_object_is_ignored() -> None:
    body = resource_body()
    body["links"] = [{"url": None}]
    info = read_page(body)
    assert info.shape == "resource"
    assert info.next_url is None


def test_empty_next_link_is_none() -> None:
    body = resource_body()
    body["links"]["next"] = ""
    assert read_page(body).next_url is None


def test_meta_not_an_object_falls_back_to_flat_keys() -> None:
    body = {**flat_body(), "meta": "nope"}
    assert read_page(body).shape == "flat"


@pytest.mark.parametrize(
    "body",
    [
        None,
        1,
        "data",
        True,
        {},
        {"data": None},
        {"data": {"id": 1}},
        {"data": "x"},
        {"items": [1]},
        {"success": True, "message": "", "data": None},
    ],
)
def test_not_a_list_response(body: Any) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        read_page(body, url=PATH)
    assert info.value.data == body
    assert info.value.url == PATH


@pytest.mark.parametrize("value", ["\u00b2", "1" * 5000])
def test_read_page_non_decimal_digit_strings(value: str) -> None:
    info = read_page({**flat_body(), "per_page": value})
    assert info.per_page is None


# --- next_page_url ----------------------------------------------------------------------------


def test_next_link_is_followed() -> None:
    current = URL(f"{PATH}?page=1&per_page=15")
    info = read_page(resource_body())
    assert next_page_url(info, current) == URL(f"{PATH}?page=2")


def test_next_link_wins_over_page_counting() -> None:
    info = PageInfo(
        shape="resource",
        items=ITEMS,
        number=1,
        last_page=3,
        next_url=f"{PATH}?page=2&folder_id=7&per_page=15",
    )
    url = next_page_url(info, URL(f"{PATH}?per_page=15"))
    assert url == URL(f"{PATH}?page=2&folder_id=7&per_page=15")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("?page=2", f"{PATH}?page=2"),
        ("/api/assets?page=2&per_page=15", f"{PATH}?page=2&per_page=15"),
        ("assets?page=2", f"{PATH}?page=2"),
        ("//oauth.cliquify.me/api/assets?page=2", f"{PATH}?page=2"),
    ],
)
def test_relative_next_link_resolved_against_current(link: str, expected: str) -> None:
    info = PageInfo(shape="flat", items=ITEMS, next_url=link)
    assert next_page_url(info, URL(f"{PATH}?page=1")) == URL(expected)


def test_page_plus_one_without_link() -> None:
    info = PageInfo(shape="flat", items=ITEMS, number=2, last_page=3)
    url = next_page_url(info, URL(f"{PATH}?per_page=15&folder_id=9&page=2"))
    assert url is not None
    assert url.path == "/api/assets"
    assert url.query["page"] == "3"
    assert url.query["per_page"] == "15"
    assert url.query["folder_id"] == "9"


def test_page_plus_one_from_first_request_without_page_param() -> None:
    info = PageInfo(shape="resource", items=ITEMS, number=1, last_page=2)
    assert next_page_url(info, URL(PATH)) == URL(f"{PATH}?page=2")


@pytest.mark.parametrize(("number", "last_page"), [(3, 3), (4, 3), (None, 3), (1, None)])
def test_no_next_without_link_at_or_past_last_page(
    number: int | None, last_page: int | None
) -> None:
    info = PageInfo(shape="flat", items=ITEMS, number=number, last_page=last_page)
    assert next_page_url(info, URL(f"{PATH}?page=3")) is None


def test_simple_paginator_without_link_ends() -> None:
    info = read_page(simple_body(current=4, has_more=False))
    assert next_page_url(info, URL(f"{PATH}?page=4")) is None


def test_simple_paginator_with_link_continues() -> None:
    info = read_page(simple_body(current=4))
    assert next_page_url(info, URL(f"{PATH}?page=4")) == URL(f"{PATH}?page=5")


@pytest.mark.parametrize(
    ("body", "following"),
    [
        ({**resource_body(), "data": []}, f"{PATH}?page=2"),
        ({**resource_body(), "data": [], "links": {}}, f"{PATH}?page=2"),  # by last_page
        ({**flat_body(), "data": []}, f"{PATH}?page=2"),
        ({**simple_body(), "data": []}, f"{PATH}?page=2"),
        ({**cursor_body(), "data": []}, f"{PATH}?cursor={CURSOR}"),
        ({**cursor_resource_body(), "data": []}, f"{PATH}?cursor={CURSOR}"),
    ],
)
def test_an_empty_page_that_points_further_is_followed(body: Any, following: str) -> None:
    info = read_page(body)
    assert points_further(info)
    assert next_page_url(info, URL(f"{PATH}?page=1")) == URL(following)


@pytest.mark.parametrize(
    "body",
    [
        {**resource_body(current=3), "data": []},
        {**flat_body(current=3), "data": []},
        {**simple_body(has_more=False), "data": []},
        {**cursor_body(None), "data": []},
        {**cursor_resource_body(None), "data": []},
        {"data": []},
        [],
    ],
)
def test_an_empty_page_that_points_nowhere_ends_the_list(body: Any) -> None:
    info = read_page(body)
    assert not points_further(info)
    assert next_page_url(info, URL(f"{PATH}?page=1")) is None


@pytest.mark.parametrize("body", [{"data": []}, []])
def test_an_empty_page_ends_a_page_hint(body: Any) -> None:
    assert next_page_url(read_page(body), URL(f"{PATH}?page=3"), "page") is None


def test_cursor_follows_next_page_url() -> None:
    info = read_page(cursor_body())
    assert next_page_url(info, URL(PATH)) == URL(f"{PATH}?cursor={CURSOR}")


def test_cursor_without_link_sets_cursor_param() -> None:
    info = PageInfo(shape="cursor", items=ITEMS, next_cursor=CURSOR)
    url = next_page_url(info, URL(f"{PATH}?per_page=15&cursor=old"))
    assert url is not None
    assert url.query["cursor"] == CURSOR
    assert url.query["per_page"] == "15"


@pytest.mark.parametrize("body", [cursor_body(None), cursor_resource_body(None)])
def test_null_cursor_ends_the_list(body: dict[str, Any]) -> None:
    assert next_page_url(read_page(body), URL(f"{PATH}?cursor={CURSOR}")) is None


def test_null_cursor_ends_even_with_a_next_link() -> None:
    info = PageInfo(shape="cursor", items=ITEMS, next_url=f"{PATH}?cursor=zzz", next_cursor=None)
    assert next_page_url(info, URL(PATH)) is None


def test_cursor_resource_follows_links_next() -> None:
    info = read_page(cursor_resource_body())
    assert next_page_url(info, URL(PATH)) == URL(f"{PATH}?cursor={CURSOR}")


@pytest.mark.parametrize("body", [{"data": ITEMS}, ITEMS])
def test_unpaginated_has_no_next(body: Any) -> None:
    assert next_page_url(read_page(body), URL(PATH)) is None


def test_walk_resource_pages_until_last() -> None:
    url: URL | None = URL(PATH)
    seen = []
    while url is not None:
        page = int(url.query.get("page", "1"))
        seen.append(page)
        url = next_page_url(read_page(resource_body(current=page, last=4)), url)
    assert seen == [1, 2, 3, 4]


# --- trusted ------------------------------------------------------------------------------------


def test_same_origin_passes_unchanged() -> None:
    nxt = URL(f"{PATH}?page=2&folder_id=1")
    assert trusted(nxt, URL(PATH), BASE) is nxt


def test_same_origin_other_path_passes() -> None:
    nxt = URL("https://oauth.cliquify.me/api/assets/tags?page=2")
    assert trusted(nxt, URL(PATH), BASE) == nxt


def test_same_path_on_http_is_rebased_to_https(caplog: pytest.LogCaptureFixture) -> None:
    nxt = URL("http://oauth.cliquify.me/api/assets?page=2&per_page=15")
    with caplog.at_level(logging.WARNING, logger="cliquify_async"):
        url = trusted(nxt, URL(f"{PATH}?page=1"), BASE)
    assert url == URL(f"{PATH}?page=2&per_page=15")
    assert url.scheme == "https"
    assert "next-page link" in caplog.text


@pytest.mark.parametrize(
    "nxt",
    [
        "http://app-internal:8080/api/assets?page=2&folder_id=3",
        "https://10.0.0.12/api/assets?page=2&folder_id=3",
        "https://evil.example/api/assets?page=2&folder_id=3",
        "https://oauth.cliquify.me:8443/api/assets?page=2&folder_id=3",
    ],
)
def test_same_path_on_other_host_is_rebased(nxt: str) -> None:
    url = trusted(URL(nxt), URL(f"{PATH}?page=1"), BASE)
    assert url.origin() == BASE.origin()
    assert url.path == "/api/assets"
    assert url.query["page"] == "2"
    assert url.query["folder_id"] == "3"


def test_rebase_keeps_base_path_prefix() -> None:
    base = URL("https://gateway.example.com/cliquify")
    current = URL("https://gateway.example.com/cliquify/api/assets?page=1")
    nxt = URL("http://internal/cliquify/api/assets?page=2")
    assert trusted(nxt, current, base) == URL(
        "https://gateway.example.com/cliquify/api/assets?page=2"
    )


@pytest.mark.parametrize(
    "nxt",
    [
        "https://evil.example/steal?page=2",
        "https://evil.example/api/templates?page=2",
        "http://oauth.cliquify.me/api/templates?page=2",
        "https://oauth.cliquify.me.evil.example/other",
    ],
)
def test_other_path_elsewhere_is_refused(nxt: str) -> None:
    with pytest.raises(UntrustedURLError) as info:
        trusted(URL(nxt), URL(f"{PATH}?page=1"), BASE)
    assert info.value.url == nxt


def test_explicit_default_port_is_same_origin() -> None:
    nxt = URL("https://oauth.cliquify.me:443/api/assets/tags?page=2")
    followed = trusted(nxt, URL(PATH), BASE)
    assert (followed.host, followed.port) == ("oauth.cliquify.me", 443)
    assert followed.path_qs == "/api/assets/tags?page=2"


# --- encode_query -------------------------------------------------------------------------------


def test_encode_query_scalars() -> None:
    pairs = encode_query({"per_page": 15, "search": "logo", "ratio": 1.5})
    assert pairs == [("per_page", "15"), ("search", "logo"), ("ratio", "1.5")]


def test_encode_query_drops_none() -> None:
    assert encode_query({"folder_id": None, "page": 2}) == [("page", "2")]


def test_encode_query_bools_as_1_and_0() -> None:
    assert encode_query({"is_default": True, "archived": False}) == [
        ("is_default", "1"),
        ("archived", "0"),
    ]


@pytest.mark.parametrize("value", [[1, 2, 3], (1, 2, 3), ["1", "2", "3"], range(1, 4)])
def test_encode_query_sequences_as_laravel_arrays(value: Any) -> None:
    assert encode_query({"tag_id": value}) == [
        ("tag_id[]", "1"),
        ("tag_id[]", "2"),
        ("tag_id[]", "3"),
    ]


def test_encode_query_empty_sequence_sends_nothing() -> None:
    assert encode_query({"tag_id": []}) == []


def test_encode_query_string_is_not_split() -> None:
    assert encode_query({"search": "abc"}) == [("search", "abc")]


def test_encode_query_keeps_order_and_empty_string() -> None:
    assert encode_query({"b": "", "a": 0, "c": ["x"]}) == [("b", ""), ("a", "0"), ("c[]", "x")]


def test_encode_query_empty() -> None:
    assert encode_query({}) == []


def test_encode_query_bools_inside_lists() -> None:
    assert encode_query({"flags": [True, False]}) == [("flags[]", "1"), ("flags[]", "0")]
