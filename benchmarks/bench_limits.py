"""Benchmark 9: latency hiding and budget use at limits other than those of benchmarks 1 and 2.

Latency: fixed windows of L = 1, 5, 20 and 50 requests per second, with 0, 100 and 300 ms
added to every /api answer, each a listing of N = 10 x L pages (floor N x W / L = 10 s). The SDK
is set up as a new user writes it, `requests_per_minute=L*60` and nothing else (it learns the
window), at its default page concurrency and at `page_concurrency=4`; beside it baseline (a)
with `AsyncLimiter(L, 1)`, as in benchmark 2. Budget: benchmark 6's runs (the SDK told only the
rate, its moment of learning polled) on windows of 1 s, 10 s and 60 s, judged on the strict
figure of benchmark 1, the one that counts the gaps between windows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from ._contenders import concurrent_assets, credentials, measure, measure_together, sdk_assets
from ._report import CONCURRENT, Row, Table, Values, per_column
from ._sandbox import SandboxProcess
from .bench_window import (
    TARGET_USE,
    Outcome,
    Shape,
    outcome,
    run_limit,
    run_shapes,
    sdk_learning_rows,
    setup,
)

TARGET_WALL: Final = 1.10
FIXED: Final = 4  # the page_concurrency of the second SDK column
LATENCY_SHAPES: Final = tuple(
    Shape(limit=limit, api_window=1.0, window=1.0, windows=10, latency=latency)
    for limit in (1, 5, 20, 50)
    for latency in (0.0, 0.1, 0.3)
)
BUDGET_SHAPES: Final = (
    Shape(limit=20, api_window=1.0, window=1.0),
    Shape(limit=100, api_window=10.0, window=2.5),
    Shape(limit=60, api_window=60.0, window=1.5),
)
LATENCY_COLUMNS: Final = (
    "SDK default",
    f"SDK page_concurrency={FIXED}",
    CONCURRENT,
    "paced, page 1 first: best",
)

Trio = tuple[Outcome, Outcome, Outcome]  # one latency row: SDK default, SDK at FIXED, (a)


def _sdk(shape: Shape, box: SandboxProcess, options: Mapping[str, int]) -> Outcome:
    """The SDK alone on `box` (records reset first), told `requests_per_minute` and no more."""
    box.reset()
    measured = measure(
        sdk_assets(
            credentials(box),
            per_page=shape.per_page,
            requests_per_minute=shape.requests_per_minute,
            **options,
        ),
        run_limit(shape),
    )
    return outcome(shape, box, measured)


def run_latency(shapes: Sequence[Shape]) -> list[Trio]:
    """One sandbox per row, used in turn: the SDK at its default on every row, alone, then at
    FIXED, then (a) on every row at once in one event loop (each row on its own sandbox)."""
    boxes = [shape.sandbox() for shape in shapes]
    try:
        for box in boxes:
            box.start()
        for box in boxes:
            box.wait_ready()
        pairs = list(zip(shapes, boxes, strict=True))
        default = [_sdk(shape, box, {}) for shape, box in pairs]
        fixed = [_sdk(shape, box, {"page_concurrency": FIXED}) for shape, box in pairs]
        # The last rows' windows must close before (a) opens new ones on the same sandboxes.
        time.sleep(max(shape.window for shape in shapes))
        for box in boxes:
            box.reset()
        measured = measure_together(
            [
                concurrent_assets(
                    credentials(box), per_page=shape.per_page, rate=(shape.limit, shape.window)
                )
                for shape, box in pairs
            ],
            max(run_limit(shape) for shape in shapes),
        )
        baseline = [outcome(shape, box, m) for (shape, box), m in zip(pairs, measured, strict=True)]
    finally:
        for box in boxes:
            box.close()
    return list(zip(default, fixed, baseline, strict=True))


def _row_name(shape: Shape) -> str:
    return f"{shape.limit}/s, +{shape.latency * 1000:g} ms"


def _each(figures: Iterable[float]) -> str:
    """The distinct figures, in order, for a setup line: "0, 100 or 300"."""
    *rest, last = (f"{figure:g}" for figure in sorted(set(figures)))
    return f"{', '.join(rest)} or {last}" if rest else last


def _over_floor(run: Outcome) -> float:
    return run.wall / run.shape.floor


def paced_best(shape: Shape) -> float:
    """The least wall time over the floor for a client that never bursts and sends page 2 once
    page 1 (and with it the page count) is back: an answer's time before page 2 and after N."""
    pace = shape.window / shape.limit
    last_sent = max(shape.latency + (shape.requests - 2) * pace, (shape.requests - 1) * pace)
    return (last_sent + shape.latency) / shape.floor


def latency_at_limits(shapes: Sequence[Shape] = LATENCY_SHAPES) -> Table:
    """9. Latency hiding at four limits and three latencies: wall time over the floor."""
    started = time.monotonic()
    trios = run_latency(shapes)
    table = Table(
        9,
        "Latency hiding at other limits: wall time over the floor, a row per limit and latency",
        [
            f"sandbox: fixed window of L requests per W={_each(s.window for s in shapes)} s per "
            f"IP, float Retry-After, {_each(s.latency * 1000 for s in shapes)} ms added to "
            "every /api answer; a sandbox process per row, used by the contenders in turn (its "
            "records reset, its last window closed)",
            f"listing: /api/assets, N = {_each(s.windows for s in shapes)} x L pages of "
            f"{_each(s.per_page for s in shapes)}; floor = N x W / L = "
            f"{_each(s.floor for s in shapes)} s",
            "SDK: requests_per_minute=L x 60 / W and nothing else (no rate_window: it learns "
            "the window); 'SDK default' leaves page_concurrency unset, the next column sets "
            f"page_concurrency={FIXED}; (a): AsyncLimiter(L, W) + gather, as in benchmark 2",
            "the SDK runs every row alone at its default, then every row alone at "
            f"{FIXED}; then (a) runs every row at once in one event loop",
        ],
        columns=LATENCY_COLUMNS,
    )
    for trio in trios:
        ratios: Values = (*(_over_floor(run) for run in trio), paced_best(trio[0].shape))
        table.add(
            Row(
                label=f"{_row_name(trio[0].shape)}: wall time / floor",
                values=ratios,
                ratio=False,
                target=f"<= {TARGET_WALL:.2f}",
                verdict=_over_floor(trio[0]) <= TARGET_WALL,
            )
        )
    within = [sum(_over_floor(trio[i]) <= TARGET_WALL for trio in trios) for i in range(3)]
    within.append(sum(paced_best(shape) <= TARGET_WALL for shape in shapes))
    table.add(
        Row(
            label=f"rows at <= {TARGET_WALL:.2f} x floor",
            values=tuple(f"{count} of {len(trios)}" for count in within),
            fmt="{}",
            ratio=False,
            target="every row",
            verdict=within[0] == len(trios),
        )
    )
    for trio in trios:
        table.add(
            Row(
                label=f"{_row_name(trio[0].shape)}: 429 answers",
                values=(*(run.rate_limited for run in trio), None),
                fmt="{}",
                ratio=False,
            )
        )
    table.notes.extend(
        [
            "the floor assumes an even pace; a client that bursts may beat it by sending the "
            "last window's requests at once ((a)'s limiter allows a burst of L; the SDK paces)",
            "'paced, page 1 first: best' = (max(a + (N - 2) x W / L, (N - 1) x W / L) + a) / "
            "floor for an answer time a: the least a client can take that never bursts and, "
            "like the SDK and (a), learns the page count from page 1 (token time left out)",
        ]
    )
    table.seconds = time.monotonic() - started
    return table


def _met(run: Outcome) -> str:
    """Whether the SDK met both budget targets on this window."""
    use = run.budget_use(run.learned_from)
    return "yes" if run.rate_limited == 0 and use is not None and use >= TARGET_USE else "NO"


def budget_on_windows(shapes: Sequence[Shape] = BUDGET_SHAPES) -> Table:
    """9. Budget use on 1 s, 10 s and 60 s windows, strictly (the gaps between windows count),
    from the moment the SDK learned the window."""
    started = time.monotonic()
    sdk, baseline = run_shapes(shapes)
    table = Table(
        9,
        "Budget use on 1 s, 10 s and 60 s windows: requests_per_minute only, the gaps count",
        setup(shapes),
        columns=tuple(shape.label for shape in shapes),
    )
    table.add(per_column("N requests", sdk, lambda o: o.shape.requests, "{}"))
    table.add(per_column("floor N x W / L, s", sdk, lambda o: o.shape.floor, "{:g}"))
    table.add(per_column("SDK: wall time / floor", sdk, _over_floor))
    table.add(
        per_column(
            "SDK: 429 answers",
            sdk,
            lambda o: o.rate_limited,
            "{}",
            target="= 0, every window",
            met=lambda v: v == 0,
        )
    )
    table.add(
        per_column(
            "SDK: 429 answers after learning",
            sdk,
            lambda o: o.limited_after(o.learned_from),
            "{}",
        )
    )
    sdk_learning_rows(table, sdk)
    table.add(
        per_column(
            "SDK: full windows after learning",
            sdk,
            lambda o: len(o.full_after(o.learned_from)),
            "{}",
        )
    )
    table.add(
        per_column(
            "SDK: accepted per full window after learning / L, mean",
            sdk,
            lambda o: o.fill(o.learned_from)[0],
            "{:.3f}",
        )
    )
    table.add(
        per_column(
            "SDK: same, gaps between windows count",
            sdk,
            lambda o: o.budget_use(o.learned_from),
            "{:.3f}",
            target=f">= {TARGET_USE:.2f} (strict), every window",
            met=lambda v: isinstance(v, int | float) and v >= TARGET_USE,
        )
    )
    table.add(per_column("SDK: both targets met on this window", sdk, _met, "{}"))
    table.add(per_column("(a): wall time / floor", baseline, _over_floor))
    table.add(per_column("(a): 429 answers", baseline, lambda o: o.rate_limited, "{}"))
    table.add(
        per_column(
            "(a): same, gaps between windows count, from the 3rd window",
            baseline,
            lambda o: o.budget_use(o.learned_from),
            "{:.3f}",
        )
    )
    table.notes.extend(
        [
            "columns: the server's limit, L per the API's window; W is the sandbox's "
            "(compressed) window",
            "SDK 'after learning': requests and windows reaching the server at or after the "
            "moment client.rate_limits[0].learned turned True, as in benchmark 6; (a) never "
            "learns, so its figure is from its third server window on",
            "'gaps between windows count' = accepted in those full windows / (seconds from "
            "the first one's opening to the last window's / W x L), the strict figure of "
            "benchmark 1",
        ]
    )
    table.seconds = time.monotonic() - started
    return table
