"""Pure pagination rules: recognise a list response's shape and find the next page's URL.

The API does not document pagination (cliquify-api.md §4), so every shape a Laravel server
may answer with is recognised here by its keys, per response, with no configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from attrs import frozen
from yarl import URL

from ._config import same_origin
from ._endpoints import BY_KEY
from .errors import ConfigurationError, ResponseDecodeError, UntrustedURLError

logger = logging.getLogger("cliquify_async")

Shape = Literal["resource", "cursor_resource", "flat", "simple", "cursor", "data", "bare"]

PaginationHint = Literal["auto", "page", "none"]
"""For an endpoint whose responses do not say how they page: "page" asks for page=n+1 until
a page comes back empty, "none" takes the first response as the whole list, "auto" (the
default) goes only by what each response says."""
HINTS: tuple[PaginationHint, ...] = ("auto", "page", "none")


@frozen(kw_only=True)
class PageInfo:
    """What one list response says: its raw items and where the list goes next."""

    shape: Shape
    items: list[Any]
    number: int | None = None
    per_page: int | None = None
    total: int | None = None
    last_page: int | None = None
    next_url: str | None = None
    next_cursor: str | None = None

    @property
    def is_cursor(self) -> bool:
        """True for cursor paginators, which end when `next_cursor` is null."""
        return self.shape in ("cursor", "cursor_resource")


def _int(value: Any) -> int | None:
    """An integer from a number or numeric string (Laravel echoes per_page as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        try:
            return int(value)
        except ValueError:  # beyond int()'s digit limit: not a page number
            return None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_page(body: Any, *, url: str | None = None) -> PageInfo:
    """Recognise any of the five documented list shapes, or raise ResponseDecodeError."""
    if isinstance(body, list):
        return PageInfo(shape="bare", items=body)
    if not isinstance(body, Mapping):
        raise ResponseDecodeError("a list response must be an object or array", data=body, url=url)
    items = body.get("data")
    if not isinstance(items, list):
        raise ResponseDecodeError("a list response has no array under 'data'", data=body, url=url)
    meta, links = body.get("meta"), body.get("links")
    if isinstance(meta, Mapping):
        links = links if isinstance(links, Mapping) else {}
        return PageInfo(
            shape="cursor_resource" if "next_cursor" in meta else "resource",
            items=items,
            number=_int(meta.get("current_page")),
            per_page=_int(meta.get("per_page")),
            total=_int(meta.get("total")),
            last_page=_int(meta.get("last_page")),
            next_url=_str(links.get("next")),
            next_cursor=_str(meta.get("next_cursor")),
        )
    if "current_page" in body:
        return PageInfo(
            shape="flat" if "last_page" in body else "simple",
            items=items,
            number=_int(body.get("current_page")),
            per_page=_int(body.get("per_page")),
            total=_int(body.get("total")),
            last_page=_int(body.get("last_page")),
            next_url=_str(body.get("next_page_url")),
        )
    if "next_cursor" in body:
        return PageInfo(
            shape="cursor",
            items=items,
            per_page=_int(body.get("per_page")),
            next_url=_str(body.get("next_page_url")),
            next_cursor=_str(body.get("next_cursor")),
        )
    return PageInfo(shape="data", items=items)


def next_page_url(page: PageInfo, current: URL, hint: PaginationHint = "auto") -> URL | None:
    """The URL of the page after `page` (fetched from `current`), or None at the end.

    A list ends on an empty page, on a null cursor, or when neither a next link nor
    `current_page < last_page` points further. A next link wins over counting pages
    because it carries the server's own filters. `hint` decides for bodies that say nothing.
    """
    if not page.items or hint == "none":
        return None
    if hint == "page" and page.shape in ("data", "bare"):
        number = page.number or _int(current.query.get("page")) or 1
        return current.update_query(page=number + 1)
    if page.is_cursor and page.next_cursor is None:
        return None
    if page.next_url is not None:
        return current.join(URL(page.next_url))
    if page.next_cursor is not None:
        return current.update_query(cursor=page.next_cursor)
    if page.number is not None and page.last_page is not None and page.number < page.last_page:
        return current.update_query(page=page.number + 1)
    return None


def check_hints(hints: Mapping[str, str]) -> dict[str, PaginationHint]:
    """Pagination hints by SDK call, refusing unknown endpoints and hint names."""
    checked: dict[str, PaginationHint] = {}
    for key, hint in hints.items():
        if key not in BY_KEY:
            raise ConfigurationError(f"no endpoint {key!r}; the keys are {', '.join(BY_KEY)}")
        if hint not in HINTS:
            raise ConfigurationError(f"pagination hint for {key} must be one of {HINTS}")
        checked[key] = hint
    return checked


def trusted(next_url: URL, current: URL, base: URL) -> URL:
    """`next_url` made safe to send the token to, or UntrustedURLError.

    A next link on the API's own origin is used as it is. One that names the same endpoint on
    another scheme or host (a Laravel server behind a proxy often says http:// or its internal
    host name) is moved onto the API's origin, keeping its path and query: the token still
    only goes to the base URL. Anything else is refused.
    """
    if same_origin(next_url, base):
        return next_url
    if next_url.path == current.path:
        logger.warning(
            "the server's next-page link points at %s; fetching the same path from %s instead",
            next_url.origin(),
            base.origin(),
        )
        return base.with_path(next_url.path).with_query(next_url.query)
    raise UntrustedURLError(
        f"the next-page link leaves the API ({next_url.origin()}{next_url.path}); not following",
        url=str(next_url),
    )
