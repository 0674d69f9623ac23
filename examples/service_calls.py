"""A service's calls beside a bulk harvest: a deadline that counts the wait at the rate gate,
priority for the call a person waits on, headers of its own, and what the answer said.

python examples/service_calls.py --sandbox   # a built-in sandbox: no credentials, no network
python examples/service_calls.py             # the CLIQUIFY_* variables
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from cliquify_async import CliquifyClient, CliquifyError, DeadlineExceededError
from cliquify_async.sandbox import Sandbox


@contextlib.asynccontextmanager
async def open_client(*, sandbox: bool) -> AsyncIterator[CliquifyClient]:
    """A client of the CLIQUIFY_* variables, or of a sandbox of 10 requests a second."""
    if not sandbox:
        async with CliquifyClient(app_name="service-example/1.0") as client:
            yield client
        return
    async with (
        Sandbox(rate_limit=10, rate_window=1.0, assets=400) as sb,
        CliquifyClient(
            sb.client_id,
            sb.client_secret,
            base_url=sb.url,
            requests_per_minute=600,
            app_name="service-example/1.0",
        ) as client,
    ):
        yield client


async def serve(client: CliquifyClient) -> None:
    # A bulk listing fills the gate's queue: 40 pages at 10 a second.
    bulk = asyncio.create_task(client.assets.list(per_page=10).collect())
    await asyncio.sleep(0.3)

    # The call a person waits on: ahead of the queued pages, and never longer than 2 s in
    # all (gate wait, attempts and backoff), with a trace header of its own.
    interactive = client.with_options(
        priority="high",
        timeout=2.0,
        headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    )
    page = await interactive.folders.list().next_page()
    assert page is not None
    print(f"folders: {len(page.items)} (status {page.status}, request id {page.request_id})")

    budget = client.rate_budget
    if budget is not None:
        print(f"budget: {budget.remaining} of {budget.limit} left in this window")

    # A deadline too short for the queue ahead: a typed error that says where the time went.
    hurried = client.with_options(timeout=0.05)
    try:
        await hurried.templates.list().collect()
    except DeadlineExceededError as exc:
        print(f"deadline: {exc.deadline:g} s, {exc.gate_wait:.2f} s of it at the gate")

    assets = await bulk
    print(f"bulk: {len(assets)} assets")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    args = parser.parse_args()
    try:
        async with open_client(sandbox=args.sandbox) as client:
            await serve(client)
    except CliquifyError as exc:
        print(f"failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
