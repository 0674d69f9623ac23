"""The hook the transport reports each call and attempt to, for tracing and metrics.

`NO_TELEMETRY` is the default: one shared object whose contexts and reports do nothing, so
a client without telemetry allocates nothing for it per request. `cliquify_async.otel`
implements the hook with OpenTelemetry.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Final, Protocol


class AttemptTrace(Protocol):
    """One attempt of a call: one HTTP request sent (or tried) once."""

    def waited(self, seconds: float) -> None:
        """The rate gate let the attempt through after `seconds` (0.0: no wait at all). Called
        for every attempt that passes the gate, as it does: an attempt ended by an exception
        before anything was reported of it was stopped at the gate, and was never sent."""
        ...

    def answered(self, status: int) -> None:
        """The server answered with `status` (an error status too, before `failed`)."""
        ...

    def failed(self, error: BaseException, retry_reason: str | None) -> None:
        """The attempt failed with `error`; `retry_reason` ("429", "503", "timeout",
        "connection", ...) when another attempt follows, None when none does."""
        ...


class CallTrace(Protocol):
    """One call of the SDK: a request with all its attempts."""

    def attempt(self, number: int) -> AbstractContextManager[AttemptTrace]:
        """The context of attempt `number` (1 for the first), entered before the rate gate;
        an exception escaping it marks the attempt failed."""
        ...

    def failed(self, error: BaseException) -> None:
        """The whole call failed with `error` (after its last attempt)."""
        ...


class Telemetry(Protocol):
    """What the transport reports to: a context per call, and within it one per attempt."""

    def call(
        self, *, method: str, url: str, endpoint: str | None, page: int | None
    ) -> AbstractContextManager[CallTrace]:
        """The context of one call of `method` on `url`; `endpoint` is the list endpoint's
        key (`assets.list`) and `page` the page number, when the call is a page of a list.
        An exception escaping the context marks the call failed."""
        ...


class _Nothing(AbstractContextManager["_Nothing"]):
    """Telemetry, call and attempt at once, each doing nothing: the one object that every
    context of `NO_TELEMETRY` is, so reporting to it allocates nothing."""

    def call(self, *, method: str, url: str, endpoint: str | None, page: int | None) -> _Nothing:
        return self

    def attempt(self, number: int) -> _Nothing:
        return self

    def waited(self, seconds: float) -> None:
        pass

    def answered(self, status: int) -> None:
        pass

    def failed(self, error: BaseException, retry_reason: str | None = None) -> None:
        pass

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass


NO_TELEMETRY: Final[Telemetry] = _Nothing()
"""Telemetry off: every context and report does nothing and costs next to nothing."""
