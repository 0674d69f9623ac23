"""No secret or token in logs, reprs or exception messages, and no token to another origin."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp import web

from cliquify_async import CliquifyClient, CliquifyError, UntrustedURLError
from cliquify_async.sandbox import Fault, Sandbox
from tests.conftest import ClientFactory, serving


async def test_a_debug_log_of_a_full_run_holds_no_secret_or_token(
    sandbox: Sandbox, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox)
    texts: list[str] = [repr(client)]

    await client.assets.list(per_page=50).collect()
    sandbox.revoke_all_tokens()  # a 401 and a replay with a new token
    await client.templates.list().collect()
    token = await client.auth.token()
    texts += [repr(token), str(token), repr(await client.auth.introspect())]
    sandbox.faults.add(Fault.status(503), path="/api/folders", times=10)
    sandbox.faults.add(Fault.status(401, body={"message": "Unauthenticated."}), path="/oauth/")
    for failing in (client.folders.list().collect(), client.auth.introspect("bogus")):
        with pytest.raises(CliquifyError) as caught:
            await failing
        texts += [str(caught.value), repr(caught.value)]
    await client.auth.revoke()
    async with CliquifyClient(
        sandbox.client_id, "wrong-secret", base_url=sandbox.url, requests_per_minute=None
    ) as wrong:
        with pytest.raises(CliquifyError) as caught:
            await wrong.auth.token()
        texts += [str(caught.value), repr(caught.value), repr(wrong)]

    texts += [record.getMessage() for record in caplog.records]
    issued = {r.token for r in sandbox.stats.requests if r.token}
    assert len(issued) >= 2
    for text in texts:
        assert sandbox.client_secret not in text
        assert "wrong-secret" not in text
        for value in issued:
            assert value not in text
    assert any("retrying" in record.getMessage() for record in caplog.records)


async def test_a_next_page_link_to_another_path_elsewhere_is_refused(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    evil = {"data": [{"id": 1}], "links": {"next": "https://evil.example/steal?page=2"}, "meta": {}}
    sandbox.faults.add(Fault.body(evil), path="/api/folders")

    with pytest.raises(UntrustedURLError):
        await client.folders.list().collect()
    assert all(r.path.startswith(("/api/", "/oauth/")) for r in sandbox.stats.requests)


@pytest.mark.parametrize("origin", ["http://127.0.0.1:1", "https://other.example"])
async def test_a_next_page_link_to_the_same_path_elsewhere_is_fetched_from_the_api(
    sandbox: Sandbox, client: CliquifyClient, origin: str
) -> None:
    # A Laravel server behind a proxy may name itself http:// or by an internal host: the
    # listing goes on, and the token still goes only to the base URL.
    body = {
        "data": [{"id": 1}],
        "current_page": 1,
        "next_page_url": f"{origin}/api/folders?page=2&per_page=100",
    }
    sandbox.faults.add(Fault.body(body), path="/api/folders")

    folders = await client.folders.list().collect()

    second = [r for r in sandbox.stats.requests if r.path == "/api/folders"][1]
    assert second.query["page"] == "2"
    assert folders[0].id == 1


async def test_a_broken_token_response_does_not_put_the_token_in_the_error(
    sandbox: Sandbox, client: CliquifyClient
) -> None:
    from cliquify_async import ResponseDecodeError

    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2lnbmF0dXJl"
    torn = '{"success": true, "token": {"token_type": "Bearer", "access_token": "' + secret
    sandbox.faults.add(Fault.status(200, body=torn), path="/oauth/access-token", times=1)
    sandbox.faults.add(Fault.body({"token": {"nope": secret}}), path="/oauth/access-token")

    for _ in range(2):
        with pytest.raises(ResponseDecodeError) as caught:
            await client.auth.token()
        for text in (str(caught.value), repr(caught.value), caught.value.text):
            assert secret not in text
            assert "eyJzdWIi" not in text
        assert caught.value.data is None or secret not in repr(caught.value.data)


async def test_a_file_on_another_host_is_fetched_without_the_token(
    sandbox: Sandbox, client: CliquifyClient, tmp_path: Path
) -> None:
    # A "CDN" on another loopback address: it must never see the bearer token.
    seen: list[str | None] = []

    async def serve(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.path == "/moved":
            raise web.HTTPFound("/file.bin")
        return web.Response(body=b"payload" * 1000)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with serving(app, host="127.0.0.2") as cdn:
        await client.auth.token()  # a token exists and could leak
        written = await client.download(f"{cdn}/moved", tmp_path / "f.bin")

    assert written == 7000
    assert (tmp_path / "f.bin").read_bytes() == b"payload" * 1000
    assert seen == [None, None]  # the redirect and the file: no Authorization either time


def test_plain_http_is_allowed_only_on_loopback_or_when_asked() -> None:
    from cliquify_async import ConfigurationError

    with pytest.raises(ConfigurationError):
        CliquifyClient("id", "secret", base_url="http://api.example.test")
    allowed = CliquifyClient(
        "id", "secret", base_url="http://api.example.test", allow_insecure_http=True
    )
    assert str(allowed.base_url) == "http://api.example.test"
    assert "secret" not in repr(allowed)
