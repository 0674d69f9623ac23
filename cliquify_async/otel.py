"""Spans and metrics of every request through OpenTelemetry (`pip install 'cliquify-async[otel]'`).

    client = CliquifyClient(telemetry=OpenTelemetry())

Each call is an INTERNAL span with one CLIENT child span per attempt, named and attributed
by OpenTelemetry's HTTP client semantic conventions; the counters and histograms go to the
meter "cliquify_async". Nothing holds a secret: no header is recorded, signed-URL query values
are masked, and every text passes the SDK's redaction. See docs/tracing.md.
"""

from __future__ import annotations

import time
import traceback
from contextlib import AbstractContextManager
from contextvars import Token
from types import TracebackType
from typing import Final

try:
    from opentelemetry import context, metrics, trace
    from opentelemetry.context import Context
    from opentelemetry.trace import SpanKind, Status, StatusCode
    from opentelemetry.util.types import AttributeValue
except ImportError as exc:  # the extra is not installed
    raise ImportError(
        "cliquify_async.otel needs OpenTelemetry: pip install 'cliquify-async[otel]'"
    ) from exc
from attrs import frozen
from yarl import URL

from ._redact import redact
from ._telemetry import AttemptTrace, CallTrace, Telemetry
from ._version import __version__

__all__ = ["OpenTelemetry"]

_Attributes = dict[str, AttributeValue]

_SCOPE: Final = "cliquify_async"
"""The tracer's and the meter's name."""
_DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1,
    2.5,
    5,
    7.5,
    10,
)
"""The semantic conventions' advice for http.client.request.duration, in seconds."""
_GATE_WAIT_BUCKETS: Final = (0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
"""Seconds at the gate: none at all (the first bucket), up to the default max wait (120 s)."""
_SIGNED_QUERY_KEYS: Final = frozenset(
    {
        "awsaccesskeyid",
        "signature",
        "sig",
        "x-goog-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "token",
        "access_token",
        "key",
        "api_key",
        "apikey",
    }
)
"""Query keys (in any case) whose values `url.full` masks: the semantic conventions' list,
SigV4's, Laravel's signed URLs (`signature`) and the usual names of a key or token."""
_REDACTED: Final = "REDACTED"


class OpenTelemetry(Telemetry):
    """Telemetry through OpenTelemetry, for `CliquifyClient(telemetry=...)`: a span per call,
    a child span per attempt, and the request counters and histograms (docs/tracing.md).

    The global tracer and meter providers are used unless you pass your own.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        self._instruments = _Instruments(
            tracer=trace.get_tracer(_SCOPE, __version__, tracer_provider),
            requests=meter.create_counter(
                "cliquify.requests", "{request}", "Attempts sent (each retry counts)."
            ),
            rate_limited=meter.create_counter(
                "cliquify.rate_limited", "{response}", "429 responses received."
            ),
            retries=meter.create_counter(
                "cliquify.retries", "{retry}", "Attempts that failed and are made again."
            ),
            gate_wait=meter.create_histogram(
                "cliquify.gate.wait",
                "s",
                "Time an attempt waited at the rate gate before it was sent.",
                explicit_bucket_boundaries_advisory=_GATE_WAIT_BUCKETS,
            ),
            duration=meter.create_histogram(
                "http.client.request.duration",
                "s",
                "Duration of HTTP client requests (each attempt, without its wait at the gate).",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            ),
        )

    def call(self, *, method: str, url: str, endpoint: str | None, page: int | None) -> _Call:
        """The context of one call (the transport's hook): its span, parent of its attempts'."""
        return _Call(self._instruments, method, url, endpoint, page)


@frozen
class _Instruments:
    """The tracer and the metric instruments that every call reports to."""

    tracer: trace.Tracer
    requests: metrics.Counter
    rate_limited: metrics.Counter
    retries: metrics.Counter
    gate_wait: metrics.Histogram
    duration: metrics.Histogram


class _Traced:
    """A span and why it failed: the first reason given is the one kept (for an attempt,
    its status, if it had one)."""

    span: trace.Span
    error_type: str | None = None

    def _error(self, kind: str) -> None:
        if self.error_type is None:
            self.error_type = kind
            self.span.set_attribute("error.type", kind)
            self.span.set_status(Status(StatusCode.ERROR))


class _Call(_Traced, AbstractContextManager["_Call"], CallTrace):
    """One call: the attributes its attempts share, and its span while it runs."""

    _token: Token[Context]

    def __init__(
        self,
        instruments: _Instruments,
        method: str,
        url: str,
        endpoint: str | None,
        page: int | None,
    ) -> None:
        self.instruments = instruments
        parsed = URL(url)
        # A list endpoint's path is its own template (none has a variable part); any other
        # path may be one of many (a file), so the name is the method alone (semconv).
        self.name = method if endpoint is None else f"{method} {parsed.raw_path}"
        server: _Attributes = {}
        if parsed.host is not None:
            server["server.address"] = parsed.host
        if parsed.port is not None:
            server["server.port"] = parsed.port
        sdk: _Attributes = {}
        if endpoint is not None:
            sdk["cliquify.endpoint"] = endpoint
            sdk["url.template"] = parsed.raw_path
        if page is not None:
            sdk["cliquify.page"] = page
        self.attributes: _Attributes = {
            "http.request.method": method,
            "url.full": _full_url(parsed, url),
            **server,
            **sdk,
        }
        """Every span's attributes at its start: the request, the server, the SDK's context."""
        self.metric_attributes: _Attributes = {"http.request.method": method, **server}
        """Every metric point's attributes: few values each, as metrics need."""
        if endpoint is not None:
            self.metric_attributes["cliquify.endpoint"] = endpoint

    def __enter__(self) -> _Call:
        self.span = self.instruments.tracer.start_span(
            self.name, kind=SpanKind.INTERNAL, attributes=self.attributes
        )
        self._token = context.attach(trace.set_span_in_context(self.span))
        return self

    def attempt(self, number: int) -> _Attempt:
        return _Attempt(self, number)

    def failed(self, error: BaseException) -> None:
        _record_exception(self.span, error)
        self._error(_error_type(error))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        context.detach(self._token)
        if error is not None:
            self._error(_error_type(error))
        self.span.end()


class _Attempt(_Traced, AbstractContextManager["_Attempt"], AttemptTrace):
    """One attempt: an HTTP client span, and the metric points it makes when it ends."""

    _token: Token[Context]
    _started: float

    def __init__(self, call: _Call, number: int) -> None:
        self.call = call
        self.number = number
        self.status: int | None = None
        self.gate_wait = 0.0
        self.reported = False
        """Whether anything was reported of the attempt: if not, it ended at the rate gate."""

    def __enter__(self) -> _Attempt:
        call = self.call
        attributes: _Attributes = {**call.attributes, "cliquify.attempt": self.number}
        if self.number > 1:
            attributes["http.request.resend_count"] = self.number - 1
        self.span = call.instruments.tracer.start_span(
            call.name,
            context=trace.set_span_in_context(call.span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self._token = context.attach(trace.set_span_in_context(self.span))
        self._started = time.perf_counter()
        return self

    def waited(self, seconds: float) -> None:
        self.reported = True
        self.gate_wait += seconds
        self.span.set_attribute("cliquify.gate_wait", self.gate_wait)
        self.call.instruments.gate_wait.record(seconds, self.call.metric_attributes)

    def answered(self, status: int) -> None:
        self.reported = True
        self.status = status
        self.span.set_attribute("http.response.status_code", status)
        if status == 429:
            self.call.instruments.rate_limited.add(1, self.call.metric_attributes)
        if status >= 400:  # an error for a client span, 4xx included (semconv)
            self._error(str(status))

    def failed(self, error: BaseException, retry_reason: str | None) -> None:
        self.reported = True
        if retry_reason is not None:
            self.span.set_attribute("cliquify.retry_reason", retry_reason)
            reason: _Attributes = {
                **self.call.metric_attributes,
                "cliquify.retry_reason": retry_reason,
            }
            self.call.instruments.retries.add(1, reason)
        _record_exception(self.span, error)
        self._error(_error_type(error))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        context.detach(self._token)
        if error is not None:
            self._error(_error_type(error))
        if self.reported or error is None:  # sent, not stopped at the gate (cancelled, say)
            instruments, common = self.call.instruments, self.call.metric_attributes
            instruments.requests.add(1, common)
            point = dict(common)
            if self.status is not None:
                point["http.response.status_code"] = self.status
            if self.error_type is not None:
                point["error.type"] = self.error_type
            instruments.duration.record(max(0.0, elapsed - self.gate_wait), point)
        self.span.end()


def _full_url(parsed: URL, url: str) -> str:
    """`url` as `url.full` shows it: credentials and signed-URL query values masked (as the
    semantic conventions ask), and any secret of an open client redacted."""
    if parsed.user is not None or parsed.password is not None:
        parsed = parsed.with_user(_REDACTED).with_password(_REDACTED)
        url = str(parsed)
    if any(k.lower() in _SIGNED_QUERY_KEYS for k in parsed.query):
        masked = [
            (k, _REDACTED if k.lower() in _SIGNED_QUERY_KEYS else v)
            for k, v in parsed.query.items()
        ]
        url = str(parsed.with_query(masked))
    return redact(url)


def _error_type(error: BaseException) -> str:
    """`error.type` of an exception: its fully qualified class name, as the semantic
    conventions ask (and as the SDK names it in the exception event)."""
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _record_exception(span: trace.Span, error: BaseException) -> None:
    """The exception event, with its message and stack trace redacted."""
    span.record_exception(
        error,
        attributes={
            "exception.message": redact(str(error)),
            "exception.stacktrace": redact("".join(traceback.format_exception(error))),
        },
    )
