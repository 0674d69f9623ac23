"""Harvester: items are archived as the server sent them, decodable or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cliquify_async import CliquifyClient, Harvester, ResponseDecodeError
from cliquify_async.sandbox import Sandbox


async def test_an_item_the_models_cannot_read_is_archived_not_a_dead_end(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    del sandbox.dataset["assets"][3]["id"]
    with pytest.raises(ResponseDecodeError):  # decoded, this item fails its page
        await client.assets.list().collect()

    await Harvester(client, tmp_path, resources=["assets"]).run()

    lines = (tmp_path / "assets.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == sandbox.items("/api/assets")


async def test_undecoded_continues_the_listing_with_the_raw_items(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    listing = client.folders.list(per_page=2)
    first = await listing.pages().__anext__()
    rest = await listing.undecoded().collect()

    assert [folder.id for folder in first.items] == [raw["id"] for raw in first.raw]
    assert first.raw + rest == sandbox.items("/api/folders")
