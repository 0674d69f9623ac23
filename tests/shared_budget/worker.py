"""One process of a fleet: `python -m tests.shared_budget.worker '<json job>'` lists assets,
templates and folders through a client sharing its budget via Redis, and prints a JSON summary."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from cliquify_async import CliquifyClient, RetryPolicy
from cliquify_async.redis import client_from_redis_url


async def list_three(client: CliquifyClient, per_page: int) -> dict[str, list[Any]]:
    """The ids of every asset, template and folder, the three listings run at once (what
    each process of a fleet does here and in benchmarks/shared_gate.py)."""
    assets, templates, folders = await asyncio.gather(
        client.assets.list(per_page=per_page).collect(),
        client.templates.list(per_page=per_page).collect(),
        client.folders.list(per_page=per_page).collect(),
    )
    return {
        "assets": [item.id for item in assets],
        "templates": [item.id for item in templates],
        "folders": [item.id for item in folders],
    }


async def run(job: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    client = client_from_redis_url(
        job["redis_url"],
        job["client_id"],
        job["client_secret"],
        base_url=job["base_url"],
        key=job["key"],
        requests_per_minute=job["limit"] * 60 / job["window"],
        rate_window=job["window"],
        max_retries=RetryPolicy(max_retries=job.get("max_retries", 3), backoff_cap=0.5),
    )
    async with client:
        listed = await list_three(client, job["per_page"])
    return {
        **listed,
        "requests": client.stats.requests,
        "token_requests": client.stats.token_requests,
        "rate_limited": client.stats.rate_limited,
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    summary = asyncio.run(run(json.loads(sys.argv[1])))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
