"""Benchmark 3 (client overhead): items per second and CPU per item with the limit off.

All three contenders read the same 20,000 assets, 100 per page, from one sandbox in its own
process; the CPU time is `time.process_time()` of this process, so it is the client's alone.
The contenders run one after another, REPEATS rounds. The table shows the best run of each
(the one least disturbed by the machine), and every run's figure is in the notes. This
machine's speed drifts by up to 2x over seconds, so the verdicts are on the median of the
per-round ratios: each ratio compares two runs made moments apart.

The decode rows time the bytes of the same 200 pages, in this process with no I/O: the SDK's
path (parse, recognise the page, build models) against (a)'s, which is what aiohttp's
`response.json()` does (decode the text, `json.loads` to dicts). A third path marks the floor
for attrs models: msgspec decoding the bytes straight into them in C, with none of the SDK's
checks (it drops unknown fields and leaves zoneless timestamps naive), so no decoder that
keeps them can be faster.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any, Final

import aiohttp
import msgspec

from cliquify_async._convert import structure_many
from cliquify_async._pagination.rules import read_page
from cliquify_async._wire import loads
from cliquify_async.models import Asset

from ._baselines import ACCEPT, Credentials, fetch_token
from ._contenders import Measured, credentials, measure, median_ratio, unlimited_assets
from ._report import Row, Table
from ._sandbox import SandboxProcess

ASSETS: Final = 20_000
PER_PAGE: Final = 100
REPEATS: Final = 5
TARGET: Final = 0.6
DECODE_TARGET: Final = 1.0
DECODE_ROUNDS: Final = 15
RUN_LIMIT: Final = 60.0


def sandbox(assets: int) -> SandboxProcess:
    """A sandbox without a rate limit serving `assets` assets."""
    return SandboxProcess(assets=assets, templates=0, rate_limit=None)


def _once(creds: Credentials, contender: int) -> Measured[int]:
    measured = measure(unlimited_assets(contender, creds, per_page=PER_PAGE), RUN_LIMIT)
    if measured.value != ASSETS:
        raise RuntimeError(f"contender {contender} saw {measured.value} of {ASSETS} assets")
    return measured


async def _page_bodies(creds: Credentials) -> list[bytes]:
    """The bytes of every page of the listing, as they come off the wire."""
    bodies: list[bytes] = []
    async with aiohttp.ClientSession() as session:
        headers = {**ACCEPT, "Authorization": f"Bearer {await fetch_token(session, creds)}"}
        for page in range(1, ASSETS // PER_PAGE + 1):
            params = {"per_page": PER_PAGE, "page": page}
            async with session.get(
                f"{creds.base_url}/api/assets", params=params, headers=headers
            ) as response:
                bodies.append(await response.read())
    return bodies


def _sdk_decode(body: bytes) -> list[Any]:
    return structure_many(read_page(loads(body)).items, Asset)


def _dicts_decode(body: bytes) -> list[Any]:
    items: list[Any] = json.loads(body.decode())["data"]
    return items


class _UncheckedPage(msgspec.Struct):
    data: list[Asset]


_unchecked = msgspec.json.Decoder(_UncheckedPage)


def _floor_decode(body: bytes) -> list[Any]:
    """The attrs models built in C with no checks at all: faster than any decoder with them."""
    return _unchecked.decode(body).data


def _decode_cpu(bodies: list[bytes]) -> tuple[list[float], list[float], list[float]]:
    """CPU seconds to decode every page, per round: the SDK's path, (a)'s and the floor's."""
    rounds: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(DECODE_ROUNDS):
        for decode, spent in zip((_sdk_decode, _dicts_decode, _floor_decode), rounds, strict=True):
            started = time.process_time()
            decoded = sum(len(decode(body)) for body in bodies)
            spent.append(time.process_time() - started)
            if decoded != ASSETS:
                raise RuntimeError(f"decoded {decoded} of {ASSETS} assets")
    return rounds


def overhead(server: SandboxProcess) -> Table:
    """Run the benchmark against `server` (a started `sandbox(ASSETS)`)."""
    started = time.monotonic()
    creds = credentials(server)
    runs: list[list[Measured[int]]] = [[], [], []]
    for _ in range(REPEATS):
        for contender in range(3):
            runs[contender].append(_once(creds, contender))
    best = [min(r, key=lambda m: m.wall) for r in runs]
    rates = [ASSETS / m.wall for m in best]
    paired = [median_ratio(r, runs[1]) for r in runs]
    cpu = [min(m.cpu for m in r) / ASSETS * 1e6 for r in runs]
    table = Table(
        3,
        "Client overhead: items per second with the limit off",
        [
            f"sandbox (own process): rate limit off, {ASSETS} assets, {PER_PAGE} per page "
            f"({ASSETS // PER_PAGE} pages); {REPEATS} rounds, each running the three in turn",
            "SDK: requests_per_minute=None, page_concurrency default (4), items decoded into "
            "attrs models; (a) no limiter (the limit is off), items as plain dicts",
        ],
    )
    table.add(Row(label="wall time, s", values=(best[0].wall, best[1].wall, best[2].wall)))
    table.add(
        Row(
            label="items per second",
            values=(rates[0], rates[1], rates[2]),
            fmt="{:,.0f}",
        )
    )
    table.add(
        Row(
            label="items/s over (a)'s, median round",
            values=(paired[0], paired[1], paired[2]),
            ratio=False,
            target=f">= {TARGET}",
            verdict=paired[0] >= TARGET,
        )
    )
    table.add(Row(label="client CPU per item, µs", values=(cpu[0], cpu[1], cpu[2]), fmt="{:.1f}"))
    table.add(
        Row(
            label="client CPU / wall",
            values=(
                best[0].cpu / best[0].wall,
                best[1].cpu / best[1].wall,
                best[2].cpu / best[2].wall,
            ),
        )
    )
    sdk_cpu, dicts_cpu, floor_cpu = _decode_cpu(asyncio.run(_page_bodies(creds)))
    decode_ratio = statistics.median(d / s for s, d in zip(sdk_cpu, dicts_cpu, strict=True))
    floor_ratio = statistics.median(d / f for f, d in zip(floor_cpu, dicts_cpu, strict=True))
    table.add(
        Row(
            label="decode CPU per item, µs",
            values=(min(sdk_cpu) / ASSETS * 1e6, min(dicts_cpu) / ASSETS * 1e6, None),
            fmt="{:.2f}",
        )
    )
    table.add(
        Row(
            label="decode items/s over (a)'s, median round",
            values=(decode_ratio, 1.0, None),
            ratio=False,
            target=f">= {DECODE_TARGET}",
            verdict=decode_ratio >= DECODE_TARGET,
        )
    )
    table.add(
        Row(
            label="floor: msgspec to attrs, no checks, over (a)",
            values=(floor_ratio, 1.0, None),
            ratio=False,
        )
    )
    for name, contender_runs in zip(("SDK", "(a)", "(b)"), runs, strict=True):
        figures = ", ".join(f"{ASSETS / m.wall:,.0f}" for m in contender_runs)
        table.notes.append(f"{name} items/s per run: {figures}")
    ratios = ", ".join(f"{d / s:.2f}" for s, d in zip(sdk_cpu, dicts_cpu, strict=True))
    table.notes.append(f"decode, SDK over (a) per round: {ratios}")
    floors = ", ".join(f"{d / f:.2f}" for f, d in zip(floor_cpu, dicts_cpu, strict=True))
    table.notes.append(
        f"floor (msgspec bytes straight to the attrs models, no checks) over (a) per round: "
        f"{floors}; min {min(floor_cpu) / ASSETS * 1e6:.2f} µs per item"
    )
    table.seconds = time.monotonic() - started
    return table
