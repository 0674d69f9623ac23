"""Four processes behind one IP: per-process in-memory gates vs one gate shared through Redis.

    python -m benchmarks.shared_gate

Each side runs the same harvest (4 OS processes, each listing every asset, template and
folder) against a fresh sandbox whose fixed-window limit counts all of them together, as an
API does per client IP. With in-memory gates every process paces itself at the full limit, so
together they ask for four times the budget and live on 429s and Retry-After; with the Redis
gate they share the budget. The table shows what the server saw. A redis-server of its own
is started on a free loopback port unless CLIQUIFY_TEST_REDIS_URL names one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from cliquify_async import CliquifyClient, RetryPolicy
from cliquify_async.sandbox import Sandbox
from tests.redis_server import redis_url
from tests.shared_budget.worker import list_three

from ._windows import server_windows

ROOT: Final = Path(__file__).resolve().parents[1]
PROCESSES: Final = 4
LIMIT: Final = 20
WINDOW: Final = 0.5
PER_PAGE: Final = 8
DATA: Final = {"assets": 200, "templates": 40, "folders": 8}
PAGES: Final = sum(-(-size // PER_PAGE) for size in DATA.values())  # per process
WORKER_TIMEOUT: Final = 40.0


# --- the worker process ----------------------------------------------------------------------


async def work(job: dict[str, Any]) -> dict[str, Any]:
    """One process's harvest; returns what it got and what its client counted."""
    rate = LIMIT * 60 / WINDOW
    retries = RetryPolicy(max_retries=100, backoff_cap=0.5)  # outlast any number of 429s
    client: CliquifyClient
    if job["gate"] == "redis":
        from cliquify_async.redis import client_from_redis_url

        client = client_from_redis_url(
            job["redis_url"],
            job["client_id"],
            job["client_secret"],
            base_url=job["base_url"],
            key=job["key"],
            max_retries=retries,
            requests_per_minute=rate,
            rate_window=WINDOW,
        )
    else:
        client = CliquifyClient(
            job["client_id"],
            job["client_secret"],
            base_url=job["base_url"],
            max_retries=retries,
            requests_per_minute=rate,
            rate_window=WINDOW,
        )
    async with client:
        return await list_three(client, PER_PAGE)


# --- the parent: redis-server, sandbox, workers, report --------------------------------------


@attrs.frozen(kw_only=True)
class Outcome:
    """What the server saw of one side's run."""

    label: str
    wall: float
    span: float
    complete: bool
    token_requests: int
    requests: int
    rate_limited: int
    windows: int
    most_attempted: int
    most_accepted: int
    mean_accepted: float
    sliding: int


async def run_side(label: str, gate: str, redis_url: str) -> Outcome:
    """Four workers with `gate` ("local" or "redis") against a fresh sandbox."""
    async with Sandbox(
        rate_limit=LIMIT,
        rate_window=WINDOW,
        retry_after_precision="float",
        latency=0.01,
        **DATA,
    ) as sandbox:
        job = {
            "gate": gate,
            "redis_url": redis_url,
            "key": f"bench-{uuid.uuid4().hex[:8]}",
            "base_url": sandbox.url,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        started = time.monotonic()
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.shared_gate",
                "--worker",
                json.dumps(job),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(PROCESSES)
        ]
        outputs = await asyncio.wait_for(
            asyncio.gather(*(worker.communicate() for worker in workers)), WORKER_TIMEOUT
        )
        wall = time.monotonic() - started
        expected = {
            "assets": [item["id"] for item in sandbox.items("/api/assets")],
            "templates": [item["id"] for item in sandbox.items("/api/templates")],
            "folders": [item["id"] for item in sandbox.items("/api/folders")],
        }
        complete = all(
            worker.returncode == 0 and json.loads(out.decode().splitlines()[-1]) == expected
            for worker, (out, _) in zip(workers, outputs, strict=True)
        )
        api = sorted(
            (r for r in sandbox.stats.requests if r.path.startswith("/api/")), key=lambda r: r.time
        )
        windows = server_windows(api, WINDOW)
        return Outcome(
            label=label,
            wall=wall,
            span=max(r.time for r in api) - min(r.time for r in api),
            complete=complete,
            token_requests=sandbox.stats.token_requests,
            requests=len(api),
            rate_limited=sandbox.stats.rate_limited,
            windows=len(windows),
            most_attempted=max(w.attempts for w in windows),
            most_accepted=max(w.accepted for w in windows),
            mean_accepted=sum(w.accepted for w in windows) / len(windows),
            sliding=sandbox.stats.max_in_window(WINDOW * 0.97),
        )


def table(outcomes: Sequence[Outcome]) -> str:
    """One row per figure, one column per side."""
    rows: list[tuple[str, ...]] = [("", *(o.label for o in outcomes))]
    figures: list[tuple[str, Callable[[Outcome], str]]] = [
        ("harvest complete and exact", lambda o: "yes" if o.complete else "NO"),
        ("wall time, s (with process start)", lambda o: f"{o.wall:.2f}"),
        ("first to last request, s", lambda o: f"{o.span:.2f}"),
        ("token requests", lambda o: str(o.token_requests)),
        ("/api requests sent", lambda o: str(o.requests)),
        ("429s received", lambda o: str(o.rate_limited)),
        ("server windows used", lambda o: str(o.windows)),
        (f"most requests sent in a window (limit {LIMIT})", lambda o: str(o.most_attempted)),
        (f"most accepted in a window (limit {LIMIT})", lambda o: str(o.most_accepted)),
        ("mean accepted per window", lambda o: f"{o.mean_accepted:.1f}"),
        (f"most accepted in any {WINDOW * 0.97:g} s", lambda o: str(o.sliding)),
    ]
    rows += [(name, *(show(o) for o in outcomes)) for name, show in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def compare(redis_url: str) -> list[Outcome]:
    return [
        await run_side("in-memory gates", "local", redis_url),
        await run_side("shared Redis gate", "redis", redis_url),
    ]


def main(argv: Sequence[str] = sys.argv[1:]) -> None:
    if argv[:1] == ["--worker"]:
        print(json.dumps(asyncio.run(work(json.loads(argv[1])))))
        return
    print(
        f"{PROCESSES} processes behind one IP, limit {LIMIT} requests per fixed {WINDOW:g} s "
        f"window; each lists {DATA['assets']} assets, {DATA['templates']} templates and "
        f"{DATA['folders']} folders at {PER_PAGE} per page ({PROCESSES * PAGES} requests in all)."
    )
    with redis_url() as url:
        outcomes = asyncio.run(compare(url))
    print(table(outcomes))


if __name__ == "__main__":
    main()
