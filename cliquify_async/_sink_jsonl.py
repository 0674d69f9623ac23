"""JSONLinesSink: each resource to `<out>/<name>.jsonl`, resumable after any interruption.

One item per line exactly as the server sent it. After every page the file is flushed and
`<out>/.harvest/<name>.json` records the byte length and the page token to continue from, in
that order; a rerun cuts the file back to the recorded length and continues from the token,
so every item is written exactly once whatever stopped the previous run. A finished resource
is not listed again. Asset files go to `<out>/files/`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import attrs
from attrs import frozen

from ._sink import Checkpoint, check_source, dump_item
from .errors import ConfigurationError

STATE_DIR = ".harvest"
SOURCE_FILE = "source.json"
FILES_DIR = "files"


@frozen(kw_only=True)
class ResumeState(Checkpoint):
    """A resource's checkpoint, and how many bytes of its JSONL file are whole."""

    bytes: int = 0


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


class JSONLinesSink:
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

    def __repr__(self) -> str:
        return f"<JSONLinesSink {str(self._out)!r}>"

    @property
    def files(self) -> Path:
        """`<out>/files/`: where downloaded asset files go."""
        return self._out / FILES_DIR

    async def open(self, *, base_url: str, client_id: str) -> None:
        """Create the folder and tie it to one account, so a rerun never mixes two accounts."""
        (self._out / STATE_DIR).mkdir(parents=True, exist_ok=True)
        source = {"base_url": base_url, "client_id": client_id}
        path = self._out / STATE_DIR / SOURCE_FILE
        if path.exists():
            check_source(json.loads(path.read_text()), source, str(self._out), "another folder")
        else:
            path.write_text(json.dumps(source))

    async def start(self, name: str) -> Checkpoint:
        """Open `<name>.jsonl`, cut back to what its state records as whole."""
        state = load_state(self._out, name) or ResumeState()
        path = self._out / f"{name}.jsonl"
        jsonl = path.open("a+b")
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

    async def write(self, name: str, items: Sequence[Any], checkpoint: Checkpoint) -> None:
        """Append a page, make it durable, then record it: the order resume relies on."""
        jsonl, state = self._outputs[name]
        data = b"".join(dump_item(item).encode() + b"\n" for item in items)
        jsonl.write(data)
        jsonl.flush()
        os.fsync(jsonl.fileno())
        state = ResumeState(
            **{**attrs.asdict(checkpoint, recurse=False), "bytes": state.bytes + len(data)}
        )
        _save_state(self._out, name, state)
        self._outputs[name] = (jsonl, state)

    async def close(self) -> None:
        """Close every file `start` opened."""
        outputs, self._outputs = self._outputs, {}
        for jsonl, _ in outputs.values():
            jsonl.close()


def _read_items(jsonl: BinaryIO, length: int) -> Iterator[Mapping[str, Any]]:
    """The items in the first `length` bytes of a JSONL file, one line at a time."""
    jsonl.seek(0)
    while jsonl.tell() < length and (line := jsonl.readline()):
        if line.strip():
            yield json.loads(line)
    jsonl.seek(0, os.SEEK_END)
