"""Turns at a gate: one request at a time asks for its permit, "high" ones first, then first
come, first served, so an interactive call goes ahead of a harvest's queued pages."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .._options import PRIORITIES, Priority


class Turns:
    """A lock whose waiters are served by priority, in order within one. Cancelled while
    waiting, a waiter leaves no trace; cancelled as its turn came, it passes the turn on."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: dict[Priority, deque[asyncio.Future[None]]] = {
            priority: deque() for priority in PRIORITIES
        }

    def __repr__(self) -> str:
        waiting = {priority: len(queue) for priority, queue in self._waiting.items()}
        return f"<Turns held={self._held} waiting={waiting}>"

    @asynccontextmanager
    async def turn(self, priority: Priority = "normal") -> AsyncIterator[None]:
        """Hold the turn for the body of the `async with`."""
        await self._take(priority)
        try:
            yield
        finally:
            self._pass_on()

    async def _take(self, priority: Priority) -> None:
        if not self._held and not any(self._waiting.values()):
            self._held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._waiting[priority]
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._pass_on()  # the turn was handed over as this waiter was cancelled
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def _pass_on(self) -> None:
        """Hand the turn to the first waiter of the highest priority, or free it."""
        for priority in reversed(PRIORITIES):  # "high" first
            queue = self._waiting[priority]
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._held = False
