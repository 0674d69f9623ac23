"""The OpenTelemetry extra against the real SDK, in memory; the no-op default; the import rules."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from cliquify_async import APITimeoutError, RateLimitError
from cliquify_async._telemetry import NO_TELEMETRY
from cliquify_async.otel import OpenTelemetry

ROOT = Path(__file__).resolve().parents[2]
ASSETS = "https://api.example.com/api/assets?page=2&per_page=100"
TEMPLATES = "https://api.example.com/api/templates?page=1"


class Clock:
    """A perf_counter that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorded:
    """An OpenTelemetry reporting to a tracer and a meter provider of its own, read in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.telemetry = OpenTelemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def spans(self) -> dict[str, ReadableSpan]:
        """The finished spans by role: "call", "attempt 1", "attempt 2", ..."""
        spans = {}
        for span in self.exporter.get_finished_spans():
            attempt = (span.attributes or {}).get("cliquify.attempt")
            spans["call" if attempt is None else f"attempt {attempt}"] = span
        return spans

    def points(self) -> dict[str, list[Any]]:
        """Every metric's data points by metric name (cumulative since the start)."""
        data = self.reader.get_metrics_data()
        if data is None:  # nothing was ever recorded
            return {}
        return {
            metric.name: list(metric.data.data_points)
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            if scope.scope.name == "cliquify_async"
            for metric in scope.metrics
        }

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    providers = Recorded()
    yield providers
    providers.shutdown()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "perf_counter", clock)
    return clock


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def rate_limited() -> RateLimitError:
    return RateLimitError("Too Many Attempts.", status=429, method="GET", url=ASSETS)


def test_a_call_retried_after_a_429_is_a_span_with_a_child_per_attempt(
    recorded: Recorded, clock: Clock
) -> None:
    telemetry = recorded.telemetry
    with telemetry.call(method="GET", url=ASSETS, endpoint="assets.list", page=2) as call:
        with call.attempt(1) as attempt:
            attempt.waited(0.25)
            clock.now += 1.0  # 0.25 s at the gate, 0.75 s on the wire
            attempt.answered(429)
            attempt.failed(rate_limited(), "429")
        with call.attempt(2) as attempt:
            attempt.waited(0.5)
            clock.now += 0.625
            attempt.answered(200)

    spans = recorded.spans()
    assert set(spans) == {"call", "attempt 1", "attempt 2"}
    call_span, first, second = spans["call"], spans["attempt 1"], spans["attempt 2"]
    assert [span.name for span in spans.values()] == ["GET /api/assets"] * 3
    assert call_span.kind is SpanKind.INTERNAL
    assert call_span.parent is None
    assert call_span.status.status_code is StatusCode.UNSET
    for span in (first, second):
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == call_span.context.span_id
        assert span.context.trace_id == call_span.context.trace_id

    request = {
        "http.request.method": "GET",
        "url.full": ASSETS,
        "server.address": "api.example.com",
        "server.port": 443,
        "url.template": "/api/assets",
        "cliquify.endpoint": "assets.list",
        "cliquify.page": 2,
    }
    assert attributes(call_span) == request
    assert attributes(first) == {
        **request,
        "cliquify.attempt": 1,
        "cliquify.gate_wait": 0.25,
        "http.response.status_code": 429,
        "error.type": "429",
        "cliquify.retry_reason": "429",
    }
    assert first.status.status_code is StatusCode.ERROR
    [event] = first.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "cliquify_async.errors.RateLimitError"
    assert attributes(second) == {
        **request,
        "cliquify.attempt": 2,
        "http.request.resend_count": 1,
        "cliquify.gate_wait": 0.5,
        "http.response.status_code": 200,
    }
    assert second.status.status_code is StatusCode.UNSET
    assert second.events == ()

    points = recorded.points()
    common = {
        "http.request.method": "GET",
        "server.address": "api.example.com",
        "server.port": 443,
        "cliquify.endpoint": "assets.list",
    }
    [requests] = points["cliquify.requests"]
    assert (requests.value, dict(requests.attributes)) == (2, common)
    [limited] = points["cliquify.rate_limited"]
    assert (limited.value, dict(limited.attributes)) == (1, common)
    [retries] = points["cliquify.retries"]
    assert (retries.value, dict(retries.attributes)) == (
        1,
        {**common, "cliquify.retry_reason": "429"},
    )
    [gate] = points["cliquify.gate.wait"]
    assert (gate.count, gate.sum, dict(gate.attributes)) == (2, 0.75, common)
    assert gate.explicit_bounds[:2] == (0, 0.01)  # the advised buckets: "no wait" counted apart
    durations = {
        point.attributes["http.response.status_code"]: point
        for point in points["http.client.request.duration"]
    }
    assert set(durations) == {429, 200}
    assert dict(durations[429].attributes) == {
        **common,
        "http.response.status_code": 429,
        "error.type": "429",
    }
    assert dict(durations[200].attributes) == {**common, "http.response.status_code": 200}
    # Each attempt's time without its wait at the gate.
    assert (durations[429].count, durations[429].sum) == (1, pytest.approx(0.75))
    assert (durations[200].count, durations[200].sum) == (1, pytest.approx(0.125))
    assert durations[200].explicit_bounds[:2] == (0.005, 0.01)  # seconds, not milliseconds


def test_a_call_that_fails_with_an_exception_marks_both_spans(recorded: Recorded) -> None:
    error = APITimeoutError("timed out", method="GET", url=TEMPLATES)
    call_context = recorded.telemetry.call(
        method="GET", url=TEMPLATES, endpoint="templates.list", page=1
    )
    # The transport's steps: the attempt fails and is not retried, so the call fails with it.
    with pytest.raises(APITimeoutError), call_context as call:  # noqa: PT012
        try:
            with call.attempt(1) as attempt:
                attempt.failed(error, None)
                raise error
        except APITimeoutError as exc:
            call.failed(exc)
            raise

    spans = recorded.spans()
    kind = "cliquify_async.errors.APITimeoutError"
    for span in (spans["call"], spans["attempt 1"]):
        assert span.status.status_code is StatusCode.ERROR
        assert attributes(span)["error.type"] == kind
        [event] = span.events
        assert (event.attributes or {})["exception.type"] == kind
    assert "http.response.status_code" not in attributes(spans["attempt 1"])
    assert "cliquify.retry_reason" not in attributes(spans["attempt 1"])

    points = recorded.points()
    assert "cliquify.retries" not in points
    assert "cliquify.rate_limited" not in points
    assert "cliquify.gate.wait" not in points
    [requests] = points["cliquify.requests"]
    assert requests.value == 1
    [duration] = points["http.client.request.duration"]
    assert isinstance(duration, HistogramDataPoint)
    assert duration.count == 1
    assert duration.attributes is not None
    assert duration.attributes["error.type"] == kind
    assert "http.response.status_code" not in duration.attributes


def test_an_exception_escaping_the_contexts_ends_both_spans_failed(recorded: Recorded) -> None:
    call_context = recorded.telemetry.call(method="GET", url=TEMPLATES, endpoint=None, page=None)
    with pytest.raises(asyncio.CancelledError), call_context as call, call.attempt(1):
        raise asyncio.CancelledError  # cancelled at the gate: a failure too (semconv)

    spans = recorded.spans()
    for span in spans.values():
        assert span.end_time is not None
        assert span.status.status_code is StatusCode.ERROR
        assert attributes(span)["error.type"] == "asyncio.exceptions.CancelledError"
        assert span.events == ()  # `failed` was not called: no detail to add
    # Not a list endpoint: the path may be one of many, so the name is the method alone.
    assert spans["call"].name == "GET"
    assert "url.template" not in attributes(spans["call"])
    # Nothing was reported of the attempt: stopped at the gate, it was never sent.
    assert recorded.points() == {}


def test_url_full_hides_credentials_signatures_and_tokens(recorded: Recorded) -> None:
    url = (
        "https://user:pass@cdn.example.com/files/logo.png"
        "?X-Amz-Signature=abc123&size=2&access_token=tok-abcdefgh12345"
    )
    with recorded.telemetry.call(method="GET", url=url, endpoint=None, page=None):
        pass

    shown = attributes(recorded.spans()["call"])["url.full"]
    assert shown.startswith("https://REDACTED:REDACTED@cdn.example.com/files/logo.png?")
    assert "X-Amz-Signature=REDACTED" in shown
    assert "size=2" in shown
    for secret in ("user", "pass", "abc123", "tok-abcdefgh12345"):
        assert secret not in shown


@pytest.mark.parametrize("key", ["signature", "Signature", "SIG", "token", "api_key", "Key"])
def test_url_full_hides_a_signed_url_s_secret_in_any_case(recorded: Recorded, key: str) -> None:
    url = f"https://api.example.com/api/files/7?expires=1700000000&{key}=5f1e2d3c4b5a6978"
    with recorded.telemetry.call(method="GET", url=url, endpoint=None, page=None):
        pass

    shown = attributes(recorded.spans()["call"])["url.full"]
    assert "5f1e2d3c4b5a6978" not in shown
    assert f"{key}=REDACTED" in shown and "expires=1700000000" in shown


def test_exception_events_are_redacted(recorded: Recorded) -> None:
    error = RuntimeError('echoed {"access_token": "tok-abcdefgh12345"}')
    with recorded.telemetry.call(method="GET", url=TEMPLATES, endpoint=None, page=None) as call:
        call.failed(error)

    [event] = recorded.spans()["call"].events
    assert event.attributes is not None
    assert "tok-abcdefgh12345" not in str(event.attributes["exception.message"])
    assert "tok-abcdefgh12345" not in str(event.attributes["exception.stacktrace"])
    assert "[redacted]" in str(event.attributes["exception.message"])


def test_the_global_providers_are_used_by_default() -> None:
    # Nothing is set globally here: the API's no-op providers take everything and keep nothing.
    call_context = OpenTelemetry().call(method="GET", url=ASSETS, endpoint="assets.list", page=1)
    with call_context as call, call.attempt(1) as attempt:
        attempt.waited(0.0)
        attempt.answered(200)


def test_no_telemetry_works_and_is_one_object() -> None:
    with NO_TELEMETRY.call(method="GET", url=ASSETS, endpoint="assets.list", page=1) as call:
        with call.attempt(1) as attempt:
            attempt.waited(0.5)
            attempt.answered(429)
            attempt.failed(rate_limited(), "429")
        with pytest.raises(RuntimeError), call.attempt(2):
            raise RuntimeError("passes through")
        call.failed(RuntimeError("recorded nowhere"))
    # One shared object, holding nothing: a call allocates nothing and records nothing.
    assert call is attempt is NO_TELEMETRY
    assert vars(NO_TELEMETRY) == {}


def run_python(code: str) -> str:
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_the_package_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, cliquify_async\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))"
    )
    assert run_python(code) == "[]"


def test_without_opentelemetry_the_import_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if it were not installed\n"
        "try:\n"
        "    import cliquify_async.otel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install 'cliquify-async[otel]'" in run_python(code)
