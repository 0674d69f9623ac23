"""What every resource namespace shares: its client's pipeline and one way to list."""

from __future__ import annotations

from typing import Protocol, TypeVar

from attrs import frozen

from .._endpoints import Endpoint
from .._options import CallOptions
from .._pagination.paginator import AsyncPaginator
from .._transport import Transport
from .._wire import QueryValue

T = TypeVar("T")


class Paginate(Protocol):
    """`CliquifyClient.paginate`, as the namespaces call it."""

    def __call__(
        self, endpoint: Endpoint[T], *, max_pages: int | None = ..., **filters: QueryValue
    ) -> AsyncPaginator[T]: ...


@frozen
class Calls:
    """What a namespace is given by its client (or a `with_options` view of it): the
    pipeline, the options of its calls, and the client's way to list. The client builds it;
    the namespaces need not import the client, nor reach into it."""

    transport: Transport
    options: CallOptions
    paginate: Paginate


class Resource:
    """A namespace of calls such as `client.assets`, bound to one client (or its with_options).

    Each list call takes `max_pages` beside its filters (see `CliquifyClient.paginate`).
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def _transport(self) -> Transport:
        return self._calls.transport

    @property
    def _options(self) -> CallOptions:
        """The options of this view of the client's calls (`with_options` may give others)."""
        return self._calls.options

    def _list(
        self, endpoint: Endpoint[T], filters: dict[str, QueryValue], max_pages: int | None
    ) -> AsyncPaginator[T]:
        """A listing of `endpoint` with `filters` as its query and at most `max_pages` pages."""
        return self._calls.paginate(endpoint, max_pages=max_pages, **filters)
