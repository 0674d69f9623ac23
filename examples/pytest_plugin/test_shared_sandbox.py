"""One sandbox for every test of a module: bigger data generated once, a client per test.

Assigning `sandbox_fixture(scope=...)` to `cliquify_sandbox` replaces the per-test sandbox in
this module (in a conftest.py: in its directory); `cliquify_client` follows it. The sandbox
serves from a thread of its own, so this works whatever loop each test runs in. A shared
sandbox keeps its faults, records and data from test to test: reset what a test relies on.
"""

from __future__ import annotations

import pytest

from cliquify_async import CliquifyClient
from cliquify_async.pytest_plugin import sandbox_fixture
from cliquify_async.sandbox import Sandbox

cliquify_sandbox = sandbox_fixture(scope="module", assets=1000)
pytestmark = pytest.mark.cliquify_sandbox(templates=5)  # the module's marker applies too


async def test_pages_of_a_large_listing(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    cliquify_sandbox.stats.reset()

    assets = await cliquify_client.assets.list(per_page=100).collect()

    assert [a.id for a in assets] == [item["id"] for item in cliquify_sandbox.items("/api/assets")]
    assert cliquify_sandbox.stats.count("/api/assets") == 10


async def test_filters_the_same_data(
    cliquify_sandbox: Sandbox, cliquify_client: CliquifyClient
) -> None:
    in_folder = await cliquify_client.assets.list(folder_id=3).collect()

    assert len(in_folder) == len(cliquify_sandbox.items("/api/assets", folder_id=3))
    assert len(await cliquify_client.templates.list().collect()) == 5
