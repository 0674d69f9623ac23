"""The generated data: deterministic, consistent, shaped like the contract's field tables."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from cliquify_async.sandbox import Sandbox, SandboxConfig
from cliquify_async.sandbox._dataset import file_bytes, generate

MakeSandbox = Callable[..., Any]
BASE = "http://127.0.0.1:1"
FIELDS = {
    "templates": ["id", "name", "description", "thumbnail_url", "preview_url", "width", "height",
                  "tags", "created_at", "updated_at"],
    "template_tags": ["id", "name", "slug", "count"],
    "asset_tags": ["id", "name", "slug", "count"],
    "folders": ["id", "name", "parent_id", "assets_count", "created_at", "updated_at"],
    "assets": ["id", "name", "type", "mime_type", "url", "thumbnail_url", "size", "width",
               "height", "folder_id", "tags", "created_at", "updated_at"],
    "brand_kits": ["id", "name", "description", "is_default", "created_at", "updated_at"],
    "logos": ["id", "name", "url", "thumbnail_url", "mime_type", "width", "height",
              "brand_kit_id"],
    "colors": ["id", "name", "hex", "brand_kit_id"],
}  # fmt: skip
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z")
PLAIN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def items(**options: Any) -> dict[str, list[dict[str, Any]]]:
    return generate(SandboxConfig(**options), BASE).items


def test_same_options_same_data_and_seed_matters() -> None:
    assert items() == items()
    assert items(seed=1) != items()
    assert items(seed=1) == items(seed=1)


async def test_same_options_same_data_across_servers(make_sandbox: MakeSandbox) -> None:
    one: Sandbox = await make_sandbox(assets=30, seed=7)
    two: Sandbox = await make_sandbox(assets=30, seed=7)

    def normalized(sb: Sandbox) -> str:
        return repr(dict(sb.dataset)).replace(sb.url, "<url>")

    assert normalized(one) == normalized(two)


def test_sizes_and_fields() -> None:
    data = items(
        assets=33, templates=7, folders=4, template_tags=20, asset_tags=5, brand_kits=5,
        logos_per_kit=2, colors_per_kit=4,
    )  # fmt: skip
    counts = {key: len(value) for key, value in data.items()}
    assert counts == {
        "templates": 7, "template_tags": 20, "asset_tags": 5, "folders": 4, "assets": 33,
        "brand_kits": 5, "logos": 10, "colors": 20,
    }  # fmt: skip
    for key, fields in FIELDS.items():
        for item in data[key]:
            assert list(item) == fields, key
        assert [item["id"] for item in data[key]] == list(range(1, len(data[key]) + 1))
    assert len({tag["name"] for tag in data["template_tags"]}) == 20  # names stay unique


def test_relations_are_consistent() -> None:
    data = items()
    folder_ids = {folder["id"] for folder in data["folders"]}
    for asset in data["assets"]:
        assert asset["folder_id"] in folder_ids
        assert asset["url"] == f"{BASE}/files/assets/{asset['id']}/{asset['name']}"
        assert 2_000 <= asset["size"] <= 200_000
        assert asset["mime_type"].split("/")[0] in {"image", "video", "application"}
    for folder in data["folders"]:
        assert folder["parent_id"] is None or folder["parent_id"] < folder["id"]
        assert folder["assets_count"] == sum(a["folder_id"] == folder["id"] for a in data["assets"])
    for tag in data["asset_tags"]:
        tagged = [a for a in data["assets"] if tag in a["tags"]]
        assert tag["count"] == len(tagged)
    for tag in data["template_tags"]:
        assert tag["count"] == sum(tag in t["tags"] for t in data["templates"])
    kit_ids = {kit["id"] for kit in data["brand_kits"]}
    assert [kit["is_default"] for kit in data["brand_kits"]] == [True, False]
    for item in data["logos"] + data["colors"]:
        assert item["brand_kit_id"] in kit_ids
    assert all(re.fullmatch(r"#[0-9A-F]{6}", color["hex"]) for color in data["colors"])


def test_timestamps_mix_both_formats() -> None:
    stamps = [
        item[field]
        for key in ("templates", "folders", "assets", "brand_kits")
        for item in items()[key]
        for field in ("created_at", "updated_at")
    ]
    assert all(ISO.fullmatch(s) or PLAIN.fullmatch(s) for s in stamps)
    plain = sum(bool(PLAIN.fullmatch(s)) for s in stamps)
    assert 0.1 < plain / len(stamps) < 0.3


def test_extra_and_dropped_fields() -> None:
    data = items(extra_fields=True, drop_fields=("description", "tags"))
    for value in data.values():
        for item in value:
            assert "x_sandbox" in item
            assert "description" not in item
            assert "tags" not in item
    assert data["assets"][0]["name"] == items()["assets"][0]["name"]
    with pytest.raises(ValueError, match="id"):
        SandboxConfig(drop_fields=["id"])


def test_file_bytes_are_deterministic_per_path_and_version() -> None:
    content = file_bytes("/files/assets/1/a.png", 300_000)
    assert len(content) == 300_000
    assert content == file_bytes("/files/assets/1/a.png", 300_000)
    assert content[:5_000] == file_bytes("/files/assets/1/a.png", 5_000)  # a prefix
    assert content[70_000:200_001] == file_bytes("/files/assets/1/a.png", 200_001, start=70_000)
    assert content[:64] != file_bytes("/files/assets/2/a.png", 64)
    assert file_bytes("/files/assets/1/a.png", 300_000, version=0) == content
    changed = file_bytes("/files/assets/1/a.png", 300_000, version=1)
    assert len(changed) == 300_000
    assert changed[:16] != content[:16]
    assert changed[-16:] != content[-16:]  # every block differs, not just the first
    assert file_bytes("/files/assets/1/a.png", 10, start=10) == b""


def test_asset_file_size_and_checksum_leave_the_rest_as_it_was() -> None:
    plain = items(assets=5)
    sized = items(assets=5, asset_file_size=70_000, asset_checksum="md5")
    for before, after in zip(plain["assets"], sized["assets"], strict=True):
        path = after["url"].removeprefix(BASE)
        digest = hashlib.md5(file_bytes(path, 70_000), usedforsecurity=False).hexdigest()
        assert after == {**before, "size": 70_000, "md5": digest}
        assert list(after)[:8] == [*FIELDS["assets"][:7], "md5"]  # right after size
    assert {key: value for key, value in sized.items() if key != "assets"} == {
        key: value for key, value in plain.items() if key != "assets"
    }
