"""Harvest every resource to JSON Lines with the library's `Harvester`, resumably.

    python examples/harvest_to_jsonl.py --out export/ --sandbox   # a built-in sandbox
    python examples/harvest_to_jsonl.py --out export/             # the CLIQUIFY_* variables

Each resource goes to `export/<name>.jsonl`, one item per line exactly as the server sent it.
Stop it at any point (Ctrl-C, a crash, a lost network) and run the same command again: it goes
on from the last page written, and every item is written exactly once. A folder belongs to
one account (base URL and client id), so rerun against the same server. `--download` also
streams asset files into `export/files/`. The `cliquify-async harvest` command does the same
with a live progress display.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from cliquify_async import CliquifyClient, CliquifyError, Harvester, HarvestReport
from cliquify_async.sandbox import Sandbox

SANDBOX_WINDOW = 6.0  # the real API's 60 requests per minute, ten times faster


@contextlib.asynccontextmanager
async def open_client(*, sandbox: bool) -> AsyncIterator[CliquifyClient]:
    """A client from the CLIQUIFY_* variables, or one for a sandbox started here."""
    if not sandbox:
        async with CliquifyClient() as client:
            yield client
        return
    async with (
        Sandbox(rate_limit=60, rate_window=SANDBOX_WINDOW) as sb,
        CliquifyClient(
            sb.client_id,
            sb.client_secret,
            base_url=sb.url,
            requests_per_minute=60 * 60 / SANDBOX_WINDOW,
            rate_window=SANDBOX_WINDOW,
        ) as client,
    ):
        yield client


def print_when_done() -> Callable[[HarvestReport], None]:
    """A progress callback (called after every page and file) that prints each resource once,
    when it is complete."""
    printed: set[str] = set()

    def progress(report: HarvestReport) -> None:
        for name, resource in report.resources.items():
            if resource.done and name not in printed:
                printed.add(name)
                how = "resumed, " if resource.resumed else ""
                print(f"  {name}: done ({how}{resource.items} items in {resource.pages} pages)")

    return progress


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder; rerun to resume")
    parser.add_argument("--sandbox", action="store_true", help="harvest a built-in sandbox")
    parser.add_argument("--resources", help="comma-separated subset, e.g. assets,folders")
    parser.add_argument("--download", action="store_true", help="also download asset files")
    args = parser.parse_args()

    try:
        async with open_client(sandbox=args.sandbox) as client:
            options = {"resources": args.resources.split(",")} if args.resources else {}
            harvester = Harvester(
                client, args.out, download=args.download, on_progress=print_when_done(), **options
            )
            print(f"harvesting {client.base_url} into {args.out}")
            report = await harvester.run()
            requests = client.stats.requests
    except CliquifyError as exc:
        # Nothing is lost: the pages already written stay, and a rerun continues after them.
        print(f"harvest stopped: {type(exc).__name__}: {exc}; rerun to resume", file=sys.stderr)
        return 1

    for name in report.resources:
        lines = len((args.out / f"{name}.jsonl").read_bytes().splitlines())
        print(f"{name}.jsonl: {lines} lines")
    downloads = report.downloads
    if args.download:
        print(
            f"files: {downloads.downloaded} downloaded, {downloads.skipped} already there, "
            f"{downloads.failed} failed, {downloads.bytes} bytes"
        )
    print(f"{requests} requests to /api")
    return 1 if downloads.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
