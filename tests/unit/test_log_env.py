"""CLIQUIFY_LOG turns the SDK's logging on for a quick look, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import asyncio
from cliquify_async import CliquifyClient
from cliquify_async.sandbox import Sandbox

async def main():
    async with Sandbox(rate_limit=None) as sandbox, CliquifyClient(
        sandbox.client_id, sandbox.client_secret, base_url=sandbox.url
    ) as client:
        await client.folders.list().collect()

asyncio.run(main())
"""


def run(value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CLIQUIFY_LOG"}
    if value is not None:
        env["CLIQUIFY_LOG"] = value
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_debug_shows_each_request_on_stderr() -> None:
    err = run("debug")
    assert "DEBUG cliquify_async.transport: GET http://127.0.0.1:" in err
    assert "/api/folders" in err


@pytest.mark.parametrize("value", [None, ""])
def test_unset_leaves_logging_silent(value: str | None) -> None:
    assert run(value) == ""


def test_a_value_it_does_not_know_is_said_once() -> None:
    err = run("loud\x1b[31m")
    assert err.count("CLIQUIFY_LOG") == 1
    assert "\x1b" not in err
