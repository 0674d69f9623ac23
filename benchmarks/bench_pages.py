"""Benchmark 7 (page size): a harvest against a server whose pages go up to 500 items, under
a fixed-window limit, where the time a harvest takes is its request count.

20,000 assets; the server caps per_page at 500 and allows L=60 requests per W=1.5 s (the
API's 60 per 60 s, forty times faster, as in benchmark 1). The SDK with `per_page="max"` asks
for 1000 on the first page, reads back the size the server used (clamp) or the maximum its
422 names (reject), and pages with it: ceil(20,000 / 500) = 40 requests, 41 with the 422.
Beside it the SDK and baseline (a) at per_page=100, what a user writes without "max": 200
requests. Every column has a sandbox process of its own (its own window) and runs alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final, Literal

import attrs

from ._contenders import Measured, concurrent_assets, credentials, measure, sdk_assets
from ._report import Row, Table, Value, per_column
from ._sandbox import Record, SandboxProcess, assets_only
from ._windows import Served, floor, per_minute, server_windows

ITEMS: Final = 20_000
MAX_PAGE: Final = 500  # the server's largest page
SMALL_PAGE: Final = 100  # what a user writes without "max" (the API's documented maximum)
LIMIT: Final = 60
WINDOW: Final = 1.5
RUN_LIMIT: Final = 60.0  # seconds a contender may take before it is cancelled
EXTRA: Final = 1  # requests allowed over ceil(items / largest page): a 422 for the endpoint

Oversize = Literal["clamp", "reject"]


def pages_floor(per_page: int) -> float:
    """ceil(ITEMS / per_page) requests at L per W seconds."""
    return floor(math.ceil(ITEMS / per_page), LIMIT, WINDOW)


@attrs.frozen(kw_only=True)
class Column:
    """One contender against one server variant."""

    label: str
    sdk: bool
    per_page: int | Literal["max"]
    oversize: Oversize = "clamp"

    @property
    def page_size(self) -> int:
        """The size this contender ends up paging with."""
        return MAX_PAGE if self.per_page == "max" else self.per_page

    def sandbox(self) -> SandboxProcess:
        return assets_only(
            ITEMS,
            rate_limit=LIMIT,
            rate_window=WINDOW,
            retry_after_precision="float",
            max_per_page=MAX_PAGE,
            per_page_oversize=self.oversize,
        )

    def run(self, server: SandboxProcess) -> Coroutine[Any, Any, int]:
        creds = credentials(server)
        if self.sdk:
            return sdk_assets(
                creds,
                per_page=self.per_page,
                requests_per_minute=per_minute(LIMIT, WINDOW),
                rate_window=WINDOW,
            )
        if self.per_page == "max":
            raise ValueError("the baseline pages at a fixed size")
        return concurrent_assets(creds, per_page=self.per_page, rate=(LIMIT, WINDOW))


COLUMNS: Final = (
    Column(label="SDK max, clamp", sdk=True, per_page="max", oversize="clamp"),
    Column(label="SDK max, reject", sdk=True, per_page="max", oversize="reject"),
    Column(label=f"SDK {SMALL_PAGE}", sdk=True, per_page=SMALL_PAGE),
    Column(label=f"(a) {SMALL_PAGE}", sdk=False, per_page=SMALL_PAGE),
)


@attrs.frozen
class Outcome(Served):
    """What one column achieved: its own clock and the server's records of /api requests."""

    column: Column
    measured: Measured[int]
    records: list[Record]

    def count(self, status: int) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def asked_later(self) -> str:
        """The per_page values asked for after the first answer of 200, as "a/b"."""
        answered = [i for i, r in enumerate(self.records) if r.status == 200]
        later = {r.per_page for r in self.records[answered[0] + 1 :]} if answered else set()
        return "/".join(str(size) for size in sorted(later, key=lambda s: s or 0)) or "-"

    @property
    def items_per_answer(self) -> float | None:
        """Items over answers of 200: the page size the server served, on average."""
        answered = self.count(200)
        return self.measured.value / answered if answered else None

    @property
    def asked_first(self) -> int | None:
        return self.records[0].per_page if self.records else None


def _run(column: Column, server: SandboxProcess) -> Outcome:
    measured = measure(column.run(server), RUN_LIMIT)
    records = sorted(
        (r for r in server.records() if r.path.startswith("/api/")), key=lambda r: r.time
    )
    return Outcome(column, measured, records)


def run_all(columns: Sequence[Column] = COLUMNS) -> list[Outcome]:
    """Start a sandbox per column (they generate their data at the same time), then run the
    columns one after another, each alone."""
    servers = [column.sandbox() for column in columns]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        return [_run(column, server) for column, server in zip(columns, servers, strict=True)]
    finally:
        for server in servers:
            server.close()


def _target_row(
    label: str,
    outcomes: Sequence[Outcome],
    metric: Callable[[Outcome], Value],
    target: str,
    met: Callable[[Outcome], bool],
    fmt: str = "{}",
) -> Row:
    """A row whose verdict is that `met` holds for every SDK max column."""
    verdict = all(met(o) for o in outcomes if o.column.per_page == "max")
    return Row(
        label=label,
        values=tuple(metric(o) for o in outcomes),
        fmt=fmt,
        ratio=False,
        target=target,
        verdict=verdict,
    )


def page_size() -> Table:
    """7. Page size: requests and wall time of a harvest with per_page="max" vs 100."""
    started = time.monotonic()
    outcomes = run_all()
    needed = math.ceil(ITEMS / MAX_PAGE)
    top = pages_floor(MAX_PAGE)
    table = Table(
        7,
        f'Page size: per_page="max" against a server capping at {MAX_PAGE}, under a fixed window',
        [
            f"sandbox: {ITEMS} assets (no other resources), largest page {MAX_PAGE} (asked more: "
            "'clamp' serves 500, 'reject' answers 422 naming it), fixed window of "
            f"L={LIMIT} per W={WINDOW:g} s per IP, float Retry-After, no latency; a sandbox "
            "process per column, the columns one after another",
            f'SDK: `async for` over client.assets.list(per_page="max" or {SMALL_PAGE}), '
            f"requests_per_minute={per_minute(LIMIT, WINDOW):g}, rate_window={WINDOW:g}, "
            f"page_concurrency default (4); (a): AsyncLimiter({LIMIT}, {WINDOW:g}) + gather at "
            f"per_page={SMALL_PAGE}",
            f"floor(s) = ceil({ITEMS} / s) x W / L: floor({MAX_PAGE}) = {top:g} s, "
            f"floor({SMALL_PAGE}) = {pages_floor(SMALL_PAGE):g} s",
        ],
        columns=tuple(c.label for c in COLUMNS),
    )
    table.add(per_column("per_page asked first", outcomes, lambda o: o.asked_first, "{}"))
    table.add(per_column("per_page asked later", outcomes, lambda o: o.asked_later, "{}"))
    table.add(
        per_column("items per answer of 200", outcomes, lambda o: o.items_per_answer, "{:.1f}")
    )
    table.add(
        _target_row(
            "items",
            outcomes,
            lambda o: o.measured.value,
            f"= {ITEMS}",
            lambda o: o.measured.value == ITEMS,
        )
    )
    table.add(
        _target_row(
            "/api requests sent",
            outcomes,
            lambda o: o.sent,
            f"<= {needed} + {EXTRA}",
            lambda o: o.sent <= needed + EXTRA,
        )
    )
    table.add(
        per_column(f"requests needed at its size, ceil({ITEMS} / s)", outcomes, _needed, "{}")
    )
    table.add(per_column("422 answers", outcomes, lambda o: o.count(422), "{}"))
    table.add(
        _target_row(
            "429 answers", outcomes, lambda o: o.rate_limited, "= 0", lambda o: o.rate_limited == 0
        )
    )
    table.add(
        per_column(
            "server windows (full + last)",
            outcomes,
            lambda o: len(server_windows(o.records, WINDOW)),
            "{}",
        )
    )
    table.add(per_column("wall time, s", outcomes, lambda o: o.measured.wall))
    table.add(
        per_column(
            "wall / floor of its own page size",
            outcomes,
            lambda o: o.measured.wall / pages_floor(o.column.page_size),
        )
    )
    table.add(
        per_column(
            f"wall / floor({MAX_PAGE}) = {top:g} s", outcomes, lambda o: o.measured.wall / top
        )
    )
    table.add(
        per_column(
            "wall over the SDK max (clamp) column's",
            outcomes,
            lambda o: o.measured.wall / outcomes[0].measured.wall,
        )
    )
    table.notes.extend(
        [
            "floor(s) assumes an even pace of L per W; 40 requests fit in one window of 60, so "
            f"floor({MAX_PAGE}) is the pace's, not the window's: a client may burst under it",
            "'per_page asked ...' is the query's per_page as the sandbox recorded it; 'later' "
            "is every request after the first answered 200 (a clamping server serves 500 for "
            "1000, so a listing that learned 500 may keep asking 1000 for the pages it reads "
            "ahead; the next listing asks for the size learned)",
        ]
    )
    table.seconds = time.monotonic() - started
    return table


def _needed(outcome: Outcome) -> int:
    return math.ceil(ITEMS / outcome.column.page_size)
