"""What a rerun does with each asset's file, from its record and the copy in place; and the
JSON Lines manifest that keeps the records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from cliquify_async._files.manifest import FileRecord, JSONLinesManifest, record_of
from cliquify_async._harvest.files import Plan, plan

URL = "https://cdn.example/files/a.png"
SHA = "ab" * 32
RECORD = FileRecord(
    asset="7",
    file="7-a.png",
    url=URL,
    size=100,
    checksum=f"sha256:{SHA}",
    updated_at="2026-01-01T00:00:00.000000Z",
    etag='"v1"',
    fetched_at="2026-01-02T00:00:00.000000Z",
)
UNCHECKED = attrs.evolve(RECORD, checksum=None)  # fetched before the item had a checksum
ASSET = {
    "id": 7,
    "name": "a.png",
    "url": URL,
    "size": 100,
    "sha256": SHA,
    "updated_at": "2026-01-01T00:00:00.000000Z",
}


@pytest.mark.parametrize(
    ("changes", "record", "on_disk", "expected"),
    [
        ({}, None, None, "fetch"),  # never fetched
        ({}, None, 100, "revalidate"),  # a copy with no record: ask the host
        ({}, RECORD, 100, "keep"),
        ({}, RECORD, None, "fetch"),  # lost
        ({}, RECORD, 60, "fetch"),  # cut short
        ({"url": URL + "?v=2"}, RECORD, 100, "refetch"),
        ({"size": 101}, RECORD, 100, "refetch"),
        ({"updated_at": "2026-03-01T00:00:00.000000Z"}, RECORD, 100, "refetch"),
        ({"sha256": "cd" * 32}, RECORD, 100, "refetch"),
        ({"name": "b.png"}, RECORD, None, "refetch"),  # renamed: its file is named anew
        ({"size": None, "sha256": None, "updated_at": None}, RECORD, 100, "revalidate"),
        ({"size": None, "sha256": None}, RECORD, 100, "keep"),  # updated_at still says
        ({}, None, 60, "fetch"),  # a copy with no record, unlike the item's size
        ({}, UNCHECKED, 100, "refetch"),  # a checksum that appears: the file never met it
        ({"updated_at": "\ud800"}, RECORD, 100, "keep"),  # unusable: as if absent
    ],
)
def test_a_file_is_fetched_again_only_when_its_asset_changed(
    changes: dict[str, Any], record: FileRecord | None, on_disk: int | None, expected: Plan
) -> None:
    asset = {key: value for key, value in {**ASSET, **changes}.items() if value is not None}
    name = "7-b.png" if asset["name"] == "b.png" else "7-a.png"

    assert plan(asset, name, record, on_disk) == expected


async def test_the_latest_line_of_an_asset_stands_and_a_torn_one_is_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "files.jsonl"
    manifest = JSONLinesManifest(path)
    await manifest.records()
    await manifest.save(RECORD)
    await manifest.save(attrs.evolve(RECORD, size=200))
    await manifest.save(attrs.evolve(RECORD, asset="8", file="8-b.png"))
    await manifest.mark_gone(["8"], "2026-02-01T00:00:00.000000Z")
    await manifest.aclose()
    with path.open("ab") as file:
        file.write(b'{"asset": "9", "file": "9-c.p')  # a crash mid-line
    after_crash = JSONLinesManifest(path)
    await after_crash.records()
    await after_crash.save(attrs.evolve(RECORD, asset="10", file="10-d.png"))
    await after_crash.aclose()

    records = await JSONLinesManifest(path).records()

    assert records.pop("10") == attrs.evolve(RECORD, asset="10", file="10-d.png")
    assert records == {
        "7": attrs.evolve(RECORD, size=200),
        "8": attrs.evolve(RECORD, asset="8", file="8-b.png", gone_at="2026-02-01T00:00:00.000000Z"),
    }


async def test_a_manifest_of_mostly_stale_lines_is_compacted(tmp_path: Path) -> None:
    path = tmp_path / "files.jsonl"
    manifest = JSONLinesManifest(path)
    for size in range(300):
        await manifest.save(attrs.evolve(RECORD, size=size))
    await manifest.aclose()

    records = await JSONLinesManifest(path).records()

    assert records == {"7": attrs.evolve(RECORD, size=299)}
    assert [json.loads(line)["size"] for line in path.read_text().splitlines()] == [299]


@pytest.mark.parametrize("name", ["", ".", "..", "../x.png", "a/b.png", ".7-a.png.part"])
def test_a_record_naming_anything_but_a_plain_file_of_the_folder_is_none(name: str) -> None:
    assert record_of({**attrs.asdict(RECORD), "file": name}) is None
    assert record_of(attrs.asdict(RECORD)) == RECORD
