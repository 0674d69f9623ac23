"""Types: whatever a server sends, the only exceptions that leave the SDK are CliquifyErrors
(and OSError for the user's own disk). Hypothesis feeds hostile download URLs, rate-limit
headers, error bodies and list items through the whole pipeline (client, gate, pagination,
decoding, harvest) against a loopback server, and the same client keeps working after each.

Generated URLs never leave loopback: they are the server's own origin with a generated path,
or malformed forms that fail before any connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from cliquify_async import (
    CliquifyClient,
    CliquifyError,
    Harvester,
    ResponseDecodeError,
    RetryPolicy,
    SQLiteSink,
)
from cliquify_async.pytest_plugin import fast_retries
from tests.conftest import serving
from tests.hostile.api import CLIENT_ID, CLIENT_SECRET, TOKEN

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
HANG_GUARD = 20.0  # seconds: a call that runs longer has hung (no call here should take one)

MALFORMED_URLS = [
    "http://[::1",
    "http://127.0.0.1:99999/api/assets/1/file",
    "http://127.0.0.1:0/x",
    "http://" + "a" * 64 + ".example/x",
    "http://" + ".".join(["a" * 60] * 5) + "/x",
    "http://user:pass@{host}/api/assets/1/file",
    "{base}/api/assets/1/file?" + "x" * 10_000,
    "ftp://{host}/x",
    "javascript:alert(1)",
    "http://\udcff/x",
    "http://xn--/x",
    "http://[fe80::1%25eth0/x",
    "",
    "\x00",
]


def api_app(state: dict[str, Any]) -> web.Application:
    """Token, an /api/assets answered from `state`, and files under /files/."""

    async def token(request: web.Request) -> web.StreamResponse:
        return web.json_response({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 60})

    async def assets(request: web.Request) -> web.StreamResponse:
        answer: Callable[[], web.StreamResponse] | None = state.pop("answer", None)
        if answer is not None:
            return answer()
        return web.json_response({"data": [{"id": 1}]})

    async def files(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"file")

    app = web.Application()
    app.router.add_post("/oauth/access-token", token)
    app.router.add_get("/api/assets", assets)
    app.router.add_route("GET", "/files/{tail:.*}", files)
    app.router.add_route("GET", "/api/{tail:.*}", files)
    return app


def run_against_server(
    scenario: Callable[[CliquifyClient, str, dict[str, Any]], Awaitable[None]], **options: Any
) -> None:
    """Run `scenario(client, base_url, state)` in a fresh loop against a fresh server, then
    check the client still lists."""

    async def main() -> None:
        state: dict[str, Any] = {}
        options.setdefault("requests_per_minute", None)
        options.setdefault("max_retries", fast_retries(1))
        async with (
            serving(api_app(state)) as url,
            CliquifyClient(CLIENT_ID, CLIENT_SECRET, base_url=url, **options) as client,
        ):
            with contextlib.suppress(CliquifyError):
                await asyncio.wait_for(scenario(client, url, state), HANG_GUARD)
            state.pop("answer", None)
            assert [a.id for a in await client.assets.list().collect()] == [1]

    asyncio.run(main())


@EXAMPLES
@given(
    url=st.one_of(
        st.sampled_from(MALFORMED_URLS),
        st.text(max_size=40).map(lambda path: "{base}/files/" + path),
        st.text(max_size=40).map(lambda path: "{base}/api/" + path),
    )
)
def test_any_download_url_is_fetched_or_refused_with_a_typed_error(
    url: str, tmp_path: Path
) -> None:
    async def scenario(client: CliquifyClient, base: str, state: dict[str, Any]) -> None:
        host = base.removeprefix("http://")
        target = tmp_path / "file.bin"
        written = await client.download(url.replace("{base}", base).replace("{host}", host), target)
        assert target.read_bytes() == b"file"[:written]

    run_against_server(scenario)


header_values = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["10**400", "9" * 400, "1_000", "1e308", "-0", "Wed, 21 Oct 2015 07:28:00 GMT",
                     "Fri, 31 Dec 9999 23:59:59 GMT", " 3 ", "\u0661", ""]),
    st.text(max_size=20),
)  # fmt: skip


@EXAMPLES
@given(
    status=st.sampled_from([200, 429, 503]),
    headers=st.dictionaries(
        st.sampled_from(
            ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]
        ),
        header_values,
    ),
)
def test_any_rate_limit_headers_end_in_data_or_a_typed_error_without_a_hang(
    status: int, headers: dict[str, str]
) -> None:
    clean = {k: v for k, v in headers.items() if v.isprintable() and v.isascii()}

    async def scenario(client: CliquifyClient, base: str, state: dict[str, Any]) -> None:
        body = {"data": [{"id": 1}]} if status == 200 else {"message": "Too Many Attempts."}
        state["answer"] = lambda: web.json_response(body, status=status, headers=clean)
        await client.assets.list().collect()

    # A spent budget may rightly hold the client up to max_wait (the server's window): short here.
    policy = RetryPolicy(max_retries=1, backoff_base=0.001, backoff_cap=0.01, max_retry_after=0.3)
    run_against_server(scenario, requests_per_minute=600, max_retries=policy)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(),
    st.just("\ud800"),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
items = st.one_of(
    st.fixed_dictionaries({"id": st.integers(1, 10**6)}, optional={"url": st.text()}).flatmap(
        lambda base: st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(
            lambda extra: {**extra, **base}
        )
    ),
    json_values,
)


@EXAMPLES
@given(status=st.sampled_from([200, 400, 404, 422, 500]), body=json_values)
def test_any_json_body_ends_in_data_or_a_typed_error(status: int, body: Any) -> None:
    text = json.dumps(body)

    async def scenario(client: CliquifyClient, base: str, state: dict[str, Any]) -> None:
        state["answer"] = lambda: web.Response(
            status=status, text=text, content_type="application/json"
        )
        async for _ in client.assets.list():
            pass

    run_against_server(scenario, max_retries=fast_retries(0))


@settings(max_examples=25, deadline=None, database=None)
@given(page=st.lists(items, max_size=5), sqlite=st.booleans())
def test_a_harvest_of_any_items_stores_them_or_fails_typed(
    page: list[Any], sqlite: bool, tmp_path_factory: Any
) -> None:
    out = tmp_path_factory.mktemp("harvest")

    async def scenario(client: CliquifyClient, base: str, state: dict[str, Any]) -> None:
        text = json.dumps({"data": page})
        state["answer"] = lambda: web.Response(text=text, content_type="application/json")
        sink = SQLiteSink(out / "export.db") if sqlite else os.fspath(out)
        await Harvester(client, sink, resources=["assets"], download=True).run()

    run_against_server(scenario)


def test_a_token_that_cannot_be_sent_in_a_header_is_refused_and_not_kept() -> None:
    tokens = ["tok-abc\r\nX-Injected: 1", "tok-\x00-abcdef", TOKEN]

    async def main() -> None:
        async def token(request: web.Request) -> web.StreamResponse:
            access = tokens.pop(0)
            return web.json_response({"access_token": access, "token_type": "Bearer"})

        async def assets(request: web.Request) -> web.StreamResponse:
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            return web.json_response({"data": [{"id": 1}]})

        app = web.Application()
        app.router.add_post("/oauth/access-token", token)
        app.router.add_get("/api/assets", assets)
        async with (
            serving(app) as url,
            CliquifyClient(CLIENT_ID, CLIENT_SECRET, base_url=url) as client,
        ):
            for _ in range(2):
                with pytest.raises(ResponseDecodeError, match="cannot be sent in a header"):
                    await client.assets.list().collect()
            assert [a.id for a in await client.assets.list().collect()] == [1]

    asyncio.run(main())


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("status", [200, 422, 500])
def test_json_nested_deeper_than_pythons_stack_is_data_or_a_typed_error(
    status: int, tmp_path: Path
) -> None:
    text = json.dumps({"data": [{"id": 1, "deep": nested(900)}], "message": nested(900)})

    async def scenario(client: CliquifyClient, base: str, state: dict[str, Any]) -> None:
        state["answer"] = lambda: web.Response(
            status=status, text=text, content_type="application/json"
        )
        if status != 200:
            with pytest.raises(CliquifyError):
                await client.assets.list().collect()
            return
        report = await Harvester(client, tmp_path, resources=["assets"]).run()
        assert report.resources["assets"].items == 1
        stored = json.loads((tmp_path / "assets.jsonl").read_text())
        assert stored["deep"] == nested(900)

    run_against_server(scenario, max_retries=fast_retries(0))
