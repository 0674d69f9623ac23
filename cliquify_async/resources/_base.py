"""What every resource namespace shares: a handle on its client and one way to list."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from .._endpoints import Endpoint
from .._pages import QueryValue
from .._pagination import AsyncPaginator

if TYPE_CHECKING:
    from .._client import CliquifyClient

T = TypeVar("T")


class Resource:
    """A namespace of calls such as `client.assets`; holds nothing but its client."""

    def __init__(self, client: CliquifyClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _list(self, endpoint: Endpoint[T], filters: dict[str, QueryValue]) -> AsyncPaginator[T]:
        return self._client.paginate(endpoint, **filters)
