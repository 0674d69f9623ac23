"""Every script in examples/ runs against a sandbox on loopback, so an example that breaks
fails CI.

Each example runs as a subprocess, as a reader would run it: with `--sandbox` (a sandbox of its
own), and with the CLIQUIFY_* variables pointing at a sandbox served by this test, which lets
the test compare what the example printed or wrote with the sandbox's own data.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Fault, Sandbox, SandboxConfig
from tests.conftest import SandboxFactory
from tests.integration.test_doctor import without_expires_in
from tests.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 60.0

# The sandbox this test serves announces 600 requests per 60 s window; the examples' clients
# start at the documented 60 per minute and learn the higher limit from the first response's
# X-RateLimit-Limit, so they run at ten requests a second.
SERVED = {"rate_limit": 600, "rate_window": 60.0}


def environment(sandbox: Sandbox | None = None) -> dict[str, str]:
    """This process's environment without CLIQUIFY_* (or with them naming `sandbox`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIQUIFY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if sandbox is not None:
        env |= {
            "CLIQUIFY_BASE_URL": sandbox.url,
            "CLIQUIFY_CLIENT_ID": sandbox.client_id,
            "CLIQUIFY_CLIENT_SECRET": sandbox.client_secret,
        }
    return env


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",  # the examples must not warn either
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(
    script: str, *args: str, sandbox: Sandbox | None = None, expect: int = 0
) -> tuple[str, str]:
    """Run examples/`script`; assert its exit status; return its stdout and stderr."""
    process = await start(str(EXAMPLES / script), *args, env=environment(sandbox))
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    assert process.returncode == expect, f"exit {process.returncode}\n{out.decode()}{err.decode()}"
    return out.decode(), err.decode()


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def default_counts() -> dict[str, int]:
    """Items per resource in a Sandbox() with the default sizes."""
    c = SandboxConfig()
    return {
        "templates": c.templates,
        "template_tags": c.template_tags,
        "folders": c.folders,
        "assets": c.assets,
        "asset_tags": c.asset_tags,
        "brand_kits": c.brand_kits,
        "logos": c.brand_kits * c.logos_per_kit,
        "colors": c.brand_kits * c.colors_per_kit,
    }


# --- first_call.py --------------------------------------------------------------------------------


async def test_first_call_with_its_own_sandbox() -> None:
    out, _ = await run("first_call.py", "--sandbox")

    assert "introspect: active=True scopes=profile:read," in out
    assert f"folders: {SandboxConfig().folders}\n" in out
    assert len(re.findall(r"^  asset \d+ in folder 1: ", out, re.MULTILINE)) == 5
    assert "templates page 1/2: 25 of 40\ntemplates page 2/2: 15 of 40\n" in out
    assert out.rstrip().endswith(", 1 for the token")


async def test_first_call_with_the_cliquify_variables(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(templates=60, **SERVED)

    out, _ = await run("first_call.py", sandbox=sandbox)

    folders = sandbox.items("/api/folders")
    assert f"folders: {len(folders)}\n" in out
    first_assets = sandbox.items("/api/assets", folder_id=folders[0]["id"])[:5]
    shown = re.findall(r"^  asset (\d+) in folder", out, re.MULTILINE)
    assert shown == [str(asset["id"]) for asset in first_assets]
    assert "templates page 3/3: 10 of 60\n" in out
    assert sandbox.stats.token_requests == 1


async def test_first_call_with_a_token_that_gives_no_lifetime(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(**SERVED)
    await without_expires_in(sandbox)

    out, _ = await run("first_call.py", sandbox=sandbox)

    assert out.startswith("token: Bearer, no expiry given\n")


# --- harvest_to_jsonl.py --------------------------------------------------------------------------


async def test_harvest_to_jsonl_with_downloads(tmp_path: Path) -> None:
    out, _ = await run("harvest_to_jsonl.py", "--sandbox", "--download", "--out", str(tmp_path))

    for name, count in default_counts().items():
        items = read_jsonl(tmp_path / f"{name}.jsonl")
        assert len({item["id"] for item in items}) == len(items) == count, name
        assert f"{name}.jsonl: {count} lines\n" in out
    assets = default_counts()["assets"]
    assert f"files: {assets} downloaded, 0 already there, 0 failed" in out
    assert len(list((tmp_path / "files").iterdir())) == assets


async def test_harvest_to_jsonl_resumes_after_a_failure(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await make_sandbox(assets=250, **SERVED)
    # The first page of assets fails more often than the client retries.
    sandbox.faults.add(Fault.status(503, retry_after=0), path="/api/assets", times=4)
    harvest = ("harvest_to_jsonl.py", "--out", str(tmp_path), "--resources", "assets,folders")

    _, err = await run(*harvest, sandbox=sandbox, expect=1)
    assert "harvest stopped: ServerError" in err
    out, _ = await run(*harvest, sandbox=sandbox)

    # Every item exactly once, in order, across the two runs.
    assert read_jsonl(tmp_path / "assets.jsonl") == sandbox.items("/api/assets")
    assert read_jsonl(tmp_path / "folders.jsonl") == sandbox.items("/api/folders")
    assert "  assets: done (250 items in 3 pages)" in out


# --- aiohttp_app.py and fastapi_app.py ------------------------------------------------------------

WEB_APPS = ["aiohttp_app.py", "fastapi_app.py"]


@pytest.mark.parametrize("script", WEB_APPS)
async def test_web_app_with_its_own_sandbox(script: str) -> None:
    out, _ = await run(script, "--sandbox")

    assert out.splitlines() == [
        f"GET /folders -> 200: {SandboxConfig().folders} folders",
        "GET /folders/1/assets?limit=3 -> 200: 3 assets",
        "10 concurrent GET /folders -> [200], 1 token request in all",
        "GET /folders when rate limited -> 503, retry after 300",
        "shut down; the client is closed: True",
    ]


@pytest.mark.parametrize("script", WEB_APPS)
async def test_web_app_with_the_cliquify_variables(
    make_sandbox: SandboxFactory, script: str
) -> None:
    sandbox = await make_sandbox(**SERVED)

    out, _ = await run(script, sandbox=sandbox)

    assert f"GET /folders -> 200: {len(sandbox.items('/api/folders'))} folders\n" in out
    assert "10 concurrent GET /folders -> [200], 1 token request in all\n" in out
    assert out.endswith("shut down; the client is closed: True\n")
    assert sandbox.stats.token_requests == 1


async def test_aiohttp_app_serves_until_interrupted(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(**SERVED)
    port = free_port()
    server = await start(
        str(EXAMPLES / "aiohttp_app.py"), "--serve", "--port", str(port), env=environment(sandbox)
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for _ in range(200):  # until it listens: at most 10 s
                try:
                    async with http.get("/folders") as response:
                        folders = await response.json()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("the aiohttp example never started listening")
        assert response.status == 200
        assert [f["id"] for f in folders] == [f["id"] for f in sandbox.items("/api/folders")]
    finally:
        server.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down gracefully
        _, err = await asyncio.wait_for(server.communicate(), TIMEOUT)
    assert server.returncode == 0, err.decode()


# --- multiprocess_harvest.py ---------------------------------------------------------------------


async def test_multiprocess_harvest_shares_one_budget(own_redis: RedisServer) -> None:
    out, _ = await run(
        "multiprocess_harvest.py",
        "--sandbox",
        "--workers",
        "2",
        "--per-page",
        "50",
        "--redis-url",
        own_redis.url,
    )

    workers = re.findall(r"^worker \d+: .*?, (\d+) assets,", out, re.MULTILINE)
    assert len(workers) == 2
    assert sum(map(int, workers)) == 600  # the example's sandbox holds 600 assets
    assert "sandbox saw 1 token request(s)" in out
    assert " 0 429s" in out


# --- sandbox_fixture_example.py -------------------------------------------------------------------


async def test_sandbox_fixture_example_passes_under_pytest() -> None:
    process = await start(
        "-m",
        "pytest",
        str(EXAMPLES / "sandbox_fixture_example.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # not needed there; saves a second of start-up
        env=environment(),
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert process.returncode == 0, out.decode() + err.decode()
    assert re.search(r"\b4 passed\b", out.decode())


# --- service_calls.py -----------------------------------------------------------------------------


async def test_service_calls_with_its_own_sandbox() -> None:
    out, _ = await run("service_calls.py", "--sandbox")

    assert re.search(r"^folders: 8 \(status 200, request id [0-9a-f]{32}\)$", out, re.MULTILINE)
    assert re.search(r"^budget: \d+ of 10 left in this window$", out, re.MULTILINE)
    assert re.search(r"^deadline: 0\.05 s, 0\.0\d s of it at the gate$", out, re.MULTILINE)
    assert out.rstrip().endswith("bulk: 400 assets")


# --- tracing.py -----------------------------------------------------------------------------------


async def test_tracing_prints_a_call_span_with_an_attempt_span_each() -> None:
    out, _ = await run("tracing.py", "--sandbox")

    assert out.splitlines() == [
        "assets: 30",
        "  CLIENT   GET /api/assets page=1 status=429",
        "  CLIENT   GET /api/assets page=1 status=200",
        "INTERNAL GET /api/assets page=1 status=",
        "  CLIENT   GET /api/assets page=2 status=200",
        "INTERNAL GET /api/assets page=2 status=",
        "cliquify.rate_limited: 1",
        "cliquify.requests: 3",
    ]


# --- behind_a_proxy.py ----------------------------------------------------------------------------


async def test_behind_a_proxy_sends_every_request_through_it() -> None:
    out, _ = await run("behind_a_proxy.py", "--sandbox")

    assert out.splitlines() == [
        f"folders: {SandboxConfig().folders}",
        "through the proxy: /oauth/access-token, /api/folders",
    ]
