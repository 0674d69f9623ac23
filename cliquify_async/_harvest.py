"""Harvest: export whole listings to JSON Lines, resumable after any interruption.

Each resource goes to `<out>/<name>.jsonl`, one item per line exactly as the server sent it.
After every page the file is flushed and `<out>/.harvest/<name>.json` records the byte length
and the page token to continue from, in that order; a rerun cuts the file back to the recorded
length and continues from the token, so every item is written exactly once whatever stopped
the previous run. With `download=True`, asset files are streamed to `<out>/files/` alongside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Final

import attrs
from attrs import define, frozen

from ._client import CliquifyClient
from ._endpoints import BY_NAME, Endpoint
from ._page_size import MAX
from ._pagination import AsyncPaginator, Page
from ._walk import walk
from .errors import CliquifyError, ConfigurationError

logger = logging.getLogger("cliquify_async")

RESOURCES: Final[Mapping[str, Endpoint[Any]]] = BY_NAME
"""Harvestable resources by the name of their output file."""

STATE_DIR = ".harvest"
SOURCE_FILE = "source.json"
FILES_DIR = "files"
DEFAULT_DOWNLOAD_CONCURRENCY = 4
FILE_QUEUE_SIZE = 1000


@frozen(kw_only=True)
class ResumeState:
    """How far one resource got: bytes of its JSONL file that are whole, and where to go on."""

    items: int = 0
    pages: int = 0
    bytes: int = 0
    next_token: str | None = None
    done: bool = False


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


def _state_path(out: Path, name: str) -> Path:
    return out / STATE_DIR / f"{name}.json"


def load_state(out: Path, name: str) -> ResumeState | None:
    """The saved state of `name`, or None when it was never started."""
    path = _state_path(out, name)
    try:
        return ResumeState(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{path} is not a harvest state file; delete it to harvest {name} from the start"
        ) from None


def _save_state(out: Path, name: str, state: ResumeState) -> None:
    """Replace the state file atomically, so a crash leaves the old one or the new one."""
    path = _state_path(out, name)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(attrs.asdict(state)))
    temporary.replace(path)


def _encode(item: Any) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


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


class Harvester:
    """Exports `resources` to `<out>/<name>.jsonl`, resuming whatever an earlier run left there.

    `report = await Harvester(client, "export/").run()`. All listings run at once through the
    client's one rate gate; with `download=True`, `download_concurrency` workers stream asset
    files to `<out>/files/`. `on_progress` hears of every page and file. Pages are the largest
    the server honours (`per_page="max"`) unless `per_page` names a size.

    Raises ConfigurationError for unknown resources, a download_concurrency below 1, or a
    folder that holds another account's harvest or a damaged state; otherwise what the
    listings raise (the state on disk stays valid, so running again resumes).
    """

    def __init__(
        self,
        client: CliquifyClient,
        out: str | os.PathLike[str],
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
        self._client = client
        self._out = Path(out)
        self._names = names
        self._download = download and "assets" in names
        self._download_concurrency = download_concurrency
        self._on_progress = on_progress
        self._per_page = per_page
        self.report = HarvestReport(resources={name: ResourceProgress(name=name) for name in names})
        # Bounded, so a listing far ahead of the downloads waits instead of filling memory.
        self._files: asyncio.Queue[Mapping[str, Any] | None] = asyncio.Queue(FILE_QUEUE_SIZE)

    async def run(self) -> HarvestReport:
        """Harvest every resource concurrently (one rate gate) and download files if asked."""
        (self._out / STATE_DIR).mkdir(parents=True, exist_ok=True)
        self._claim_folder()
        if self._download:
            (self._out / FILES_DIR).mkdir(exist_ok=True)
        try:
            async with asyncio.TaskGroup() as group:
                workers = self._download_concurrency if self._download else 0
                for _ in range(workers):
                    group.create_task(self._download_worker())
                await self._harvest()
                for _ in range(workers):
                    await self._files.put(None)
        except BaseExceptionGroup as failed:
            # The first failure cancelled the rest; raise it as itself, not wrapped in a group.
            raise failed.exceptions[0]  # noqa: B904 - the group adds nothing to its members
        return self.report

    def _claim_folder(self) -> None:
        """Tie the folder to one account, so a rerun never mixes two accounts' items."""
        source = {"base_url": str(self._client.base_url), "client_id": self._client.client_id}
        path = self._out / STATE_DIR / SOURCE_FILE
        if path.exists():
            found = json.loads(path.read_text())
            if found != source:
                raise ConfigurationError(
                    f"{self._out} holds a harvest of {found.get('base_url')} (client "
                    f"{found.get('client_id')}); harvest {source['base_url']} into another folder"
                )
        else:
            path.write_text(json.dumps(source))

    async def _harvest(self) -> None:
        """Open every output, resume each listing where it stopped, and write pages as the
        walk delivers them: one writer, so a page is on disk before its state says so."""
        with contextlib.ExitStack() as stack:
            outputs: dict[str, tuple[BinaryIO, ResumeState]] = {}
            listings: dict[str, AsyncPaginator[Any]] = {}
            for name in self._names:
                state = load_state(self._out, name) or ResumeState()
                jsonl = stack.enter_context(self._open_output(name, state))
                if name == "assets" and self._download:
                    await self._queue_files(_read_items(jsonl, state.bytes))
                progress = self.report.resources[name]
                progress.items, progress.pages = state.items, state.pages
                progress.resumed, progress.done = state.pages > 0, state.done
                outputs[name] = (jsonl, state)
                if not state.done:
                    listing = self._client.paginate(RESOURCES[name], per_page=self._per_page)
                    if state.next_token is not None:
                        listing = listing.resume_from(state.next_token)
                    # Items are archived as sent: decoding them would only let one the
                    # models cannot read stop the harvest at its page on every run.
                    listings[name] = listing.undecoded()
            self._notify()
            async with walk(listings) as pages:
                async for name, page in pages:
                    jsonl, state = outputs[name]
                    outputs[name] = (jsonl, await self._write(name, jsonl, state, page))

    def _open_output(self, name: str, state: ResumeState) -> BinaryIO:
        """The resource's JSONL file, cut back to what its state records as whole."""
        path = self._out / f"{name}.jsonl"
        jsonl = path.open("a+b")
        if jsonl.seek(0, os.SEEK_END) < state.bytes:
            jsonl.close()
            raise ConfigurationError(
                f"{path} is shorter than its harvest state says; delete both "
                f"{path.name} and {STATE_DIR}/{name}.json to harvest {name} again"
            )
        jsonl.truncate(state.bytes)  # drop a page that was written but never recorded
        return jsonl

    async def _write(
        self, name: str, jsonl: BinaryIO, state: ResumeState, page: Page[Any]
    ) -> ResumeState:
        """Append a page, make it durable, then record it: the order resume relies on."""
        data = b"".join(_encode(item) for item in page.raw)
        jsonl.write(data)
        jsonl.flush()
        os.fsync(jsonl.fileno())
        state = ResumeState(
            items=state.items + len(page.raw),
            pages=state.pages + 1,
            bytes=state.bytes + len(data),
            next_token=page.next_token,
            done=page.next_token is None,
        )
        _save_state(self._out, name, state)
        if name == "assets" and self._download:
            await self._queue_files(page.raw)
        progress = self.report.resources[name]
        progress.items, progress.pages, progress.done = state.items, state.pages, state.done
        progress.total, progress.last_page = page.total, page.last_page
        self._notify()
        return state

    async def _queue_files(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            if item.get("url"):
                self.report.downloads.queued += 1
                await self._files.put(item)

    async def _download_worker(self) -> None:
        downloads = self.report.downloads
        while (asset := await self._files.get()) is not None:
            target = self._out / FILES_DIR / file_name(asset)
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


def _read_items(jsonl: BinaryIO, length: int) -> Iterator[Mapping[str, Any]]:
    """The items in the first `length` bytes of a JSONL file, one line at a time."""
    jsonl.seek(0)
    while jsonl.tell() < length and (line := jsonl.readline()):
        if line.strip():
            yield json.loads(line)
    jsonl.seek(0, os.SEEK_END)
