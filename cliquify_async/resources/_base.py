"""What every resource namespace shares: its client's pipeline and one way to list."""

from __future__ import annotations

from typing import Protocol, TypeVar

from .._endpoints import Endpoint
from .._pagination import AsyncPaginator
from .._protocol import QueryValue
from .._retry import RetryPolicy
from .._transport import Transport

T = TypeVar("T")


class Client(Protocol):
    """What a namespace needs of its client: the pipeline, the retry policy, listings. A
    protocol, so the resources need not import the client that builds them."""

    @property
    def _transport(self) -> Transport: ...

    @property
    def _retry(self) -> RetryPolicy: ...

    def paginate(
        self, endpoint: Endpoint[T], *, max_pages: int | None = ..., **filters: QueryValue
    ) -> AsyncPaginator[T]: ...


class Resource:
    """A namespace of calls such as `client.assets`, bound to one client (or its with_options).

    Each list call takes `max_pages` beside its filters (see `CliquifyClient.paginate`).
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def _transport(self) -> Transport:
        return self._client._transport

    @property
    def _retry(self) -> RetryPolicy:
        """The retry policy of this view of the client (`with_options` may give it another)."""
        return self._client._retry

    def _list(
        self, endpoint: Endpoint[T], filters: dict[str, QueryValue], max_pages: int | None
    ) -> AsyncPaginator[T]:
        """A listing of `endpoint` with `filters` as its query and at most `max_pages` pages."""
        return self._client.paginate(endpoint, max_pages=max_pages, **filters)
