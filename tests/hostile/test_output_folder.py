"""The output folder: nothing written through a symlink the harvest did not create, and a
second live harvest into the same output refused (an OS lock that dies with its holder)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from cliquify_async import (
    CliquifyClient,
    Harvester,
    OutputError,
    OutputLockedError,
    SQLiteSink,
)
from cliquify_async._harvest.names import file_name
from cliquify_async.sandbox import Sandbox
from tests.cli.test_cli import environment, run
from tests.conftest import ClientFactory, SandboxFactory

SECRET = b"outside the output: must stay as it is"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the output that a planted symlink points at."""
    path = tmp_path / "elsewhere" / "victim"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def untouched(victim: Path) -> bool:
    """Whether the file outside the output still holds what it held."""
    return victim.read_bytes() == SECRET


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


async def test_a_symlink_planted_at_a_part_file_is_replaced_never_followed(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path, victim: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=3)
    out = tmp_path / "out"
    names = [file_name(asset) for asset in sandbox.items("/api/assets")]
    for name in names:
        plant(out / "files" / f".{name}.part", victim)

    report = await Harvester(make_client(sandbox), out, resources=["assets"], download=True).run()

    assert untouched(victim)
    assert report.downloads.downloaded == 3
    assert sorted(path.name for path in (out / "files").iterdir()) == sorted(names)
    assert not any(path.is_symlink() for path in (out / "files").iterdir())


@pytest.mark.parametrize(
    "planted",
    ["assets.jsonl", ".harvest/assets.json", ".harvest/lock", ".harvest/source.json", ".harvest"],
)
async def test_a_symlink_at_the_jsonl_state_or_lock_is_refused(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path, victim: Path, planted: str
) -> None:
    out = tmp_path / "out"
    plant(out / planted, victim.parent if planted == ".harvest" else victim)

    with pytest.raises(OutputError, match=r"symlink|link the harvest did not create"):
        await Harvester(client, out, resources=["assets"]).run()

    assert untouched(victim)
    assert os.listdir(victim.parent) == ["victim"]  # nothing was created beside it


async def test_a_symlink_at_a_temporary_state_file_is_replaced_never_followed(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "out"
    plant(out / ".harvest" / ".assets.json.tmp", victim)

    await Harvester(client, out, resources=["assets"], per_page=50).run()

    assert untouched(victim)
    lines = (out / "assets.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == sandbox.items("/api/assets")


async def test_a_symlink_at_a_final_file_fails_that_file_only(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path, victim: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=4)
    out = tmp_path / "out"
    planted = sandbox.items("/api/assets")[1]
    plant(out / "files" / file_name(planted), victim)

    report = await Harvester(make_client(sandbox), out, resources=["assets"], download=True).run()

    assert untouched(victim)
    assert (report.downloads.downloaded, report.downloads.failed) == (3, 1)
    assert [(f.item, "symlink" in f.reason) for f in report.failures] == [
        (f"item (id {planted['id']})", True)
    ]


@pytest.mark.parametrize("planted", ["export.db", "export.db-wal", "export.db.lock"])
async def test_a_symlink_at_the_database_its_journal_or_lock_is_refused(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path, victim: Path, planted: str
) -> None:
    plant(tmp_path / "out" / planted, victim)

    with pytest.raises(OutputError):
        await Harvester(client, SQLiteSink(tmp_path / "out" / "export.db")).run()

    assert untouched(victim)


async def test_a_hard_link_at_the_jsonl_is_refused(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "assets.jsonl").hardlink_to(victim)

    with pytest.raises(OutputError, match="link the harvest did not create"):
        await Harvester(client, out, resources=["assets"]).run()

    assert untouched(victim)


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
async def test_two_harvests_at_once_into_one_output_run_one(
    sandbox: Sandbox, make_client: ClientFactory, tmp_path: Path, kind: str
) -> None:
    def output() -> Path | SQLiteSink:
        return tmp_path / "out" if kind == "jsonl" else SQLiteSink(tmp_path / "out.db")

    harvests = [
        Harvester(make_client(sandbox), output(), resources=["assets"], per_page=10)
        for _ in range(2)
    ]

    results = await asyncio.gather(*(h.run() for h in harvests), return_exceptions=True)

    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], OutputLockedError)
    assert "in use by another harvest" in str(refused[0])
    expected = sandbox.items("/api/assets")
    if kind == "jsonl":
        lines = (tmp_path / "out" / "assets.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == expected  # each item once
    else:
        with sqlite3.connect(tmp_path / "out.db") as db:
            assert db.execute("SELECT count(*) FROM assets").fetchone()[0] == len(expected)
    # Once the winner is done the lock is free again.
    again = await Harvester(make_client(sandbox), output(), resources=["assets"]).run()
    assert again.resources["assets"].done


HOLD_LOCK = """
import sys, time
from pathlib import Path
from cliquify_async._disk import OutputLock
OutputLock(Path(sys.argv[1]), "test").acquire()
print("held", flush=True)
time.sleep(600)
"""


async def test_the_cli_refuses_a_held_output_in_one_line_and_goes_on_once_its_holder_dies(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / ".harvest").mkdir(parents=True)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK,
        str(out / ".harvest" / "lock"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 60) == b"held\n"
    args = ("harvest", "--out", str(out), "--resources", "folders")

    code, _, err = await run(*args, env=environment(sandbox))

    assert code == 7
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("cliquify-async: OutputLockedError:")
    assert "Traceback" not in err

    holder.kill()  # a crash: the OS drops the lock with its holder
    await holder.wait()
    code, _, err = await run(*args, env=environment(sandbox))
    assert code == 0, err
    lines = (out / "folders.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == sandbox.items("/api/folders")


async def test_the_cli_names_failed_items_and_exits_1_without_a_traceback(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.dataset["assets"].insert(2, "\ud800 not an object \x1b[2J")  # type: ignore[arg-type]
    sandbox.dataset["assets"][0]["name"] = "\ud800"
    args = ("harvest", "--out", str(tmp_path / "x.db"), "--resources", "assets")

    code, out, err = await run(*args, env=environment(sandbox))

    assert code == 1, err
    assert "Traceback" not in err + out
    assert "failed: assets item 3: not stored: an item that is not an object" in out
    assert "\x1b" not in out
