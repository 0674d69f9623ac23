"""A harvest killed (SIGKILL) while its files are half written, then run again: the second
run costs the host only the bytes still missing, and every file ends exact."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from cliquify_async._harvest.names import file_name
from cliquify_async.sandbox._dataset import file_bytes
from tests.cli.test_cli import environment, run, start
from tests.conftest import SandboxFactory

FILES = 4
SIZE = 1_000_000
ALLOWANCE = 16 * 1024  # bytes: at most a write buffer's worth more than missing


async def parts_when_half_written(folder: Path, limit: float = 30) -> dict[str, int]:
    """The `.part` files' sizes once every file has a part of at least a fifth of its size."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        parts = {path.name: path.stat().st_size for path in folder.glob(".*.part")}
        if len(parts) == FILES and min(parts.values()) >= SIZE // 5:
            return parts
        await asyncio.sleep(0.02)
    raise AssertionError(f"the files never got half written: {parts}")


async def test_a_killed_harvest_resumes_its_files_from_the_bytes_on_disk(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, assets=FILES, asset_file_size=SIZE, file_bandwidth=SIZE / 2
    )
    args = ("harvest", "--out", str(tmp_path), "--resources", "assets", "--download")
    folder = tmp_path / "files"

    process = await start(*args, "--concurrency", str(FILES), env=environment(sandbox))
    try:
        await parts_when_half_written(folder)
        process.send_signal(signal.SIGKILL)
    finally:
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    kept = sum(path.stat().st_size for path in folder.glob(".*.part"))
    assert SIZE // 5 * FILES <= kept < SIZE * FILES
    for _ in range(1000):  # the cut answers are recorded as they end
        if sandbox.stats.count("/files/") == FILES:
            break
        await asyncio.sleep(0.01)
    before = len(sandbox.stats.requests)

    code, out, err = await run(*args, env=environment(sandbox))

    assert code == 0, err
    again = [r for r in sandbox.stats.requests[before:] if r.path.startswith("/files/")]
    missing = SIZE * FILES - kept
    assert missing <= sum(r.body_bytes for r in again) <= missing + ALLOWANCE
    assert all(r.status == 206 and r.file_headers["Range"].startswith("bytes=") for r in again)
    assert f"{FILES} resumed ({kept:,} bytes kept)" in " ".join(out.split())
    for asset in sandbox.items("/api/assets"):  # read from the sandbox, not its slow host
        served = file_bytes(asset["url"].removeprefix(sandbox.url), SIZE)
        assert (folder / file_name(asset)).read_bytes() == served
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        file_name(asset) for asset in sandbox.items("/api/assets")
    )
