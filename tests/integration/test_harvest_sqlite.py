"""SQLiteSink: a harvest into one database, compared row by row with the sandbox's data, and
the incremental re-harvest: updates, inserts, deletions marked, an interrupted run resumed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cliquify_async import (
    Checkpoint,
    CliquifyClient,
    ConfigurationError,
    Harvester,
    HarvestReport,
    ServerError,
    SQLiteSink,
)
from cliquify_async._harvest.harvester import RESOURCES
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, SandboxFactory

# The typed columns each table should have, written out here rather than read from the SDK.
TYPED_COLUMNS = {
    "templates": (
        "name", "description", "thumbnail_url", "preview_url", "width", "height",
        "created_at", "updated_at",
    ),
    "template_tags": ("name", "slug", "count"),
    "folders": ("name", "parent_id", "assets_count", "created_at", "updated_at"),
    "assets": (
        "name", "type", "mime_type", "url", "thumbnail_url", "size", "width", "height",
        "folder_id", "created_at", "updated_at",
    ),
    "asset_tags": ("name", "slug", "count"),
    "brand_kits": ("name", "description", "is_default", "created_at", "updated_at"),
    "logos": ("name", "url", "thumbnail_url", "mime_type", "width", "height", "brand_kit_id"),
    "colors": ("name", "hex", "brand_kit_id"),
}  # fmt: skip
BOOKKEEPING = ("raw", "first_seen", "last_seen", "deleted_at")
Row = dict[str, Any]


class Clock:
    """The sink's clock, moved by hand: each run's start time is known to the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> str:
        """Move on, and return the new time as the sink writes it."""
        self.now += timedelta(**delta)
        return iso(self.now)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normal_time(value: str) -> str:
    """A timestamp in either API format, as the sink should store it."""
    moment = datetime.fromisoformat(value)
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def expected_row(name: str, item: Mapping[str, Any]) -> Row:
    row = {"id": item["id"]}
    for column in TYPED_COLUMNS[name]:
        value = item.get(column)
        row[column] = normal_time(value) if column.endswith("_at") and value else value
    return row


@contextlib.contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a harvest database, closed on leaving."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def read_rows(db: Path, name: str) -> dict[Any, Row]:
    """Every row of table `name` (deleted ones too), by id."""
    with database(db) as connection:
        rows = connection.execute(f'SELECT * FROM "{name}"')  # noqa: S608 - a fixed name
        return {row["id"]: dict(row) for row in rows}


def read_state(db: Path, name: str) -> Row | None:
    with database(db) as connection:
        row = connection.execute(
            "SELECT * FROM _harvest_state WHERE resource = ?", (name,)
        ).fetchone()
        return None if row is None else dict(row)


def assert_tables(
    db: Path,
    expected: Mapping[str, Sequence[Mapping[str, Any]]],
    gone: Mapping[str, set[Any]] | None = None,
) -> dict[str, dict[Any, Row]]:
    """Each table holds exactly `expected[name]` (the server's items) as its live rows,
    column by column and with `raw` equal to the item, plus the rows in `gone[name]` marked
    deleted; returns the rows by table and id."""
    tables = {}
    for name, items in expected.items():
        with database(db) as connection:
            header = [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')]
        assert sorted(header) == sorted(["id", *TYPED_COLUMNS[name], *BOOKKEEPING]), name
        rows = read_rows(db, name)
        live = {key: row for key, row in rows.items() if row["deleted_at"] is None}
        assert sorted(map(str, live)) == sorted(str(item["id"]) for item in items), name
        for item in items:
            row = live[item["id"]]
            assert {key: row[key] for key in ("id", *TYPED_COLUMNS[name])} == expected_row(
                name, item
            ), (name, item["id"])
            assert json.loads(row["raw"]) == item, (name, item["id"])
        assert set(rows) - set(live) == (gone or {}).get(name, set()), name
        tables[name] = rows
    return tables


def served(sandbox: Sandbox, names: Sequence[str] = tuple(RESOURCES)) -> dict[str, list[Any]]:
    return {name: sandbox.items(RESOURCES[name].path) for name in names}


async def harvest(client: CliquifyClient, db: Path, clock: Clock, **options: Any) -> HarvestReport:
    options.setdefault("per_page", 25)
    return await Harvester(client, SQLiteSink(db, clock=clock), **options).run()


async def test_a_harvest_fills_every_table_row_by_row(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    db, clock = tmp_path / "export.db", Clock()

    report = await harvest(client, db, clock)

    tables = assert_tables(db, served(sandbox))
    run = iso(clock.now)
    for name, rows in tables.items():
        assert {(row["first_seen"], row["last_seen"]) for row in rows.values()} == {(run, run)}
        state = read_state(db, name)
        assert state is not None
        assert (state["run_started"], state["items"]) == (run, len(rows))
        assert state["run_finished"] is not None and state["next_token"] is None
        assert report.resources[name].done
    assert report.resources["assets"].pages == 5
    with database(db) as connection:
        (name,) = connection.execute("SELECT name FROM assets WHERE id = 5").fetchone()
        source = dict(connection.execute("SELECT key, value FROM _harvest_source").fetchall())
    assert name == sandbox.items("/api/assets")[4]["name"]
    assert source == {"base_url": sandbox.url, "client_id": sandbox.client_id}
    assert sandbox.client_secret not in db.read_bytes().decode("utf-8", "replace")


async def test_a_rerun_updates_inserts_and_marks_deletions(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    db, clock = tmp_path / "export.db", Clock()
    await harvest(client, db, clock)
    first = iso(clock.now)
    assets, folders = sandbox.dataset["assets"], sandbox.dataset["folders"]
    changed = assets[2]
    changed |= {"name": "renamed.png", "size": 1, "updated_at": "2026-06-01 08:00:00", "tags": []}
    removed = [assets.pop(9), assets.pop(6)]
    added = [dict(assets[0], id=1001, name="new.png"), dict(assets[1], id="a-1002")]
    assets.extend(added)
    removed_folder = folders.pop()

    second = clock.advance(hours=1)
    await harvest(client, db, clock)

    gone = {"assets": {7, 10}, "folders": {removed_folder["id"]}}
    tables = assert_tables(db, served(sandbox), gone)
    rows = tables["assets"]
    assert rows[3]["name"] == "renamed.png" and rows[3]["first_seen"] == first
    assert rows[3]["updated_at"] == "2026-06-01T08:00:00.000000Z"
    for key in (1001, "a-1002"):
        assert (rows[key]["first_seen"], rows[key]["last_seen"]) == (second, second)
    for item in removed:  # still there, as last harvested, and marked
        row = rows[item["id"]]
        assert json.loads(row["raw"]) == item
        assert (row["last_seen"], row["deleted_at"]) == (first, second)
    assert all(row["last_seen"] == second for row in rows.values() if not row["deleted_at"])
    with database(db) as connection:  # the query docs/harvesting.md shows
        deleted = connection.execute(
            "SELECT id FROM assets WHERE deleted_at = "
            "(SELECT run_started FROM _harvest_state WHERE resource = 'assets')"
        ).fetchall()
    assert sorted(key for (key,) in deleted) == [7, 10]

    # A row that comes back is live again; one still gone keeps the time it went. The clock
    # went back an hour, yet this run still counts as later than the last.
    assets.append(removed[1])
    clock.advance(hours=-2)
    await harvest(client, db, clock)

    rows = assert_tables(db, served(sandbox), {"assets": {10}, "folders": gone["folders"]})[
        "assets"
    ]
    third = read_state(db, "assets")
    assert third is not None and third["run_started"] > second
    assert rows[7]["deleted_at"] is None and rows[7]["last_seen"] == third["run_started"]
    assert rows[10]["deleted_at"] == second


def fail_after(sandbox: Sandbox, path: str, pages: int, retries: int = 3) -> None:
    """Answer the first `pages` requests to `path` normally, then fail the next page for good."""
    sandbox.faults.add(Fault.slow(0), path=path, times=pages)  # a zero delay: a normal answer
    sandbox.faults.add(Fault.status(500), path=path, times=retries + 1)


async def test_an_interrupted_run_resumes_and_still_marks_deletions(
    sandbox: Sandbox, make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(sandbox, page_concurrency=1)  # pages one at a time: faults hit page 4
    db, clock = tmp_path / "export.db", Clock()
    await harvest(client, db, clock, resources=["assets"], per_page=10)
    removed = sandbox.dataset["assets"].pop(99)  # on a page the interrupted run never reaches
    run = clock.advance(hours=1)
    fail_after(sandbox, "/api/assets", pages=3)

    with pytest.raises(ServerError):
        await harvest(client, db, clock, resources=["assets"], per_page=10)

    assert read_state(db, "assets") == {
        "resource": "assets",
        "run_started": run,
        "run_finished": None,
        "pages": 3,
        "items": 30,
        "next_token": "/api/assets?per_page=10&page=4",
        "page_size": None,  # an explicit per_page: nothing learned
    }
    assert sum(row["last_seen"] == run for row in read_rows(db, "assets").values()) == 30

    clock.advance(hours=1)
    before = len(sandbox.stats.requests)
    report = await harvest(client, db, clock, resources=["assets"], per_page=10)

    rows = assert_tables(db, served(sandbox, ["assets"]), {"assets": {removed["id"]}})["assets"]
    assert rows[removed["id"]]["deleted_at"] == run  # the resumed run's start, not the rerun's
    assert all(row["last_seen"] == run for row in rows.values() if not row["deleted_at"])
    assert report.resources["assets"].resumed
    state = read_state(db, "assets")
    assert state is not None and (state["pages"], state["items"]) == (12, 119)  # each page once
    listed = [r for r in sandbox.stats.requests[before:] if r.path == "/api/assets"]
    assert [r.query["page"] for r in listed] == [str(n) for n in range(4, 13)]


async def test_a_cancelled_harvest_leaves_whole_pages_and_resumes(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=300, latency=0.002)
    client = make_client(sandbox)
    db, clock = tmp_path / "export.db", Clock()
    cancelled = asyncio.Event()

    def cancel_after_two_pages(report: HarvestReport) -> None:
        if report.resources["assets"].pages >= 2 and not cancelled.is_set():
            cancelled.set()
            task.cancel()  # lands in whatever the harvest awaits next, a page commit included

    task = asyncio.create_task(
        harvest(client, db, clock, resources=["assets"], on_progress=cancel_after_two_pages)
    )
    with pytest.raises(asyncio.CancelledError):
        await task

    state = read_state(db, "assets")
    assert state is not None and state["run_finished"] is None
    rows = read_rows(db, "assets")
    assert len(rows) == state["items"] == 25 * state["pages"]  # whole pages, each with its state
    report = await harvest(client, db, clock, resources=["assets"])

    assert_tables(db, served(sandbox, ["assets"]))
    assert report.resources["assets"].items == 300


async def test_downloads_go_beside_the_database_and_complete_after_a_failure(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=20)
    client = make_client(sandbox, page_concurrency=1)
    db, clock = tmp_path / "export.db", Clock()
    fail_after(sandbox, "/api/assets", pages=1)
    with pytest.raises(ServerError):
        await harvest(client, db, clock, resources=["assets"], per_page=5, download=True)

    report = await harvest(client, db, clock, resources=["assets"], per_page=5, download=True)

    files = tmp_path / "export_files"
    assert sorted(int(path.name.split("-")[0]) for path in files.iterdir()) == list(range(1, 21))
    # The first page was stored before the failure: its files are queued again from the table.
    assert report.downloads.queued == 20
    assert report.downloads.downloaded + report.downloads.skipped == 20


async def test_an_item_without_an_id_is_left_out_with_a_warning(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    del sandbox.dataset["assets"][3]["id"]
    with caplog.at_level(logging.WARNING, logger="cliquify_async"):
        report = await harvest(client, tmp_path / "export.db", Clock(), resources=["assets"])

    assert "assets: an item with no usable id is left out" in caplog.text
    assert report.resources["assets"].done
    rows = read_rows(tmp_path / "export.db", "assets")
    assert sorted(rows) == [item["id"] for item in sandbox.items("/api/assets") if "id" in item]


async def test_a_database_of_one_account_refuses_another(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    first, second = await make_sandbox(rate_limit=None), await make_sandbox(rate_limit=None)
    db = tmp_path / "export.db"
    await harvest(make_client(first), db, Clock(), resources=["folders"])

    with pytest.raises(ConfigurationError, match="into another database"):
        await harvest(make_client(second), db, Clock(), resources=["folders"])

    assert_tables(db, served(first, ["folders"]))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database, but a text file " * 40, "not an SQLite database"),
        (None, "a database of something else"),
    ],
    ids=["text-file", "other-database"],
)
async def test_a_file_that_is_no_harvest_database_is_refused(
    client: CliquifyClient, tmp_path: Path, content: bytes | None, message: str
) -> None:
    db = tmp_path / "export.db"
    if content is None:
        connection = sqlite3.connect(db)
        connection.execute("CREATE TABLE notes (text)")
        connection.close()
    else:
        db.write_bytes(content)
    before = db.read_bytes()

    with pytest.raises(ConfigurationError, match=message):
        await harvest(client, db, Clock())

    assert db.read_bytes() == before


async def test_a_database_of_an_older_model_gains_its_new_columns_and_tables(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    db, clock = tmp_path / "export.db", Clock()
    await harvest(client, db, clock, resources=["assets"])
    connection = sqlite3.connect(db)
    connection.execute("ALTER TABLE assets DROP COLUMN thumbnail_url")
    connection.execute("DROP TABLE colors")
    connection.close()

    clock.advance(hours=1)
    await harvest(client, db, clock, resources=["assets", "colors"])

    assert_tables(db, served(sandbox, ["assets", "colors"]))


class MemorySink:
    """A sink of the test's own: pages and checkpoints in memory, no files."""

    files = None

    def __init__(self) -> None:
        self.source: dict[str, str] = {}
        self.items: dict[str, list[Any]] = {}
        self.checkpoints: dict[str, Checkpoint] = {}
        self.closed = False

    async def open(self, *, base_url: str, client_id: str) -> None:
        self.source = {"base_url": base_url, "client_id": client_id}
        self.closed = False

    async def start(self, name: str) -> Checkpoint:
        self.items.setdefault(name, [])
        return self.checkpoints.get(name, Checkpoint())

    async def stored(self, name: str) -> AsyncIterator[Any]:
        for item in self.items[name]:
            yield item

    async def write(self, name: str, items: Sequence[Any], checkpoint: Checkpoint) -> None:
        assert checkpoint.items == len(self.items[name]) + len(items)
        self.items[name].extend(items)
        self.checkpoints[name] = checkpoint

    async def aclose(self) -> None:
        self.closed = True


async def test_a_sink_of_your_own(sandbox: Sandbox, client: CliquifyClient) -> None:
    sink = MemorySink()

    await Harvester(client, sink, resources=["assets", "folders"], per_page=25).run()

    assert sink.items == served(sandbox, ["assets", "folders"])
    assert sink.checkpoints["assets"] == Checkpoint(items=120, pages=5, done=True)
    assert sink.source["base_url"] == sandbox.url and sink.closed
    before = len(sandbox.stats.requests)
    report = await Harvester(client, sink, resources=["assets"]).run()
    assert report.resources["assets"].done  # done, as this sink says: nothing listed again
    assert len(sandbox.stats.requests) == before
    with pytest.raises(ConfigurationError, match="no folder for files"):
        Harvester(client, sink, download=True)
