"""The /api routes: auth, scope and company errors, validation, filters, routing, latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Sandbox
from tests.sandbox.sandbox_helpers import FakeClock, get, issue_token

MakeSandbox = Callable[..., Any]
PATHS = [
    "/api/templates", "/api/tags", "/api/folders", "/api/assets", "/api/assets/tags",
    "/api/brand-kit", "/api/brand-kit/logos", "/api/brand-kit/colors",
]  # fmt: skip
UNAUTHENTICATED = {"message": "Unauthenticated."}


@pytest.fixture
async def sb(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox: Sandbox = await make_sandbox(pagination="data", rate_limit=None)
    return sandbox


@pytest.mark.parametrize("path", PATHS)
async def test_every_list_serves_its_dataset(
    sb: Sandbox, http: aiohttp.ClientSession, path: str
) -> None:
    status, body, _ = await get(http, sb.url + path, await issue_token(http, sb))
    assert status == 200
    assert body["data"] == sb.items(path)
    assert body["data"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-token", "Basic c2FuZGJveDpzZWNyZXQ="]
)
async def test_missing_or_unknown_token_is_401(
    sb: Sandbox, http: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(f"{sb.url}/api/assets", headers=headers) as response:
        assert (response.status, await response.json()) == (401, UNAUTHENTICATED)


@pytest.mark.parametrize("end", ["revoke_all_tokens", "expire_all_tokens"])
async def test_revoked_or_expired_token_is_401(
    sb: Sandbox, http: aiohttp.ClientSession, end: str
) -> None:
    token = await issue_token(http, sb)
    getattr(sb, end)()
    assert (await get(http, f"{sb.url}/api/assets", token))[:2] == (401, UNAUTHENTICATED)
    fresh = await issue_token(http, sb)  # tokens issued afterwards work
    assert (await get(http, f"{sb.url}/api/assets", fresh))[0] == 200


async def test_token_expires_after_its_lifetime(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb: Sandbox = await make_sandbox(clock=clock, token_lifetime=100)
    token = await issue_token(http, sb)
    clock.advance(99.9)
    assert (await get(http, f"{sb.url}/api/tags", token))[0] == 200
    clock.advance(0.1)
    assert (await get(http, f"{sb.url}/api/tags", token))[0] == 401


async def test_missing_scope_is_403(make_sandbox: MakeSandbox, http: aiohttp.ClientSession) -> None:
    sb: Sandbox = await make_sandbox(scopes=["assets:read"])
    token = await issue_token(http, sb)
    forbidden = {"message": "Token does not have the required scope."}
    for path in ("/api/templates", "/api/tags", "/api/brand-kit", "/api/brand-kit/colors"):
        assert (await get(http, sb.url + path, token))[:2] == (403, forbidden)
    for path in ("/api/folders", "/api/assets", "/api/assets/tags"):
        assert (await get(http, sb.url + path, token))[0] == 200


async def test_no_company_is_404_everywhere(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(company_exists=False)
    token = await issue_token(http, sb)
    for path in PATHS:
        assert (await get(http, sb.url + path, token))[:2] == (
            404,
            {"message": "Company not found."},
        )


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"per_page": "ten"}, {"per_page": ["The per page must be an integer."]}),
        ({"page": "1.5"}, {"page": ["The page must be an integer."]}),
        ({"page": "0"}, {"page": ["The page must be at least 1."]}),
        (
            {"per_page": "x", "folder_id": "abc"},
            {
                "per_page": ["The per page must be an integer."],
                "folder_id": ["The folder id must be an integer."],
            },
        ),
    ],
)
async def test_invalid_query_is_422(
    sb: Sandbox, http: aiohttp.ClientSession, params: dict[str, str], errors: Any
) -> None:
    token = await issue_token(http, sb)
    status, body, _ = await get(http, f"{sb.url}/api/assets", token, **params)
    assert (status, body) == (422, {"message": "The given data was invalid.", "errors": errors})


async def test_filters(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    token = await issue_token(http, sb)
    assets = sb.dataset["assets"]

    async def ids(path: str, **params: Any) -> list[int]:
        status, body, _ = await get(http, sb.url + path, token, **params)
        assert status == 200
        return [item["id"] for item in body["data"]]

    assert await ids("/api/assets", folder_id=3) == [a["id"] for a in assets if a["folder_id"] == 3]
    tagged = [a["id"] for a in assets if 2 in [t["id"] for t in a["tags"]]]
    assert tagged
    assert await ids("/api/assets", tag_id=2) == tagged
    word = assets[0]["name"].split("-")[1]
    found = await ids("/api/assets", search=word.upper())
    assert found == [a["id"] for a in assets if word in a["name"]]
    assert await ids("/api/assets", folder_id=3, tag_id=2) == [
        a["id"] for a in assets if a["folder_id"] == 3 and a["id"] in tagged
    ]
    assert await ids("/api/assets", nonsense="1", search="") == [a["id"] for a in assets]
    assert await ids("/api/brand-kit/logos", brand_kit_id=2) == [
        logo["id"] for logo in sb.dataset["logos"] if logo["brand_kit_id"] == 2
    ]
    assert await ids("/api/brand-kit/colors", brand_kit_id=1) == [
        c["id"] for c in sb.items("/api/brand-kit/colors", brand_kit_id=1)
    ]
    assert await ids("/api/folders", parent_id=1) == [
        f["id"] for f in sb.dataset["folders"] if f["parent_id"] == 1
    ]
    template_tag = sb.dataset["templates"][0]["tags"] or sb.dataset["template_tags"][:1]
    assert await ids("/api/templates", tag_id=template_tag[0]["id"]) == [
        t["id"] for t in sb.items("/api/templates", tag_id=template_tag[0]["id"])
    ]
    assert await ids("/api/assets", folder_id=999) == []


async def test_unknown_routes_answer_json(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    token = await issue_token(http, sb)
    assert (await get(http, f"{sb.url}/api/nothing-here", token))[0] == 404
    async with http.post(f"{sb.url}/api/assets") as response:
        assert response.status == 405
        assert response.content_type == "application/json"
        assert "GET" in response.headers["Allow"]


async def test_latency_delays_api_answers(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(latency=0.15)
    token = await issue_token(http, sb)
    started = time.monotonic()
    await get(http, f"{sb.url}/api/tags", token)
    assert time.monotonic() - started >= 0.15


async def test_asset_files(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    for asset in sb.dataset["assets"][:10]:
        async with http.get(asset["url"]) as response:
            content = await response.read()
            assert response.status == 200
            assert response.content_type == asset["mime_type"]
            assert int(response.headers["Content-Length"]) == len(content) == asset["size"]
        async with http.get(asset["url"]) as again:
            assert await again.read() == content
        async with http.head(asset["url"]) as head:
            assert int(head.headers["Content-Length"]) == asset["size"]
        async with http.get(asset["thumbnail_url"]) as thumbnail:
            assert thumbnail.content_type == "image/jpeg"
            assert await thumbnail.read() != content
    async with http.get(f"{sb.url}/files/assets/1/not-there.png") as missing:
        assert (missing.status, await missing.json()) == (404, {"message": "Not Found."})
    for url in (sb.dataset["templates"][0]["preview_url"], sb.dataset["logos"][0]["url"]):
        async with http.get(url) as response:
            assert response.status == 200
            assert len(await response.read()) > 0
