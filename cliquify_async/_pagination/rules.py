"""Pure pagination rules: recognise a list response's shape, find the next page's URL, and
keep a listing within the bounds its server announced.

The API does not document pagination (docs/contract.md §4), so every shape a Laravel server
may answer with is recognised here by its keys, per response, with no configuration. Every
number, link and cursor in a list response is untrusted input (docs/reliability.md), so each
is bounded here: see MAX_COUNT, REMEMBERED_IDS, DEFAULT_MAX_PAGES and MAX_EMPTY_PAGES
(links: `_wire.server_url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from attrs import define, field, frozen
from yarl import URL

from .._config import same_origin
from .._endpoints import BY_KEY
from .._log import get_logger
from .._wire import read_int, server_url
from ..errors import (
    ConfigurationError,
    PaginationError,
    ResponseDecodeError,
    UntrustedURLError,
)

logger = get_logger("pagination")

Shape = Literal["resource", "cursor_resource", "flat", "simple", "cursor", "data", "bare"]

PaginationHint = Literal["auto", "page", "none"]
"""For an endpoint whose responses do not say how they page: "page" asks for page=n+1 until
a page comes back empty, "none" takes the first response as the whole list, "auto" (the
default) goes only by what each response says."""
HINTS: tuple[PaginationHint, ...] = ("auto", "page", "none")

MAX_COUNT: Final = 2**53
"""Page numbers, sizes and totals above this (or below 0) are absurd: read as absent."""
REMEMBERED_IDS: Final = 100_000
"""Item ids a listing remembers to notice a repeated page: hashes, so at most a few MB."""
DEFAULT_MAX_PAGES: Final = 10_000
"""Pages one listing fetches unless told otherwise (`max_pages`, None for no bound)."""
MAX_EMPTY_PAGES: Final = 100
"""Empty pages in a row a listing follows: far more than a sparse filter or a deletion leaves,
yet under two minutes at 60 requests a minute before a server that only loops is given up."""


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


def _numbered(
    shape: Shape,
    items: list[Any],
    numbers: Mapping[str, Any],
    *,
    next_url: str | None,
    next_cursor: str | None = None,
) -> PageInfo:
    """A page whose numbers (current_page, per_page, total, last_page) sit in `numbers`:
    the `meta` of a resource page, or the body of a flat one."""
    return PageInfo(
        shape=shape,
        items=items,
        number=_int(numbers.get("current_page")),
        per_page=_int(numbers.get("per_page")),
        total=_int(numbers.get("total")),
        last_page=_int(numbers.get("last_page")),
        next_url=next_url,
        next_cursor=next_cursor,
    )


def _int(value: Any) -> int | None:
    """A count or page number (Laravel echoes per_page as a string); None for anything else,
    and for a number outside 0..MAX_COUNT."""
    return read_int(value, low=0, high=MAX_COUNT)


def _pointer(holder: Mapping[str, Any], key: str, body: Any, url: str | None) -> str | None:
    """The next link or cursor under `key`: null (or an empty link) ends the list, a string
    goes on, and so does an integer cursor; anything else would end the list silently with
    items still to come, so it is a ResponseDecodeError."""
    value = holder.get(key)
    if value is None or (isinstance(value, str) and (value or key != "next_cursor")):
        return value or None
    if key == "next_cursor" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ResponseDecodeError(
        f"a list response's {key} is neither a string nor null: {str(value)[:100]!r}",
        data=body,
        url=url,
    )


def read_page(body: Any, *, url: str | None = None) -> PageInfo:
    """Recognise any list shape of docs/contract.md §4 (seven, with the two cursor forms and
    the two unpaginated ones), or raise ResponseDecodeError."""
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
        return _numbered(
            "cursor_resource" if "next_cursor" in meta else "resource",
            items,
            meta,
            next_url=_pointer(links, "next", body, url),
            next_cursor=_pointer(meta, "next_cursor", body, url),
        )
    if "current_page" in body:
        return _numbered(
            "flat" if "last_page" in body else "simple",
            items,
            body,
            next_url=_pointer(body, "next_page_url", body, url),
        )
    if "next_cursor" in body:
        return PageInfo(
            shape="cursor",
            items=items,
            per_page=_int(body.get("per_page")),
            next_url=_pointer(body, "next_page_url", body, url),
            next_cursor=_pointer(body, "next_cursor", body, url),
        )
    return PageInfo(shape="data", items=items)


def next_page_url(page: PageInfo, current: URL, hint: PaginationHint = "auto") -> URL | None:
    """The URL of the page after `page` (fetched from `current`), or None at the end.

    A list ends on a null cursor, or when neither a next link nor `current_page < last_page`
    points further (see `points_further`); an empty page that points further is followed, as
    a filtered cursor page or items deleted meanwhile leave one (Tally bounds a run of them).
    A next link wins over counting pages because it carries the server's own filters. `hint`
    decides for bodies that say nothing: "page" goes on until a page is empty.
    """
    if hint == "none":
        return None
    if hint == "page" and page.shape in ("data", "bare"):
        number = page.number or _int(current.query.get("page")) or 1
        return current.update_query(page=number + 1) if page.items else None
    if page.is_cursor and page.next_cursor is None:
        return None
    if page.next_url is not None:
        return _link(page.next_url, current)
    if page.next_cursor is not None:
        return _link(page.next_cursor, current, cursor=True)
    following = _next_number(page)
    return None if following is None else current.update_query(page=following)


def points_further(page: PageInfo) -> bool:
    """Whether `page` itself says the list goes on (what `next_page_url` follows, hints
    aside): a next link or cursor, unless a cursor list's cursor is null, or a page count."""
    if page.is_cursor and page.next_cursor is None:
        return False
    return (
        page.next_url is not None or page.next_cursor is not None or _next_number(page) is not None
    )


def _next_number(page: PageInfo) -> int | None:
    """The number of the page after `page` while it is below `last_page`, else None."""
    if page.number is not None and page.last_page is not None and page.number < page.last_page:
        return page.number + 1
    return None


def _link(text: str, current: URL, *, cursor: bool = False) -> URL:
    """The server's next link (or next cursor) `text` as a URL to request after `current`;
    MalformedURLError as `server_url` says. Whose origin it is, `trusted` decides."""
    what = f"next cursor of {current.path}" if cursor else f"next-page link of {current.path}"
    return server_url(text, what=what, base=current, cursor=cursor)


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


def identity(item: Any) -> int | None:
    """The hash of an item's `id` as the server sent it (1 and "1" differ), or None for an
    item that has none: not an object, or an `id` that is not a string or integer."""
    key = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(key, bool) or not isinstance(key, int | str):
        return None
    return hash(key)


@define
class Tally:
    """What one listing has handed out, checked page by page against what its server
    announced and against `max_pages`, so a server that invents pages cannot run it forever.

    A non-empty page is refused when it goes past the page count or item count the page
    itself announces (`last_page`, `total`: the latest word, so a list that grows while it is
    read is not refused), or when every item on it that has an id repeats one this listing
    already gave (the server is looping; items without an id, or not objects, cannot tell).
    Ids are remembered as hashes, up to REMEMBERED_IDS of them; a page that only partly
    repeats (an offset list shifted by an insert) is handed out as it is. An empty page that
    points further is refused after MAX_EMPTY_PAGES of them in a row (the server is looping).
    """

    max_pages: int | None
    pages: int = 0
    items: int = 0
    empty_run: int = 0  # empty pages handed out since the last page with items
    _ids: set[int] = field(factory=set, repr=False)
    _followed_empty: bool = field(default=False, repr=False)

    def check_next(self, url: URL) -> None:
        """Refuse, with PaginationError, to fetch `url` once `max_pages` pages were given.
        The first time a listing goes on past an empty page, say so in one log line."""
        if self.max_pages is not None and self.pages >= self.max_pages:
            raise self._error(
                url,
                "max_pages",
                f"has more pages after the {self.max_pages} of max_pages={self.max_pages}; "
                "pass a larger max_pages (or None), or resume_from(next_token)",
            )
        if self.empty_run and not self._followed_empty:
            self._followed_empty = True
            logger.info(
                "the listing of %s had an empty page that says more follow (items filtered "
                "out or deleted meanwhile?); following it, and up to %d such pages in a row",
                url.path,
                MAX_EMPTY_PAGES,
            )

    def check(self, page: PageInfo, url: URL) -> list[int | None]:
        """The ids of `page` (fetched from `url`), or PaginationError if handing it out would
        go past a bound; nothing is recorded until `record`."""
        ids = [identity(item) for item in page.items]
        number = self.pages + 1
        if not page.items:
            if self.empty_run >= MAX_EMPTY_PAGES and points_further(page):
                raise self._error(
                    url,
                    "empty",
                    f"page {number} is empty and says more follow, after {self.empty_run} "
                    "such pages in a row (MAX_EMPTY_PAGES); the server is looping",
                )
            return ids
        if page.last_page is not None and max(number, page.number or 0) > page.last_page:
            raise self._error(
                url,
                "last_page",
                f"page {max(number, page.number or 0)} has items, but the server said the "
                f"listing has {page.last_page} pages (last_page)",
            )
        if page.total is not None and self.items + len(page.items) > page.total:
            raise self._error(
                url,
                "total",
                f"page {number} brings the listing to {self.items + len(page.items)} items, "
                f"but the server said it has {page.total} (total)",
            )
        known = [key for key in ids if key is not None]
        if known and all(key in self._ids for key in known):
            raise self._error(
                url,
                "repeat",
                f"page {number} only repeats items this listing already gave "
                f"(ids compared: up to {REMEMBERED_IDS}); the server is looping",
            )
        return ids

    def record(self, page: PageInfo, ids: list[int | None]) -> None:
        """Count `page` as handed out (and the run of empty pages it ends or extends), and
        remember its ids while under REMEMBERED_IDS."""
        self.pages += 1
        self.items += len(page.items)
        self.empty_run = 0 if page.items else self.empty_run + 1
        for key in ids:
            if len(self._ids) >= REMEMBERED_IDS:
                break
            if key is not None:
                self._ids.add(key)

    def _error(self, url: URL, bound: str, what: str) -> PaginationError:
        return PaginationError(
            f"the listing of {url.path} {what}; ending it",
            url=str(url),
            pages=self.pages,
            bound=bound,
        )


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
        f"the next-page link of {current.path} leaves the API "
        f"({next_url.origin()}{next_url.path}); not following it",
        url=str(next_url),
    )
