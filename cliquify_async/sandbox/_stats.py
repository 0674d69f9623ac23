"""What the sandbox saw: one record per request, and the questions tests ask of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ._faults import Fault


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the server handled it."""

    method: str
    path: str
    query: Mapping[str, str]
    remote: str | None
    status: int | None  # None: the connection was closed before any response (Fault.reset)
    time: float  # arrival, on the sandbox clock
    has_authorization: bool
    token: str | None = attrs.field(repr=False)  # the bearer token presented, if any
    fault: Fault | None  # the injected fault that answered it
    throttled: bool  # answered 429 by the rate limiter
    # body bytes written for a 2xx answer, up to the cut of one cut short; 0 for any other
    body_bytes: int = 0
    # the request's Range, If-Range, If-None-Match and If-Modified-Since headers, those present
    file_headers: Mapping[str, str] = attrs.field(factory=dict)


def most_within(sorted_times: Sequence[float], span: float) -> int:
    """The most of ``sorted_times`` (ascending) within any ``span`` seconds, a sliding span."""
    most = start = 0
    for end, moment in enumerate(sorted_times):
        while moment - sorted_times[start] >= span:
            start += 1
        most = max(most, end - start + 1)
    return most


class SandboxStats:
    """Records of every request, oldest first; ``reset()`` forgets them."""

    def __init__(self, *, window: float) -> None:
        self._window = window
        self.requests: list[RecordedRequest] = []

    def __repr__(self) -> str:
        return f"<SandboxStats requests={len(self.requests)} rate_limited={self.rate_limited}>"

    @property
    def token_requests(self) -> int:
        """How many POST /oauth/access-token requests arrived (successful or not)."""
        return sum(r.method == "POST" and r.path == "/oauth/access-token" for r in self.requests)

    @property
    def rate_limited(self) -> int:
        """How many requests the rate limiter answered with 429."""
        return sum(r.throttled for r in self.requests)

    def bytes_sent(self, path_prefix: str = "/files/") -> int:
        """Body bytes written to requests whose path starts with ``path_prefix`` (see
        RecordedRequest.body_bytes): what downloads cost, retries and resumptions included."""
        return sum(r.body_bytes for r in self.requests if r.path.startswith(path_prefix))

    def count(self, path_prefix: str = "", *, status: int | None = None) -> int:
        """Requests whose path starts with ``path_prefix`` (and answered ``status``, if given)."""
        return sum(
            r.path.startswith(path_prefix) and (status is None or r.status == status)
            for r in self.requests
        )

    def max_in_window(self, window: float | None = None, *, path_prefix: str = "/api/") -> int:
        """The most requests the rate limiter let through within any span of ``window`` seconds.

        The span slides (any start time), so it is stricter than the server's fixed windows:
        a client that never bursts stays at or under the limit here. ``window`` defaults to
        the sandbox's ``rate_window``.
        """
        span = self._window if window is None else window
        times = sorted(
            r.time for r in self.requests if r.path.startswith(path_prefix) and not r.throttled
        )
        return most_within(times, span)

    def record(self, request: RecordedRequest) -> None:
        """Add one answered request (the server calls this; tests read `requests`)."""
        self.requests.append(request)

    def reset(self) -> None:
        """Forget every record, to count from here on."""
        self.requests.clear()
