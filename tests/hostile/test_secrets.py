"""Secrets: a server that echoes the client secret or the token, in any encoding, never gets
either into an exception, a log record, the CLI's output or the doctor's report.

The servers here echo what they were sent: the token request's body (JSON-escaped, as a form,
HTML-escaped, percent-encoded, in a header) and the Authorization header of an API call; one
answers the token request form-encoded. Every text that leaves the SDK is searched for the
secret and the token in each form.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
import os
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cliquify_async import (
    CliquifyClient,
    CliquifyError,
    Harvester,
    ResponseDecodeError,
    ServerError,
    SQLiteSink,
)
from cliquify_async._endpoints import BY_NAME
from tests.conftest import serving
from tests.hostile.api import (
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN,
    HostileAPI,
    hostile_client,
    lists_normally,
)

Echo = Callable[[str], web.StreamResponse]


def forms(secret: str) -> list[str]:
    """The ways a secret may be spelled in what a server sends back."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        html.escape(secret),
        base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode().rstrip("="),
        "".join(f"\\u{ord(ch):04x}" for ch in secret),
    ]


def assert_clean(*texts: str) -> None:
    # The first 80% of each: what a cut through it (an excerpt, a log argument) would show.
    cut = [secret[: len(secret) * 4 // 5] for secret in (CLIENT_SECRET, TOKEN)]
    for text in texts:
        for form in forms(CLIENT_SECRET) + forms(TOKEN) + cut:
            assert form not in text, f"{form!r} leaked into {text[:300]!r}"


ECHOES: dict[str, Echo] = {
    "json-message": lambda body: web.json_response(
        {"success": False, "message": f"could not read {body}"}, status=422
    ),
    "validation": lambda body: web.json_response(
        {"message": "invalid", "errors": {"client_secret": [f"bad value in {body}"]}}, status=422
    ),
    "html-page": lambda body: web.Response(
        status=500,
        text=f"<html><title>Error {html.escape(body)}</title><pre>{html.escape(body)}</pre>",
        content_type="text/html",
    ),
    "form-encoded": lambda body: web.Response(
        status=400,
        text=urllib.parse.urlencode({"error": "invalid_request", "echo": body}),
        content_type="application/x-www-form-urlencoded",
    ),
    "header": lambda body: web.json_response(
        {"message": "refused"},
        status=401,
        headers={"X-Echo": urllib.parse.quote(body), "X-Basic": _basic()},
    ),
    "plain-quoted": lambda body: web.Response(status=503, text=repr(json.loads(body))),
}


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def echoing_token_app(echo: Echo) -> web.Application:
    async def token(request: web.Request) -> web.StreamResponse:
        return echo(await request.text())

    app = web.Application()
    app.router.add_post("/oauth/access-token", token)
    return app


@pytest.mark.parametrize("shape", list(ECHOES))
async def test_a_token_endpoint_that_echoes_the_secret_leaks_it_nowhere(
    shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(echoing_token_app(ECHOES[shape])) as url:
        from cliquify_async import CliquifyClient
        from cliquify_async.pytest_plugin import fast_retries

        async with CliquifyClient(
            CLIENT_ID, CLIENT_SECRET, base_url=url, max_retries=fast_retries(1)
        ) as client:
            with pytest.raises(CliquifyError) as caught:
                await client.auth.token()
    exc = caught.value
    attributes = [getattr(exc, name, "") for name in ("body", "text", "headers", "errors")]
    assert_clean(
        str(exc),
        repr(exc),
        repr(attributes),
        caplog.text,
        *(r.getMessage() for r in caplog.records),
    )


async def test_an_error_page_echoing_the_authorization_header_does_not_leak_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def echo_headers(request: web.Request) -> web.StreamResponse:
        shown = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        return web.Response(
            status=500,
            text=f"<title>{html.escape(shown)}</title><pre>{shown}</pre>",
            content_type="text/html",
            headers={"X-Seen-Authorization": request.headers["Authorization"]},
        )

    api = HostileAPI(echo_headers)
    async with hostile_client(api) as client:
        with pytest.raises(ServerError) as caught:
            await client.assets.list().collect()
        exc = caught.value
        assert "Bearer" in exc.body  # the page was kept, the token in it masked
        assert_clean(str(exc), repr(exc), str(exc.body), repr(exc.headers), caplog.text)

        await lists_normally(client)


async def test_a_form_encoded_token_answer_is_refused_without_its_token() -> None:
    async def form_token(request: web.Request) -> web.StreamResponse:
        text = urllib.parse.urlencode(
            {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        )
        return web.Response(text=text, content_type="application/x-www-form-urlencoded")

    app = web.Application()
    app.router.add_post("/oauth/access-token", form_token)
    async with serving(app) as url:
        from cliquify_async import CliquifyClient

        async with CliquifyClient(CLIENT_ID, CLIENT_SECRET, base_url=url) as client:
            with pytest.raises(ResponseDecodeError, match="not the documented shape") as caught:
                await client.auth.token()
    assert caught.value.text == ""
    assert_clean(str(caught.value), repr(caught.value))


async def run_cli(*args: str, url: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIQUIFY_")}
    env |= {
        "CLIQUIFY_BASE_URL": url,
        "CLIQUIFY_CLIENT_ID": CLIENT_ID,
        "CLIQUIFY_CLIENT_SECRET": CLIENT_SECRET,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cliquify_async", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("command", [["doctor", "--json"], ["doctor"], ["token", "revoke"]])
async def test_the_cli_and_the_doctor_leak_no_echoed_secret(command: list[str]) -> None:
    async with serving(echoing_token_app(ECHOES["json-message"])) as url:
        code, out, err = await run_cli(*command, url=url)
    assert code != 0 or "doctor" in command
    assert "Traceback" not in err
    assert_clean(out, err)
    assert "could not read" in out + err  # the server's message was shown, masked


def test_secrets_are_masked_in_each_encoding() -> None:
    from cliquify_async._redact import Secrets, redact, register, unregister

    secrets = Secrets()
    secrets.remember_secret(CLIENT_SECRET, user=CLIENT_ID)
    secrets.remember_token(TOKEN)
    register(secrets)
    texts: list[Any] = [
        *forms(CLIENT_SECRET),
        *forms(TOKEN),
        f"Authorization: Bearer {TOKEN}",
    ]
    for text in texts:
        assert_clean(redact(text))
        assert "[redacted]" in redact(text)
    assert redact("nothing secret here") == "nothing secret here"
    unregister(secrets)
    assert redact(TOKEN) == TOKEN  # a closed client's secrets are its own again


def files_text(folder: Path) -> str:
    """Every file under `folder`, as text."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in files)


@pytest.mark.parametrize("sqlite", [False, True], ids=["jsonl", "sqlite"])
async def test_a_harvest_stores_no_secret_the_server_echoes_in_its_items(
    sqlite: bool, tmp_path: Path
) -> None:
    async def echoing_items(request: web.Request) -> web.StreamResponse:
        auth = request.headers["Authorization"]
        item = {"id": 7, "name": f"shared by {auth}", f"note {TOKEN}": [CLIENT_SECRET]}
        return web.json_response({"data": [item]})

    api = HostileAPI(echoing_items)
    out = tmp_path / "out"
    async with hostile_client(api) as client:
        sink = SQLiteSink(tmp_path / "export.db") if sqlite else out
        report = await Harvester(client, sink, resources=["assets"]).run()

    assert report.resources["assets"].items == 1
    written = files_text(tmp_path)
    assert_clean(written)
    assert "[redacted]" in written


async def test_a_cut_never_shows_part_of_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # The message is an excerpt of 200 characters, which the token straddles; a log argument
    # is cut at 500, where masking earlier copies would slide a later one into view.
    straddling = "x" * 190 + " " + TOKEN + " and more"
    shifting = TOKEN * 40 + "x" * 15 + TOKEN

    async def cut_error(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text=straddling)

    async def long_field(request: web.Request) -> web.StreamResponse:
        headers = {"X-RateLimit-Limit": "1" * 30 + TOKEN}  # a log line cuts it at 40
        return web.json_response({"data": [{"id": 1, shifting: 1}]}, headers=headers)

    api = HostileAPI(cut_error, long_field)
    async with hostile_client(api, requests_per_minute=600) as client:
        with pytest.raises(ServerError) as caught:
            await client.assets.list().collect()
        await client.assets.list().collect()

        assert_clean(str(caught.value), caught.value.message, caplog.text)
        assert "[redacted" in str(caught.value)  # the excerpt may cut the mask, not the token
        await lists_normally(client)


def doctor_app() -> web.Application:
    """An API that echoes the secret and the token in every place the doctor reports."""

    async def token(request: web.Request) -> web.StreamResponse:
        shape = {"token_type": f"Bearer {CLIENT_SECRET}", "expires_in": 3600, "access_token": TOKEN}
        return web.json_response({"success": True, "token": shape})

    async def introspect(request: web.Request) -> web.StreamResponse:
        return web.json_response({"success": True, "data": {"active": True, "scopes": [TOKEN]}})

    async def listing(request: web.Request) -> web.StreamResponse:
        item = {"id": 1, CLIENT_SECRET: 1, "evil\x1b[31m\nFORGED LINE": 2}
        headers = {"X-RateLimit-Limit": CLIENT_SECRET, "X-RateLimit-Remaining": TOKEN}
        return web.json_response({"data": [item]}, headers=headers)

    app = web.Application()
    app.router.add_post("/oauth/access-token", token)
    app.router.add_post("/oauth/introspect", introspect)
    for endpoint in BY_NAME.values():
        app.router.add_get(endpoint.path, listing)
    return app


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "text"])
async def test_the_doctor_reports_what_the_server_echoes_masked_and_escaped(
    json_output: bool,
) -> None:
    async with serving(doctor_app()) as url:
        args = ["doctor", "--requests-per-minute", "6000", *(["--json"] if json_output else [])]
        _, out, err = await run_cli(*args, url=url)

    assert "Traceback" not in err
    assert_clean(out, err)
    assert "[redacted]" in out
    assert "\x1b" not in out and "\nFORGED" not in out  # no terminal escape, no forged line
    if not json_output:
        assert "evil\\x1b[31m\\nFORGED LINE" in out


async def test_a_redirect_from_the_api_takes_the_token_only_to_the_api(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Authorization")))
        if request.path == "/api/files/1":
            raise web.HTTPFound("/api/files/2")
        if request.path == "/api/files/2":
            raise web.HTTPFound("/oauth/revoke")
        return web.Response(body=b"file")

    app = web.Application()
    app.router.add_post("/oauth/access-token", HostileAPI()._token)
    app.router.add_route("GET", "/{tail:.*}", record)
    async with (
        serving(app) as url,
        CliquifyClient(CLIENT_ID, CLIENT_SECRET, base_url=url, requests_per_minute=None) as client,
    ):
        written = await client.download(f"{url}/api/files/1", tmp_path / "f")

    assert written == 4
    assert seen == [
        ("/api/files/1", f"Bearer {TOKEN}"),
        ("/api/files/2", f"Bearer {TOKEN}"),
        ("/oauth/revoke", None),
    ]
