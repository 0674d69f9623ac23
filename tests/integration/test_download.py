"""client.download of a file under /api/: the token and the gate, but sent as a download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from cliquify_async import CliquifyClient
from tests.conftest import serving

PAYLOAD = b"file" * 1500


@pytest.fixture
async def file_api() -> AsyncIterator[tuple[str, list[tuple[str, str | None, str | None]]]]:
    """A minimal API on 127.0.0.1: a token endpoint, and an /api/ file that redirects to its
    storage. Yields its base URL and each request's (path, Accept, Authorization)."""
    seen: list[tuple[str, str | None, str | None]] = []

    async def record(request: web.Request) -> None:
        seen.append(
            (request.path, request.headers.get("Accept"), request.headers.get("Authorization"))
        )

    async def token(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"access_token": "t0k3n", "expires_in": 3600})

    async def api_file(request: web.Request) -> web.Response:
        await record(request)
        raise web.HTTPFound("/storage/report.pdf")

    async def storage(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=PAYLOAD, content_type="application/pdf")

    app = web.Application()
    app.router.add_post("/oauth/access-token", token)
    app.router.add_get("/api/files/report.pdf", api_file)
    app.router.add_get("/storage/report.pdf", storage)
    async with serving(app) as base_url:
        yield base_url, seen


async def test_an_api_file_is_fetched_as_a_download_with_the_token(
    file_api: tuple[str, list[tuple[str, str | None, str | None]]], tmp_path: Path
) -> None:
    base_url, seen = file_api
    async with CliquifyClient(
        "id", "secret", base_url=base_url, requests_per_minute=None
    ) as client:
        written = await client.download(f"{base_url}/api/files/report.pdf", tmp_path / "r.pdf")

    assert written == len(PAYLOAD)
    assert (tmp_path / "r.pdf").read_bytes() == PAYLOAD
    api = [entry for entry in seen if entry[0].startswith("/api/")]
    assert api == [("/api/files/report.pdf", "*/*", "Bearer t0k3n")]  # not Accept: JSON
    assert [entry[0] for entry in seen][-1] == "/storage/report.pdf"  # the redirect followed
