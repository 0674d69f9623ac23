"""Benchmark 10 (file downloads): a harvest's files from a slow host, the SDK's "auto" number of
files in flight against plain aiohttp at its best fixed concurrency, and what a rerun after an
interruption costs the host.

One sandbox in a process of its own serves FILES assets, each file exactly FILE_SIZE bytes, with
LATENCY seconds before each /files answer and at most BANDWIDTH bytes per second per answer
(per connection: HTTP/1.1 sends one answer at a time on it). The cap makes concurrency pay: one
connection moves FILE_SIZE / (LATENCY + FILE_SIZE / BANDWIDTH) = 28.6 MB/s, and more files in
flight add up until something else (here the client's CPU, at about 0.8 GB/s on loopback) is the
limit. BANDWIDTH puts that knee between 16 and 32 files in flight, inside the SDK's default
range (at most 32), so the target judges the ramp that finds the knee, not the range's maximum;
with 4 MB/s per connection the best plain client would want all 200 files at once, and the sweep
from one file at a time would take over 8 minutes. It is the shape of a 1 Gbit/s link against a
CDN allowing 4 to 8 MB/s per connection, scaled to the loopback.

Throughput: (a) is plain aiohttp, one `ClientSession`, `asyncio.gather` over the FILES URLs
under an `asyncio.Semaphore(c)`, each answer streamed to its own file in a temporary folder
(`iter_chunked(64 KiB)`, `file.write`), for every c in SWEEP (and EXTRA when the largest still
beat the one before). Its best c is then run ROUNDS more times, each round beside the SDK at its
defaults (`Harvester(client, out, resources=["assets"], download=True)`: "auto") and the SDK
told that c. Wall time is the same for all: from the arrival of the first /files request at the
sandbox (its `time.monotonic()`, the same clock as the client's) to the moment the last file is
complete (the gather returns; the SDK's progress callback counts the last one downloaded). The
listing (2 pages, no rate limit, the URLs for (a) fetched once beforehand) and making the client
are left out of it; the SDK's whole harvest time is shown beside it. The verdict is the median
over rounds of the SDK's files/s over (a)'s in the same round (this machine's speed drifts
within seconds, see benchmark 3). The SDK's `report.downloads.in_flight` and bytes are sampled
every RAMP_EVERY seconds to show its ramp.

Resume: an SDK harvest is cancelled (its task) once `report.downloads.bytes` passes half of
TOTAL; the bytes on disk (finished files and `.part` files) are counted, then a second harvest
into the same folder finishes the job. The sandbox counts the /files body bytes it sent on the
rerun; against them, (a) restarting from zero (a gather sends every file again). Target: re-sent
<= missing at the interruption + SLACK of TOTAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Final

import aiohttp
import attrs

from cliquify_async import CliquifyClient, DownloadProgress, Harvester, HarvestReport

from ._baselines import Credentials, harvest_concurrent
from ._contenders import ASSETS, credentials
from ._report import Row, Table, Value
from ._sandbox import Record, SandboxProcess, assets_only

FILES: Final = 200
FILE_SIZE: Final = 5_000_000
TOTAL: Final = FILES * FILE_SIZE
LATENCY: Final = 0.05  # seconds before each /files answer
BANDWIDTH: Final = 40_000_000  # bytes per second per answer (per connection)
SWEEP: Final = (1, 2, 4, 8, 16, 32, 64)
EXTRA: Final = 128  # swept too when the largest of SWEEP still beat the one before it
ROUNDS: Final = 3
TARGET: Final = 0.9
SLACK: Final = 0.01  # of TOTAL: what the rerun may re-send beyond the bytes missing
CHUNK: Final = 64 * 1024  # (a)'s read size
RESTART_CONCURRENCY: Final = 32  # (a)'s files in flight when it starts again from zero
RAMP_EVERY: Final = 0.25  # seconds between samples of the SDK's progress
POLL: Final = 0.005  # seconds between looks at the bytes before the interruption
RUN_LIMIT: Final = 120.0  # seconds any one run may take (at c=1 about 35)
FILES_PATH: Final = "/files/"
MB: Final = 1e6

Sample = tuple[float, int, int]  # (seconds from the first file request, in flight, bytes)


@attrs.frozen(kw_only=True)
class Run:
    """One contender's run: what the client saw, and what the sandbox recorded meanwhile."""

    wall: float  # first /files request's arrival to the last file complete
    call: float  # the whole call: session or client, token and listing (SDK), files
    cpu: float  # this process's CPU time over the call
    host_cpu: float | None  # the sandbox process's CPU time over the call (None: unknown)
    sent: int  # /files body bytes the sandbox wrote
    statuses: tuple[int | None, ...]  # of the /files answers, in arrival order
    downloads: DownloadProgress | None = None  # the SDK's report.downloads
    ramp: tuple[Sample, ...] = ()

    @property
    def files_per_second(self) -> float:
        return FILES / self.wall

    @property
    def bytes_per_second(self) -> float:
        return TOTAL / self.wall

    def count(self, status: int) -> int:
        return sum(s == status for s in self.statuses)


@attrs.frozen(kw_only=True)
class Finished:
    """What a contender's coroutine reports: when the last file was complete, and the SDK's."""

    done_at: float
    report: HarvestReport | None = None
    samples: tuple[Sample, ...] = ()  # (time.monotonic(), in flight, bytes received)


def sandbox() -> SandboxProcess:
    """FILES assets of FILE_SIZE bytes each, slow files, no rate limit and no /api latency."""
    return assets_only(
        FILES,
        rate_limit=None,
        asset_file_size=FILE_SIZE,
        file_latency=LATENCY,
        file_bandwidth=BANDWIDTH,
    )


def _host_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of process `pid` so far (Linux's /proc), or None."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _urls(creds: Credentials) -> list[str]:
    """The assets' file URLs in listing order, for (a); fetched once, not timed."""
    async with aiohttp.ClientSession() as session:
        items = await harvest_concurrent(session, creds, ASSETS, {"per_page": 100}, rate=None)
    urls = [str(item["url"]) for item in sorted(items, key=lambda item: int(item["id"]))]
    if len(urls) != FILES:
        raise RuntimeError(f"the listing had {len(urls)} file URLs, not {FILES}")
    return urls


async def gather_files(urls: Sequence[str], folder: Path, concurrency: int) -> Finished:
    """(a): plain aiohttp, every URL at once through an asyncio.Semaphore(concurrency), each
    answer streamed to its own file as users write it (writes in the event loop, as the SDK's)."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)  # aiohttp's default of 100 would cap 128

    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(number: int, url: str) -> None:
            async with gate, session.get(url) as response:
                response.raise_for_status()
                name = f"{number:04d}-{url.rsplit('/', 1)[-1]}"
                with open(folder / name, "wb") as file:  # noqa: ASYNC230 - as the SDK writes
                    async for chunk in response.content.iter_chunked(CHUNK):
                        file.write(chunk)

        await asyncio.gather(*(one(n, url) for n, url in enumerate(urls)))
        return Finished(done_at=time.monotonic())


async def sdk_files(
    creds: Credentials,
    out: Path,
    concurrency: int | str = "auto",
    *,
    stop_at: int | None = None,
) -> Finished:
    """The SDK: a harvest of assets with download=True into `out`, at `concurrency` (the
    default "auto" unless told), its progress sampled every RAMP_EVERY s; with `stop_at`, its
    task is cancelled once it has received that many bytes (looked at every POLL s)."""
    done_at = 0.0  # when every file is in place, fetched or (on a rerun) left as it was

    def on_progress(report: HarvestReport) -> None:
        nonlocal done_at
        downloads = report.downloads
        if downloads.downloaded + downloads.skipped == FILES and not done_at:
            done_at = time.monotonic()

    options: dict[str, Any] = {} if concurrency == "auto" else {"download_concurrency": concurrency}
    async with CliquifyClient(
        creds.client_id, creds.client_secret, base_url=creds.base_url, requests_per_minute=None
    ) as client:
        harvester = Harvester(
            client,
            out,
            resources=["assets"],
            download=True,
            on_progress=on_progress,
            **options,
        )
        task = asyncio.create_task(harvester.run())
        samples = []
        progress = harvester.report.downloads
        step = RAMP_EVERY if stop_at is None else POLL
        while not task.done():
            if stop_at is not None and progress.bytes >= stop_at:
                task.cancel()
                break
            if stop_at is None:
                samples.append((time.monotonic(), progress.in_flight, progress.bytes))
            await asyncio.wait({task}, timeout=step)
        await asyncio.wait({task})
        if not task.cancelled():
            report = task.result()  # raises what the harvest raised
            if stop_at is not None:
                raise RuntimeError(f"the harvest ended before {stop_at:,} bytes")
            if not done_at:
                raise RuntimeError(f"the harvest ended with {report.downloads} files")
        return Finished(done_at=done_at, report=harvester.report, samples=tuple(samples))


def _file_records(server: SandboxProcess) -> list[Record]:
    return [r for r in server.records() if r.path.startswith(FILES_PATH)]


def _run(
    server: SandboxProcess, coroutine: Coroutine[Any, Any, Finished], *, complete: bool = True
) -> Run:
    """Run a contender in a fresh event loop (records reset first) and pair what it saw with
    the sandbox's records; `complete`: it must have fetched every file, FILES requests."""
    server.reset()
    host_before = _host_cpu(server.pid)
    started, cpu = time.monotonic(), time.process_time()

    async def bounded() -> Finished:
        async with asyncio.timeout(RUN_LIMIT):
            return await coroutine

    finished = asyncio.run(bounded())
    call, cpu = time.monotonic() - started, time.process_time() - cpu
    host_after = _host_cpu(server.pid)
    records = _file_records(server)
    sent = sum(r.body_bytes for r in records)
    if complete and (len(records) != FILES or sent != TOTAL):
        raise RuntimeError(f"{len(records)} file requests sent {sent:,} bytes, not {TOTAL:,}")
    first = min((r.time for r in records), default=started)
    report = finished.report
    return Run(
        wall=finished.done_at - first,
        call=call,
        cpu=cpu,
        host_cpu=None if host_before is None or host_after is None else host_after - host_before,
        sent=sent,
        statuses=tuple(r.status for r in records),
        downloads=None if report is None else attrs.evolve(report.downloads),
        ramp=tuple((at - first, flight, size) for at, flight, size in finished.samples),
    )


@attrs.frozen
class OnDisk:
    """A download folder's bytes: finished files and `.part` files."""

    finished: int
    parts: int
    finished_bytes: int
    part_bytes: int

    @property
    def total(self) -> int:
        return self.finished_bytes + self.part_bytes


def on_disk(folder: Path) -> OnDisk:
    """Count the files under `folder`: `.<name>.part` as parts, other names not starting with
    a dot as finished (sidecars, manifests and the sink's state are not file bytes)."""
    finished = parts = finished_bytes = part_bytes = 0
    for path in folder.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        if path.name.startswith(".") and path.name.endswith(".part"):
            parts, part_bytes = parts + 1, part_bytes + size
        elif not path.name.startswith(".") and path.parent.name == "files":
            finished, finished_bytes = finished + 1, finished_bytes + size
    return OnDisk(finished, parts, finished_bytes, part_bytes)


def _checked(folder: Path, what: str) -> None:
    """Every file complete: FILES files of FILE_SIZE bytes, no `.part` left."""
    found = on_disk(folder)
    if found != OnDisk(FILES, 0, TOTAL, 0):
        raise RuntimeError(f"{what}: {found} on disk, not {FILES} files of {FILE_SIZE:,} bytes")


def _in_folder(
    server: SandboxProcess, make: Callable[[Path], Coroutine[Any, Any, Finished]]
) -> Run:
    """One complete run into a fresh temporary folder, checked, then removed."""
    with tempfile.TemporaryDirectory(prefix="cliquify-bench-files-") as folder:
        run = _run(server, make(Path(folder)))
        _checked(Path(folder), "run")
    return run


def _gather(server: SandboxProcess, urls: Sequence[str], concurrency: int) -> Run:
    def into(folder: Path) -> Coroutine[Any, Any, Finished]:
        (folder / "files").mkdir()  # where on_disk looks, as for the SDK's <out>/files
        return gather_files(urls, folder / "files", concurrency)

    return _in_folder(server, into)


def _sdk(server: SandboxProcess, concurrency: int | str = "auto") -> Run:
    creds = credentials(server)
    return _in_folder(server, lambda folder: sdk_files(creds, folder / "out", concurrency))


def sweep(server: SandboxProcess, urls: Sequence[str]) -> dict[int, Run]:
    """(a) at every concurrency of SWEEP, and EXTRA when the largest still beat the one before."""
    runs = {c: _gather(server, urls, c) for c in SWEEP}
    largest, before = SWEEP[-1], SWEEP[-2]
    if runs[largest].files_per_second > runs[before].files_per_second:
        runs[EXTRA] = _gather(server, urls, EXTRA)
    return runs


@attrs.frozen
class Round:
    """One round: (a) at its best c, the SDK at "auto", the SDK told that c."""

    baseline: Run
    auto: Run
    fixed: Run

    def runs(self) -> tuple[Run, Run, Run]:
        return (self.auto, self.baseline, self.fixed)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _ramp(samples: Sequence[Sample]) -> str:
    """The SDK's files in flight and MB/s over each sample interval, from the first request."""
    parts = []
    previous: Sample | None = None
    for sample in samples:
        at, flight, size = sample
        if previous is not None and at > 0 and at > previous[0]:
            rate = (size - previous[2]) / (at - previous[0]) / MB
            parts.append(f"{at:.2f} s {flight}/{rate:.0f}")
        previous = sample
    return ", ".join(parts)


def _in_flight(run: Run, fixed: int) -> str:
    """The SDK's files in flight allowed at the end of a run; (a)'s fixed number."""
    return str(fixed if run.downloads is None else run.downloads.in_flight)


def _sweep_note(c: int, run: Run) -> str:
    host = "-" if run.host_cpu is None else f"{run.host_cpu:.2f} s"
    return (
        f"c={c}: {run.wall:.2f} s, {run.files_per_second:.1f} files/s, "
        f"{run.bytes_per_second / MB:.0f} MB/s, client CPU {run.cpu:.2f} s, sandbox CPU {host}"
    )


def _setup(best: int) -> list[str]:
    per_connection = FILE_SIZE / (LATENCY + FILE_SIZE / BANDWIDTH)
    return [
        f"sandbox (own process): {FILES} assets, each file {FILE_SIZE / MB:g} MB "
        f"({TOTAL / MB:,.0f} MB in all), {LATENCY * 1000:g} ms before each /files answer, "
        f"at most {BANDWIDTH / MB:g} MB/s per answer (one connection: "
        f"{per_connection / MB:.1f} MB/s with the latency); no rate limit",
        "SDK: Harvester(client, out, resources=['assets'], download=True), "
        "requests_per_minute=None, download_concurrency default ('auto'); beside it the SDK "
        f"with download_concurrency={best}, (a)'s best",
        "(a): plain aiohttp, one ClientSession, asyncio.gather over the URLs under "
        f"asyncio.Semaphore(c), iter_chunked({CHUNK // 1024} KiB) into a file each; swept over "
        f"c = {', '.join(map(str, SWEEP))} (and {EXTRA} if {SWEEP[-1]} still gained), then "
        f"c={best} in {ROUNDS} rounds, each running (a), the SDK at auto and at {best} in turn",
        "wall = first /files request's arrival at the sandbox to the last file complete "
        "(listing and client set-up left out, for both); every run checked: "
        f"{FILES} files of {FILE_SIZE:,} bytes on disk, {TOTAL:,} bytes sent by the host",
    ]


def _row(label: str, values: Sequence[Value], fmt: str = "{:.2f}", **verdict: Any) -> Row:
    return Row(label=label, values=tuple(values), fmt=fmt, ratio=False, **verdict)


def throughput() -> Table:
    """10. Files/s and bytes/s: the SDK at "auto" against (a) at its best fixed concurrency."""
    started = time.monotonic()
    with sandbox() as server:
        urls = asyncio.run(_urls(credentials(server)))
        swept = sweep(server, urls)
        best = max(swept, key=lambda c: swept[c].files_per_second)
        rounds = [
            Round(baseline=_gather(server, urls, best), auto=_sdk(server), fixed=_sdk(server, best))
            for _ in range(ROUNDS)
        ]
    table = Table(
        10,
        f"File downloads: {FILES} files of {FILE_SIZE / MB:g} MB, {LATENCY * 1000:g} ms latency, "
        f"{BANDWIDTH / MB:g} MB/s per connection",
        _setup(best),
        columns=("SDK auto", f"(a) gather, c={best}", f"SDK c={best}"),
    )
    columns = list(zip(*(r.runs() for r in rounds), strict=True))  # per column, one per round
    # files/s over (a)'s in the same round: the same work, so (a)'s wall over the run's
    ratios = [
        [r.baseline.wall / run.wall for run, r in zip(c, rounds, strict=True)] for c in columns
    ]
    table.add(
        _row(
            "files per second, median round",
            [_median([r.files_per_second for r in c]) for c in columns],
            "{:.1f}",
        )
    )
    table.add(
        _row(
            "MB per second, median round",
            [_median([r.bytes_per_second for r in c]) / MB for c in columns],
            "{:.0f}",
        )
    )
    table.add(
        _row(
            "files/s over (a)'s in the same round, median",
            [_median(r) for r in ratios],
            "{:.3f}",
            target=f">= {TARGET}",
            verdict=_median(ratios[0]) >= TARGET,
        )
    )
    table.add(
        _row(
            "same, each round",
            [", ".join(f"{x:.2f}" for x in r) for r in ratios],
            "{}",
        )
    )
    sweep_best = swept[best].files_per_second
    table.add(
        _row(
            f"files/s over the sweep's best run (c={best}), median round",
            [_median([r.files_per_second for r in c]) / sweep_best for c in columns],
            "{:.3f}",
        )
    )
    table.add(
        _row(
            "wall: first file request to last file, s, median",
            [_median([r.wall for r in c]) for c in columns],
        )
    )
    table.add(
        _row(
            "whole call (SDK: client, token, listing, files), s, median",
            [_median([r.call for r in c]) for c in columns],
        )
    )
    table.add(
        _row(
            "files in flight at the end (SDK: report.downloads.in_flight)",
            [", ".join(_in_flight(r, best) for r in c) for c in columns],
            "{}",
        )
    )
    table.add(
        _row(
            "client CPU per GB, s, median",
            [_median([r.cpu / TOTAL * 1e9 for r in c]) for c in columns],
        )
    )
    table.add(
        _row(
            "sandbox CPU per GB, s, median",
            [_median([(r.host_cpu or 0.0) / TOTAL * 1e9 for r in c]) for c in columns],
        )
    )
    for c, run in swept.items():
        label = f"(a) sweep, c={c}: files/s" + (" (best)" if c == best else "")
        table.add(_row(label, [None, run.files_per_second, None], "{:.1f}"))
    table.notes.extend(_sweep_note(c, run) for c, run in swept.items())
    for number, r in enumerate(rounds, 1):
        table.notes.append(
            f"round {number}: files/s (a) {r.baseline.files_per_second:.1f}, SDK auto "
            f"{r.auto.files_per_second:.1f}, SDK c={best} {r.fixed.files_per_second:.1f}"
        )
    for number, r in enumerate(rounds, 1):
        table.notes.append(
            f"SDK auto ramp, round {number} (s from the first file request: files in flight "
            f"allowed/MB/s over the last {RAMP_EVERY:g} s): {_ramp(r.auto.ramp)}"
        )
    table.seconds = time.monotonic() - started
    return table


@attrs.frozen(kw_only=True)
class Interrupted:
    """The first harvest, cancelled past half: what the SDK counted, the host sent, the disk
    holds."""

    received: int  # report.downloads.bytes when cancelled
    downloaded: int  # files complete by then (report.downloads.downloaded)
    sent: int
    disk: OnDisk

    @property
    def missing(self) -> int:
        return TOTAL - self.disk.total


def resume() -> Table:
    """10. Bytes the host sends again after a harvest interrupted at 50 %, against a restart."""
    started = time.monotonic()
    with sandbox() as server, tempfile.TemporaryDirectory(prefix="cliquify-bench-files-") as tmp:
        creds, out = credentials(server), Path(tmp) / "out"
        urls = asyncio.run(_urls(creds))
        first = _run(server, sdk_files(creds, out, stop_at=TOTAL // 2), complete=False)
        assert first.downloads is not None
        cut = Interrupted(
            received=first.downloads.bytes,
            downloaded=first.downloads.downloaded,
            sent=first.sent,
            disk=on_disk(out),
        )
        rerun = _run(server, sdk_files(creds, out), complete=False)
        _checked(out, "the rerun")
        restart = _gather(server, urls, RESTART_CONCURRENCY)
    return _resume_table(cut, rerun, restart, time.monotonic() - started)


def _resume_table(cut: Interrupted, rerun: Run, restart: Run, seconds: float) -> Table:
    table = Table(
        10,
        "File downloads: a rerun after an interruption at 50 %, against a restart from zero",
        [
            f"the sandbox of the table above ({FILES} x {FILE_SIZE / MB:g} MB, "
            f"{LATENCY * 1000:g} ms, {BANDWIDTH / MB:g} MB/s per connection), a fresh one",
            "SDK: a harvest at its defaults, its task cancelled once report.downloads.bytes "
            f">= {TOTAL // 2:,} (looked at every {POLL * 1000:g} ms); bytes on disk counted "
            "(finished files + .part files); then a second harvest into the same folder",
            f"restart from zero: (a), a gather of every URL again ({RESTART_CONCURRENCY} at a "
            "time) into an empty folder: plain aiohttp has no .part to go on from",
            "bytes sent = /files body bytes the sandbox wrote (RecordedRequest.body_bytes)",
        ],
        columns=("SDK rerun", "(a) restart from zero"),
    )
    resent_target = cut.missing + SLACK * TOTAL
    table.add(
        _row("at the interruption: bytes the SDK had received, MB", [cut.received / MB, None])
    )
    table.add(_row("at the interruption: bytes the host had sent, MB", [cut.sent / MB, None]))
    table.add(
        _row(
            "at the interruption: files complete, .part files",
            [f"{cut.disk.finished}, {cut.disk.parts}", None],
            "{}",
        )
    )
    table.add(
        _row(
            "at the interruption: bytes on disk (files + .part), MB",
            [cut.disk.total / MB, None],
        )
    )
    table.add(
        _row(
            "at the interruption: bytes missing (total - on disk), MB",
            [cut.missing / MB, TOTAL / MB],
        )
    )
    table.add(
        _row(
            "bytes the host sent again, MB",
            [rerun.sent / MB, restart.sent / MB],
            target=f"<= missing + {SLACK:.0%} = {resent_target / MB:.2f}",
            verdict=rerun.sent <= resent_target,
        )
    )
    table.add(
        _row("bytes sent again / total", [rerun.sent / TOTAL, restart.sent / TOTAL], "{:.3f}")
    )
    table.add(
        _row(
            "bytes sent again - missing, MB",
            [(rerun.sent - cut.missing) / MB, (restart.sent - cut.missing) / MB],
        )
    )
    table.add(
        _row(
            "/files answers: 200, 206, 304",
            [f"{run.count(200)}, {run.count(206)}, {run.count(304)}" for run in (rerun, restart)],
            "{}",
        )
    )
    downloads = rerun.downloads or DownloadProgress()
    table.add(
        _row(
            "SDK rerun: downloaded, resumed, skipped (report.downloads)",
            [f"{downloads.downloaded}, {downloads.resumed}, {downloads.skipped}", None],
            "{}",
        )
    )
    table.add(
        _row(
            "SDK rerun: bytes kept from .part files (resumed_bytes), MB",
            [downloads.resumed_bytes / MB, None],
        )
    )
    table.add(_row("whole call, s", [rerun.call, restart.call]))
    table.notes.append(
        "after the rerun every file is checked on disk: "
        f"{FILES} files of {FILE_SIZE:,} bytes and no .part left"
    )
    with contextlib.suppress(ZeroDivisionError):
        table.notes.append(
            f"the rerun re-sent {rerun.sent / restart.sent:.1%} of what a restart from zero sent"
        )
    table.seconds = seconds
    return table
