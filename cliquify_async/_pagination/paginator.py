"""AsyncPaginator: a lazy, resumable walk over every page of a list endpoint."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any, Generic, Self, TypeVar

import attrs
from attrs import field, frozen
from yarl import URL

from .._closing import AsyncClosing
from .._convert import structure_many
from .._endpoints import Endpoint
from .._log import get_logger
from .._options import CallOptions
from .._tasks import background
from .._transport import Answer, Transport
from ..errors import ConfigurationError, PaginationError, ValidationError
from .flight import AUTO, Concurrency, Flight, check_concurrency
from .page_size import PageSizes, size_refused, size_used
from .rules import (
    DEFAULT_MAX_PAGES,
    PageInfo,
    PaginationHint,
    Shape,
    Tally,
    next_page_url,
    read_page,
    trusted,
)

T = TypeVar("T")

logger = get_logger("pagination")


@frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing, with what the server said about the whole.

    `number`, `per_page`, `total` and `last_page` are None where the server's pagination
    shape does not give them. `next_token` resumes the listing after this page (see
    `AsyncPaginator.resume_from`); it is None on the last page. `raw` holds the items as the
    server sent them, for archiving them unchanged. `status`, `headers` (secrets masked) and
    `request_id` (X-Request-Id and the like, when the server sends one) are the answer's.
    """

    items: list[T]
    number: int | None
    per_page: int | None
    total: int | None
    last_page: int | None
    next_token: str | None
    shape: Shape
    raw: list[Any] = field(factory=list, repr=False)
    status: int = 200
    headers: Mapping[str, str] = field(factory=dict, repr=False)
    request_id: str | None = None


def _number(url: URL) -> int | None:
    """The page number a URL asks for, when it asks by number (the first page: 1)."""
    if "cursor" in url.query:
        return None
    asked = url.query.get("page", "1")
    return int(asked) if asked.isdigit() and len(asked) < 10 else None


def check_max_pages(pages: int | None) -> int | None:
    """`pages` if it is a usable bound on a listing (at least 1, or None for no bound)."""
    if pages is not None and (isinstance(pages, bool) or pages < 1):
        raise ConfigurationError(f"max_pages must be at least 1 or None, got {pages!r}")
    return pages


def _token(url: URL) -> str:
    return str(url.relative())


PageKey = int | URL
"""Which page a read-ahead fetch is for: its number, or for cursor lists its URL."""


def _key(info: PageInfo, following: URL) -> PageKey:
    return following if info.number is None else info.number + 1


@frozen(kw_only=True)
class _Fetched:
    """A page as fetched, before the listing has moved past it (its items still JSON)."""

    url: URL  # the URL fetched: the one asked for, or its retry at a smaller page size
    info: PageInfo
    following: URL | None
    answer: Answer


class AsyncPaginator(AsyncClosing, Generic[T]):
    """Every item of a listing, page after page, fetched only as they are consumed.

    `async for item in paginator` yields items; `paginator.pages()` yields `Page` objects;
    `await paginator.collect()` gathers a list. Each page is one request through the client's
    rate gate, retried on its own, so a failure on page 37 loses nothing: after an error,
    iterating again retries the page that failed, and `next_token` names it for a later
    `resume_from`. Several tasks may draw from one paginator; each page is fetched once.

    A listing whose server goes past the pages or items it announced, repeats a page of items
    already given, sends more than MAX_EMPTY_PAGES empty pages in a row that each say more
    follow, or goes on past `max_pages` (default DEFAULT_MAX_PAGES, None for no bound) ends
    with PaginationError, and a page whose next link or cursor is malformed or leaves the
    API with MalformedURLError or UntrustedURLError (its items are not handed out: going on
    from it is impossible, and a rerun retries it whole). Items before the error were each
    yielded once; `next_token` stays at the page refused, so a harvest stores nothing twice.
    """

    def __init__(
        self,
        transport: Transport,
        endpoint: Endpoint[T],
        url: URL | None,
        *,
        options: CallOptions | None = None,
        concurrency: Concurrency = 1,
        flight: Flight | None = None,
        prefetch: bool = False,
        hint: PaginationHint = "auto",
        decode: bool = True,
        sizing: PageSizes | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
    ) -> None:
        self._transport = transport
        self._tally = Tally(max_pages=check_max_pages(max_pages))
        self._sizing = sizing  # set while the first page is to learn the largest page size
        self._endpoint = endpoint
        self._options = options or transport.options
        self._concurrency = check_concurrency(concurrency)
        self._flight = flight or Flight.of(transport)
        self._prefetch = prefetch
        self._hint = hint
        self._decode = decode
        self._needed: int | None = None  # items collect(max_items=) still wants
        self._next: URL | None = url
        self._next_key: PageKey | None = None
        self._ahead: dict[PageKey, asyncio.Task[_Fetched]] = {}
        self._requested: set[URL] = set()
        self._buffer: deque[T] = deque()
        self._lock = asyncio.Lock()
        self._closed = False
        self._last: Page[T] | None = None

    def __repr__(self) -> str:
        where = "done" if self._next is None else _token(self._next)
        return (
            f"<AsyncPaginator of {self._endpoint.model.__name__} at {where} "
            f"pages_fetched={self.pages_fetched}>"
        )

    @property
    def pages_fetched(self) -> int:
        """Pages this paginator has handed out (the count `max_pages` bounds)."""
        return self._tally.pages

    @property
    def next_token(self) -> str | None:
        """Where the listing continues (the page to fetch next), or None once it has ended."""
        return None if self._next is None else _token(self._next)

    def resume_from(self, token: str) -> AsyncPaginator[T]:
        """A new paginator over the same endpoint that starts at a saved `next_token`.

        Raises ConfigurationError for a token of another endpoint or an absolute URL.
        """
        start = self._transport.config.url(self._endpoint.path)
        relative = URL(token)
        if relative.is_absolute() or relative.path != start.path:
            raise ConfigurationError(f"{token!r} is not a page token of {self._endpoint.key}")
        return self._from(start.with_query(relative.query), decode=self._decode)

    def undecoded(self) -> AsyncPaginator[Any]:
        """The same listing from the same place, its items as the server sent them (dicts).

        For archiving: nothing is decoded, so an item the models cannot read (no `id`) is
        kept rather than failing its page. Drift warnings are not given either.
        """
        return self._from(self._next, decode=False)

    def _from(self, url: URL | None, *, decode: bool) -> AsyncPaginator[Any]:
        """A new paginator with this one's settings, starting at `url` (None: ended)."""
        return AsyncPaginator(
            self._transport,
            self._endpoint,
            url,
            options=self._options,
            concurrency=self._concurrency,
            flight=self._flight,
            prefetch=self._prefetch,
            hint=self._hint,
            decode=decode,
            sizing=self._sizing,
            max_pages=self._tally.max_pages,
        )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        """The next item; raises what fetching its page raised (see the class docstring), and
        ClientClosedError once the client is closed."""
        if self._buffer:
            return self._buffer.popleft()
        async with self._lock:
            while not self._buffer:
                page = await self._fetch_next()
                if page is None:
                    raise StopAsyncIteration
                self._buffer.extend(page.items)
            return self._buffer.popleft()

    def pages(self) -> PageIterator[T]:
        """Iterate page by page instead of item by item (sharing this paginator's position);
        each page raises what its request raised, like item iteration."""
        return PageIterator(self)

    async def collect(self, max_items: int | None = None) -> list[T]:
        """Every remaining item in a list, or the first `max_items` of them.

        If a page fails, the items gathered so far go back to the paginator before the error
        is raised, so the next `collect()` returns them too: nothing is lost. Stopping at
        `max_items` cancels the pages still being read ahead.
        """
        items: list[T] = []
        if max_items is not None and max_items <= 0:
            return items
        self._needed = max_items
        try:
            async for item in self:
                items.append(item)
                if max_items is not None:
                    self._needed = max_items - len(items)
                    if not self._needed:
                        await self.suspend()  # nobody asked for the pages being read ahead
                        break
        except BaseException:
            self._buffer.extendleft(reversed(items))
            raise
        finally:
            self._needed = None
        return items

    async def aclose(self) -> None:
        """Stop the listing: later iteration ends at once, even past a fetch in flight, and
        pages being read ahead are cancelled. `async with` or `contextlib.aclosing` does this
        for a loop left by `break`."""
        self._closed = True
        self._next = None
        self._buffer.clear()
        await self.suspend()
        self._ahead.clear()

    async def suspend(self) -> None:
        """Cancel the pages still being read ahead but keep the position: `next_token` stays
        valid, pages already read are kept, and iterating again goes on from there."""
        pending = {key: task for key, task in self._ahead.items() if not task.done()}
        for key, task in pending.items():
            del self._ahead[key]
            task.cancel()
        await asyncio.gather(*pending.values(), return_exceptions=True)

    async def next_page(self) -> Page[T] | None:
        """The next page, or None at the end: the rest of one that item iteration had
        started, else the next from the server (what `pages()` yields, one at a time)."""
        async with self._lock:
            return self._take_buffered() or await self._fetch_next()

    async def _fetch_next(self) -> Page[T] | None:
        """Deliver the page at the current position and advance; state moves only on success.

        The page may already be on its way (read ahead); a failure leaves the position where
        it was, so iterating again fetches that page anew.
        """
        url = self._next
        if url is None or self._closed:
            return None
        self._tally.check_next(url)
        ahead = self._ahead.pop(self._next_key, None) if self._next_key is not None else None
        fetched = await (ahead if ahead is not None else self._fetch(url))
        if self._closed:
            return None
        try:
            ids = self._tally.check(fetched.info, url)
        except PaginationError:
            await self.suspend()  # the pages read ahead are past the refused one
            raise
        # Decoded only now, not while read ahead: the models then live only as long as the
        # consumer keeps them, which spares the garbage collector most of its work. An item
        # that is not an object fails here with ResponseDecodeError; undecoded, it is kept.
        items = (
            structure_many(fetched.info.items, self._endpoint.model, url=str(url))
            if self._decode
            else list(fetched.info.items)
        )
        self._tally.record(fetched.info, ids)
        page = self._advance(url, fetched, items)
        self._read_ahead(fetched.url, fetched)
        return page

    async def _fetch(self, url: URL) -> _Fetched:
        """One page: request, shape, items, and the link the server gives to the next."""
        self._flight.in_flight += 1
        try:
            if self._sizing is None:
                answer = await self._transport.get(
                    url, self._options, endpoint=self._endpoint.key, page=_number(url)
                )
                info = read_page(answer.body, url=str(url))
            else:
                url, answer, info = await self._fetch_sizing(url, self._sizing)
        finally:
            self._flight.in_flight -= 1
        following = next_page_url(info, url, self._hint)
        if following is not None:
            following = trusted(following, url, self._transport.config.base_url)
        return _Fetched(url=url, info=info, following=following, answer=answer)

    async def _fetch_sizing(self, url: URL, sizing: PageSizes) -> tuple[URL, Answer, PageInfo]:
        """The first page of a `per_page="max"` listing, at the size `sizing` says to ask
        for; a 422 that names the cap is asked again at it. The size used is learned."""
        key = self._endpoint.key
        async with sizing.first_page(key) as size:
            url = url.update_query(per_page=size)
            try:
                answer = await self._transport.get(
                    url, self._options, endpoint=self._endpoint.key, page=_number(url)
                )
            except ValidationError as exc:
                refused = size_refused(exc)
                if refused is None:
                    raise
                sizing.learn(key, refused)
                url = url.update_query(per_page=refused)
                answer = await self._transport.get(
                    url, self._options, endpoint=self._endpoint.key, page=_number(url)
                )
            self._sizing = None
            info = read_page(answer.body, url=str(url))
            used = size_used(info, int(url.query.get("per_page", size)))
            if used is not None:
                sizing.learn(key, used)
        return url, answer, info

    def _advance(self, url: URL, fetched: _Fetched, items: list[T]) -> Page[T]:
        """Move past `url`; a next link the listing already followed ends it."""
        following = fetched.following
        if following is not None and (following == url or following in self._requested):
            logger.warning("the server's next page repeats %s; ending the listing", following)
            following = None
        self._requested.update((url, fetched.url))
        self._next = following
        self._next_key = None if following is None else _key(fetched.info, following)
        info = fetched.info
        self._last = Page(
            items=items,
            number=info.number,
            per_page=info.per_page,
            total=info.total,
            last_page=info.last_page,
            next_token=None if following is None else _token(following),
            shape=info.shape,
            raw=info.items,
            status=fetched.answer.status,
            headers=fetched.answer.headers,
            request_id=fetched.answer.request_id,
        )
        return self._last

    def _read_ahead(self, url: URL, fetched: _Fetched) -> None:
        """Start fetching the pages after this one: up to `concurrency` of them (with "auto",
        what the client's Flight leaves room for) once the server has said how many there
        are, or just the next one when `prefetch` is on."""
        info, following = fetched.info, self._next
        if following is None or self._next_key is None:
            return
        if self._concurrency == AUTO:
            ahead = self._flight.ahead(len(self._ahead))
        else:  # a number: that many pages at once, so 1 reads nothing ahead
            ahead = self._concurrency if self._concurrency > 1 else 0
        if self._tally.max_pages is not None:  # no page beyond the last one allowed
            ahead = min(ahead, self._tally.max_pages - self._tally.pages)
            if ahead <= 0:
                return
        if self._needed is not None:  # collect(max_items=): no page beyond the last needed
            still_needed = self._needed - len(self._buffer) - len(fetched.info.items)
            ahead = min(ahead, -(-max(still_needed, 0) // max(len(fetched.info.items), 1)))
            if ahead == 0:
                return
        wanted: dict[PageKey, URL] = {}
        if self._prefetch or (ahead >= 1 and info.last_page is not None):
            wanted[self._next_key] = following
        if info.number is not None and info.last_page is not None and not info.is_cursor:
            # Pages further on differ from this one's URL in their number alone; a URL is
            # built only for a page not yet on its way.
            last = min(info.last_page, info.number + ahead)
            for number in range(info.number + 2, last + 1):
                if number not in self._ahead:
                    wanted[number] = url.update_query(page=number)
        for key, page_url in wanted.items():
            if key not in self._ahead:
                self._ahead[key] = background(self._fetch(page_url))

    def _take_buffered(self) -> Page[T] | None:
        """The rest of a page that item iteration had started, as a page of its own."""
        if not self._buffer or self._last is None:
            return None
        rest = list(self._buffer)
        self._buffer.clear()
        # The rest is a tail of the last page, unless a failed collect() put back items of
        # earlier pages too; their raw JSON is not kept, so such a page has no `raw`.
        raw = (
            self._last.raw[len(self._last.raw) - len(rest) :]
            if len(rest) <= len(self._last.raw)
            else []
        )
        return attrs.evolve(self._last, items=rest, raw=raw)


class PageIterator(Generic[T]):
    """`async for page in paginator.pages()`: one `Page` per request."""

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._paginator = paginator

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        page = await self._paginator.next_page()
        if page is None:
            raise StopAsyncIteration
        return page

    async def aclose(self) -> None:
        """Stop the listing (the same as closing the paginator)."""
        await self._paginator.aclose()
