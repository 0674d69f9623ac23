"""Run the benchmarks and print a side-by-side table for each: `python -m benchmarks.run`.

Exit status 0 when every selected benchmark ran, whether or not the SDK met its targets
(the tables and the summary say which); 1 when one crashed; 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Final

from cliquify_async import __version__

from . import (
    bench_coldstart,
    bench_files,
    bench_limits,
    bench_memory,
    bench_overhead,
    bench_pages,
    bench_rate,
    bench_requests,
    bench_window,
)
from ._report import LEGEND, Table
from ._sandbox import SandboxProcess

ALL: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> str:
    """One line about where the figures come from."""
    return (
        f"machine: {os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}; "
        f"cliquify_async {__version__}"
    )


def _selection(text: str) -> tuple[int, ...]:
    try:
        chosen = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 1,3, got {text!r}") from None
    if not chosen or not set(chosen) <= set(ALL):
        raise argparse.ArgumentTypeError(f"choose among {ALL}, got {text!r}")
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="cliquify_async against plain aiohttp baselines, on the local sandbox.",
    )
    parser.add_argument(
        "--only",
        type=_selection,
        default=ALL,
        metavar="N[,N...]",
        help=(
            "run only these benchmarks: 1 budget, 2 latency, 3 overhead, 4 memory, "
            "5 cold start, 6 window learning, 7 page size, 8 per-request overhead, "
            "9 other limits and windows, 10 file downloads"
        ),
    )
    return parser


class Runner:
    """Runs benchmarks one by one, prints each table, and remembers verdicts and crashes."""

    def __init__(self) -> None:
        self.tables: list[Table] = []
        self.crashed: list[str] = []

    def run(self, name: str, benchmark: Callable[[], Table]) -> None:
        try:
            table = benchmark()
        except Exception:
            self.crashed.append(name)
            print(f"== {name}: CRASHED ==", flush=True)
            traceback.print_exc()
            print(flush=True)
            return
        self.tables.append(table)
        print(table.render(), end="\n\n", flush=True)

    def summary(self, seconds: float) -> str:
        lines = ["== Summary: the SDK against its targets =="]
        for table in self.tables:
            for metric, target, passed in table.verdicts:
                verdict = "PASS" if passed else "FAIL"
                lines.append(f"   {verdict}  {table.number}. {metric} {target}")
        lines.extend(f"   CRASHED  {name}" for name in self.crashed)
        lines.append(f"   total run time {seconds:.1f} s")
        return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen: tuple[int, ...] = args.only
    warnings.simplefilter("always", ResourceWarning)  # an unclosed session must show
    started = time.monotonic()
    print(machine())
    print(*(f"   {line}" for line in LEGEND), sep="\n", end="\n\n", flush=True)
    runner = Runner()
    servers: dict[str, SandboxProcess] = {}

    def start_data_sandboxes() -> None:
        # The no-limit sandboxes of 3 and 4 generate their data (200,000 assets take 12 to
        # 20 s) while the baselines of benchmark 2 wait on their 300 ms answers.
        if (3 in chosen or 4 in chosen) and "small" not in servers:
            servers["small"] = bench_overhead.sandbox(bench_overhead.ASSETS).start()
        if 4 in chosen and "large" not in servers:
            servers["large"] = bench_overhead.sandbox(bench_memory.LARGE).start()

    try:
        if 1 in chosen:
            runner.run("1. budget use", bench_rate.budget)
        if 2 in chosen:
            runner.run(
                "2. latency hiding", lambda: bench_rate.latency(after_sdk=start_data_sandboxes)
            )
        start_data_sandboxes()
        if 3 in chosen:
            runner.run(
                "3. client overhead",
                lambda: bench_overhead.overhead(servers["small"].wait_ready()),
            )
        if 4 in chosen:
            runner.run(
                "4. memory",
                lambda: bench_memory.memory(
                    servers["small"].wait_ready(), servers["large"].wait_ready()
                ),
            )
        if 5 in chosen:
            runner.run("5. cold start", bench_coldstart.coldstart)
        if 6 in chosen:
            runner.run("6. window learning", bench_window.window_learning)
        if 7 in chosen:
            runner.run("7. page size", bench_pages.page_size)
        if 8 in chosen:
            runner.run("8. per-request overhead", bench_requests.per_request)
        if 9 in chosen:
            runner.run("9. latency hiding at other limits", bench_limits.latency_at_limits)
            runner.run("9. budget use on other windows", bench_limits.budget_on_windows)
        if 10 in chosen:
            runner.run("10. file downloads", bench_files.throughput)
            runner.run("10. file downloads after an interruption", bench_files.resume)
    finally:
        for server in servers.values():
            server.close()
    print(runner.summary(time.monotonic() - started), flush=True)
    return 1 if runner.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
