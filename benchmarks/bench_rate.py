"""Benchmarks 1 (budget use) and 2 (latency hiding): one listing under a fixed-window limit.

Every contender gets a sandbox process of its own (same data, same limit, its own budget),
so nobody starts in a window another one has used. The SDK runs alone; then the two
baselines run side by side, which keeps the whole run under three minutes (they wait on
the limit or the latency nearly all the time, and neither shares the other's budget). The
sandbox's records give what the server saw: arrivals, 429s, and by replaying its throttle,
the fixed windows themselves.
"""

from __future__ import annotations

import itertools
import operator
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from cliquify_async.sandbox._stats import most_within

from ._contenders import (
    Measured,
    concurrent_assets,
    credentials,
    measure,
    measure_together,
    sdk_assets,
    sequential_assets,
)
from ._report import Row, Table, Value, Values
from ._sandbox import Record, SandboxProcess
from ._windows import PacedRun, Served, Window, server_windows

RUN_LIMIT: Final = 90.0  # seconds a contender may take before it is cancelled


@attrs.frozen(kw_only=True)
class Scenario(PacedRun):
    """L requests per W-second fixed window; `pages` pages of `per_page` assets."""

    limit: int
    window: float
    pages: int
    per_page: int
    latency: float = 0.0
    page_concurrency: int | None = None  # None: the SDK's default
    also_default: bool = False  # with page_concurrency set: run the SDK at its default too

    @property
    def requests(self) -> int:
        """One request a page."""
        return self.pages


def out_of_order(records: Sequence[Record]) -> int:
    """How many accepted page requests arrived after a request for a later page."""
    latest = 0
    late = 0
    for record in records:
        if record.page is None or record.throttled:
            continue
        late += record.page < latest
        latest = max(latest, record.page)
    return late


def median_gap_ms(records: Sequence[Record]) -> float | None:
    """The median time between two consecutive arrivals, in ms (None with fewer than two)."""
    times = [r.time for r in records]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return statistics.median(gaps) * 1000 if gaps else None


@attrs.frozen
class Outcome(Served):
    """What one contender achieved, from its own clock and the server's records."""

    measured: Measured[int]
    records: list[Record]  # /api requests only, by arrival
    windows: list[Window]

    @property
    def accepted(self) -> int:
        return self.sent - self.rate_limited

    def fill(self, limit: int) -> tuple[float | None, float | None]:
        """(mean, min) accepted requests per full window, as a share of the limit."""
        full = self.windows[:-1]
        if not full:
            return None, None
        shares = [w.accepted / limit for w in full]
        return sum(shares) / len(shares), min(shares)

    def budget_use(self, limit: int, window: float) -> float | None:
        """Accepted requests in the full windows over what the limit allows in the time from
        the first window's opening to the last one's: the gaps between windows count."""
        full = self.windows[:-1]
        if not full:
            return None
        span = self.windows[-1].opened - self.windows[0].opened
        return sum(w.accepted for w in full) / (span / window * limit)


def _outcome(sandbox: SandboxProcess, measured: Measured[int], scenario: Scenario) -> Outcome:
    expected = scenario.pages * scenario.per_page
    if measured.value != expected:
        raise RuntimeError(f"expected {expected} items, got {measured.value}")
    records = sorted(
        (r for r in sandbox.records() if r.path.startswith("/api/")), key=lambda r: r.time
    )
    return Outcome(measured, records, server_windows(records, scenario.window))


@attrs.frozen
class Runs:
    """The outcomes of SDK, (a) and (b); `default` is the SDK at its default concurrency."""

    outcomes: list[Outcome]
    default: Outcome | None


def _sdk(scenario: Scenario, sandbox: SandboxProcess, options: dict[str, Any]) -> Outcome:
    measured = measure(
        sdk_assets(
            credentials(sandbox),
            per_page=scenario.per_page,
            requests_per_minute=scenario.requests_per_minute,
            rate_window=scenario.window,
            **options,
        ),
        RUN_LIMIT,
    )
    return _outcome(sandbox, measured, scenario)


def run_scenario(scenario: Scenario, *, after_sdk: Callable[[], object] | None = None) -> Runs:
    """Run the SDK alone, then (a) and (b) side by side, each against its own sandbox.

    The baselines share the time, not a budget: each has its own sandbox (its own limit)
    and they are idle nearly all the time, waiting on the limit or on the latency.
    `after_sdk` is called once the SDK's runs are over (to start other work meanwhile).
    """
    extra = scenario.page_concurrency is not None and scenario.also_default
    sandboxes = [scenario.sandbox() for _ in range(4 if extra else 3)]
    try:
        for sandbox in sandboxes:
            sandbox.start()
        for sandbox in sandboxes:
            sandbox.wait_ready()
        options: dict[str, Any] = {}
        if scenario.page_concurrency is not None:
            options["page_concurrency"] = scenario.page_concurrency
        sdk = _sdk(scenario, sandboxes[0], options)
        default = _sdk(scenario, sandboxes[3], {}) if extra else None
        if after_sdk is not None:
            after_sdk()
        concurrent, sequential = sandboxes[1:3]
        baselines = measure_together(
            [
                concurrent_assets(
                    credentials(concurrent),
                    per_page=scenario.per_page,
                    rate=(scenario.limit, scenario.window),
                ),
                sequential_assets(credentials(sequential), per_page=scenario.per_page),
            ],
            RUN_LIMIT,
        )
        return Runs(
            [
                sdk,
                _outcome(concurrent, baselines[0], scenario),
                _outcome(sequential, baselines[1], scenario),
            ],
            default,
        )
    finally:
        for sandbox in sandboxes:
            sandbox.close()


def _values(outcomes: Sequence[Outcome], metric: Callable[[Outcome], Value]) -> Values:
    sdk, concurrent, sequential = (metric(o) for o in outcomes)
    return sdk, concurrent, sequential


@attrs.frozen(kw_only=True)
class Targets:
    """The SDK's targets in one scenario (None: no target on that metric)."""

    zero_429: bool = False
    budget_use: float | None = None
    wall_over_floor: float | None = None


def _target_row(
    label: str,
    values: Values,
    goal: float | None,
    target: str,
    met: Callable[[float, float], bool],
    fmt: str = "{:.2f}",
) -> Row:
    """A row whose verdict is `met(values[0], goal)`, the SDK's figure against the goal that
    `target` formats; no target when `goal` is None, and a missing figure fails."""
    if goal is None:
        return Row(label=label, values=values, fmt=fmt)
    sdk = values[0]
    verdict = isinstance(sdk, int | float) and met(sdk, goal)
    return Row(label=label, values=values, fmt=fmt, target=target.format(goal), verdict=verdict)


def _table(
    number: int,
    title: str,
    scenario: Scenario,
    targets: Targets,
    after_sdk: Callable[[], object] | None,
) -> Table:
    """Run the scenario and tabulate it."""
    started = time.monotonic()
    runs = run_scenario(scenario, after_sdk=after_sdk)
    outcomes = runs.outcomes
    limit, window, floor = scenario.limit, scenario.window, scenario.floor
    table = Table(number, title, _setup(scenario))
    table.add(Row(label="wall time, s", values=_values(outcomes, lambda o: o.measured.wall)))
    table.add(
        _target_row(
            f"wall time / floor ({floor:g} s)",
            _values(outcomes, lambda o: o.measured.wall / floor),
            targets.wall_over_floor,
            "<= {:.2f}",
            operator.le,
        )
    )
    table.add(Row(label="/api requests sent", values=_values(outcomes, lambda o: o.sent), fmt="{}"))
    table.add(
        _target_row(
            "429 answers",
            _values(outcomes, lambda o: o.rate_limited),
            0 if targets.zero_429 else None,
            "= {}",
            operator.eq,
            fmt="{}",
        )
    )
    table.add(
        Row(
            label="server windows (full + last)",
            values=_values(outcomes, lambda o: len(o.windows)),
            fmt="{}",
            ratio=False,
        )
    )
    table.add(
        _target_row(
            "accepted per full window / L, mean",
            _values(outcomes, lambda o: o.fill(limit)[0]),
            targets.budget_use,
            ">= {:.2f}",
            operator.ge,
            fmt="{:.3f}",
        )
    )
    table.add(
        Row(
            label="accepted per full window / L, min",
            values=_values(outcomes, lambda o: o.fill(limit)[1]),
            fmt="{:.3f}",
        )
    )
    table.add(
        _target_row(
            "same, gaps between windows count",
            _values(outcomes, lambda o: o.budget_use(limit, window)),
            targets.budget_use,
            ">= {:.2f} (strict)",
            operator.ge,
            fmt="{:.3f}",
        )
    )
    table.add(
        Row(
            label="accepted / (wall / W x L)",
            values=_values(outcomes, lambda o: o.accepted / (o.measured.wall / window * limit)),
            fmt="{:.3f}",
        )
    )
    table.add(
        Row(
            label=f"most accepted in any {window:g} s span",
            values=_values(
                outcomes,
                lambda o: most_within([r.time for r in o.records if not r.throttled], window),
            ),
            fmt="{}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label=f"median gap between arrivals, ms (W/L = {window / limit * 1000:g})",
            values=_values(outcomes, lambda o: median_gap_ms(o.records)),
            fmt="{:.2f}",
            ratio=False,
        )
    )
    table.add(
        Row(
            label="pages arriving after a later page",
            values=_values(outcomes, lambda o: out_of_order(o.records)),
            fmt="{}",
            ratio=False,
        )
    )
    if runs.default is not None:
        _default_rows(table, scenario, runs.default, targets)
    table.notes.extend(
        [
            "server windows are replayed from the sandbox's arrival times; the full windows "
            "are all but the last",
            "'gaps between windows count' = accepted in the full windows / (seconds from the "
            "first window's opening to the last one's / W x L)",
            "the floor assumes an even pace; a client that bursts may beat it by sending the "
            "last window's requests at once (the SDK paces without bursts, by design)",
        ]
    )
    table.seconds = time.monotonic() - started
    return table


def _default_rows(table: Table, scenario: Scenario, run: Outcome, targets: Targets) -> None:
    """Rows for the SDK's second run, at its default page_concurrency."""
    name = "SDK, default page_concurrency (4)"
    table.add(
        _target_row(
            f"{name}: wall time / floor",
            (run.measured.wall / scenario.floor, None, None),
            targets.wall_over_floor,
            "<= {:.2f}",
            operator.le,
        )
    )
    table.add(
        Row(
            label=f"{name}: accepted per full window / L",
            values=(run.fill(scenario.limit)[0], None, None),
            fmt="{:.3f}",
        )
    )
    table.add(
        Row(
            label=f"{name}: 429 answers",
            values=(run.rate_limited, None, None),
            fmt="{}",
        )
    )
    table.add(
        Row(
            label=f"{name}: pages arriving after a later page",
            values=(out_of_order(run.records), None, None),
            fmt="{}",
        )
    )


def _setup(scenario: Scenario) -> list[str]:
    latency = f", {scenario.latency * 1000:g} ms added to every /api answer" * bool(
        scenario.latency
    )
    return [
        f"sandbox: fixed window of L={scenario.limit} requests per W={scenario.window:g} s per "
        f"IP, float Retry-After{latency}; a sandbox process per contender; the SDK runs "
        "alone, then (a) and (b) side by side",
        f"listing: /api/assets, {scenario.pages} pages of {scenario.per_page} "
        f"({scenario.pages * scenario.per_page} assets); floor = N x W / L = "
        f"{scenario.pages} x {scenario.window:g} / {scenario.limit} = {scenario.floor:g} s",
        f"SDK: requests_per_minute={scenario.requests_per_minute:g} (L x 60 / W), "
        f"rate_window={scenario.window:g}, page_concurrency="
        f"{scenario.page_concurrency or 'default (4)'}; (a): AsyncLimiter({scenario.limit}, "
        f"{scenario.window:g})",
        *(
            [
                f"page_concurrency={scenario.page_concurrency}, with slack for a slow "
                "answer; the default (4) runs on a sandbox of its own in the last rows"
            ]
            if scenario.page_concurrency is not None
            else []
        ),
    ]


BUDGET: Final = Scenario(limit=60, window=1.5, pages=600, per_page=10)
LATENCY: Final = Scenario(
    limit=60,
    window=6.0,
    pages=120,
    per_page=10,
    latency=0.3,
    page_concurrency=8,  # slack over the 3 in flight that 300 ms needs; see README.md
    also_default=True,
)


def budget(scenario: Scenario = BUDGET, *, after_sdk: Callable[[], object] | None = None) -> Table:
    """1. Budget use: how much of each fixed window a harvest uses, and at what cost in 429s."""
    return _table(
        1,
        f"Budget use: a {scenario.pages}-request harvest under a fixed window",
        scenario,
        Targets(zero_429=True, budget_use=0.97),
        after_sdk,
    )


def latency(
    scenario: Scenario = LATENCY, *, after_sdk: Callable[[], object] | None = None
) -> Table:
    """2. Latency hiding: the same harvest when every answer takes 300 ms."""
    return _table(
        2,
        f"Latency hiding: {scenario.latency * 1000:g} ms per answer under a fixed window",
        scenario,
        Targets(wall_over_floor=1.10),
        after_sdk,
    )
