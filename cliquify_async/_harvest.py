"""Harvest: export whole listings into a sink, resumable after any interruption.

The listings run at once through the client's rate gate and hand their pages, in order, to a
`HarvestSink`, which stores each page together with the checkpoint after it: JSON Lines files
(JSONLinesSink, the default for a folder) or an SQLite database (SQLiteSink), or a sink of
your own. A rerun asks the sink where each resource stands and goes on from there. With
`download=True`, asset files are streamed to the sink's `files` folder alongside.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
from attrs import define

from ._client import CliquifyClient
from ._endpoints import BY_NAME, Endpoint
from ._page_size import MAX
from ._pagination import AsyncPaginator, Page
from ._sink import Checkpoint, HarvestSink
from ._sink_jsonl import JSONLinesSink
from ._walk import walk
from .errors import CliquifyError, ConfigurationError

logger = logging.getLogger("cliquify_async")

RESOURCES: Final[Mapping[str, Endpoint[Any]]] = BY_NAME
"""Harvestable resources by the name of their output file."""

DEFAULT_DOWNLOAD_CONCURRENCY = 4
FILE_QUEUE_SIZE = 1000


@define(kw_only=True)
class ResourceProgress:
    """Live figures of one resource, handed to the progress callback after every page."""

    name: str
    items: int = 0
    pages: int = 0
    total: int | None = None
    last_page: int | None = None
    done: bool = False
    resumed: bool = False


@define(kw_only=True)
class DownloadProgress:
    """Live figures of the file downloads."""

    queued: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0


@define(kw_only=True)
class HarvestReport:
    """What a harvest did: per-resource figures and the downloads."""

    resources: dict[str, ResourceProgress] = attrs.field(factory=dict)
    downloads: DownloadProgress = attrs.field(factory=DownloadProgress)


ProgressCallback = Callable[[HarvestReport], None]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def file_name(asset: Mapping[str, Any]) -> str:
    """A unique name for an asset's file, `<id>-<name>`, that cannot leave its folder.

    Both parts come from the server, so both lose path separators and leading dots.
    """
    url = str(asset.get("url") or "")
    base = str(asset.get("name") or url.rsplit("/", 1)[-1] or "file")
    return f"{_safe(str(asset.get('id', '')))}-{_safe(base)}"[:200]


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
    rerun the sink says where each resource goes on. With `download=True`,
    `download_concurrency` workers stream asset files to the sink's `files` folder.
    `on_progress` hears of every page and file. Pages are the largest the server honours
    (`per_page="max"`) unless `per_page` names a size.

    Raises ConfigurationError for unknown resources, a download_concurrency below 1, downloads
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
        download_concurrency: int = DEFAULT_DOWNLOAD_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        per_page: int | str = MAX,
    ) -> None:
        names = check_resources(resources)
        if download_concurrency < 1:
            raise ConfigurationError("download_concurrency must be at least 1")
        sink = JSONLinesSink(out) if isinstance(out, str | os.PathLike) else out
        downloads = download and "assets" in names
        self._folder = sink.files if downloads else None
        if downloads and self._folder is None:
            raise ConfigurationError(f"{sink!r} has no folder for files; harvest without download")
        self._client = client
        self._sink = sink
        self._names = names
        self._download_concurrency = download_concurrency
        self._on_progress = on_progress
        self._per_page = per_page
        self._checkpoints: dict[str, Checkpoint] = {}
        self.report = HarvestReport(resources={name: ResourceProgress(name=name) for name in names})
        # Bounded, so a listing far ahead of the downloads waits instead of filling memory.
        self._files: asyncio.Queue[Mapping[str, Any] | None] = asyncio.Queue(FILE_QUEUE_SIZE)

    async def run(self) -> HarvestReport:
        """Harvest every resource concurrently (one rate gate) and download files if asked."""
        client = self._client
        await self._sink.open(base_url=str(client.base_url), client_id=client.client_id)
        try:
            folder = self._folder
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            async with asyncio.TaskGroup() as group:
                workers = 0
                if folder is not None:
                    workers = self._download_concurrency
                    for _ in range(workers):
                        group.create_task(self._download_worker(folder))
                await self._harvest()
                for _ in range(workers):
                    await self._files.put(None)
        except BaseExceptionGroup as failed:
            # The first failure cancelled the rest; raise it as itself, not wrapped in a group.
            raise failed.exceptions[0]  # noqa: B904 - the group adds nothing to its members
        finally:
            await self._sink.close()
        return self.report

    async def _harvest(self) -> None:
        """Ask the sink where each resource stands, resume each listing from there, and hand
        the sink pages as the walk delivers them: one writer, so pages are stored in order."""
        listings: dict[str, AsyncPaginator[Any]] = {}
        for name in self._names:
            checkpoint = await self._sink.start(name)
            if self._downloads(name):
                async for item in self._sink.stored(name):
                    await self._queue_file(item)
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
        checkpoint = _after(self._checkpoints[name], page, learned)
        await self._sink.write(name, page.raw, checkpoint)
        self._record(name, checkpoint)
        if self._downloads(name):
            for item in page.raw:
                await self._queue_file(item)
        progress = self.report.resources[name]
        progress.total, progress.last_page = page.total, page.last_page
        self._notify()

    def _record(self, name: str, checkpoint: Checkpoint) -> None:
        """Keep `checkpoint` as where `name` stands, in the report too."""
        self._checkpoints[name] = checkpoint
        progress = self.report.resources[name]
        progress.items, progress.pages = checkpoint.items, checkpoint.pages
        progress.done = checkpoint.done

    def _downloads(self, name: str) -> bool:
        """Whether the files of `name`'s items are downloaded (assets, when asked)."""
        return name == "assets" and self._folder is not None

    async def _queue_file(self, item: Mapping[str, Any]) -> None:
        if item.get("url"):
            self.report.downloads.queued += 1
            await self._files.put(item)

    async def _download_worker(self, folder: Path) -> None:
        downloads = self.report.downloads
        while (asset := await self._files.get()) is not None:
            target = folder / file_name(asset)
            if target.exists():
                downloads.skipped += 1
            else:
                try:
                    downloads.bytes += await self._client.download(str(asset["url"]), target)
                    downloads.downloaded += 1
                except CliquifyError as exc:
                    downloads.failed += 1
                    logger.warning("could not download asset %s: %s", asset.get("id"), exc)
            self._notify()

    def _notify(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.report)
