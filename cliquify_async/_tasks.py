"""Background tasks that never leave an unretrieved exception behind."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def background(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task whose failure is marked as seen, so asyncio does not report it when no one
    awaits it (a token fetch whose waiters were cancelled, a page read ahead and dropped)."""
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(_mark_retrieved)
    return task


def _mark_retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
