"""Spans and metrics of a client through OpenTelemetry, printed from in-memory exporters.

python examples/tracing.py --sandbox   # a built-in sandbox (needs opentelemetry-sdk)
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cliquify_async import CliquifyClient
from cliquify_async.otel import OpenTelemetry
from cliquify_async.sandbox import Fault, Sandbox


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    parser.parse_args()
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = OpenTelemetry(tracer_provider, meter_provider)

    async with Sandbox(rate_limit=None, assets=30) as sandbox:
        # The first page meets one 429: its call span gets two attempt spans.
        sandbox.faults.add(Fault.status(429, retry_after=0), path="/api/assets", times=1)
        async with CliquifyClient(
            sandbox.client_id, sandbox.client_secret, base_url=sandbox.url, telemetry=telemetry
        ) as client:
            assets = await client.assets.list(per_page=20).collect()
    print(f"assets: {len(assets)}")

    for span in spans.get_finished_spans():
        attributes = span.attributes or {}
        depth = "  " if span.parent is not None else ""
        status = attributes.get("http.response.status_code", "")
        page = attributes.get("cliquify.page", "")
        print(f"{depth}{span.kind.name:8} {span.name} page={page} status={status}".rstrip())
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name in ("cliquify.requests", "cliquify.rate_limited"):
                    total = sum(point.value for point in metric.data.data_points)  # type: ignore[union-attr]
                    print(f"{metric.name}: {total}")
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
