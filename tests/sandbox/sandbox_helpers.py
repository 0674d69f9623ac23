"""Helpers for talking to the sandbox with a plain aiohttp session, as any client would."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from cliquify_async.sandbox import Sandbox


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def issue_token(http: aiohttp.ClientSession, sb: Sandbox) -> str:
    """A fresh access token from the sandbox (wrapped shape)."""
    credentials = {"client_id": sb.client_id, "client_secret": sb.client_secret}
    async with http.post(f"{sb.url}/oauth/access-token", json=credentials) as response:
        assert response.status == 200
        token: str = (await response.json())["token"]["access_token"]
    return token


async def get(
    http: aiohttp.ClientSession, url: str, token: str | None = None, **params: Any
) -> tuple[int, Any, Mapping[str, str]]:
    """GET ``url`` with an optional bearer token: status, JSON body and headers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers, params=params) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json(), response.headers


async def post(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, Any]:
    """POST to ``url`` (``json=`` or ``data=``): status and JSON body."""
    async with http.post(url, **kwargs) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()
