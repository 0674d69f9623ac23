"""Harvest: export whole listings into a sink, resumable after any interruption.

The listings run at once through the client's rate gate and hand their pages, in order, to a
`HarvestSink`, which stores each page together with the checkpoint after it: JSON Lines files
(JSONLinesSink, the default for a folder) or an SQLite database (SQLiteSink), or a sink of
your own. A rerun asks the sink where each resource stands and goes on from there. With
`download=True`, asset files are kept in step in the sink's `files` folder alongside (see
`FileHarvest`). An item the sink cannot store, or whose file cannot be downloaded, fails
alone: it is counted and named in the report, and the next run tries it again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
from attrs import define

from .._client import CliquifyClient
from .._endpoints import BY_NAME, Endpoint
from .._files.flight import AUTO, DEFAULT_MAX, Concurrency, check_concurrency
from .._log import get_logger, one_line
from .._pagination.page_size import MAX
from .._pagination.paginator import AsyncPaginator, Page
from .._pagination.walk import walk
from .._redact import scrub
from ..errors import CliquifyError, ConfigurationError
from .files import DownloadProgress, FileHarvest, manifest_of
from .jsonl import JSONLinesSink
from .names import item_label
from .sink import Checkpoint, HarvestSink, Rejected, close_sink

logger = get_logger("harvest")

RESOURCES: Final[Mapping[str, Endpoint[Any]]] = BY_NAME
"""Harvestable resources by the name of their output file."""


@define(kw_only=True)
class ResourceProgress:
    """Live figures of one resource, handed to the progress callback after every page."""

    name: str
    items: int = 0
    pages: int = 0
    failed: int = 0
    total: int | None = None
    last_page: int | None = None
    done: bool = False
    resumed: bool = False


@attrs.frozen(kw_only=True)
class ItemFailure:
    """One item the harvest could not store or whose file it could not download; the next
    run tries it again. `item` names it (`item 7 (id 12)`: its place in the listing and id)."""

    resource: str
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.resource} {self.item}: {self.reason}"


@define(kw_only=True)
class HarvestReport:
    """What a harvest did: per-resource figures, the downloads, and the items that failed
    (`failures` names the first MAX_FAILURES_NAMED; `failed` counts them all)."""

    resources: dict[str, ResourceProgress] = attrs.field(factory=dict)
    downloads: DownloadProgress = attrs.field(factory=DownloadProgress)
    failures: list[ItemFailure] = attrs.field(factory=list)

    @property
    def failed(self) -> int:
        """Items not stored and files not downloaded, all of them."""
        return sum(p.failed for p in self.resources.values()) + self.downloads.failed


ProgressCallback = Callable[[HarvestReport], None]

MAX_FAILURES_NAMED: Final = 1000
"""Failed items the report and the log name one by one; past that they are only counted, so
a server whose every item fails cannot fill memory or the log."""


def check_resources(names: Iterable[str]) -> list[str]:
    """`names` as a list if every one is a harvestable resource; else ConfigurationError."""
    names = list(names)
    unknown = sorted(set(names) - set(RESOURCES))
    if unknown:
        raise ConfigurationError(
            f"unknown resources {', '.join(unknown)}; choose from {', '.join(RESOURCES)}"
        )
    return names


def _after(checkpoint: Checkpoint, page: Page[Any], page_size: int | None) -> Checkpoint:
    """Where a listing stands once `page` is stored; `page_size` is the largest page the
    client has learned (per_page="max"), kept for later runs."""
    return Checkpoint(
        items=checkpoint.items + len(page.raw),
        pages=checkpoint.pages + 1,
        next_token=page.next_token,
        done=page.next_token is None,
        page_size=page_size or checkpoint.page_size,
    )


class Harvester:
    """Exports `resources` into `out`, resuming whatever an earlier run left there.

    `out` is a folder of JSON Lines files (`<out>/<name>.jsonl`, see JSONLinesSink) or any
    HarvestSink, such as `SQLiteSink("export.db")`:
    `report = await Harvester(client, "export/").run()`. All listings run at once through the
    client's one rate gate, and the sink stores each page with the checkpoint after it; on a
    rerun the sink says where each resource goes on. With `download=True`, asset files are
    fetched into the sink's `files` folder, resumed, checked and recorded, and on a rerun
    fetched again only when they changed; `download_concurrency` files at once, or with
    "auto" as many as the host serves fastest, up to `max_download_concurrency`.
    `on_progress` hears of every page and file. Pages are the largest the server honours
    (`per_page="max"`) unless `per_page` names a size.

    Raises ConfigurationError for unknown resources, a download concurrency below 1, downloads
    into a sink without a files folder, or an output that holds another account's harvest or
    a damaged state; otherwise what the listings raise (what the sink stored stays valid, so
    running again resumes).
    """

    def __init__(
        self,
        client: CliquifyClient,
        out: str | os.PathLike[str] | HarvestSink,
        *,
        resources: Iterable[str] = RESOURCES,
        download: bool = False,
        download_concurrency: Concurrency = AUTO,
        max_download_concurrency: int = DEFAULT_MAX,
        on_progress: ProgressCallback | None = None,
        per_page: int | str = MAX,
    ) -> None:
        names = check_resources(resources)
        check_concurrency(download_concurrency, max_download_concurrency)
        sink = JSONLinesSink(out) if isinstance(out, str | os.PathLike) else out
        self._client = client
        self._sink = sink
        self._names = names
        self._on_progress = on_progress
        self._per_page = per_page
        self._checkpoints: dict[str, Checkpoint] = {}
        self.report = HarvestReport(resources={name: ResourceProgress(name=name) for name in names})
        self._files: FileHarvest | None = None
        if download and "assets" in names:
            if sink.files is None:
                raise ConfigurationError(
                    f"{sink!r} has no folder for files; harvest without download"
                )
            self._files = FileHarvest(
                client,
                sink.files,
                manifest_of(sink, sink.files),
                self.report.downloads,
                concurrency=download_concurrency,
                maximum=max_download_concurrency,
                on_failure=self._file_failed,
                notify=self._notify,
            )

    async def run(self) -> HarvestReport:
        """Harvest every resource concurrently (one rate gate) and download files if asked."""
        client = self._client
        await self._sink.open(base_url=str(client.base_url), client_id=client.client_id)
        files = self._files
        try:
            if files is not None:
                await files.open()
            async with asyncio.TaskGroup() as group:
                if files is not None:
                    group.create_task(files.run())
                await self._harvest()
                if files is not None:
                    await files.close()
            if files is not None and self._checkpoints["assets"].done:
                await files.finish()
        except BaseExceptionGroup as failed:
            # The first failure cancelled the rest; raise it as itself, not wrapped in a group.
            raise failed.exceptions[0]  # noqa: B904 - the group adds nothing to its members
        finally:
            if files is not None:
                await files.aclose()
            await close_sink(self._sink)
        return self.report

    async def _harvest(self) -> None:
        """Ask the sink where each resource stands, resume each listing from there, and hand
        the sink pages as the walk delivers them: one writer, so pages are stored in order."""
        listings: dict[str, AsyncPaginator[Any]] = {}
        for name in self._names:
            checkpoint = await self._sink.start(name)
            if name == "assets" and self._files is not None:
                async for item in self._sink.stored(name):  # not listed again if done
                    await self._files.put(item, listed=not checkpoint.done)
            self._record(name, checkpoint)
            self.report.resources[name].resumed = checkpoint.pages > 0
            if not checkpoint.done:
                if checkpoint.page_size is not None and self._per_page == MAX:  # asked first
                    self._client.expect_page_size(RESOURCES[name], checkpoint.page_size)
                listing = self._client.paginate(RESOURCES[name], per_page=self._per_page)
                if checkpoint.next_token is not None:
                    listing = listing.resume_from(checkpoint.next_token)
                # Items are archived as sent: decoding them would only let one the
                # models cannot read stop the harvest at its page on every run.
                listings[name] = listing.undecoded()
        self._notify()
        async with walk(listings) as pages:
            async for name, page in pages:
                await self._write(name, page)

    async def _write(self, name: str, page: Page[Any]) -> None:
        """Hand a page to the sink with the checkpoint after it, then queue its files."""
        learned = self._client.learned_page_size(RESOURCES[name]) if self._per_page == MAX else None
        before = self._checkpoints[name]
        checkpoint = _after(before, page, learned)
        items = scrub(page.raw)  # a secret the server echoes in an item is not stored
        rejected = await self._sink.write(name, items, checkpoint)
        self._record(name, checkpoint)
        self._reject(name, items, before.items, rejected or {})
        if name == "assets" and self._files is not None:
            for item in items:
                await self._files.put(item)
        progress = self.report.resources[name]
        progress.total, progress.last_page = page.total, page.last_page
        self._notify()

    def _record(self, name: str, checkpoint: Checkpoint) -> None:
        """Keep `checkpoint` as where `name` stands, in the report too."""
        self._checkpoints[name] = checkpoint
        progress = self.report.resources[name]
        progress.items, progress.pages = checkpoint.items, checkpoint.pages
        progress.done = checkpoint.done

    def _reject(self, name: str, items: Sequence[Any], offset: int, rejected: Rejected) -> None:
        """Count and name the items of a page the sink left out (`offset` items came before)."""
        for position, why in sorted(rejected.items()):
            label = item_label(items[position], offset + position + 1)
            self.report.resources[name].failed += 1
            failure = ItemFailure(resource=name, item=label, reason=f"not stored: an item {why}")
            self._fail(failure, "%s: an item %s is left out: %s", name, why, label)

    def _fail(self, failure: ItemFailure, message: str, *args: object) -> None:
        """Name a failed item in the report and log `message` (counting it is the caller's),
        for the first MAX_FAILURES_NAMED of them; say once that the rest go unnamed."""
        named = self.report.failures
        if len(named) < MAX_FAILURES_NAMED:
            named.append(attrs.evolve(failure, reason=one_line(failure.reason)))
            logger.warning(message, *args)
        elif self.report.failed == MAX_FAILURES_NAMED + 1:
            logger.warning("more than %d items failed; the rest are counted, not named", len(named))

    def _file_failed(self, asset: Mapping[str, Any], exc: CliquifyError) -> None:
        label = item_label(asset)
        reason = f"file not downloaded: {type(exc).__name__}: {exc}"
        self._fail(
            ItemFailure(resource="assets", item=label, reason=reason),
            "assets: the file of %s is not downloaded: %s",
            label,
            exc,
        )

    def _notify(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.report)
