"""Benchmark 6 (window learning): a client told only "R requests per minute" against servers
whose fixed windows are of other lengths.

Each shape is a server limit of L requests per fixed window of W seconds (the API's window,
compressed in time so the benchmark stays short). The SDK gets `requests_per_minute=L*60/W`
and no `rate_window`, so it starts from the pace alone and must learn the window from what
the server shows (X-RateLimit-Remaining climbing back, a 429's Retry-After). Baseline (a) is
told the same and writes `AsyncLimiter(R, 60)` on the API's clock, which is
`AsyncLimiter(R / c, 60 / c)` on the sandbox's clock compressed c times.

Every (contender, shape) has a sandbox process of its own. The SDK runs one shape at a time,
alone; then (a) runs every shape at once in one event loop (each against its own sandbox:
they share the time, not a budget). The server's windows are replayed from the sandbox's
arrival records, as in benchmark 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from cliquify_async import CliquifyClient, RateLimit

from ._baselines import Credentials
from ._contenders import Measured, concurrent_assets, credentials, measure, measure_together
from ._report import Table, Value, per_column
from ._sandbox import Record, SandboxProcess
from ._windows import PacedRun, Served, Window, server_windows

TARGET_USE: Final = 0.97
POLL: Final = 0.002  # seconds between two looks at client.rate_limits
SETTLE: Final = 2  # (a) never learns; "after learning" is from its third server window on


@attrs.frozen(kw_only=True)
class Shape(PacedRun):
    """A server limit of `limit` requests per `api_window` seconds, served with a window of
    `window` seconds (the API's, compressed); the harvest is `windows` windows' worth."""

    limit: int
    api_window: float
    window: float
    per_page: int = 10
    windows: int = 6
    latency: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.limit}/{self.api_window:g}s"

    @property
    def compression(self) -> float:
        return self.api_window / self.window

    @property
    def requests(self) -> int:
        """N: one page a request."""
        return self.windows * self.limit

    @property
    def limiter(self) -> tuple[float, float]:
        """(a)'s `AsyncLimiter(R, 60)` on the API's clock, compressed like the window."""
        return self.limit * 60 / self.api_window, 60 / self.compression


SHAPES: Final = (
    Shape(limit=10, api_window=1.0, window=1.0),
    Shape(limit=20, api_window=1.0, window=1.0),
    Shape(limit=120, api_window=60.0, window=1.5),
    Shape(limit=30, api_window=60.0, window=1.5),
    Shape(limit=60, api_window=60.0, window=1.5),
    Shape(limit=1000, api_window=3600.0, window=4.0, per_page=2),
)


@attrs.frozen
class SdkRun:
    """What the SDK's client said: when it learned the window, and what it learned."""

    items: int
    learned_at: float | None  # time.monotonic() when rate_limits[0].learned was first seen
    learned: RateLimit | None  # rate_limits[0] at that moment
    final: RateLimit | None  # rate_limits[0] when the listing was done


async def sdk_listing(creds: Credentials, shape: Shape) -> SdkRun:
    """`async for` over client.assets.list() with `requests_per_minute=R` and no rate_window,
    looking at `client.rate_limits` every POLL seconds until the window is learned."""
    learned_at: float | None = None
    learned: RateLimit | None = None
    async with CliquifyClient(
        creds.client_id,
        creds.client_secret,
        base_url=creds.base_url,
        requests_per_minute=shape.requests_per_minute,
    ) as client:

        async def watch() -> None:
            nonlocal learned_at, learned
            while True:
                limits = client.rate_limits
                if limits and limits[0].learned:
                    learned_at, learned = time.monotonic(), limits[0]
                    return
                await asyncio.sleep(POLL)

        watcher = asyncio.create_task(watch())
        try:
            count = 0
            async for _asset in client.assets.list(per_page=shape.per_page):
                count += 1
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        limits = client.rate_limits
    return SdkRun(count, learned_at, learned, limits[0] if limits else None)


def run_limit(shape: Shape) -> float:
    """Seconds a contender may take on `shape` before it is cancelled."""
    return max(30.0, 4 * shape.floor)


@attrs.frozen
class Outcome(Served):
    """One contender on one shape: its wall time, the server's records and windows, and the
    moment from which it counts as having learned the window (None: never)."""

    shape: Shape
    wall: float
    records: list[Record]  # /api requests only, by arrival
    windows: list[Window]
    learned_from: float | None
    sdk: SdkRun | None = None

    def limited_after(self, moment: float | None) -> int | None:
        """429s to requests that reached the server at or after `moment`."""
        if moment is None:
            return None
        return sum(r.throttled for r in self.records if r.time >= moment)

    @property
    def after_two(self) -> float | None:
        """When the third server window opened (None: there were not three)."""
        return self.windows[SETTLE].opened if len(self.windows) > SETTLE else None

    def full_after(self, moment: float | None) -> list[Window]:
        """The full windows (all but the last) that opened at or after `moment`."""
        if moment is None:
            return []
        return [w for w in self.windows[:-1] if w.opened >= moment]

    def fill(self, moment: float | None) -> tuple[float | None, float | None]:
        """(mean, min) accepted per full window opened at or after `moment`, over L."""
        shares = [w.accepted / self.shape.limit for w in self.full_after(moment)]
        if not shares:
            return None, None
        return statistics.fmean(shares), min(shares)

    def budget_use(self, moment: float | None) -> float | None:
        """The same with the gaps between windows counted: accepted in those full windows
        over what L per W allows from the first one's opening to the last window's."""
        full = self.full_after(moment)
        if not full:
            return None
        span = self.windows[-1].opened - full[0].opened
        return sum(w.accepted for w in full) / (span / self.shape.window * self.shape.limit)

    @property
    def learned_after(self) -> float | None:
        """Server windows from the first request to the learning (elapsed time over W)."""
        if self.learned_from is None or not self.records:
            return None
        return (self.learned_from - self.records[0].time) / self.shape.window


def outcome(
    shape: Shape, sandbox: SandboxProcess, measured: Measured[int], sdk: SdkRun | None = None
) -> Outcome:
    """A run's Outcome from the sandbox's /api records (its item count checked); learning
    counts from `sdk`'s moment, or without one from the third server window."""
    if measured.value != shape.requests * shape.per_page:
        raise RuntimeError(
            f"{shape.label}: expected {shape.requests * shape.per_page} items, got {measured.value}"
        )
    records = sorted(
        (r for r in sandbox.records() if r.path.startswith("/api/")), key=lambda r: r.time
    )
    windows = server_windows(records, shape.window)
    if sdk is not None:
        learned_from = sdk.learned_at
    else:
        learned_from = windows[SETTLE].opened if len(windows) > SETTLE else None
    return Outcome(shape, measured.wall, records, windows, learned_from, sdk)


def _sdk(shape: Shape, sandbox: SandboxProcess) -> Outcome:
    measured = measure(sdk_listing(credentials(sandbox), shape), run_limit(shape))
    run = measured.value
    counted = Measured(value=run.items, wall=measured.wall, cpu=measured.cpu)
    return outcome(shape, sandbox, counted, run)


def run_shapes(shapes: Sequence[Shape]) -> tuple[list[Outcome], list[Outcome]]:
    """The SDK on each shape alone, one after another; then (a) on all of them at once."""
    sdk_boxes = [shape.sandbox() for shape in shapes]
    baseline_boxes = [shape.sandbox() for shape in shapes]
    boxes = [*sdk_boxes, *baseline_boxes]
    try:
        for box in boxes:
            box.start()
        for box in boxes:
            box.wait_ready()
        sdk = [_sdk(shape, box) for shape, box in zip(shapes, sdk_boxes, strict=True)]
        measured = measure_together(
            [
                concurrent_assets(credentials(box), per_page=shape.per_page, rate=shape.limiter)
                for shape, box in zip(shapes, baseline_boxes, strict=True)
            ],
            max(run_limit(shape) for shape in shapes),
        )
        baseline = [
            outcome(shape, box, m)
            for shape, box, m in zip(shapes, baseline_boxes, measured, strict=True)
        ]
        return sdk, baseline
    finally:
        for box in boxes:
            box.close()


def _gap(outcome: Outcome) -> float | None:
    """The median time between two arrivals over the even pace W / L (1: on pace)."""
    gaps = [b.time - a.time for a, b in itertools.pairwise(outcome.records)]
    if not gaps:
        return None
    return statistics.median(gaps) / (outcome.shape.window / outcome.shape.limit)


def _met(outcome: Outcome) -> str:
    """Whether the SDK met both targets in this shape."""
    clean = outcome.limited_after(outcome.learned_from) == 0
    use = outcome.fill(outcome.learned_from)[0]
    return "yes" if clean and use is not None and use >= TARGET_USE else "NO"


def _at_least(goal: float) -> Callable[[Value], bool]:
    return lambda v: isinstance(v, int | float) and v >= goal


def _zero(value: Value) -> bool:
    return value == 0


def _contender_rows(table: Table, name: str, outcomes: Sequence[Outcome], sdk: bool) -> None:
    after = "after learning" if sdk else "from the 3rd window"
    table.add(per_column(f"{name}: wall time, s", outcomes, lambda o: o.wall))
    table.add(per_column(f"{name}: wall time / floor", outcomes, lambda o: o.wall / o.shape.floor))
    table.add(per_column(f"{name}: /api requests sent", outcomes, lambda o: o.sent, "{}"))
    table.add(per_column(f"{name}: 429 answers", outcomes, lambda o: o.rate_limited, "{}"))
    table.add(per_column(f"{name}: median gap between arrivals / (W/L)", outcomes, _gap))
    table.add(
        per_column(
            f"{name}: 429 answers {after}",
            outcomes,
            lambda o: o.limited_after(o.learned_from),
            "{}",
            target="= 0, every shape" if sdk else "",
            met=_zero if sdk else None,
        )
    )
    if sdk:
        table.add(
            per_column(
                f"{name}: 429 answers from the 3rd window",
                outcomes,
                lambda o: o.limited_after(o.after_two),
                "{}",
            )
        )
    table.add(
        per_column(
            f"{name}: server windows (full + last)", outcomes, lambda o: len(o.windows), "{}"
        )
    )
    table.add(
        per_column(
            f"{name}: full windows {after}",
            outcomes,
            lambda o: len(o.full_after(o.learned_from)),
            "{}",
        )
    )
    table.add(
        per_column(
            f"{name}: accepted per full window {after} / L, mean",
            outcomes,
            lambda o: o.fill(o.learned_from)[0],
            "{:.3f}",
            target=f">= {TARGET_USE:.2f}, every shape" if sdk else "",
            met=_at_least(TARGET_USE) if sdk else None,
        )
    )
    table.add(
        per_column(
            f"{name}: accepted per full window {after} / L, min",
            outcomes,
            lambda o: o.fill(o.learned_from)[1],
            "{:.3f}",
        )
    )
    table.add(
        per_column(
            f"{name}: same, gaps between windows count",
            outcomes,
            lambda o: o.budget_use(o.learned_from),
            "{:.3f}",
        )
    )
    table.add(
        per_column(
            f"{name}: accepted per full window / L, all windows",
            outcomes,
            lambda o: o.fill(o.windows[0].opened if o.windows else None)[0],
            "{:.3f}",
        )
    )


def sdk_learning_rows(table: Table, outcomes: Sequence[Outcome]) -> None:
    """Rows for when the SDK learned each window and what it learned (also benchmark 9's)."""
    table.add(
        per_column(
            "SDK: window learned after, server windows",
            outcomes,
            lambda o: o.learned_after,
        )
    )
    table.add(
        per_column(
            "SDK: learned window / W, when learned",
            outcomes,
            lambda o: o.sdk.learned.window / o.shape.window if o.sdk and o.sdk.learned else None,
            "{:.3f}",
        )
    )
    table.add(
        per_column(
            "SDK: learned window / W, at the end",
            outcomes,
            lambda o: o.sdk.final.window / o.shape.window if o.sdk and o.sdk.final else None,
            "{:.3f}",
        )
    )


def setup(shapes: Sequence[Shape]) -> list[str]:
    """The setup lines: the contenders' settings and each shape's figures."""
    lines = [
        "a sandbox process per contender and shape (fixed window of L per W per IP, float "
        "Retry-After, X-RateLimit-Reset on 429s only); the SDK runs each shape alone, then "
        "(a) runs every shape at once",
        "SDK: requests_per_minute=R = L x 60 / W, no rate_window, page_concurrency=default "
        "(4); (a): AsyncLimiter(R x W / W_api, 60 x W / W_api), i.e. AsyncLimiter(R, 60) "
        "on the API's clock",
    ]
    for shape in shapes:
        rate, period = shape.limiter
        compressed = (
            f"compressed {shape.api_window:g} s -> {shape.window:g} s"
            if shape.compression != 1
            else "uncompressed"
        )
        lines.append(
            f"{shape.label}: L={shape.limit} per W={shape.window:g} s ({compressed}); "
            f"N={shape.requests} pages of {shape.per_page}; floor N x W / L = "
            f"{shape.floor:g} s; R={shape.requests_per_minute:g}; (a) "
            f"AsyncLimiter({rate:.4g}, {period:.4g})"
        )
    return lines


def window_learning(shapes: Sequence[Shape] = SHAPES) -> Table:
    """6. Window learning: how fast the SDK learns each server window and how well it fills
    the windows once it has."""
    started = time.monotonic()
    sdk, baseline = run_shapes(shapes)
    table = Table(
        6,
        "Window learning: requests_per_minute only, against six server windows",
        setup(shapes),
        columns=tuple(shape.label for shape in shapes),
    )
    table.add(per_column("N requests", sdk, lambda o: o.shape.requests, "{}"))
    table.add(per_column("floor N x W / L, s", sdk, lambda o: o.shape.floor, "{:g}"))
    _contender_rows(table, "SDK", sdk, sdk=True)
    sdk_learning_rows(table, sdk)
    table.add(per_column("SDK: both targets met in this shape", sdk, _met, "{}"))
    _contender_rows(table, "(a)", baseline, sdk=False)
    printed = "; ".join(f"{o.shape.label} '{o.sdk.final}'" for o in sdk if o.sdk)
    table.notes.extend(
        [
            f"SDK's client.rate_limits[0] at the end, as printed: {printed}",
            "columns: the server's limit, L per the API's window; W is the sandbox's "
            "(compressed) window",
            "server windows are replayed from the sandbox's arrival times; full windows are "
            "all but the last",
            f"SDK 'after learning': requests and windows reaching the server at or after the "
            f"moment client.rate_limits[0].learned turned True (looked at every "
            f"{POLL * 1000:g} ms); (a) never learns, so its figures are from its third "
            "server window on",
            "'gaps between windows count' = accepted in those full windows / (seconds from "
            "the first one's opening to the last window's / W x L)",
        ]
    )
    table.seconds = time.monotonic() - started
    return table
