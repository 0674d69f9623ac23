"""Render a list in one of the seven pagination shapes of docs/contract.md §4.

Pure functions that reproduce Laravel's paginators key for key, so a client's
shape detection is tested against what the likely server really sends. Positions of a walk
may be served empty while the list still points on, as a server that filters its pages after
paging them does; the pages due there come one position later, so nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import operator
from collections.abc import Sequence
from typing import Any, Final, Literal, get_args
from urllib.parse import quote, urlencode

import attrs

Item = dict[str, Any]
Shape = Literal["resource", "flat", "simple", "cursor", "cursor_resource", "data", "bare"]
"""The list response shapes of docs/contract.md §4 the sandbox can answer with."""
SHAPES: Final[tuple[Shape, ...]] = get_args(Shape)

_ON_EACH_SIDE: Final = 3  # Laravel's default UrlWindow width
_PREVIOUS: Final = "&laquo; Previous"
_NEXT: Final = "Next &raquo;"
_TOTALS: Final = frozenset({"last_page", "last_page_url", "total"})
_BY_ID: Final = operator.itemgetter("id")

CursorPage = tuple[list[Item], str | None, str | None]
"""A cursor page's items, next cursor and previous cursor."""


@attrs.frozen(kw_only=True)
class PageRequest:
    """What the client asked for: the list URL, the carried query and the position."""

    path: str  # absolute URL without query, Laravel's "path"
    query: tuple[tuple[str, str], ...] = ()  # parameters repeated in every page URL
    page: int = 1
    per_page: int = 15
    cursor: str | None = None

    def url(self, name: str, value: str | int) -> str:
        """Absolute URL of another page: the carried query plus ``name=value`` last."""
        pairs = [*self.query, (name, str(value))]
        return f"{self.path}?{urlencode(pairs, quote_via=quote)}"


def render(
    shape: Shape,
    items: Sequence[Item],
    request: PageRequest,
    empty_pages: frozenset[int] = frozenset(),
) -> Any:
    """The JSON body a Laravel server would send for ``items`` in ``shape``. The walk
    positions in ``empty_pages`` (1-based) have no items but point on; ``data`` and ``bare``,
    which cannot point on, have none."""
    if shape == "bare":
        return list(items)
    if shape == "data":
        return {"data": list(items)}
    if shape == "flat":
        return _length_aware(items, request, empty_pages)
    if shape == "resource":
        return _as_resource(_length_aware(items, request, empty_pages))
    if shape == "simple":
        return _simple(items, request, empty_pages)
    if shape == "cursor":
        return _cursor(items, request, empty_pages)
    return _as_resource(_cursor(items, request, empty_pages))


def _length_aware(items: Sequence[Item], request: PageRequest, empty_pages: frozenset[int]) -> Item:
    """LengthAwarePaginator::toArray(), its pages numbered as walk positions: an empty one
    adds a page, and the items due there come on the next."""
    page, per_page = request.page, request.per_page
    last_page = _walk_length(max(math.ceil(len(items) / per_page), 1), empty_pages)
    start = (page - 1 - sum(1 for empty in empty_pages if empty < page)) * per_page
    data = [] if page in empty_pages else list(items[start : start + per_page])
    first_item, last_item = _bounds(data, start)
    prev_url = request.url("page", page - 1) if page > 1 else None
    next_url = request.url("page", page + 1) if page < last_page else None
    numbered = [
        _link(None, "...")
        if number is None
        else _link(request.url("page", number), str(number), active=number == page)
        for number in _page_window(page, last_page)
    ]
    return {
        "current_page": page,
        "data": data,
        "first_page_url": request.url("page", 1),
        "from": first_item,
        "last_page": last_page,
        "last_page_url": request.url("page", last_page),
        "links": [_link(prev_url, _PREVIOUS), *numbered, _link(next_url, _NEXT)],
        "next_page_url": next_url,
        "path": request.path,
        "per_page": per_page,
        "prev_page_url": prev_url,
        "to": last_item,
        "total": len(items),
    }


def _walk_length(pages: int, empty_pages: frozenset[int]) -> int:
    """How many positions a walk of ``pages`` pages takes with the empty ones it reaches
    (one past its last page is not reached: nothing points there)."""
    length = pages
    for empty in sorted(empty_pages):
        if empty <= length:
            length += 1
    return length


def _simple(items: Sequence[Item], request: PageRequest, empty_pages: frozenset[int]) -> Item:
    """Paginator::toArray(): the length-aware array without totals, linking prev/next only."""
    paginated = _length_aware(items, request, empty_pages)
    links = paginated["links"]
    paginated["links"] = [links[0], links[-1]]
    return {k: v for k, v in paginated.items() if k not in _TOTALS}


def _cursor(items: Sequence[Item], request: PageRequest, empty_pages: frozenset[int]) -> Item:
    """CursorPaginator::toArray(). With ``empty_pages``, each next cursor also carries the
    walk position it leads to ("_page"); an empty position's cursor leads to the same place,
    one position on."""
    position = _position(request.cursor)
    data, next_cursor, prev_cursor = (
        _empty_cursor_page(request.cursor, position)
        if position in empty_pages
        else _cursor_page(items, request, position + 1 if empty_pages else None)
    )
    return {
        "data": data,
        "path": request.path,
        "per_page": request.per_page,
        "next_cursor": next_cursor,
        "next_page_url": request.url("cursor", next_cursor) if next_cursor else None,
        "prev_cursor": prev_cursor,
        "prev_page_url": request.url("cursor", prev_cursor) if prev_cursor else None,
    }


def _empty_cursor_page(cursor: str | None, position: int) -> CursorPage:
    """No items, and a next cursor to the same place as ``cursor``, one position on."""
    place = _payload(cursor) or {"_pointsToNextItems": True}
    return [], _encode({**place, "_page": position + 1}), None


def _cursor_page(items: Sequence[Item], request: PageRequest, following: int | None) -> CursorPage:
    """The items at the request's cursor, and the next and previous cursors (the next one
    naming position ``following`` if given). ``items`` must be sorted by ``id``, as the
    cursor's place is found by bisection (a scan per page would make a long walk quadratic)."""
    per_page, cursor = request.per_page, decode_cursor(request.cursor)
    start, stop = 0, len(items)
    if cursor is None:
        forward = True
    else:
        cursor_id, forward = cursor
        if forward:
            start = bisect.bisect_right(items, cursor_id, key=_BY_ID)
        else:
            stop = bisect.bisect_left(items, cursor_id, key=_BY_ID)
    has_more = stop - start > per_page
    data = list(
        items[start : start + per_page] if forward else items[max(start, stop - per_page) : stop]
    )
    next_cursor = prev_cursor = None
    if data and (has_more or not forward):
        next_cursor = encode_cursor(data[-1]["id"], forward=True, page=following)
    if data and cursor is not None and (has_more or forward):
        prev_cursor = encode_cursor(data[0]["id"], forward=False)
    return data, next_cursor, prev_cursor


def _as_resource(paginated: Item) -> Item:
    """(Cursor)PaginatedResourceResponse: the same paginator split into data/links/meta."""
    urls = ("first_page_url", "last_page_url", "prev_page_url", "next_page_url")
    return {
        "data": paginated["data"],
        "links": {
            "first": paginated.get("first_page_url"),
            "last": paginated.get("last_page_url"),
            "prev": paginated["prev_page_url"],
            "next": paginated["next_page_url"],
        },
        "meta": {k: v for k, v in paginated.items() if k != "data" and k not in urls},
    }


def _bounds(data: Sequence[Item], start: int) -> tuple[int | None, int | None]:
    """Laravel's ``from`` and ``to``: 1-based positions of the page's first and last item,
    the first being at index ``start`` of the list."""
    if not data:
        return None, None
    return start + 1, start + len(data)


def _link(url: str | None, label: str, *, active: bool = False) -> Item:
    """One entry of Laravel's ``links`` array."""
    return {"url": url, "label": label, "active": active}


def _page_window(current: int, last: int) -> list[int | None]:
    """Laravel's UrlWindow: the page numbers to link, ``None`` standing for a "..." gap."""
    side = _ON_EACH_SIDE
    if last < side * 2 + 8:
        return list(range(1, last + 1))
    window = side + 4
    start, finish = [1, 2], [last - 1, last]
    if current <= window:
        return [*range(1, window + side + 1), None, *finish]
    if current > last - window:
        return [*start, None, *range(last - (window + side - 1), last + 1)]
    return [*start, None, *range(current - side, current + side + 1), None, *finish]


def encode_cursor(item_id: int, *, forward: bool, page: int | None = None) -> str:
    """Laravel's Cursor::encode(), with the walk position ``page`` as "_page" if given."""
    place: Item = {"id": item_id, "_pointsToNextItems": forward}
    return _encode(place if page is None else {**place, "_page": page})


def _encode(parameters: Item) -> str:
    """Unpadded base64url of the cursor parameters as JSON."""
    raw = json.dumps(parameters, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> tuple[int, bool] | None:
    """``(id, forward)`` from an encoded cursor; ``None`` (first page) when absent or garbled."""
    raw = _payload(cursor)
    if raw is None:
        return None
    item_id, forward = raw.get("id"), raw.get("_pointsToNextItems")
    if type(item_id) is not int or not isinstance(forward, bool):
        return None
    return item_id, forward


def _payload(cursor: str | None) -> Item | None:
    """The parameters an encoded cursor holds; ``None`` when absent or garbled."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None
    return raw if isinstance(raw, dict) else None


def _position(cursor: str | None) -> int:
    """The walk position a cursor leads to: its "_page", else 1 (a plain or no cursor)."""
    page = (_payload(cursor) or {}).get("_page")
    return page if type(page) is int and page > 0 else 1
