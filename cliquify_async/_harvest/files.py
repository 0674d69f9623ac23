"""The files of a harvest's assets: each one fetched, resumed, revalidated or left alone as
its record in the sink's manifest says, as many at once as the host serves fastest (or as
told), the record kept up to date, and the files of assets no longer listed marked gone."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal

import attrs
from attrs import define

from .._client import CliquifyClient, fetch
from .._disk import make_folder
from .._files.checks import Expected, item_checksum, item_size, mismatch
from .._files.fetch import Fetched, Validators, digest_of
from .._files.flight import DEFAULT_MAX, Concurrency, FileFlight, Slot
from .._files.manifest import FileManifest, FileRecord, JSONLinesManifest
from .._files.part import PartFile
from .._log import get_logger
from .._timestamps import timestamp
from ..errors import CliquifyError, OutputError, ResponseDecodeError
from .names import asset_key, file_name, has_file_id, item_label, repr_bounded
from .sink import HarvestSink, has_surrogate

logger = get_logger("files")

FILE_QUEUE_SIZE: Final = 1000
MAX_UPDATED_AT: Final = 100

Plan = Literal["fetch", "refetch", "revalidate", "keep"]


@define(kw_only=True)
class DownloadProgress:
    """Live figures of the file downloads: files `queued`, `downloaded` (put in place this
    run; of which `refetched` replaced a copy that changed, `resumed` went on from a `.part`
    and `verified` passed a check of length, size or checksum), `skipped` (left as they are;
    of which `revalidated` by a conditional GET), `failed`, `gone` (kept, their assets no
    longer listed), `bytes` received, `resumed_bytes` kept from `.part` files, and the files
    `in_flight` allowed at once."""

    queued: int = 0
    downloaded: int = 0
    refetched: int = 0
    resumed: int = 0
    verified: int = 0
    skipped: int = 0
    revalidated: int = 0
    failed: int = 0
    gone: int = 0
    bytes: int = 0
    resumed_bytes: int = 0
    in_flight: int = 0


def changed(asset: Mapping[str, Any], record: FileRecord) -> str | None:
    """What of an asset differs from the record of its file (its url, size, updated_at or
    checksum, each compared when both say it), or None."""
    if asset.get("url") != record.url:
        return "its url"
    size = item_size(asset)
    if size is not None and size != record.size:
        return "its size"
    updated = updated_at(asset)
    if updated is not None and record.updated_at not in (None, updated):
        return "its updated_at"
    checksum = item_checksum(asset)
    if checksum is not None and str(checksum) != record.checksum:  # one that appears too
        return "its checksum"
    return None


def updated_at(asset: Mapping[str, Any]) -> str | None:
    """The asset's `updated_at` as a record keeps it: a string of valid Unicode up to
    MAX_UPDATED_AT characters, else None (as if it said nothing)."""
    value = asset.get("updated_at")
    if isinstance(value, str) and len(value) <= MAX_UPDATED_AT and not has_surrogate(value):
        return value
    return None


def says_nothing(asset: Mapping[str, Any]) -> bool:
    """Whether an asset has nothing to tell a change of its file by (no size, updated_at or
    checksum): then only the host can say."""
    has_time = updated_at(asset) is not None
    return item_size(asset) is None and item_checksum(asset) is None and not has_time


def plan(
    asset: Mapping[str, Any],
    name: str,
    record: FileRecord | None,
    on_disk: int | None,
    *,
    listed: bool = True,
) -> Plan:
    """What a run does with an asset's file, named `name`, given its record and the size of
    the copy in place (None: none): fetch a file never fetched or lost; fetch again one
    whose asset changed; ask the host of one it cannot tell (the item says nothing, or was
    not `listed` this run but read back from an earlier one), or of an unrecorded copy;
    keep the rest without a request."""
    if record is None:
        size = item_size(asset)
        return "fetch" if on_disk is None or size not in (None, on_disk) else "revalidate"
    if record.file != name or changed(asset, record) is not None:
        return "refetch"
    if on_disk != record.size:
        return "fetch"
    return "revalidate" if says_nothing(asset) or not listed else "keep"


def manifest_of(sink: HarvestSink, folder: Path) -> FileManifest:
    """The sink's own manifest if it keeps one (`sink.manifest`, as SQLiteSink does), else
    `<folder>.jsonl` beside the files folder."""
    manifest: FileManifest | None = getattr(sink, "manifest", None)
    return manifest or JSONLinesManifest(folder.with_name(f"{folder.name}.jsonl"))


class FileHarvest:
    """The file side of a harvest: `open()`, then `put()` every asset listed (each asset's
    file queued once) while `run()` fetches them, `close()` when the listing ends, and
    `finish()` to mark the files of assets no longer listed."""

    def __init__(
        self,
        client: CliquifyClient,
        folder: Path,
        manifest: FileManifest,
        progress: DownloadProgress,
        *,
        concurrency: Concurrency = "auto",
        maximum: int = DEFAULT_MAX,
        on_failure: Callable[[Mapping[str, Any], CliquifyError], None],
        notify: Callable[[], None],
    ) -> None:
        self._client = client
        self._folder = folder
        self._manifest = manifest
        self._progress = progress
        self._flight = FileFlight(concurrency, maximum)
        self._on_failure = on_failure
        self._notify = notify
        self._records: dict[str, FileRecord] = {}
        self._seen: set[str] = set()  # the assets listed this run, each queued once
        # Bounded, so a listing far ahead of the downloads waits instead of filling memory.
        self._queue: asyncio.Queue[tuple[Mapping[str, Any], bool] | None] = asyncio.Queue(
            FILE_QUEUE_SIZE
        )

    async def open(self) -> None:
        """Create the folder and read what earlier runs recorded."""
        make_folder(self._folder)
        self._records = await self._manifest.records()

    async def put(self, item: object, *, listed: bool = True) -> None:
        """Note an asset as listed, and queue its file once a run (an asset listed twice is
        one file: the first listing of its id stands). An item not `listed` this run, but
        read back from an earlier one, cannot tell of a change."""
        if not isinstance(item, Mapping):
            return
        if has_file_id(item):
            key = asset_key(item)
            if key in self._seen:
                return  # listed twice: one file
            self._seen.add(key)
        if not item.get("url"):
            return  # nothing to download
        self._progress.queued += 1
        await self._queue.put((item, listed))

    async def close(self) -> None:
        """No more assets: the workers end once the queue is empty."""
        await self._queue.put(None)

    async def run(self) -> None:
        """Fetch the queued files until `close()`, as many at once as the flight allows; the
        first failure that is not one file's own (a full disk) ends them all, raised as
        itself."""
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self._flight.maximum):
                    group.create_task(self._worker())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0]  # noqa: B904 - the group adds nothing to its members

    async def finish(self) -> None:
        """Mark the records of assets this run did not list as gone (their files are kept);
        only once the listing has seen every asset."""
        gone = [
            key
            for key, record in self._records.items()
            if key not in self._seen and record.gone_at is None
        ]
        if gone:
            await self._manifest.mark_gone(gone, timestamp(datetime.now(UTC)))
            logger.info("%d files' assets are no longer listed; kept, marked gone", len(gone))
        self._progress.gone = sum(key not in self._seen for key in self._records)

    async def aclose(self) -> None:
        """Let the manifest go (a sink's own closes with the sink)."""
        if isinstance(self._manifest, JSONLinesManifest):
            await self._manifest.aclose()

    async def _worker(self) -> None:
        while (queued := await self._queue.get()) is not None:
            asset, listed = queued
            async with self._flight.slot() as slot:
                self._progress.in_flight = self._flight.limit
                try:
                    await self._file(asset, listed, partial(self._received, slot))
                except CliquifyError as exc:
                    self._progress.failed += 1
                    self._on_failure(asset, exc)
            self._notify()
        await self._queue.put(None)  # the end, passed on to the next worker

    async def _file(
        self, asset: Mapping[str, Any], listed: bool, on_bytes: Callable[[int], None]
    ) -> None:
        """Fetch, resume, revalidate or keep one asset's file, and record what it found."""
        if not has_file_id(asset):
            raise ResponseDecodeError(
                "the asset has no id (an integer or a string) to name its file by"
            )
        url = asset["url"]
        if not isinstance(url, str):  # fetch checks a string's parts
            raise ResponseDecodeError(f"the asset's url is not a string: {repr_bounded(url)}")
        name = file_name(asset)
        target = self._folder / name
        record = self._records.get(asset_key(asset))
        action = plan(asset, name, record, _size_in_place(target), listed=listed)
        if action == "keep":
            PartFile(target).discard()  # left by a fetch the file no longer needs
            self._progress.skipped += 1
            await self._save(self._record(asset, record), record)
            return
        if action == "refetch":
            why = changed(asset, record) if record is not None else None
            logger.info(
                "the file of %s changed (%s); fetching it again",
                item_label(asset),
                why or "its name",
            )
        revalidate = None
        if action == "revalidate":
            revalidate = _validators(record) or Validators.of_file(target)
        expected = Expected.of(asset)
        fetched = await fetch(
            self._client,
            url,
            target,
            expected=expected,
            revalidate=revalidate,
            on_bytes=on_bytes,
        )
        if record is None and fetched.outcome == "unchanged":
            fetched = await self._adopt(url, target, expected, fetched, on_bytes)
        self._count(fetched, again=action == "refetch" or action == "revalidate")
        new = self._record(asset, record, fetched)
        await self._save(new, record)
        if record is not None and record.file != name:
            _remove_old(self._folder, record.file)

    async def _adopt(
        self,
        url: str,
        target: Path,
        expected: Expected,
        unchanged: Fetched,
        on_bytes: Callable[[int], None],
    ) -> Fetched:
        """A copy with no record that the host calls unchanged: kept if it is what the item
        says (its size, its checksum); else fetched anew."""
        digests = await digest_of(target, unchanged.size, expected)
        problem = mismatch(expected, None, unchanged.size, digests)
        if problem is None:
            return unchanged
        logger.info("the file at %s is not its asset's (%s); fetching it anew", target, problem)
        return await fetch(self._client, url, target, expected=expected, on_bytes=on_bytes)

    def _received(self, slot: Slot, size: int) -> None:
        self._progress.bytes += size
        slot.received(size)

    def _count(self, fetched: Fetched, *, again: bool) -> None:
        progress = self._progress
        if fetched.outcome == "unchanged":
            progress.skipped += 1
            progress.revalidated += 1
            return
        progress.downloaded += 1
        progress.refetched += again
        progress.resumed += fetched.outcome == "resumed"
        progress.resumed_bytes += fetched.resumed
        progress.verified += bool(fetched.checks)

    def _record(
        self, asset: Mapping[str, Any], old: FileRecord | None, fetched: Fetched | None = None
    ) -> FileRecord:
        """The record of an asset's file as it now stands: the old one with what the asset
        now says when the file was kept, else what was fetched (a copy the host said is
        unchanged keeps its old fetch time)."""
        checksum = item_checksum(asset)
        facts: dict[str, Any] = {
            "checksum": None if checksum is None else str(checksum),
            "updated_at": updated_at(asset),
            "gone_at": None,
        }
        if fetched is None:
            assert old is not None  # only a recorded file is kept
            return attrs.evolve(old, **facts)
        new = FileRecord(
            asset=asset_key(asset),
            file=file_name(asset),
            url=asset["url"],
            size=fetched.size,
            etag=fetched.validators.etag,
            last_modified=fetched.validators.last_modified,
            fetched_at=timestamp(datetime.now(UTC)),
            **facts,
        )
        if fetched.outcome == "unchanged" and old is not None:
            return attrs.evolve(new, fetched_at=old.fetched_at)
        return new

    async def _save(self, record: FileRecord, old: FileRecord | None) -> None:
        if record != old:
            self._records[record.asset] = record
            await self._manifest.save(record)


def _validators(record: FileRecord | None) -> Validators | None:
    if record is None or (record.etag is None and record.last_modified is None):
        return None
    return Validators(etag=record.etag, last_modified=record.last_modified)


def _size_in_place(target: Path) -> int | None:
    """The size of the file at `target`; None if there is none. OutputError for a symlink
    the harvest did not create."""
    try:
        found = target.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(found.st_mode):
        raise OutputError(f"{target} is a symlink the harvest did not create; remove it")
    return found.st_size if stat.S_ISREG(found.st_mode) else None


def _remove_old(folder: Path, name: str) -> None:
    """Remove an asset's file left under its old name (the record keeps a plain name)."""
    if _size_in_place(folder / name) is not None:  # a regular file, never a link
        (folder / name).unlink()
