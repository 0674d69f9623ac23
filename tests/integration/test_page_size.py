"""`per_page="max"`: the largest page the server honours, asked for once per endpoint.

Three servers: one that clamps a too-large per_page to its maximum (and says so in the page),
one that answers it with a 422 naming the maximum, and one that ignores per_page entirely.
Each listing returns exactly the server's items, in items / size requests plus at most one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from cliquify_async import CliquifyClient, Harvester, SQLiteSink
from cliquify_async._endpoints import BY_NAME
from cliquify_async.sandbox import Sandbox
from tests.conftest import ClientFactory, SandboxFactory

ASSETS = 1200


def asset_requests(sandbox: Sandbox) -> list[str | None]:
    """The per_page of each /api/assets request the sandbox received, in order."""
    return [r.query.get("per_page") for r in sandbox.stats.requests if r.path == "/api/assets"]


@pytest.mark.parametrize(
    ("oversize", "size", "asked"),
    [
        ("clamp", 500, ["1000", "1000", "1000"]),  # the page says 500; its links keep 1000
        ("reject", 500, ["1000", "500", "500", "500"]),  # one 422, then the size it named
        ("ignore", 15, ["1000"] * 80),  # always its default of 15
    ],
)
async def test_per_page_max_pages_with_the_largest_size_the_server_honours(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    oversize: str,
    size: int,
    asked: list[str],
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, assets=ASSETS, max_per_page=500, per_page_oversize=oversize
    )
    client: CliquifyClient = make_client(sandbox)

    assets = await client.assets.list(per_page="max").collect()

    assert [a.id for a in assets] == [item["id"] for item in sandbox.items("/api/assets")]
    assert asset_requests(sandbox) == asked
    assert len(asset_requests(sandbox)) <= math.ceil(ASSETS / size) + 1
    # The size is kept for the client's life: the next listing asks for it straight away.
    sandbox.stats.reset()
    again = await client.assets.list(per_page="max").collect()
    assert len(again) == ASSETS
    assert asset_requests(sandbox) == [str(size)] * math.ceil(ASSETS / size)


async def test_an_explicit_per_page_keeps_its_meaning(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=ASSETS, max_per_page=500)
    client = make_client(sandbox)
    await client.assets.list(per_page="max").collect()
    sandbox.stats.reset()

    assert len(await client.assets.list(per_page=200).collect()) == ASSETS

    assert asset_requests(sandbox) == ["200"] * 6


@pytest.mark.parametrize("shape", ["flat", "simple", "cursor"])
async def test_every_pagination_shape_reports_the_size_used(
    make_sandbox: SandboxFactory, make_client: ClientFactory, shape: str
) -> None:
    sandbox = await make_sandbox(rate_limit=None, assets=ASSETS, max_per_page=400, pagination=shape)
    client = make_client(sandbox)

    assets = await client.assets.list(per_page="max").collect()

    assert len(assets) == ASSETS
    assert len(asset_requests(sandbox)) == 3
    assert client.learned_page_size(BY_NAME["assets"]) == 400


async def test_the_harvest_asks_for_the_largest_pages(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await rejecting_server(make_sandbox, 500)
    client = make_client(sandbox)

    report = await Harvester(client, str(tmp_path), resources=["assets"]).run()

    assert report.resources["assets"].items == ASSETS
    assert asset_requests(sandbox) == ["1000", "500", "500", "500"]


async def rejecting_server(make_sandbox: SandboxFactory, cap: int, **options: Any) -> Sandbox:
    """A sandbox of ASSETS assets that answers a per_page above `cap` with a 422."""
    return await make_sandbox(
        rate_limit=None, assets=ASSETS, max_per_page=cap, per_page_oversize="reject", **options
    )


async def harvest_assets(client: CliquifyClient, database: Path) -> int:
    """Harvest the assets into a SQLite database by a new client; how many were stored."""
    report = await Harvester(client, SQLiteSink(database), resources=["assets"]).run()
    return report.resources["assets"].items


async def test_a_later_harvest_asks_for_the_size_its_resume_state_learned(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    sandbox = await rejecting_server(make_sandbox, 500)
    await harvest_assets(make_client(sandbox), tmp_path / "export.db")
    first = len(asset_requests(sandbox))

    # A new client knows nothing; the database's state remembers the 500 the 422 named.
    assert await harvest_assets(make_client(sandbox), tmp_path / "export.db") == ASSETS

    assert asset_requests(sandbox)[first:] == ["500", "500", "500"]
    assert sandbox.stats.count("/api/assets", status=422) == 1  # the first harvest's probe


async def test_a_size_the_server_no_longer_takes_is_learned_again(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    first = await rejecting_server(make_sandbox, 500)
    await harvest_assets(make_client(first), tmp_path / "export.db")
    await first.aclose()
    # The same account at the same address, its cap since lowered to 200.
    second = await rejecting_server(
        make_sandbox,
        200,
        port=int(first.url.rsplit(":", 1)[1]),
        client_id=first.client_id,
        client_secret=first.client_secret,
    )

    assert await harvest_assets(make_client(second), tmp_path / "export.db") == ASSETS

    assert asset_requests(second) == ["500"] + ["200"] * math.ceil(ASSETS / 200)


@pytest.mark.parametrize("oversize", ["reject", "reject-between"])
async def test_a_harvest_of_every_endpoint_spends_one_refused_request_in_all(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Path, oversize: str
) -> None:
    sandbox = await make_sandbox(
        rate_limit=None, assets=ASSETS, max_per_page=500, per_page_oversize=oversize
    )
    client = make_client(sandbox)

    report = await Harvester(client, str(tmp_path)).run()

    assert len(report.resources) == len(BY_NAME)
    refused = [r for r in sandbox.stats.requests if r.status == 422]
    assert len(refused) == 1
    # Every endpoint then asks for the cap the refused one named, from its first page on.
    firsts: dict[str, str | None] = {}
    for request in sandbox.stats.requests:
        if request.path.startswith("/api/") and request.status == 200:
            firsts.setdefault(request.path, request.query.get("per_page"))
    assert set(firsts.values()) == {"500"}
    assert report.resources["assets"].items == ASSETS
