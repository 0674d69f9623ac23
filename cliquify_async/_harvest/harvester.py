"""Harvest: export whole listings into a sink, resumable after any interruption.

The listings run at once through the client's rate gate and hand their pages, in order, to a
`HarvestSink`, which stores each page together with the checkpoint after it: JSON Lines files
(JSONLinesSink, the default for a folder) or an SQLite database (SQLiteSink), or a sink of
your own. A rerun asks the sink where each resource stands and goes on from there. With
`download=True`, asset files are streamed to the sink's `files` folder alongside. An item the
sink cannot store, or whose file cannot be downloaded, fails alone: it is counted and named in
the report, and the next run tries it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
from attrs import define

from .._client import CliquifyClient
from .._disk import make_folder
from .._endpoints import BY_NAME, Endpoint
from .._log import get_logger, one_line
from .._pagination.page_size import MAX
from .._pagination.paginator import AsyncPaginator, Page
from .._pagination.walk import walk
from .._redact import scrub
from ..errors import CliquifyError, ConfigurationError, OutputError, ResponseDecodeError
from .jsonl import JSONLinesSink
from .sink import Checkpoint, HarvestSink, Rejected, close_sink

logger = get_logger("harvest")

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
    failed: int = 0
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


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PLAIN_ID = re.compile(r"[a-z0-9]{1,40}")
_NOT_PLAIN = re.compile(r"[^a-z0-9]+")
MAX_FILE_NAME: Final = 200
"""Characters in a downloaded file's name, well inside every file system's 255 bytes."""
_PLAIN_INT: Final = range(10**20)
_KEPT_EXTENSION: Final = 16  # a cut name keeps an extension up to this long


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def has_file_id(asset: Mapping[str, Any]) -> bool:
    """Whether `asset` has an id its file can be named by: an integer or a string."""
    key = asset.get("id")
    return isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool))


def _id_part(key: object) -> str:
    """The id as the start of a file name, distinct for distinct ids (see `file_name`)."""
    if isinstance(key, int) and not isinstance(key, bool):
        if key in _PLAIN_INT:
            return str(key)
        readable, tagged = (str(key) if -(10**40) < key < 10**40 else ""), f"int:{key:x}"
    elif isinstance(key, str):
        if _PLAIN_ID.fullmatch(key) and not key.isdigit():
            return key
        readable, tagged = key.lower(), f"str:{key}"
    else:
        return "_"
    digest = hashlib.sha256(tagged.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_NOT_PLAIN.sub('', readable)[:24]}_{digest}"


def file_name(asset: Mapping[str, Any]) -> str:
    """The name of an asset's file, `<id>-<name>`: at most MAX_FILE_NAME characters, never
    leaving its folder, and never the same for two assets with different ids.

    The id comes first and never holds a `-`: an integer up to 20 digits or a lowercase
    alphanumeric string with a letter stands as it is (`12-logo.png`, `a7f3-logo.png`); any
    other id (`"12-a"`, `"12"`, `"ABC"`, a long one) as its letters and digits, lowercased and
    cut at 24, then `_` and 16 hex digits of the SHA-256 of its type and value
    (`12a_5f0c...-b.png`). So distinct ids give distinct names, on a case-insensitive disk
    too. The name (or the URL's last part) follows with anything but letters, digits, `.`,
    `_` and `-` turned into `_`, cut to fit but keeping its extension. Without an integer or
    string id the name starts `_-`; the harvest downloads no such asset.
    """
    key = _id_part(asset.get("id"))
    name, url = asset.get("name"), asset.get("url")
    if not (isinstance(name, str) and name):
        name = (url if isinstance(url, str) else "").rsplit("/", 1)[-1] or "file"
    name = _safe(name)
    room = MAX_FILE_NAME - len(key) - 1
    if len(name) > room:
        stem, dot, extension = name.rpartition(".")
        keep = dot and len(extension) <= _KEPT_EXTENSION
        name = f"{stem[: room - len(extension) - 1]}.{extension}" if keep else name[:room]
    return f"{key}-{name}"


def item_label(item: object, position: int | None = None) -> str:
    """A short, printable name for a listed item: `item 7 (id 12)`, from what is known."""
    key = repr_bounded(item.get("id")) if isinstance(item, Mapping) and "id" in item else None
    parts = [f"item {position}" if position is not None else "item", f"(id {key})" if key else ""]
    return " ".join(part for part in parts if part)


def repr_bounded(value: object, limit: int = 60) -> str:
    """`value` as ASCII (escapes for anything else: nothing a terminal acts on), cut at
    `limit` characters: how a server-sent value appears in a message."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        self._queued_files: set[str] = set()  # file names queued this run: each file once
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
                make_folder(folder)
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
            await close_sink(self._sink)
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
        before = self._checkpoints[name]
        checkpoint = _after(before, page, learned)
        items = scrub(page.raw)  # a secret the server echoes in an item is not stored
        rejected = await self._sink.write(name, items, checkpoint)
        self._record(name, checkpoint)
        self._reject(name, items, before.items, rejected or {})
        if self._downloads(name):
            for item in items:
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

    def _downloads(self, name: str) -> bool:
        """Whether the files of `name`'s items are downloaded (assets, when asked)."""
        return name == "assets" and self._folder is not None

    async def _queue_file(self, item: object) -> None:
        """Queue the file of an asset with a `url`, once per file name in a run (an asset
        listed twice is one file, and no two downloads ever share a file)."""
        if not isinstance(item, Mapping) or not item.get("url"):
            return  # nothing to download
        name = file_name(item)
        if name in self._queued_files and has_file_id(item):
            return
        self._queued_files.add(name)
        self.report.downloads.queued += 1
        await self._files.put(item)

    async def _download_worker(self, folder: Path) -> None:
        downloads = self.report.downloads
        while (asset := await self._files.get()) is not None:
            try:
                if await self._download(folder, asset):
                    downloads.downloaded += 1
                else:
                    downloads.skipped += 1
            except CliquifyError as exc:
                downloads.failed += 1
                label = item_label(asset)
                reason = f"file not downloaded: {type(exc).__name__}: {exc}"
                self._fail(
                    ItemFailure(resource="assets", item=label, reason=reason),
                    "assets: the file of %s is not downloaded: %s",
                    label,
                    exc,
                )
            self._notify()

    async def _download(self, folder: Path, asset: Mapping[str, Any]) -> bool:
        """Download the file of `asset` unless it is complete; whether it was downloaded.
        Counts its bytes once they are all written (a sum read before an await would lose
        what other workers add meanwhile)."""
        if not has_file_id(asset):
            raise ResponseDecodeError(
                "the asset has no id (an integer or a string) to name its file by"
            )
        url = asset["url"]
        if not isinstance(url, str):  # client.download checks a string's parts
            raise ResponseDecodeError(f"the asset's url is not a string: {repr_bounded(url)}")
        target = folder / file_name(asset)
        if target.is_symlink():
            raise OutputError(f"{target} is a symlink the harvest did not create; remove it")
        if target.exists():
            return False
        written = await self._client.download(url, target)
        self.report.downloads.bytes += written
        return True

    def _notify(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.report)
