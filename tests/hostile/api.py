"""A small API on loopback whose /api/assets answers are the test's to choose, one per call,
then a normal page: enough to show a typed error, then the same client listing as before."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from cliquify_async import CliquifyClient
from cliquify_async.pytest_plugin import fast_retries
from tests.conftest import serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLIENT_ID = "hostile-client"
CLIENT_SECRET = "hostile-secret-0123456789"
TOKEN = "hostile-token-abcdefghij"
NORMAL_PAGE: dict[str, Any] = {"data": [{"id": 1, "name": "a.png"}, {"id": 2, "name": "b.png"}]}


class HostileAPI:
    """Serves the token, then each queued handler for one /api/assets call, then NORMAL_PAGE."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[web.Request] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/access-token", self._token)
        app.router.add_get("/api/assets", self._assets)
        return app

    async def _token(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        )

    async def _assets(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        if self.answers:
            return await self.answers.pop(0)(request)
        return web.json_response(NORMAL_PAGE)


@contextlib.asynccontextmanager
async def hostile_client(api: HostileAPI, **options: Any) -> AsyncIterator[CliquifyClient]:
    """A client of `api` on loopback: no rate gate, no retries unless asked."""
    options.setdefault("requests_per_minute", None)
    options.setdefault("max_retries", fast_retries(0))
    async with (
        serving(api.app()) as url,
        CliquifyClient(CLIENT_ID, CLIENT_SECRET, base_url=url, **options) as client,
    ):
        yield client


async def lists_normally(client: CliquifyClient) -> None:
    """The client's next listing is the normal page, as if nothing had happened."""
    assets = await client.assets.list().collect()
    assert [asset.id for asset in assets] == [1, 2]
