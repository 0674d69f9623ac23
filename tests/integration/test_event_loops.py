"""A client belongs to the event loop it was opened on: used from another (two asyncio.run
calls), it raises a typed error naming both loops, and leaves nothing unclosed behind."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import asyncio, gc
from cliquify_async import CliquifyClient, EventLoopError
from cliquify_async.pytest_plugin import threaded_sandbox

with threaded_sandbox(rate_limit=None) as sandbox:
    client = CliquifyClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url)

    async def folders():
        return len(await client.folders.list().collect())

    print("first loop:", asyncio.run(folders()))  # never closed: the loop's end closes it
    try:
        asyncio.run(folders())
    except EventLoopError as exc:
        print("second loop:", type(exc).__name__, exc)
    asyncio.run(client.aclose())
    del client
    gc.collect()
print("done")
"""


def in_dev_mode(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a Python of its own in dev mode, ResourceWarnings made errors."""
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code],
        env={**os.environ, "PYTHONWARNINGS": "always"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_second_event_loop_gets_a_typed_error_and_no_resource_warning() -> None:
    done = in_dev_mode(SCRIPT)

    lines = done.stdout.splitlines()
    assert lines[0] == "first loop: 8"
    assert lines[1].startswith("second loop: EventLoopError this CliquifyClient was opened on ")
    assert "(now closed)" in lines[1]
    assert lines[-1] == "done"
    assert "Unclosed" not in done.stderr and "ResourceWarning" not in done.stderr, done.stderr


DROPPED = """
import asyncio, gc
from cliquify_async import CliquifyClient
from cliquify_async.pytest_plugin import threaded_sandbox

with threaded_sandbox(rate_limit=None) as sandbox:

    async def main():
        for _ in range(20):  # used, never closed, dropped: the loop's end closes each session
            client = CliquifyClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url)
            await client.folders.list().collect()
            del client
            gc.collect()
        return "listed"

    print(asyncio.run(main()))
gc.collect()
"""


def test_clients_dropped_unclosed_leave_no_task_or_session_behind() -> None:
    done = in_dev_mode(DROPPED)
    assert done.stdout.strip() == "listed"
    for trace in ("Task was destroyed", "Unclosed", "ResourceWarning"):
        assert trace not in done.stderr, done.stderr
