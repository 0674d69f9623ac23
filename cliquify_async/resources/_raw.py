"""`RawResponse`: a single-object call's answer as it came, for `client.with_raw_response`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from attrs import field, frozen

from .._transport import Answer

T = TypeVar("T")


@frozen
class RawResponse(Generic[T]):
    """The answer of one call: its `status`, `headers` (secrets masked), the server's
    `request_id` and the JSON `body`; `parse()` gives what the call itself returns."""

    status: int
    headers: Mapping[str, str] = field(repr=False)
    request_id: str | None
    body: Any = field(repr=False)
    _parse: Callable[[Any], T] = field(repr=False, alias="parse")

    @classmethod
    def of(cls, answer: Answer, parse: Callable[[Any], T]) -> RawResponse[T]:
        return cls(answer.status, answer.headers, answer.request_id, answer.body, parse)

    def parse(self) -> T:
        """The call's result, decoded from `body` (a typed error if it does not decode)."""
        return self._parse(self.body)
