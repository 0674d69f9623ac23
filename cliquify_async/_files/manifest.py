"""What a harvest knows of each file it downloaded: a `FileRecord` per asset, kept by the
sink (`FileManifest`): a table in SQLite, `<files>.jsonl` beside the folder otherwise."""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

import attrs
from attrs import frozen, validators

from .._disk import open_fd, read_own, refuse_link, replace_file

_TEXT = validators.instance_of(str)
_MAYBE_TEXT = validators.optional(_TEXT)


@frozen(kw_only=True)
class FileRecord:
    """One downloaded file: the asset it belongs to (`asset`: the id as JSON, `12` or
    `"a7"`), its `file` name in the folder, the `url` and `size` it was fetched with, the
    item's `checksum` (`sha256:<hex>`, which the file matched) and `updated_at` as sent, the
    validators to revalidate it by, when it was fetched, and when its asset was last seen
    gone (`gone_at`, ISO 8601 UTC; the file is kept)."""

    asset: str = attrs.field(validator=_TEXT)
    file: str = attrs.field(validator=[_TEXT, lambda _, __, name: _plain_name(name)])
    url: str = attrs.field(validator=_TEXT)
    size: int = attrs.field(validator=validators.instance_of(int))
    checksum: str | None = attrs.field(default=None, validator=_MAYBE_TEXT)
    updated_at: str | None = attrs.field(default=None, validator=_MAYBE_TEXT)
    etag: str | None = attrs.field(default=None, validator=_MAYBE_TEXT)
    last_modified: str | None = attrs.field(default=None, validator=_MAYBE_TEXT)
    fetched_at: str = attrs.field(validator=_TEXT)
    gone_at: str | None = attrs.field(default=None, validator=_MAYBE_TEXT)


def _plain_name(name: str) -> None:
    """A record's file is a plain, visible name in the folder: never a path."""
    if Path(name).name != name or name.startswith(".") or not name:
        raise ValueError(f"a file record names {name!r}, not a file of the folder")


FIELDS: Final = tuple(field.name for field in attrs.fields(FileRecord))
"""The record's fields in order: the manifest table's columns."""


def record_of(row: Mapping[str, Any]) -> FileRecord | None:
    """The record a stored row or line holds, None if it is not one (a torn last line)."""
    try:
        return FileRecord(**{name: row[name] for name in FIELDS if name in row})
    except (TypeError, KeyError, ValueError):
        return None


class FileManifest(Protocol):
    """Where a sink keeps its FileRecords."""

    async def records(self) -> dict[str, FileRecord]:
        """Every record, by asset."""
        ...

    async def save(self, record: FileRecord) -> None:
        """Add or replace the record of `record.asset`."""
        ...

    async def mark_gone(self, assets: Collection[str], at: str) -> None:
        """Set `gone_at` of these assets' records to `at`."""
        ...


class JSONLinesManifest:
    """FileRecords as lines of `path`, the latest line of an asset standing: appended to
    after every file, compacted when read back if most lines are stale."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO | None = None
        self._records: dict[str, FileRecord] = {}

    def __repr__(self) -> str:
        return f"<JSONLinesManifest {str(self._path)!r}>"

    async def records(self) -> dict[str, FileRecord]:
        saved = read_own(self._path) or b""
        lines = saved.splitlines()
        self._records = {}
        for line in lines:
            try:
                found = record_of(json.loads(line))
            except ValueError:
                found = None
            if found is not None:
                self._records[found.asset] = found
        torn = bool(saved) and not saved.endswith(b"\n")  # a crash cut the last line
        if torn or len(lines) > 2 * len(self._records) + 100:
            replace_file(self._path, b"".join(map(_line, self._records.values())))
        return dict(self._records)

    async def save(self, record: FileRecord) -> None:
        self._records[record.asset] = record
        self._append(_line(record))

    async def mark_gone(self, assets: Collection[str], at: str) -> None:
        gone = [attrs.evolve(self._records[asset], gone_at=at) for asset in assets]
        for record in gone:
            self._records[record.asset] = record
        self._append(b"".join(map(_line, gone)))

    async def aclose(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _append(self, data: bytes) -> None:
        if self._file is None:
            refuse_link(self._path, in_place=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            self._file = os.fdopen(open_fd(self._path, flags), "ab")
        self._file.write(data)
        self._file.flush()


def _line(record: FileRecord) -> bytes:
    return json.dumps(attrs.asdict(record), separators=(",", ":")).encode() + b"\n"
