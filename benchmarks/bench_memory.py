"""Benchmark 4 (memory): peak RSS of a client process harvesting 20,000 vs 200,000 assets.

Each (contender, size) runs in a fresh child process with everything imported, which notes
its peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), harvests with the limit off, and
reports its peak RSS again. The three contenders' children of one size run side by side
(sharing the CPU changes their speed, not what they hold), so no wall times are reported
here; benchmark 3 measures speed. The sandboxes (one per size) run in processes of their own.
The SDK and (b) discard items as they come; (a) returns them all from its gather, as written.

The children are forked from multiprocessing's fork server, not spawned from this process:
Linux carries the peak RSS of the process that forks across `exec` into the child's
`ru_maxrss`, so a child spawned from this (by then large) process would report this
process's peak, not its own. The fork server is small, so the children start from the RSS
of the imports alone. VmHWM from /proc/self/status (the peak of the child's own memory) is
reported as a cross-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection
from typing import Final, NamedTuple

from ._baselines import Credentials
from ._contenders import credentials, unlimited_assets
from ._report import CONTENDERS, Row, Table
from ._sandbox import SandboxProcess
from .bench_overhead import ASSETS

SMALL: Final = ASSETS  # the sandbox of benchmark 3 serves this size too
LARGE: Final = 200_000
PER_PAGE: Final = 100
TARGET_MIB: Final = 20.0
CHILD_LIMIT: Final = 120.0  # seconds a child may take


class Peak(NamedTuple):
    """What a child measured: items seen, its peak RSS before and after the harvest."""

    items: int
    before_kib: int  # ru_maxrss once everything is imported
    after_kib: int  # ru_maxrss after the harvest
    hwm_kib: int | None  # VmHWM after the harvest


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _hwm_kib() -> int | None:
    """VmHWM of /proc/self/status: the peak RSS of this process's own memory, in KiB."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


async def _bounded(contender: int, creds: Credentials) -> int:
    async with asyncio.timeout(CHILD_LIMIT):
        return await unlimited_assets(contender, creds, per_page=PER_PAGE)


def _child(conn: Connection, contender: int, creds: Credentials) -> None:
    """The measured process: one harvest, then its peak RSS back through the pipe."""
    try:
        before = _peak_kib()
        items = asyncio.run(_bounded(contender, creds))
        conn.send(Peak(items, before, _peak_kib(), _hwm_kib()))
    except BaseException as exc:
        conn.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


class Child:
    """A measured child process, forked by the fork server, and the pipe it answers on."""

    def __init__(self, contender: int, creds: Credentials) -> None:
        context = multiprocessing.get_context("forkserver")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(sender, contender, creds), daemon=True)
        try:
            self._process.start()
        finally:
            sender.close()

    def result(self) -> Peak:
        """Wait for the child's answer; raise what it raised."""
        try:
            if not self._receiver.poll(CHILD_LIMIT + 30):
                raise RuntimeError("the measured child did not answer in time")
            answer: Peak | Exception = self._receiver.recv()
        finally:
            self.close()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        if self._receiver.closed:
            return
        self._receiver.close()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
        self._process.close()


def measure_side_by_side(creds: Credentials) -> list[Peak]:
    """The three contenders' children at once (peak RSS does not depend on sharing CPU)."""
    children: list[Child] = []
    try:
        children.extend(Child(contender, creds) for contender in range(3))
        return [child.result() for child in children]
    finally:
        for child in children:
            child.close()


def memory(small: SandboxProcess, large: SandboxProcess) -> Table:
    """Run the benchmark against started sandboxes of SMALL and LARGE assets."""
    started = time.monotonic()
    peaks: dict[int, list[Peak]] = {}
    for size, server in ((SMALL, small), (LARGE, large)):
        peaks[size] = measure_side_by_side(credentials(server))
        for name, peak in zip(CONTENDERS, peaks[size], strict=True):
            if peak.items != size:
                raise RuntimeError(f"{name} saw {peak.items} of {size} assets")
    mib = 1024.0
    table = Table(
        4,
        f"Memory: peak RSS harvesting {SMALL:,} vs {LARGE:,} assets (limit off)",
        [
            f"a fresh client process per contender and size, the three side by side; "
            f"{PER_PAGE} per page; sandboxes in processes of their own; RSS = ru_maxrss of the "
            "client process",
            "SDK and (b) drop each item as it comes; (a) returns every item from its gather",
        ],
    )
    small_peaks, large_peaks = peaks[SMALL], peaks[LARGE]
    table.add(
        Row(
            label="ru_maxrss after imports (20k child), MiB",
            values=(
                small_peaks[0].before_kib / mib,
                small_peaks[1].before_kib / mib,
                small_peaks[2].before_kib / mib,
            ),
            fmt="{:.1f}",
            ratio=False,
        )
    )
    for size, label in ((SMALL, f"{SMALL // 1000}k"), (LARGE, f"{LARGE // 1000}k")):
        row = peaks[size]
        table.add(
            Row(
                label=f"peak RSS (ru_maxrss), {label} assets, MiB",
                values=(row[0].after_kib / mib, row[1].after_kib / mib, row[2].after_kib / mib),
                fmt="{:.1f}",
            )
        )
    growth = [
        (large.after_kib - small.after_kib) / mib
        for small, large in zip(small_peaks, large_peaks, strict=True)
    ]
    table.add(
        Row(
            label=f"difference {LARGE // 1000}k - {SMALL // 1000}k, MiB",
            values=(growth[0], growth[1], growth[2]),
            fmt="{:.1f}",
            ratio=False,
            target=f"< {TARGET_MIB:g}",
            verdict=growth[0] < TARGET_MIB,
        )
    )
    hwm: list[float | None] = [
        None
        if small.hwm_kib is None or large.hwm_kib is None
        else (large.hwm_kib - small.hwm_kib) / mib
        for small, large in zip(small_peaks, large_peaks, strict=True)
    ]
    table.add(
        Row(
            label="same from VmHWM (cross-check), MiB",
            values=(hwm[0], hwm[1], hwm[2]),
            fmt="{:.1f}",
            ratio=False,
        )
    )
    table.seconds = time.monotonic() - started
    return table
