"""The `cliquify-async` command, run as a subprocess against a sandbox on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cliquify_async import JSONLinesSink, SQLiteSink
from cliquify_async.cli import output_sink
from cliquify_async.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.integration.test_harvest_sqlite import assert_tables, read_rows, read_state

RESOURCE_PATHS = {
    "templates": "/api/templates",
    "template_tags": "/api/tags",
    "folders": "/api/folders",
    "assets": "/api/assets",
    "asset_tags": "/api/assets/tags",
    "brand_kits": "/api/brand-kit",
    "logos": "/api/brand-kit/logos",
    "colors": "/api/brand-kit/colors",
}


def environment(sandbox: Sandbox | None, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIQUIFY_")}
    if sandbox is not None:
        env |= {
            "CLIQUIFY_BASE_URL": sandbox.url,
            "CLIQUIFY_CLIENT_ID": sandbox.client_id,
            "CLIQUIFY_CLIENT_SECRET": sandbox.client_secret,
        }
    return env | overrides


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cliquify_async",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(*args: str, env: dict[str, str], limit: float = 120) -> tuple[int, str, str]:
    process = await start(*args, env=env)
    out, err = await asyncio.wait_for(process.communicate(), limit)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_exact_dataset(out: Path, sandbox: Sandbox, names: list[str]) -> None:
    for name in names:
        assert read_jsonl(out / f"{name}.jsonl") == sandbox.items(RESOURCE_PATHS[name]), name


async def test_a_full_harvest_writes_exactly_the_dataset(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination="flat", assets=230)

    code, out, err = await run(
        "harvest", "--out", str(tmp_path), "--requests-per-minute", "6000", env=environment(sandbox)
    )

    assert code == 0, err
    assert_exact_dataset(tmp_path, sandbox, list(RESOURCE_PATHS))
    assert "Harvest summary" in out
    assert "assets" in out and "230" in out
    assert sandbox.stats.token_requests == 1


async def wait_until(ready: Callable[[], bool], what: str, limit: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while asyncio.get_running_loop().time() < deadline:
        if ready():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(what)


async def wait_for_pages(out: Path, name: str, pages: int, limit: float = 30) -> None:
    state = out / ".harvest" / f"{name}.json"
    await wait_until(
        lambda: state.exists() and json.loads(state.read_text())["pages"] >= pages,
        f"{name} never reached {pages} pages",
        limit,
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["crash", "ctrl-c"])
async def test_an_interrupted_harvest_resumes_to_the_exact_dataset(
    make_sandbox: SandboxFactory, tmp_path: Path, how: signal.Signals
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=600, latency=0.02)
    args = ("harvest", "--out", str(tmp_path), "--resources", "assets,folders")
    args += ("--requests-per-minute", "1200")

    process = await start(*args, env=environment(sandbox))
    await wait_for_pages(tmp_path, "assets", 2)
    process.send_signal(how)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    if how == signal.SIGINT:
        assert process.returncode == 130
        assert "rerun the same command to resume" in err.decode()
        assert "Traceback" not in err.decode()
        # Ctrl-C leaves the file valid up to the last completed page.
        state = json.loads((tmp_path / ".harvest" / "assets.json").read_text())
        assert len(read_jsonl(tmp_path / "assets.jsonl")) == state["items"]
    partial = len(read_jsonl(tmp_path / "assets.jsonl"))
    assert 0 < partial < 600

    code, _, err2 = await run(*args, env=environment(sandbox))

    assert code == 0, err2
    assert_exact_dataset(tmp_path, sandbox, ["assets", "folders"])


async def test_a_torn_last_page_is_cut_off_on_resume(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=600, latency=0.02)
    args = ("harvest", "--out", str(tmp_path), "--resources", "assets")
    args += ("--requests-per-minute", "1200")
    process = await start(*args, env=environment(sandbox))
    await wait_for_pages(tmp_path, "assets", 2)
    process.kill()
    await process.communicate()
    # A crash between writing a page and recording it leaves bytes past the recorded length.
    with (tmp_path / "assets.jsonl").open("ab") as torn:
        torn.write(b'{"id": 99999, "name": "half a pa')

    code, _, err = await run(*args, env=environment(sandbox))

    assert code == 0, err
    assert_exact_dataset(tmp_path, sandbox, ["assets"])


def committed_pages(db: Path, name: str) -> int:
    """Pages of `name` a harvest has committed to `db` so far (0 before the tables exist)."""
    try:
        state = read_state(db, name)
    except sqlite3.OperationalError:  # no file or no tables yet, or the first commit under way
        return 0
    return 0 if state is None else int(state["pages"])


async def test_a_killed_sqlite_harvest_resumes_then_updates_row_by_row(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=600, latency=0.02)
    db = tmp_path / "export.db"
    args = ("harvest", "--out", str(db), "--resources", "assets,folders")
    args += ("--requests-per-minute", "1200")
    names = ["assets", "folders"]

    def served() -> dict[str, list[Any]]:
        return {name: sandbox.items(RESOURCE_PATHS[name]) for name in names}

    process = await start(*args, env=environment(sandbox))
    await wait_until(lambda: committed_pages(db, "assets") >= 2, "assets never reached 2 pages")
    process.kill()
    await process.communicate()
    killed = read_state(db, "assets")
    assert killed is not None and killed["run_finished"] is None
    assert len(read_rows(db, "assets")) == killed["items"] < 600  # whole pages, as recorded

    code, out, err = await run(*args, env=environment(sandbox))

    assert code == 0, err
    assert f"Output: {db}" in " ".join(out.split())
    first = assert_tables(db, served())
    state = read_state(db, "assets")
    assert state is not None and state["run_finished"] is not None
    # One run across the kill, each page stored once: it went on from the recorded page.
    assert (state["run_started"], state["items"]) == (killed["run_started"], 600)
    assert {row["first_seen"] for row in first["assets"].values()} == {killed["run_started"]}

    # The account changes, and the same command brings the database up to date.
    assets = sandbox.dataset["assets"]
    assets[0] = dict(assets[0], name="renamed.png")
    removed = assets.pop(300)
    assets.append(dict(assets[1], id=5000, name="added.png"))
    code, _, err = await run(*args, env=environment(sandbox))

    assert code == 0, err
    rows = assert_tables(db, served(), {"assets": {removed["id"]}})["assets"]
    state = read_state(db, "assets")
    assert state is not None and state["run_started"] > killed["run_started"]
    assert rows[removed["id"]]["deleted_at"] == state["run_started"]
    assert rows[5000]["first_seen"] == state["run_started"]
    assert rows[1]["name"] == "renamed.png" and rows[1]["first_seen"] == killed["run_started"]


@pytest.mark.parametrize(
    ("out", "output_format", "kind"),
    [
        ("export", None, JSONLinesSink),
        ("export.db", None, SQLiteSink),
        ("export.SQLite3", None, SQLiteSink),
        ("export", "sqlite", SQLiteSink),
        ("export.db", "jsonl", JSONLinesSink),
    ],
)
def test_the_output_is_sqlite_for_a_database_suffix_unless_a_format_is_named(
    out: str, output_format: str | None, kind: type
) -> None:
    assert isinstance(output_sink(Path(out), output_format), kind)


async def test_downloads_are_byte_identical_and_never_carry_the_token(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=30)
    args = ("harvest", "--out", str(tmp_path), "--resources", "assets", "--download")

    code, out, err = await run(*args, env=environment(sandbox))

    assert code == 0, err
    files = tmp_path / "files"
    assets = sandbox.items("/api/assets")
    async with aiohttp.ClientSession() as session:
        for asset in assets:
            matches = list(files.glob(f"{asset['id']}-*"))
            assert len(matches) == 1, asset["id"]
            async with session.get(asset["url"]) as response:
                assert matches[0].read_bytes() == await response.read()
    assert not list(files.glob("*.part"))
    file_requests = [r for r in sandbox.stats.requests if r.path.startswith("/files/")]
    assert len(file_requests) >= len(assets)
    assert not any(r.has_authorization for r in file_requests)

    # A rerun of a finished folder does not list the assets again, so it asks the host
    # whether each file changed (a conditional GET) and downloads none that did not.
    before = len(sandbox.stats.requests)
    code, out, err = await run(*args, env=environment(sandbox))
    assert code == 0, err
    again = [r for r in sandbox.stats.requests[before:] if r.path.startswith("/files/")]
    assert len(again) == len(assets)
    assert all(r.status == 304 and "If-None-Match" in r.file_headers for r in again)
    assert sandbox.stats.bytes_sent() == sum(r.body_bytes for r in file_requests)
    summary = " ".join(out.split())
    assert f"{len(assets)} already complete ({len(assets)} asked the host)" in summary


@pytest.mark.parametrize(
    ("options", "env_overrides", "code", "message"),
    [
        ({}, {"CLIQUIFY_CLIENT_SECRET": ""}, 3, "CLIQUIFY_CLIENT_SECRET"),
        ({}, {"CLIQUIFY_CLIENT_SECRET": "wrong"}, 4, "Client authentication failed"),
        ({"enterprise_active": False}, {}, 5, "Inactive enterprise"),
        ({"company_exists": False}, {}, 6, "Company not found"),
    ],
    ids=["missing-credential", "wrong-credentials", "inactive-enterprise", "no-company"],
)
async def test_errors_end_in_one_line_and_a_distinct_exit_code(
    make_sandbox: SandboxFactory,
    tmp_path: Path,
    options: dict[str, Any],
    env_overrides: dict[str, str],
    code: int,
    message: str,
) -> None:
    sandbox = await make_sandbox(rate_limit=None, **options)

    result, _, err = await run(
        "harvest", "--out", str(tmp_path), env=environment(sandbox, **env_overrides)
    )

    assert result == code
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert "wrong" not in err and sandbox.client_secret not in err


async def test_token_introspect_and_revoke(sandbox: Sandbox) -> None:
    code, out, err = await run("token", "introspect", env=environment(sandbox))
    assert code == 0, err
    info = json.loads(out)
    assert info["active"] is True
    assert info["client_id"] == sandbox.client_id
    # The command sends the token only in POST bodies, which the sandbox does not record,
    # so look for what every sandbox token starts with: its JWT header.
    assert "eyJ0eXAiOiJKV1Qi" not in out + err

    code, out, err = await run("token", "revoke", env=environment(sandbox))
    assert code == 0, err
    assert "revoked" in out


async def test_the_demo_harvests_the_builtin_sandbox_without_credentials(tmp_path: Path) -> None:
    code, out, err = await run("demo", "--out", str(tmp_path), env=environment(None))

    assert code == 0, err
    assert "Harvest summary" in out
    assert len(read_jsonl(tmp_path / "assets.jsonl")) == 3000
    assert "0 rate-limited" in " ".join(out.split())


async def test_a_folder_of_one_account_refuses_another(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    first = await make_sandbox(rate_limit=None)
    second = await make_sandbox(rate_limit=None)
    args = ("harvest", "--out", str(tmp_path), "--resources", "folders")
    code, _, err = await run(*args, env=environment(first))
    assert code == 0, err

    code, _, err = await run(*args, env=environment(second))

    assert code == 3
    assert "into another folder" in err
    assert read_jsonl(tmp_path / "folders.jsonl") == first.items("/api/folders")


async def test_token_commands_act_on_a_token_from_a_file(sandbox: Sandbox, tmp_path: Path) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sandbox.url}/oauth/access-token",
            json={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
        ) as response,
    ):
        other = (await response.json())["token"]["access_token"]
    token_file = tmp_path / "token"
    token_file.write_text(other + "\n")

    code, out, err = await run(
        "token", "revoke", "--token-file", str(token_file), env=environment(sandbox)
    )
    assert code == 0, err
    code, out, err = await run(
        "token", "introspect", "--token-file", str(token_file), env=environment(sandbox)
    )
    assert code == 0, err
    assert json.loads(out)["active"] is False
    assert other not in out


async def test_invalid_options_end_in_one_line_without_a_traceback() -> None:
    code, _, err = await run("sandbox", "--pagination", "bogus", env=environment(None))
    assert code == 2
    assert "unknown shape 'bogus'" in err
    assert "Traceback" not in err


async def test_unknown_resources_are_a_usage_error(sandbox: Sandbox, tmp_path: Path) -> None:
    code, _, err = await run(
        "harvest",
        "--out",
        str(tmp_path),
        "--resources",
        "assets,logos,nope",
        env=environment(sandbox),
    )
    assert code == 2
    assert "unknown resources nope; choose from" in err
    assert sandbox.stats.requests == []  # refused before anything was sent
