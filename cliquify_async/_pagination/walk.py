"""Walk: the pages of several listings at once, as they arrive, through the one rate gate."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Generic, Self, TypeVar

from .._closing import AsyncClosing
from .paginator import AsyncPaginator, Page

K = TypeVar("K")
T = TypeVar("T")

DEFAULT_BUFFER = 8


class Walk(AsyncClosing, Generic[K, T]):
    """`async for key, page in walk({...})`: every page of every listing, tagged by its key.

    The listings run concurrently (their requests share the client's rate gate), so the
    assets of fifty folders take as long as the budget allows, not fifty times the latency.
    Pages of one listing come in order; listings interleave. At most `buffer` pages wait
    unread. The first failure stops the walk: the other listings are cancelled and the
    error is raised. `next_tokens[key]` says where to resume each listing (None once it has
    ended): the page after the last one this walk handed out, since pages fetched but not yet
    handed out are dropped. Use it with `async with` (or call `aclose()`) so a walk left
    early cancels what is in flight.
    """

    def __init__(
        self, listings: Mapping[K, AsyncPaginator[T]], *, buffer: int = DEFAULT_BUFFER
    ) -> None:
        self._listings = dict(listings)
        self.next_tokens: dict[K, str | None] = {
            key: listing.next_token for key, listing in self._listings.items()
        }
        """Where each listing resumes: the page after the last one handed out."""
        self._pages: asyncio.Queue[tuple[K, Page[T] | BaseException | None]] = asyncio.Queue(buffer)
        self._tasks: list[asyncio.Task[None]] = []
        self._running = len(self._listings)
        self._started = False

    def __repr__(self) -> str:
        return f"<Walk listings={len(self._listings)} running={self._running}>"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[K, Page[T]]:
        if not self._started:
            self._started = True
            self._tasks = [
                asyncio.create_task(self._drive(key, listing))
                for key, listing in self._listings.items()
            ]
        while self._running:
            key, page = await self._pages.get()
            if isinstance(page, BaseException):
                await self.aclose()
                raise page
            if page is None:
                self._running -= 1
                continue
            self.next_tokens[key] = page.next_token
            return key, page
        raise StopAsyncIteration

    async def _drive(self, key: K, listing: AsyncPaginator[T]) -> None:
        try:
            async for page in listing.pages():
                await self._pages.put((key, page))
        except Exception as exc:
            await self._pages.put((key, exc))
        else:
            await self._pages.put((key, None))

    async def aclose(self) -> None:
        """Cancel the listings still running; `next_tokens` says where each resumes."""
        self._running = 0
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(listing.suspend() for listing in self._listings.values()))


def walk(listings: Mapping[K, AsyncPaginator[T]], *, buffer: int = DEFAULT_BUFFER) -> Walk[K, T]:
    """The pages of several listings at once; see `Walk`.

    `async with walk({f.id: client.assets.list(folder_id=f.id) for f in folders}) as pages:`
    `    async for folder_id, page in pages: ...`
    """
    return Walk(listings, buffer=buffer)
