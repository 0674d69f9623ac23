"""HarvestSink: where a harvest stores its pages and the checkpoint that records them.

The harvest owns the listings; a sink owns the output and its resume state, because only the
sink can make a page and the checkpoint after it durable together. The built-ins are
JSONLinesSink (a folder of `.jsonl` files) and SQLiteSink (one database).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from attrs import frozen

from ..errors import ConfigurationError


@frozen(kw_only=True)
class Checkpoint:
    """How far one resource's listing has got: what is stored and where the listing goes on.

    `items` and `pages` count what the listing delivered (a sink may leave out an item it
    cannot store, as SQLite does one without an id). `next_token` is the page token to
    continue from (None before the first page, or once `done`); `done` means the listing has
    ended and nothing is left to request. `page_size` is the largest page the server honoured
    for it, which a later run asks for first.
    """

    items: int = 0
    pages: int = 0
    next_token: str | None = None
    done: bool = False
    page_size: int | None = None


Rejected = Mapping[int, str]
"""The items of a page a sink could not store: each one's position in the page, and why."""


class HarvestSink(Protocol):
    """What `Harvester` writes to: open it, ask each resource where it stands, hand it pages.

    A sink must store each page together with the checkpoint after it, so that a crash at any
    moment leaves either both or neither; that is what lets a rerun write every item once.
    The harvest calls `open` once, then `start` per resource (and `stored` for assets when it
    downloads), then `write` for every page in listing order (one call at a time), and `close`
    when it ends, even by an error, if `open` succeeded. A sink may also offer `manifest`, a
    `FileManifest` for the records of downloaded files (SQLiteSink does); without one they go
    to `<files>.jsonl` beside its files folder.
    """

    @property
    def files(self) -> Path | None:
        """The folder for downloaded asset files, or None if this sink keeps no files."""
        ...

    async def open(self, *, base_url: str, client_id: str) -> None:
        """Prepare the output, and refuse (ConfigurationError) one that holds a harvest of
        another account: `base_url` and `client_id` name the account (never the secret)."""
        ...

    async def start(self, name: str) -> Checkpoint:
        """Where the listing of resource `name` goes on; a `done` checkpoint skips it."""
        ...

    def stored(self, name: str) -> AsyncIterator[Any]:
        """The items of `name` this run already stored and will not list again (their files
        are queued again, so a download cut short completes); only asked with downloads."""
        ...

    async def write(
        self, name: str, items: Sequence[Any], checkpoint: Checkpoint
    ) -> Rejected | None:
        """Store one page of `name` (its items exactly as the server sent them) together
        with `checkpoint`, the state after it, durably. An item the sink cannot store is left
        out and returned (position -> why), so the harvest reports it; the rest is stored."""
        ...

    async def aclose(self) -> None:
        """Release what `open` acquired. (A sink written for the old protocol, with `close()`
        instead, still works, with a DeprecationWarning.)"""
        ...


def check_source(
    found: Mapping[str, str], source: Mapping[str, str], where: str, instead: str
) -> None:
    """Refuse (ConfigurationError) the output `where` if the account it records, `found`, is
    not `source`: a rerun must never mix two accounts' items. `instead` says where to go."""
    if dict(found) != dict(source):
        raise ConfigurationError(
            f"{where} holds a harvest of {found.get('base_url')} (client "
            f"{found.get('client_id')}); harvest {source['base_url']} into {instead}"
        )


async def close_sink(sink: HarvestSink) -> None:
    """`sink.aclose()`, or the `close()` of a sink written before the protocol named it
    `aclose` (deprecated)."""
    if hasattr(sink, "aclose"):
        await sink.aclose()
        return
    warnings.warn(
        f"{type(sink).__name__} has close() but no aclose(): HarvestSink.close is deprecated",
        DeprecationWarning,
        stacklevel=2,
    )
    await sink.close()  # type: ignore[attr-defined]


ESCAPED: Final = "__cliquify_json__"
"""The one key of an item written escaped: `{ESCAPED: "<the item's JSON as Python writes it>"}`."""
_COMPACT: Final = (",", ":")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _escaped(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and ESCAPED in item


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate, which no UTF-8 file or SQLite text can hold."""
    return _SURROGATE.search(text) is not None


def dump_item(item: Any) -> str:
    """One item as compact strict JSON (RFC 8259: valid Unicode, no NaN), non-ASCII kept as it
    is: how every sink stores an item.

    An item strict JSON cannot carry (a lone surrogate in any key or string, NaN, Infinity),
    or one that is itself a lone ESCAPED key, is written as `{ESCAPED: text}`, where `text` is
    the item's JSON as Python's json module writes it (`\\ud800`, `NaN`): `load_item` reads
    back exactly what the server sent. ValueError or RecursionError for an item that cannot
    be written at all (an integer of more than 4300 digits, nesting deeper than Python's limit).
    """
    if not _escaped(item):
        try:
            text = json.dumps(item, ensure_ascii=False, allow_nan=False, separators=_COMPACT)
        except ValueError:  # NaN or Infinity, or an integer too long to write: see below
            pass
        else:
            if not has_surrogate(text):
                return text
    return json.dumps({ESCAPED: json.dumps(item, separators=_COMPACT)}, separators=_COMPACT)


def load_item(text: str | bytes) -> Any:
    """The item `dump_item` wrote as `text`, exactly as the server sent it."""
    item = json.loads(text)
    return json.loads(item[ESCAPED]) if _escaped(item) else item
