"""The command line's live progress and summary table (rich), fed by the harvest callback."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Final, Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from .._client import CliquifyClient
from .files import DownloadProgress
from .harvester import HarvestReport, ResourceProgress

PLAUSIBLE: Final = 10**12
"""Totals and page counts a server may announce stay below this; others show as unknown."""
FAILURES_SHOWN: Final = 20
"""Failed items the summary names one by one; the rest are counted."""


def plausible(count: int | None) -> int | None:
    """A count from the server if it is one a listing could have, else None (unknown): a
    `last_page` of 10**400 must not overflow the ETA or fill the terminal."""
    return count if count is not None and 0 <= count < PLAUSIBLE else None


def eta_seconds(progress: ResourceProgress, interval: float, running: int) -> float | None:
    """Seconds left for one listing when the rate gate is the bottleneck, if its size is known.

    The gate hands out one request per `interval` to all `running` listings in turn, so each
    remaining page of this one costs about `interval * running` seconds.
    """
    if progress.done:
        return 0.0
    last_page = plausible(progress.last_page)
    if last_page is None:
        return None
    return max(last_page - progress.pages, 0) * interval * max(running, 1)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class HarvestDisplay:
    """Live per-resource progress while a harvest runs; silent when stdout is not a terminal."""

    def __init__(self, console: Console, client: CliquifyClient) -> None:
        self._console = console
        self._client = client
        self._started = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
            disable=not console.is_terminal,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    @property
    def elapsed(self) -> float:
        """Seconds since the harvest started."""
        return time.monotonic() - self._started

    def update(self, report: HarvestReport) -> None:
        """The harvest's progress callback: refresh every resource's row."""
        running = sum(not p.done for p in report.resources.values())
        rate = self._client.stats.requests / max(self.elapsed, 1e-9)
        interval = self._client.rate_interval
        for name, progress in report.resources.items():
            eta = _clock(eta_seconds(progress, interval, running))
            self._row(
                name,
                completed=progress.items,
                total=progress.items if progress.done else plausible(progress.total),
                detail=f"items  {progress.pages} pages  {rate:.1f} req/s  ETA {eta}",
            )
        files = report.downloads
        if files.queued:
            self._row(
                "files",
                completed=files.downloaded + files.skipped + files.failed,
                total=files.queued,
                detail=(
                    f"files  {_mib(files.bytes)}  {_mib(files.resumed_bytes)} resumed  "
                    f"{files.verified} verified  {files.refetched} re-fetched  "
                    f"{files.failed} failed  {files.in_flight} at once"
                ),
            )

    def _row(self, name: str, *, completed: int, total: int | None, detail: str) -> None:
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(name, total=None, detail="")
        self._progress.update(self._tasks[name], completed=completed, total=total, detail=detail)

    def summary(self, report: HarvestReport) -> Table:
        """The closing table: items and pages per resource, then the client's counters."""
        stats = self._client.stats
        table = Table(title="Harvest summary", show_footer=True)
        table.add_column("resource", footer="total")
        rows = report.resources.values()
        table.add_column("items", justify="right", footer=str(sum(p.items for p in rows)))
        table.add_column("pages", justify="right", footer=str(sum(p.pages for p in rows)))
        table.add_column("failed", justify="right", footer=str(sum(p.failed for p in rows)))
        table.add_column("state", footer="")
        for name, progress in report.resources.items():
            state = "done" if progress.done else "incomplete"
            if progress.resumed:
                state += " (resumed)"
            table.add_row(
                name, str(progress.items), str(progress.pages), str(progress.failed), state
            )
        table.caption = (
            f"{stats.requests} requests, {stats.rate_limited} rate-limited (429), "
            f"{stats.retries} retries, {stats.token_requests} token requests, "
            f"{self.elapsed:.1f} s"
        )
        limits = [
            f"{limit}{'' if limit.learned else ' (assumed)'}" for limit in self._client.rate_limits
        ]
        if limits:
            table.caption += f"; rate limit {' and '.join(limits)}"
        downloads = report.downloads
        if downloads.queued:
            table.caption += f"; files: {files_summary(downloads)}"
        return table


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def files_summary(files: DownloadProgress) -> str:
    """What the downloads did, in one line of the summary."""
    parts = [
        f"{files.downloaded} downloaded ({files.bytes:,} bytes received)",
        f"{files.refetched} re-fetched as changed",
        f"{files.resumed} resumed ({files.resumed_bytes:,} bytes kept)",
        f"{files.verified} verified",
        f"{files.skipped} already complete ({files.revalidated} asked the host)",
        f"{files.failed} failed",
    ]
    if files.gone:
        parts.append(f"{files.gone} kept whose assets are gone")
    return ", ".join(parts)


def failure_lines(report: HarvestReport) -> list[str]:
    """One line per failed item (the first FAILURES_SHOWN, then a count), each saying which
    and why, and that a rerun tries them again."""
    lines = [f"failed: {failure}" for failure in report.failures[:FAILURES_SHOWN]]
    if report.failed > len(lines):
        lines.append(f"... and {report.failed - len(lines)} more failed items")
    if lines:
        lines.append("Run the same command again to retry the failed items.")
    return lines
