"""JSONLinesSink: each resource to `<out>/<name>.jsonl`, resumable after any interruption.

One item per line exactly as the server sent it. After every page the file is flushed and
`<out>/.harvest/<name>.json` records the byte length and the page token to continue from, in
that order; a rerun cuts the file back to the recorded length and continues from the token,
so every item is written exactly once whatever stopped the previous run. A finished resource
is not listed again, unless it left out an item it could not write: then the next run lists it
again from the start. Asset files go to `<out>/files/`. `<out>/.harvest/lock` is held (flock)
while a harvest runs, and nothing is written through a symlink found in the folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import attrs
from attrs import frozen

from .._closing import RenamedClose
from .._disk import OutputLock, make_folder, open_fd, read_own, refuse_link, replace_file
from ..errors import ConfigurationError
from .sink import Checkpoint, Rejected, check_source, dump_item, load_item

STATE_DIR = ".harvest"
SOURCE_FILE = "source.json"
LOCK_FILE = "lock"
FILES_DIR = "files"


@frozen(kw_only=True)
class ResumeState(Checkpoint):
    """A resource's checkpoint, how many bytes of its JSONL file are whole, and how many items
    its listing left out because they could not be written (then a finished listing is
    harvested again from the start, so the next run retries them)."""

    bytes: int = 0
    failed: int = 0


def _state_path(out: Path, name: str) -> Path:
    return out / STATE_DIR / f"{name}.json"


def load_state(out: Path, name: str) -> ResumeState | None:
    """The saved state of `name`, or None when it was never started."""
    path = _state_path(out, name)
    saved = read_own(path)
    if saved is None:
        return None
    try:
        return ResumeState(**json.loads(saved))
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{path} is not a harvest state file; delete it to harvest {name} from the start"
        ) from None


def _save_state(out: Path, name: str, state: ResumeState) -> None:
    """Replace the state file atomically, so a crash leaves the old one or the new one."""
    replace_file(_state_path(out, name), json.dumps(attrs.asdict(state)).encode())


class JSONLinesSink(RenamedClose):
    """Writes each resource to `<out>/<name>.jsonl`, one item per line exactly as sent.

    `Harvester(client, "export/")` uses this sink; pass `JSONLinesSink("export/")` to say so.
    The page is appended and fsynced before `.harvest/<name>.json` records it, and a rerun
    cuts the file back to what the state records, so a torn page is fetched again. A resource
    once done is not listed again. Writes run in the event loop: one append and one fsync per
    page.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self._out = Path(out)
        self._outputs: dict[str, tuple[BinaryIO, ResumeState]] = {}
        self._lock = OutputLock(self._out / STATE_DIR / LOCK_FILE, str(self._out))

    def __repr__(self) -> str:
        return f"<JSONLinesSink {str(self._out)!r}>"

    @property
    def files(self) -> Path:
        """`<out>/files/`: where downloaded asset files go."""
        return self._out / FILES_DIR

    async def open(self, *, base_url: str, client_id: str) -> None:
        """Create the folder, lock it (OutputLockedError while another harvest holds it), and
        tie it to one account, so a rerun never mixes two accounts."""
        self._out.mkdir(parents=True, exist_ok=True)
        make_folder(self._out / STATE_DIR)
        self._lock.acquire()
        try:
            source = {"base_url": base_url, "client_id": client_id}
            path = self._out / STATE_DIR / SOURCE_FILE
            found = read_own(path)
            if found is None:
                replace_file(path, json.dumps(source).encode())
            else:
                check_source(json.loads(found), source, str(self._out), "another folder")
        except BaseException:
            self._lock.release()
            raise

    async def start(self, name: str) -> Checkpoint:
        """Open `<name>.jsonl`, cut back to what its state records as whole (to nothing when
        a finished listing left items out: it is harvested again to retry them)."""
        state = load_state(self._out, name) or ResumeState()
        if state.done and state.failed:
            state = ResumeState(page_size=state.page_size)
        path = self._out / f"{name}.jsonl"
        refuse_link(path, in_place=True)
        jsonl = os.fdopen(open_fd(path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+b")
        if jsonl.seek(0, os.SEEK_END) < state.bytes:
            jsonl.close()
            raise ConfigurationError(
                f"{path} is shorter than its harvest state says; delete both "
                f"{path.name} and {STATE_DIR}/{name}.json to harvest {name} again"
            )
        jsonl.truncate(state.bytes)  # drop a page that was written but never recorded
        self._outputs[name] = (jsonl, state)
        return state

    async def stored(self, name: str) -> AsyncIterator[Any]:
        """The items already in `<name>.jsonl`, read back one line at a time."""
        jsonl, state = self._outputs[name]
        for item in _read_items(jsonl, state.bytes):
            yield item

    async def write(self, name: str, items: Sequence[Any], checkpoint: Checkpoint) -> Rejected:
        """Append a page, make it durable, then record it: the order resume relies on. An item
        JSON cannot be written for is left out and returned."""
        jsonl, state = self._outputs[name]
        lines, rejected = [], {}
        for position, item in enumerate(items):
            try:
                lines.append(dump_item(item).encode() + b"\n")
            except (ValueError, RecursionError) as exc:
                rejected[position] = f"cannot be written as JSON: {exc}"
        data = b"".join(lines)
        jsonl.write(data)
        jsonl.flush()
        os.fsync(jsonl.fileno())
        state = ResumeState(
            **attrs.asdict(checkpoint, recurse=False),
            bytes=state.bytes + len(data),
            failed=state.failed + len(rejected),
        )
        _save_state(self._out, name, state)
        self._outputs[name] = (jsonl, state)
        return rejected

    async def aclose(self) -> None:
        """Close every file `start` opened, and release the lock."""
        outputs, self._outputs = self._outputs, {}
        for jsonl, _ in outputs.values():
            jsonl.close()
        self._lock.release()


def _read_items(jsonl: BinaryIO, length: int) -> Iterator[Mapping[str, Any]]:
    """The items in the first `length` bytes of a JSONL file, one line at a time."""
    jsonl.seek(0)
    while jsonl.tell() < length and (line := jsonl.readline()):
        if line.strip():
            yield load_item(line)
    jsonl.seek(0, os.SEEK_END)
