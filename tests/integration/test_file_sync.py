"""Harvested files kept in step with the account, end to end against the sandbox's file host:
cut downloads go on from their bytes, changed files are fetched again and unchanged ones
are not, files unlike their size or checksum never land, and vanished assets' files stay."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cliquify_async import CliquifyClient, Harvester, HarvestReport, SQLiteSink
from cliquify_async._files.fetch import ATTEMPTS
from cliquify_async._harvest.names import file_name
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory

SIZE = 256 * 1024


async def served(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.read()


def path_of(sandbox: Sandbox, asset: dict[str, Any]) -> str:
    return str(asset["url"]).removeprefix(sandbox.url)


async def harvest(client: CliquifyClient, out: Path | SQLiteSink) -> HarvestReport:
    return await Harvester(client, out, resources=["assets"], download=True).run()


async def assert_exact(sandbox: Sandbox, folder: Path) -> None:
    """The folder holds exactly each listed asset's file, as the host serves it now."""
    assets = sandbox.items("/api/assets")
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(file_name(asset) for asset in assets)
    for asset in assets:
        assert (folder / file_name(asset)).read_bytes() == await served(asset["url"]), asset["id"]


def file_requests(sandbox: Sandbox, since: int = 0) -> list[Any]:
    return [r for r in sandbox.stats.requests[since:] if r.path.startswith("/files/")]


@pytest.mark.parametrize("ranges", [True, False])
async def test_a_file_cut_mid_body_goes_on_from_its_bytes_or_starts_over_without_ranges(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path, ranges: bool
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, assets=3, asset_file_size=SIZE, file_ranges=ranges
    )
    cut = path_of(sandbox, sandbox.items("/api/assets")[0])
    sandbox.faults.add(Fault.reset_mid_body(), path=cut)

    report = await harvest(make_client(sandbox), tmp_path)

    asked = [r.file_headers.get("Range") for r in file_requests(sandbox) if r.path == cut]
    sent = sum(r.body_bytes for r in file_requests(sandbox) if r.path == cut)
    await assert_exact(sandbox, tmp_path / "files")
    if ranges:
        assert asked == [None, f"bytes={SIZE // 2}-"]
        assert sent == SIZE  # half, then the other half
        assert (report.downloads.resumed, report.downloads.resumed_bytes) == (1, SIZE // 2)
    else:
        assert asked == [None, f"bytes={SIZE // 2}-"]  # asked, and ignored
        assert sent == SIZE + SIZE // 2
        assert report.downloads.resumed == 0
    assert (report.downloads.downloaded, report.downloads.verified) == (3, 3)
    assert report.downloads.bytes == sent + 2 * SIZE
    assert not list((tmp_path / "files").glob(".*"))


async def test_a_changed_file_is_fetched_again_and_the_others_are_not_asked_for(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=4)
    first, second, third = sandbox.dataset["assets"][:3]
    third["sha256"] = hashlib.sha256(await served(third["url"])).hexdigest()
    client = make_client(sandbox)
    await harvest(client, SQLiteSink(tmp_path / "export.db"))
    sandbox.change_file(first["url"])  # a new version, and each item says so its own way
    first["updated_at"] = "2026-11-30T10:00:00.000000Z"
    sandbox.change_file(second["url"], size=second["size"] + 10)
    second["size"] += 10
    sandbox.change_file(third["url"])
    third["sha256"] = hashlib.sha256(await served(third["url"])).hexdigest()
    kept = tmp_path / "export_files" / f".{file_name(sandbox.dataset['assets'][3])}.part"
    kept.write_bytes(b"left by a fetch cut short")  # the file itself is whole and unchanged
    before = len(sandbox.stats.requests)

    report = await harvest(client, SQLiteSink(tmp_path / "export.db"))

    fetched = sorted(r.path for r in file_requests(sandbox, before))
    assert fetched == sorted(path_of(sandbox, asset) for asset in (first, second, third))
    assert not list((tmp_path / "export_files").glob(".*"))  # the kept one's stale part too
    assert not any(r.file_headers for r in file_requests(sandbox, before))  # fetched whole
    downloads = report.downloads
    assert (downloads.refetched, downloads.downloaded, downloads.skipped) == (3, 3, 1)
    await assert_exact(sandbox, tmp_path / "export_files")


async def test_when_items_say_nothing_the_host_is_asked_and_only_changes_cost_bytes(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=5, drop_fields=("size", "updated_at"))
    client = make_client(sandbox)
    await harvest(client, tmp_path)
    changed = sandbox.items("/api/assets")[1]
    sandbox.change_file(changed["url"])
    before = len(sandbox.stats.requests)

    report = await harvest(client, tmp_path)

    requests = file_requests(sandbox, before)
    assert len(requests) == 5
    assert all("If-None-Match" in r.file_headers for r in requests)
    assert sorted(r.status for r in requests) == [200] + [304] * 4
    assert sum(r.body_bytes for r in requests) == len(await served(changed["url"]))
    downloads = report.downloads
    assert (downloads.refetched, downloads.skipped, downloads.revalidated) == (1, 4, 4)
    await assert_exact(sandbox, tmp_path / "files")


async def test_a_file_unlike_its_size_or_checksum_is_reported_and_never_put_in_place(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=4, asset_checksum="md5")
    wrong_sum, wrong_size = sandbox.dataset["assets"][:2]
    wrong_sum["md5"] = "0" * 32
    wrong_size["size"] += 1
    client = make_client(sandbox)

    report = await harvest(client, SQLiteSink(tmp_path / "export.db"))

    reasons = sorted(failure.reason for failure in report.failures)
    assert len(reasons) == 2 and all("FileMismatchError" in r for r in reasons)
    assert any(f"where the item's size says {wrong_size['size']}" in r for r in reasons)
    assert any("where the item says 00000000" in r for r in reasons)
    files = tmp_path / "export_files"
    assert sorted(path.name for path in files.iterdir()) == sorted(
        file_name(asset) for asset in sandbox.items("/api/assets")[2:]
    )
    for asset in (wrong_sum, wrong_size):
        requests = [r for r in file_requests(sandbox) if r.path == path_of(sandbox, asset)]
        assert len(requests) == ATTEMPTS
    assert (report.downloads.failed, report.downloads.downloaded) == (2, 2)

    wrong_sum["md5"] = hashlib.md5(await served(wrong_sum["url"])).hexdigest()
    wrong_size["size"] -= 1
    rerun = await harvest(client, SQLiteSink(tmp_path / "export.db"))
    assert (rerun.downloads.downloaded, rerun.downloads.skipped, rerun.failed) == (2, 2, 0)
    await assert_exact(sandbox, files)


async def test_files_of_vanished_assets_are_kept_and_marked_in_the_manifest(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=4)
    client = make_client(sandbox)
    sink = SQLiteSink(tmp_path / "export.db")
    await harvest(client, sink)
    gone = sandbox.dataset["assets"].pop(2)

    report = await harvest(client, SQLiteSink(tmp_path / "export.db"))

    assert report.downloads.gone == 1
    assert (tmp_path / "export_files" / file_name(gone)).exists()
    with sqlite3.connect(tmp_path / "export.db") as db:
        rows = dict(db.execute('SELECT "asset", "gone_at" FROM "_files"').fetchall())
        deleted = db.execute('SELECT "deleted_at" FROM "assets" WHERE "id" = ?', (gone["id"],))
        (deleted_at,) = deleted.fetchone()
    assert rows[json.dumps(gone["id"])] is not None
    assert rows[json.dumps(gone["id"])][:10] == deleted_at[:10]
    assert [key for key, at in rows.items() if at is None] == [
        json.dumps(asset["id"]) for asset in sandbox.items("/api/assets")
    ]

    sandbox.dataset["assets"].insert(2, gone)  # back again: no longer marked
    await harvest(client, SQLiteSink(tmp_path / "export.db"))
    with sqlite3.connect(tmp_path / "export.db") as db:
        assert db.execute(
            'SELECT count(*) FROM "_files" WHERE "gone_at" IS NOT NULL'
        ).fetchone() == (0,)


async def test_the_manifest_records_each_file_and_the_rate_gate_only_api_requests(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=6, asset_checksum="checksum")
    client = make_client(sandbox)

    await harvest(client, tmp_path)

    records = [json.loads(line) for line in (tmp_path / "files.jsonl").read_text().splitlines()]
    by_asset = {record["asset"]: record for record in records}
    for asset in sandbox.items("/api/assets"):
        record = by_asset[json.dumps(asset["id"])]
        data = await served(asset["url"])
        assert record["url"] == asset["url"] and record["size"] == len(data)
        assert record["checksum"] == f"sha256:{asset['checksum']}"
        assert asset["checksum"] == hashlib.sha256(data).hexdigest()
        assert record["etag"] and record["last_modified"] and record["fetched_at"]
    assert client.stats.requests == sandbox.stats.count("/api/")


async def test_a_copy_found_with_no_record_is_kept_only_if_it_is_the_asset_s_file(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=2, asset_checksum="sha256")
    right, wrong = sandbox.items("/api/assets")
    files = tmp_path / "files"
    files.mkdir()
    (files / file_name(right)).write_bytes(await served(right["url"]))
    (files / file_name(wrong)).write_bytes(b"\0" * wrong["size"])  # the size, not the bytes
    before = len(sandbox.stats.requests)

    report = await harvest(make_client(sandbox), tmp_path)

    asked = sorted((r.path, r.status) for r in file_requests(sandbox, before))
    right_path, wrong_path = path_of(sandbox, right), path_of(sandbox, wrong)
    assert asked == sorted([(right_path, 304), (wrong_path, 304), (wrong_path, 200)])
    assert (report.downloads.skipped, report.downloads.downloaded) == (1, 1)
    await assert_exact(sandbox, files)
    records = [json.loads(line) for line in (tmp_path / "files.jsonl").read_text().splitlines()]
    checksums = {record["asset"]: record["checksum"] for record in records}
    assert checksums[json.dumps(right["id"])] == f"sha256:{right['sha256']}"


async def test_an_updated_at_no_database_can_hold_fails_nothing(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=3)
    sandbox.dataset["assets"][0]["updated_at"] = "\ud800"

    report = await harvest(make_client(sandbox), SQLiteSink(tmp_path / "export.db"))

    assert report.failed == 0
    await assert_exact(sandbox, tmp_path / "export_files")
