"""The client's spans and metrics through the real OpenTelemetry SDK, in memory: a span per
call and per attempt, with the SDK's context, on a session the client makes or one passed in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from cliquify_async import CliquifyClient
from cliquify_async.otel import OpenTelemetry
from cliquify_async.sandbox import Fault
from tests.conftest import ClientFactory, SandboxFactory, serving
from tests.hostile.api import HostileAPI


class Recorded:
    """Providers of the real SDK that keep what they get in memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.telemetry = OpenTelemetry(self.tracer_provider, self.meter_provider)

    def sums(self) -> dict[str, float]:
        """Each metric's total over its points (a histogram's sum of values)."""
        data = self.reader.get_metrics_data()
        totals: dict[str, float] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points: Any = metric.data.data_points
                    totals[metric.name] = sum(
                        getattr(p, "value", getattr(p, "sum", 0)) for p in points
                    )
        return totals


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    providers = Recorded()
    yield providers
    providers.tracer_provider.shutdown()
    providers.meter_provider.shutdown()


async def test_a_retried_page_is_one_call_span_with_an_attempt_span_each(
    make_sandbox: SandboxFactory, make_client: ClientFactory, recorded: Recorded
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=30)
    sandbox.faults.add(Fault.status(429, retry_after=0), path="/api/assets", times=1)
    client = make_client(sandbox, telemetry=recorded.telemetry, page_concurrency=1)

    assets = await client.assets.list(per_page=20).collect()

    assert len(assets) == 30
    spans = recorded.spans.get_finished_spans()
    calls = [s for s in spans if s.parent is None]
    assert [c.attributes["cliquify.page"] for c in calls] == [1, 2]
    assert {c.attributes["cliquify.endpoint"] for c in calls} == {"assets.list"}
    first = calls[0]
    attempts = [
        s for s in spans if s.parent is not None and s.parent.span_id == first.context.span_id
    ]
    assert [a.attributes["http.response.status_code"] for a in attempts] == [429, 200]
    assert attempts[0].attributes["cliquify.retry_reason"] == "429"
    assert attempts[1].attributes["http.request.resend_count"] == 1
    assert all("cliquify.gate_wait" in a.attributes for a in attempts)
    sums = recorded.sums()
    assert sums["cliquify.requests"] == 3
    assert sums["cliquify.rate_limited"] == 1
    assert sums["cliquify.retries"] == 1


async def test_spans_come_from_a_session_the_user_passes_in(
    make_sandbox: SandboxFactory, recorded: Recorded
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    async with (
        aiohttp.ClientSession() as session,
        CliquifyClient(
            sandbox.client_id,
            sandbox.client_secret,
            base_url=sandbox.url,
            session=session,
            requests_per_minute=None,
            telemetry=recorded.telemetry,
        ) as client,
    ):
        await client.folders.list().collect()

    names = [s.name for s in recorded.spans.get_finished_spans()]
    assert names.count("GET /api/folders") == 2  # the call and its one attempt


async def test_a_download_redirected_to_storage_is_not_traced_as_a_failure(
    recorded: Recorded, tmp_path: Any
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(request.url.with_path("/storage/file")))

    async def stored(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"file bytes")

    api = HostileAPI(redirect)
    app = api.app()
    app.router.add_get("/storage/file", stored)
    async with (
        serving(app) as url,
        CliquifyClient(
            "id",
            "secret-0123456789",
            base_url=url,
            requests_per_minute=None,
            telemetry=recorded.telemetry,
        ) as client,
    ):
        assert await client.download(f"{url}/api/assets", tmp_path / "file") == 10

    (call,) = [s for s in recorded.spans.get_finished_spans() if s.parent is None]
    assert call.status.status_code is not StatusCode.ERROR
    assert "error.type" not in (call.attributes or {})
