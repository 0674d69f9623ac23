"""N worker processes split the folders of an account between them (folder i goes to worker
i % N) and share one rate budget and one access token through Redis.

Against the built-in sandbox (started in this process, with a fast 30-per-2 s window), with a
throwaway Redis::

    redis-server --port 6379 --save "" --appendonly no &
    python examples/multiprocess_harvest.py --sandbox --workers 4 --per-page 10

Against the API (credentials from CLIQUIFY_CLIENT_ID / CLIQUIFY_CLIENT_SECRET, and
CLIQUIFY_BASE_URL if not production), writing one JSON Lines file per folder::

    python examples/multiprocess_harvest.py --workers 4 --redis-url redis://cache:6379/0 \\
        --out export/

Every process builds its client with `client_from_redis_url(url, key=...)`: the same URL and
key is the whole configuration. Together the workers stay inside the one budget (60 requests
per minute per IP by default) and make one token request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cliquify_async import Asset, walk
from cliquify_async.redis import client_from_redis_url
from cliquify_async.sandbox import Sandbox


def worker(index: int, folders: list[int], settings: dict[str, Any]) -> None:
    """One process: every asset of its folders, all folders at once through the shared gate."""
    asyncio.run(harvest(index, folders, settings))


async def harvest(index: int, folders: list[int], settings: dict[str, Any]) -> None:
    started = time.monotonic()
    out = Path(settings["out"]) if settings["out"] else None
    async with client_from_redis_url(**settings["client"]) as client:
        per_page = settings["per_page"]
        listings = {f: client.assets.list(folder_id=f, per_page=per_page) for f in folders}
        counts = dict.fromkeys(folders, 0)
        async with walk(listings) as pages:
            async for folder, page in pages:
                counts[folder] += len(page.items)
                if out is not None:
                    append(out / f"folder-{folder}.jsonl", page.items)
    print(
        f"worker {index}: folders {folders}, {sum(counts.values())} assets, "
        f"{client.stats.requests} requests, {client.stats.token_requests} token requests, "
        f"{client.stats.rate_limited} rate-limited, {time.monotonic() - started:.1f} s",
        flush=True,
    )


def append(path: Path, assets: Sequence[Asset]) -> None:
    """Add a page of assets to a JSON Lines file."""
    with path.open("a", encoding="utf-8") as file:
        for asset in assets:
            file.write(json.dumps({"id": asset.id, "name": asset.name, "url": asset.url}) + "\n")


async def run(args: argparse.Namespace, client: dict[str, Any]) -> None:
    """List the folders, then start the workers and wait for them."""
    async with client_from_redis_url(**client) as parent:
        folders = [folder.id for folder in await parent.folders.list().collect()]
    print(f"{len(folders)} folders for {args.workers} workers")
    settings = {"client": client, "out": args.out, "per_page": args.per_page}
    spawn = multiprocessing.get_context("spawn")  # the secret goes through a pipe, not argv
    processes = [
        spawn.Process(target=worker, args=(n, folders[n :: args.workers], settings))
        for n in range(args.workers)
    ]
    for process in processes:
        process.start()
    for process in processes:  # joined in threads, so a sandbox in this loop keeps serving
        await asyncio.to_thread(process.join)


async def main(args: argparse.Namespace) -> None:
    client: dict[str, Any] = {"redis_url": args.redis_url, "key": args.key}
    if not args.sandbox:
        await run(args, client)
        return
    async with Sandbox(rate_limit=30, rate_window=2.0, assets=600, folders=10) as sandbox:
        client |= {
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "base_url": sandbox.url,
            "requests_per_minute": 30 * 60 / 2.0,
            "rate_window": 2.0,
        }
        await run(args, client)
        print(
            f"sandbox saw {sandbox.stats.token_requests} token request(s), "
            f"{sandbox.stats.count('/api/')} API requests, {sandbox.stats.rate_limited} 429s, "
            f"at most {sandbox.stats.max_in_window()} in any 2 s (limit 30)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--key", default="example", help="the shared budget's name")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--out", help="write folder-<id>.jsonl files here")
    parser.add_argument("--sandbox", action="store_true", help="harvest a local sandbox")
    arguments = parser.parse_args()
    if arguments.out:
        Path(arguments.out).mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments))
