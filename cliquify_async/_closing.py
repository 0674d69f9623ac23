"""`async with` for anything with an `aclose()`: enter returns it, leaving closes it."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Self


class AsyncClosing:
    """Mixin: `async with thing:` closes `thing` on the way out (subclasses define aclose)."""

    async def aclose(self) -> None:
        """Release what the object holds; subclasses say what that is."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class RenamedClose(AsyncClosing):
    """AsyncClosing for objects whose `close()` became `aclose()`: the old name still works,
    with a DeprecationWarning, until the next minor release."""

    async def close(self) -> None:
        """Deprecated: use `aclose()`."""
        warnings.warn(
            f"{type(self).__name__}.close() is deprecated; use aclose()",
            DeprecationWarning,
            stacklevel=2,
        )
        await self.aclose()
