"""Render a list in one of the seven pagination shapes of docs/contract.md §4.

Pure functions that reproduce Laravel's paginators key for key, so a client's
shape detection is tested against what the likely server really sends.
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


def render(shape: Shape, items: Sequence[Item], request: PageRequest) -> Any:
    """The JSON body a Laravel server would send for ``items`` in ``shape``."""
    if shape == "bare":
        return list(items)
    if shape == "data":
        return {"data": list(items)}
    if shape == "flat":
        return _length_aware(items, request)
    if shape == "resource":
        return _as_resource(_length_aware(items, request))
    if shape == "simple":
        return _simple(items, request)
    if shape == "cursor":
        return _cursor(items, request)
    return _as_resource(_cursor(items, request))


def _length_aware(items: Sequence[Item], request: PageRequest) -> Item:
    """LengthAwarePaginator::toArray()."""
    page, per_page = request.page, request.per_page
    last_page = max(math.ceil(len(items) / per_page), 1)
    data = list(items[(page - 1) * per_page : page * per_page])
    first_item, last_item = _bounds(data, request)
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


def _simple(items: Sequence[Item], request: PageRequest) -> Item:
    """Paginator::toArray(): the length-aware array without totals, linking prev/next only."""
    paginated = _length_aware(items, request)
    links = paginated["links"]
    paginated["links"] = [links[0], links[-1]]
    return {k: v for k, v in paginated.items() if k not in _TOTALS}


def _cursor(items: Sequence[Item], request: PageRequest) -> Item:
    """CursorPaginator::toArray(); ``items`` must be sorted by ``id``, as the cursor's place
    is found by bisection (a scan per page would make a long walk quadratic)."""
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
        next_cursor = encode_cursor(data[-1]["id"], forward=True)
    if data and cursor is not None and (has_more or forward):
        prev_cursor = encode_cursor(data[0]["id"], forward=False)
    return {
        "data": data,
        "path": request.path,
        "per_page": per_page,
        "next_cursor": next_cursor,
        "next_page_url": request.url("cursor", next_cursor) if next_cursor else None,
        "prev_cursor": prev_cursor,
        "prev_page_url": request.url("cursor", prev_cursor) if prev_cursor else None,
    }


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


def _bounds(data: Sequence[Item], request: PageRequest) -> tuple[int | None, int | None]:
    """Laravel's ``from`` and ``to``: 1-based positions of the page's first and last item."""
    if not data:
        return None, None
    first = (request.page - 1) * request.per_page + 1
    return first, first + len(data) - 1


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


def encode_cursor(item_id: int, *, forward: bool) -> str:
    """Laravel's Cursor::encode(): unpadded base64url of the cursor parameters as JSON."""
    raw = json.dumps({"id": item_id, "_pointsToNextItems": forward}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> tuple[int, bool] | None:
    """``(id, forward)`` from an encoded cursor; ``None`` (first page) when absent or garbled."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(raw, dict):
        return None
    item_id, forward = raw.get("id"), raw.get("_pointsToNextItems")
    if type(item_id) is not int or not isinstance(forward, bool):
        return None
    return item_id, forward
