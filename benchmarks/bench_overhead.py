"""Benchmark 3 (client overhead): items per second and CPU per item with the limit off.

All three contenders read the same 20,000 assets, 100 per page, from one sandbox in its own
process; the CPU time is `time.process_time()` of this process, so it is the client's alone.
The contenders run one after another, REPEATS rounds. The table shows the best run of each
(the one least disturbed by the machine), and every run's figure is in the notes. This
machine's speed drifts by up to 2x over seconds, so the verdict is on the median of the
per-round ratios: each ratio compares two runs made moments apart.
"""

from __future__ import annotations

import statistics
import time
from typing import Final

from ._baselines import Credentials
from ._contenders import Measured, credentials, measure, unlimited_assets
from ._report import Row, Table
from ._sandbox import SandboxProcess

ASSETS: Final = 20_000
PER_PAGE: Final = 100
REPEATS: Final = 5
TARGET: Final = 0.6
RUN_LIMIT: Final = 60.0


def sandbox(assets: int) -> SandboxProcess:
    """A sandbox without a rate limit serving `assets` assets."""
    return SandboxProcess(assets=assets, templates=0, rate_limit=None)


def _once(creds: Credentials, contender: int) -> Measured[int]:
    measured = measure(unlimited_assets(contender, creds, per_page=PER_PAGE), RUN_LIMIT)
    if measured.value != ASSETS:
        raise RuntimeError(f"contender {contender} saw {measured.value} of {ASSETS} assets")
    return measured


def _median_ratio(runs: list[Measured[int]], baseline: list[Measured[int]]) -> float:
    """The median over rounds of items/s in `runs` over items/s in the same round's `baseline`."""
    return statistics.median(b.wall / r.wall for r, b in zip(runs, baseline, strict=True))


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
    paired = [_median_ratio(r, runs[1]) for r in runs]
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
    for name, contender_runs in zip(("SDK", "(a)", "(b)"), runs, strict=True):
        figures = ", ".join(f"{ASSETS / m.wall:,.0f}" for m in contender_runs)
        table.notes.append(f"{name} items/s per run: {figures}")
    table.seconds = time.monotonic() - started
    return table
