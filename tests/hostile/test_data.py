"""Hostile items through the whole harvest: strict JSON out, nothing lost, one bad item fails
alone (counted, named, retried next run), file names never collide, exact byte counts."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from rich.console import Console

from cliquify_async import CliquifyClient, Harvester, HarvestReport, SQLiteSink
from cliquify_async._harvest.display import HarvestDisplay, eta_seconds, failure_lines
from cliquify_async._harvest.harvester import MAX_FAILURES_NAMED, ResourceProgress
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory
from tests.hostile.api import HostileAPI, hostile_client

ESCAPED = "__cliquify_json__"  # the rule docs/harvesting.md gives, restated to check it


def refuse_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strings(value: Any) -> Iterator[str]:
    """Every key and string inside a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def strict(text: str | bytes) -> Any:
    """Parse as a strict reader would: UTF-8, no NaN/Infinity, no lone surrogates."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # strict: raises on anything but UTF-8
    value = json.loads(text, parse_constant=refuse_constant)
    for string in strings(value):
        string.encode("utf-8")  # raises on a lone surrogate
    return value


def recover(value: Any) -> Any:
    """The item as the server sent it, by the documented rule."""
    if isinstance(value, dict) and list(value) == [ESCAPED]:
        return json.loads(value[ESCAPED])
    return value


def same(items: list[Any]) -> list[str]:
    """Items compared as Python's JSON text (NaN equals NaN there)."""
    return [json.dumps(item, sort_keys=True) for item in items]


def plant_hostile_assets(sandbox: Sandbox) -> None:
    """Lone surrogates in every string position, NaN/Infinity, a huge integer, non-objects,
    and an item that looks like an escaped one."""
    assets = sandbox.dataset["assets"]
    assets[0]["name"] = "bad \ud800 name.png"
    assets[1]["\udc80key"] = {"nested \udbff": ["\ud800", "fine"]}
    assets[2]["size"] = float("nan")
    assets[3]["width"] = float("inf")
    assets[4]["height"] = 10**30
    assets[5]["mime_type"] = "image/png\udfff"
    assets.insert(6, 5)  # type: ignore[arg-type]
    assets.insert(7, "a bare string \ud800")  # type: ignore[arg-type]
    assets.insert(8, [1, {"x": None}])  # type: ignore[arg-type]
    assets.insert(9, {ESCAPED: "not ours"})


async def test_jsonl_is_strict_json_and_gives_back_every_item_as_sent(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=40)
    plant_hostile_assets(sandbox)
    client = make_client(sandbox)

    report = await Harvester(
        client, tmp_path, resources=["assets"], download=True, per_page=7
    ).run()

    lines = (tmp_path / "assets.jsonl").read_bytes().splitlines()
    parsed = [strict(line) for line in lines]
    assert same([recover(value) for value in parsed]) == same(sandbox.items("/api/assets"))
    assert sum(isinstance(v, dict) and list(v) == [ESCAPED] for v in parsed) == 7
    assert report.resources["assets"].items == 44
    assert report.failures == []
    # Every object asset had its file downloaded, the one with a surrogate in its name too.
    assert report.downloads.downloaded == 40
    assert len(list((tmp_path / "files").iterdir())) == 40


async def test_sqlite_rows_are_strict_and_an_item_it_cannot_hold_fails_alone_then_retries(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=30)
    plant_hostile_assets(sandbox)
    assets = sandbox.dataset["assets"]
    assets[10]["id"] = 2**70  # past SQLite's 64 bits
    assets[11]["id"] = "id \ud800"  # not valid Unicode
    client = make_client(sandbox)
    db = tmp_path / "export.db"

    report = await Harvester(client, SQLiteSink(db), resources=["assets"], per_page=7).run()

    failed = sorted((f.item, f.reason) for f in report.failures)
    assert failed == [
        ("item 10", "not stored: an item with no usable id"),
        (
            "item 11 (id 1180591620717411303424)",
            "not stored: an item whose id is an integer past the 64 bits SQLite holds",
        ),
        (
            "item 12 (id 'id \\ud800')",
            "not stored: an item whose id is not valid Unicode (a lone surrogate)",
        ),
        ("item 7", "not stored: an item that is not an object"),
        ("item 8", "not stored: an item that is not an object"),
        ("item 9", "not stored: an item that is not an object"),
    ]
    assert report.resources["assets"].failed == 6
    assert report.resources["assets"].done
    with sqlite3.connect(db) as connection:
        connection.text_factory = bytes  # read what is on disk, undecoded
        rows = connection.execute('SELECT "id", "name", "raw" FROM assets').fetchall()
    stored = [recover(strict(raw)) for _, _, raw in rows]
    storable = [item for item in sandbox.items("/api/assets") if item in assets[:6] + assets[12:]]
    assert sorted(same(stored)) == sorted(same(storable))
    names = {key: name for key, name, _ in rows}
    assert names[assets[0]["id"]] == b"bad \\ud800 name.png"  # the column's escape

    # The server mends the items; the next run stores them: a failure is never final.
    assets[10]["id"], assets[11]["id"] = 999_001, "mended"
    del assets[6:10]
    rerun = await Harvester(client, SQLiteSink(db), resources=["assets"], per_page=7).run()
    assert rerun.failures == []
    with sqlite3.connect(db) as connection:
        ids = {row[0] for row in connection.execute('SELECT "id" FROM assets')}
    assert {999_001, "mended"} <= ids


async def test_a_listing_that_left_items_out_is_harvested_again_whole(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    await Harvester(client, tmp_path, resources=["folders"], per_page=5).run()
    state_path = tmp_path / ".harvest" / "folders.json"
    state = json.loads(state_path.read_text())
    state["failed"] = 1  # as a run that could not write one item leaves it
    state_path.write_text(json.dumps(state))

    report = await Harvester(client, tmp_path, resources=["folders"], per_page=5).run()

    lines = (tmp_path / "folders.jsonl").read_text().splitlines()
    assert [strict(line) for line in lines] == sandbox.items("/api/folders")  # each once
    assert not report.resources["folders"].resumed
    assert json.loads(state_path.read_text())["failed"] == 0


async def file_bytes(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.read()


async def test_file_names_never_collide_whatever_the_ids_and_names(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=12)
    assets = sandbox.dataset["assets"]
    long = "x" * 250
    hostile = [
        ("12-a", "b.png"),
        (12, "a-b.png"),
        ("12", "a-b.png"),
        ("ABC", "f.png"),
        ("abc", "f.png"),
        (long + "1", "g.png"),
        (long + "2", "g.png"),
        ("../../etc", "../passwd"),
        (-3, "n.png"),
        ("\ud800", "s.png"),
        (2**80, "big.png"),
        ("y" * 10, "z" * 400 + ".jpeg"),
    ]
    for asset, (key, name) in zip(assets, hostile, strict=True):
        asset["id"], asset["name"] = key, name
    client = make_client(sandbox)

    report = await Harvester(
        client, tmp_path, resources=["assets"], download=True, download_concurrency=6
    ).run()

    files = sorted((tmp_path / "files").iterdir())
    assert len(files) == len(hostile) == report.downloads.downloaded
    assert report.failures == []
    assert all(len(path.name) <= 200 and not path.name.startswith(".") for path in files)
    assert {path.name.lower() for path in files} == {path.name for path in files}
    contents = {path.read_bytes() for path in files}
    assert contents == {await file_bytes(asset["url"]) for asset in assets}
    assert (tmp_path / "files" / "12-a-b.png").read_bytes() == await file_bytes(assets[1]["url"])
    assert any(path.name.endswith(".jpeg") for path in files)  # a cut name keeps its extension


async def test_byte_and_file_counts_are_exact_under_concurrent_downloads(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=60)
    assets = sandbox.dataset["assets"]
    assets.append(dict(assets[0]))  # listed twice: one file
    client = make_client(sandbox)

    report = await Harvester(
        client, tmp_path, resources=["assets"], download=True, download_concurrency=8
    ).run()

    files = list((tmp_path / "files").iterdir())
    assert report.downloads.queued == report.downloads.downloaded == len(files) == 60
    assert report.downloads.bytes == sum(path.stat().st_size for path in files)
    assert report.downloads.bytes == sum(
        [len(await file_bytes(asset["url"])) for asset in assets[:60]]
    )


async def test_a_file_that_fails_is_named_and_downloaded_by_the_next_run(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=5)
    assets = sandbox.dataset["assets"]
    missing = assets[2]["url"].removeprefix(sandbox.url)
    sandbox.faults.add(Fault.status(404, body={"message": "Gone \u001b[2J"}), path=missing)
    assets[3]["url"] = "http://[broken"
    client = make_client(sandbox)

    def harvest() -> Harvester:
        return Harvester(client, tmp_path, resources=["assets"], download=True)

    report = await harvest().run()

    assert sorted(str(f) for f in report.failures) == [
        f"assets item (id {assets[2]['id']}): file not downloaded: NotFoundError: 404 Gone "
        f"\\x1b[2J (GET {assets[2]['url']})",
        f"assets item (id {assets[3]['id']}): file not downloaded: MalformedURLError: the "
        "download URL is not a valid URL (ValueError: Invalid IPv6 URL); not following it",
    ]
    assert (report.downloads.downloaded, report.downloads.failed) == (3, 2)

    rerun = await harvest().run()
    assert (rerun.downloads.downloaded, rerun.downloads.skipped) == (1, 3)
    assert [f.item for f in rerun.failures] == [f"item (id {assets[3]['id']})"]


async def test_an_absurd_last_page_is_shown_as_unknown(client: CliquifyClient) -> None:
    progress = ResourceProgress(name="assets", pages=2, last_page=10**400, total=10**400)
    report = HarvestReport(resources={"assets": progress})
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)

    with HarvestDisplay(console, client) as display:
        display.update(report)

    assert eta_seconds(progress, interval=1.0, running=1) is None
    assert "ETA -:--" in screen.getvalue()
    assert "0" * 100 not in screen.getvalue()


async def test_failures_past_the_bound_are_counted_not_named(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    many = MAX_FAILURES_NAMED + 50

    async def numbers(request: web.Request) -> web.StreamResponse:
        return web.json_response({"data": list(range(many))})  # no item is an object

    async with hostile_client(HostileAPI(numbers)) as client:
        sink = SQLiteSink(tmp_path / "export.db")
        report = await Harvester(client, sink, resources=["assets"]).run()

    assert report.failed == report.resources["assets"].failed == many
    assert len(report.failures) == MAX_FAILURES_NAMED
    left_out = [r for r in caplog.records if "is left out" in r.getMessage()]
    assert len(left_out) == MAX_FAILURES_NAMED
    assert sum("the rest are counted, not named" in r.getMessage() for r in caplog.records) == 1
    assert failure_lines(report)[-2] == "... and 1030 more failed items"
