"""Where the API differs from our assumptions: the doctor, path overrides, pagination hints,
the form-encoded token fallback and drift warnings, against a sandbox made to differ."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest

from cliquify_async import CliquifyClient, ConfigurationError, ResponseDecodeError
from cliquify_async._doctor import _note_rate_headers, datetime_format
from cliquify_async._drift import reset as reset_drift
from cliquify_async._timestamps import parse_datetime
from cliquify_async.sandbox import Fault, Sandbox
from tests.cli.test_cli import environment, read_jsonl, run
from tests.conftest import ClientFactory, SandboxFactory

DIFFERENT: dict[str, Any] = {
    "paths": {"/api/assets/tags": "/api/asset-tags"},
    "extra_fields": True,
    "drop_fields": ("thumbnail_url",),
    "token_body": "form",
    "rate_limit_headers": False,
    "pagination": {"/api/templates": "cursor"},
    "token_lifetime": 3600,
}


async def test_the_doctor_names_every_difference(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(**DIFFERENT)

    fast = ("--requests-per-minute", "6000")  # the sandbox's window is a minute long
    code, out, err = await run("doctor", "--json", *fast, env=environment(sandbox))

    assert code == 0, err
    report = json.loads(out)
    differences = report["differences"]
    assert "token request: the JSON body was refused; form-encoded worked" in differences
    assert "token lifetime: 3600 s granted, documented 31536000 or 2592000 s" in differences
    assert "templates.list: pagination shape 'cursor' (handled; assumed 'resource')" in differences
    assert "assets.list: unknown fields x_sandbox" in differences
    assert "assets.list: assumed fields absent thumbnail_url" in differences
    assert any(d.startswith("assets.tags: /api/assets/tags answered 404") for d in differences)
    assert "rate limit: no X-RateLimit-* headers; the gate cannot learn the limit" in differences
    assert report["endpoints"]["assets.list"]["datetime_formats"]
    assert report["requests"] <= 12  # 2 token, 1 introspection, 8 lists (+1 replay at most)
    assert sandbox.client_secret not in out
    assert not any(r.token and r.token in out for r in sandbox.stats.requests)


async def test_a_server_that_matches_the_contract_has_no_differences(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(rate_limit=600, rate_window=6)
    rate = ("--requests-per-minute", "6000", "--rate-window", "6")

    code, out, err = await run("doctor", *rate, env=environment(sandbox))

    assert code == 0, err
    assert "No differences" in out
    assert "11 requests made" in out or "10 requests made" in out


async def test_the_doctor_reports_the_window_it_learned_and_that_it_is_not_documented(
    make_sandbox: SandboxFactory,
) -> None:
    # Ten requests a half second, told on every answer by X-RateLimit-Reset in seconds.
    sandbox = await make_sandbox(
        rate_limit=10, rate_window=0.5, reset_header="seconds", retry_after_precision="float"
    )
    env = environment(sandbox)

    code, out, err = await run("doctor", "--json", "--requests-per-minute", "1200", env=env)
    assert code == 0, err
    report = json.loads(out)
    (gate,) = report["rate_gate"]
    assert (gate["requests"], gate["learned"]) == (10, True)
    assert 0.5 <= gate["window"] <= 0.6
    assert (
        f"rate limit: the server allows 10 requests per {gate['window']:.1f} s, "
        "documented 60 requests per 60.0 s"
    ) in report["differences"]

    code, out, err = await run("doctor", "--requests-per-minute", "1200", env=env)
    assert code == 0, err
    assert "rate gate      10 requests per 0.5 s (learned from the server)" in out
    assert sandbox.stats.rate_limited == 0


async def without_expires_in(sandbox: Sandbox) -> None:
    """Make the sandbox's next token answer a real token whose body leaves out expires_in."""
    credentials = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.url}/oauth/access-token", json=credentials) as response,
    ):
        token = (await response.json())["token"]
    del token["expires_in"]
    sandbox.faults.add(Fault.body({"success": True, "token": token}), path="/oauth/access-token")


async def test_a_token_without_a_lifetime_is_a_difference_not_a_crash(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    await without_expires_in(sandbox)

    code, out, err = await run("doctor", "--requests-per-minute", "6000", env=environment(sandbox))

    assert code == 0, err
    assert "token          ok, sent as json, Bearer, no expires_in" in out
    assert "token lifetime: none given, documented 31536000 or 2592000 s" in out


async def test_rate_limit_headers_are_found_in_lowercase(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(rate_limit=None)
    lowercase = {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "59"}
    sandbox.faults.add(Fault.status(200, body={"data": []}, headers=lowercase), path="/api/folders")
    # aiohttp's C parser spells known header names its own way; the pure Python one keeps
    # the server's lowercase names, as the doctor receives them without the extensions.
    env = environment(sandbox, AIOHTTP_NO_EXTENSIONS="1")

    code, out, err = await run("doctor", "--json", "--requests-per-minute", "6000", env=env)

    assert code == 0, err
    assert json.loads(out)["rate_limit"] == {
        "headers_present": True,
        "limit": "60",
        "remaining": "59",
    }


def test_rate_limit_header_names_are_case_insensitive_in_a_plain_dict() -> None:
    rate: dict[str, Any] = {"headers_present": False}
    headers = {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "retry-after": "7"}

    _note_rate_headers(headers, 429, rate)

    assert rate == {
        "headers_present": True,
        "limit": "60",
        "remaining": "0",
        "retry_after": "7",
        "reset": None,
    }


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("2024-01-01T00:00:00Z", "ISO 8601"),
        ("2024-01-01T00:00:00.123456+02:00", "ISO 8601"),
        ("2024-01-01 00:00:00", "YYYY-MM-DD HH:MM:SS"),
        ("2024-01-01 00:00:00.000000", "YYYY-MM-DD HH:MM:SS"),  # the SDK parses it
        ("2024-13-01T00:00:00Z", "unrecognised"),  # month 13: the SDK refuses it
        ("01/02/2024", "unrecognised"),
        (1704067200, "unrecognised"),
    ],
)
def test_datetime_formats_are_recognised_exactly_when_the_sdk_parses_them(
    value: Any, name: str
) -> None:
    assert datetime_format(value) == name
    try:
        parse_datetime(value)
    except ResponseDecodeError:
        assert name == "unrecognised"
    else:
        assert name != "unrecognised"


async def test_a_path_override_makes_a_renamed_endpoint_work_everywhere(
    make_sandbox: SandboxFactory, make_client: ClientFactory, tmp_path: Any
) -> None:
    sandbox = await make_sandbox(rate_limit=None, paths={"/api/assets/tags": "/api/asset-tags"})
    expected = sandbox.items("/api/assets/tags")

    client = make_client(sandbox, paths={"assets.tags": "/api/asset-tags"})
    assert [t.id for t in await client.assets.tags().collect()] == [t["id"] for t in expected]

    args = ("harvest", "--out", str(tmp_path), "--resources", "asset_tags")
    code, _, err = await run(
        *args, "--path", "assets.tags=/api/asset-tags", env=environment(sandbox)
    )
    assert code == 0, err
    assert read_jsonl(tmp_path / "asset_tags.jsonl") == expected

    env = environment(sandbox, CLIQUIFY_PATHS="assets.tags=/api/asset-tags")
    code, _, err = await run(
        "harvest", "--out", str(tmp_path / "env"), "--resources", "asset_tags", env=env
    )
    assert code == 0, err
    assert read_jsonl(tmp_path / "env" / "asset_tags.jsonl") == expected


def test_overrides_of_unknown_endpoints_or_relative_paths_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="no endpoint"):
        CliquifyClient("id", "secret", paths={"assets.nope": "/api/x"})
    with pytest.raises(ConfigurationError, match="must start with"):
        CliquifyClient("id", "secret", paths={"assets.tags": "api/x"})


async def test_the_form_fallback_costs_one_extra_request_once(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, token_body="form")
    client = make_client(sandbox)

    await client.folders.list().collect()
    assert sandbox.stats.token_requests == 2  # JSON refused, then the form
    sandbox.revoke_all_tokens()
    await client.folders.list().collect()
    assert sandbox.stats.token_requests == 3  # the next token goes straight to the form


async def test_drift_warnings_come_once_per_model_and_field(
    make_sandbox: SandboxFactory, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    reset_drift()
    caplog.set_level(logging.WARNING, logger="cliquify_async.drift")
    sandbox = await make_sandbox(rate_limit=None, extra_fields=True, drop_fields=("size",))
    client = make_client(sandbox)

    await client.assets.list(per_page=10).collect()
    await client.assets.list(per_page=10).collect()

    messages = [r.getMessage() for r in caplog.records if r.name == "cliquify_async.drift"]
    about_assets = [m for m in messages if m.startswith("Asset")]
    assert len([m for m in about_assets if "x_sandbox" in m]) == 1
    assert len([m for m in about_assets if m.startswith("Asset.size")]) == 1
    assert len(about_assets) == 2


async def test_a_page_hint_walks_a_list_whose_bodies_say_nothing(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, pagination={"folders.list": "page"}, page_concurrency=1)
    for body in ({"data": [{"id": 1}, {"id": 2}]}, {"data": [{"id": 3}]}, {"data": []}):
        sandbox.faults.add(Fault.body(body), path="/api/folders")

    folders = await client.folders.list().collect()

    assert [f.id for f in folders] == [1, 2, 3]
    pages = [r.query.get("page") for r in sandbox.stats.requests if r.path == "/api/folders"]
    assert pages == [None, "2", "3"]


async def test_a_none_hint_takes_the_first_response_as_the_whole_list(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rate_limit=None, pagination="flat")
    client = make_client(sandbox, pagination={"assets.list": "none"})

    assets = await client.assets.list(per_page=10).collect()

    assert len(assets) == 10
    assert sandbox.stats.count("/api/assets") == 1
