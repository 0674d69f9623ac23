"""Plain-text tables: one row per metric, one column per contender (benchmark 6: per shape), then
the ratios and the verdict against the SDK's target."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import attrs

SDK: Final = "SDK"
CONCURRENT: Final = "(a) limiter+gather"
SEQUENTIAL: Final = "(b) sequential"
CONTENDERS: Final = (SDK, CONCURRENT, SEQUENTIAL)
LEGEND: Final = (
    "SDK: cliquify_async.CliquifyClient, `async for` over client.<resource>.list()",
    "(a): plain aiohttp, AsyncLimiter(L, W), page 1 then pages 2..last with asyncio.gather, "
    "429 -> sleep Retry-After, plain dicts",
    "(b): plain aiohttp, one page after another (links.next), 429 -> sleep Retry-After, "
    "plain dicts",
)

Value = float | int | str | None
Values = tuple[Value, ...]  # one per column: the contenders, or (benchmark 6) the shapes
C = TypeVar("C")


@attrs.frozen(kw_only=True)
class Row:
    """One metric for every contender (None: does not apply)."""

    label: str
    values: Values
    fmt: str = "{:.2f}"
    ratio: bool = True  # print SDK / baseline
    target: str = ""
    verdict: bool | None = None  # the SDK's result against `target`

    def cells(self, *, ratios: bool = True) -> list[str]:
        sdk = self.values[0]
        shares = [_ratio(sdk, base) if self.ratio else "" for base in self.values[1:]]
        verdict = "" if self.verdict is None else ("PASS" if self.verdict else "FAIL")
        return [
            self.label,
            *(_format(self.fmt, value) for value in self.values),
            *(shares if ratios else []),
            self.target,
            verdict,
        ]


def _format(fmt: str, value: Value) -> str:
    return "-" if value is None else fmt.format(value)


def _ratio(sdk: Value, base: Value) -> str:
    if sdk is None or base is None or isinstance(sdk, str) or isinstance(base, str):
        return ""
    if base == 0:
        return "-" if sdk == 0 else "inf"
    value = sdk / base
    if not math.isfinite(value):
        return ""
    return f"{value:.3f}x" if value < 10 else f"{value:.1f}x"


@attrs.define
class Table:
    """A benchmark's result: a title, its setup notes and its rows."""

    number: int
    title: str
    setup: list[str] = attrs.field(factory=list)
    rows: list[Row] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    seconds: float = 0.0  # the benchmark's own run time
    columns: tuple[str, ...] = CONTENDERS  # a value column each; ratios only for CONTENDERS

    def add(self, row: Row) -> None:
        self.rows.append(row)

    @property
    def verdicts(self) -> list[tuple[str, str, bool]]:
        """(metric, target, passed) for every row with a target."""
        return [(r.label, r.target, r.verdict) for r in self.rows if r.verdict is not None]

    def render(self) -> str:
        ratios = self.columns == CONTENDERS
        header = ["metric", *self.columns, *(["SDK÷(a)", "SDK÷(b)"] * ratios), "target", "SDK"]
        body = [row.cells(ratios=ratios) for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        lines = [f"== {self.number}. {self.title} ==", *(f"   {line}" for line in self.setup)]
        lines.append(_line(header, widths))
        lines.append(_line(["-" * w for w in widths], widths))
        lines.extend(_line(cells, widths) for cells in body)
        lines.extend(f" * {note}" for note in self.notes)
        lines.append(f"   (benchmark time {self.seconds:.1f} s)")
        return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    first, *rest = cells
    aligned = (cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))
    return "  ".join([first.ljust(widths[0]), *aligned]).rstrip()


def per_column(
    label: str,
    columns: Sequence[C],
    metric: Callable[[C], Value],
    fmt: str = "{:.2f}",
    *,
    target: str = "",
    met: Callable[[Value], bool] | None = None,
) -> Row:
    """A row of `metric` for each column's outcome, no ratios; with `met`, a verdict over all."""
    values: Values = tuple(metric(column) for column in columns)
    verdict = None if met is None else all(met(v) for v in values)
    return Row(label=label, values=values, fmt=fmt, ratio=False, target=target, verdict=verdict)
