"""Logs: text a server supplies reaches a log record escaped (no raw control characters, so no
forged lines) and cut short (a 5 MB field name makes a short line), with secrets masked."""

from __future__ import annotations

import logging
from typing import get_args

import pytest
from aiohttp import web

from cliquify_async import _drift
from cliquify_async._log import MAX_ARG_CHARS, Concept, SafeArguments
from tests.hostile.api import TOKEN, HostileAPI, hostile_client, lists_normally

FORGED = "name\nWARNING cliquify_async: forged line\r\x1b[2J"
HUGE = "f" * (5 * 2**20)


def sdk_loggers() -> dict[str, logging.Logger]:
    """Every logger under `cliquify_async.` the package has made so far (not the sandbox's)."""
    import cliquify_async.cli
    import cliquify_async.redis  # noqa: F401 - their loggers are made at import

    return {
        name: logger
        for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith("cliquify_async.")
        and not name.startswith("cliquify_async.sandbox")
        and isinstance(logger, logging.Logger)
    }


@pytest.fixture(autouse=True)
def _fresh_drift() -> None:
    _drift.reset()


async def test_server_text_in_a_log_record_is_escaped_and_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def odd_fields(request: web.Request) -> web.StreamResponse:
        item = {"id": 1, FORGED: 1, HUGE: 2, "note": TOKEN}
        return web.json_response({"data": [item]})

    api = HostileAPI(odd_fields)
    async with hostile_client(api) as client:
        (asset,) = await client.assets.list().collect()
        assert FORGED in asset.extra and HUGE in asset.extra  # the data keeps them whole

        messages = [record.getMessage() for record in caplog.records]
        drift = [m for m in messages if "does not know" in m]
        assert len(drift) == 3  # FORGED, HUGE and "note"
        assert any("'name\\nWARNING cliquify_async: forged line\\r\\x1b[2J'" in m for m in drift)
        assert any(f"'{'f' * 100}" in m and "(5242880 chars)" in m for m in drift)
        for message in messages:
            assert not any(ch in message for ch in "\n\r\x1b")
            assert len(message) <= 4 * MAX_ARG_CHARS
        await lists_normally(client)


def test_every_logger_of_the_package_is_a_concept_and_makes_its_arguments_safe() -> None:
    loggers = sdk_loggers()
    assert set(loggers) == {f"cliquify_async.{concept}" for concept in get_args(Concept)}
    unsafe = [name for name, lg in loggers.items() if SafeArguments not in map(type, lg.filters)]
    assert unsafe == []


def test_a_server_inventing_field_names_cannot_flood_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="cliquify_async.drift")
    _drift.unknown_fields("Asset", (f"field-{n}" for n in range(10 * _drift.MAX_WARNINGS)))

    assert len(caplog.records) == _drift.MAX_WARNINGS + 1
    assert "no more will be given" in caplog.records[-1].getMessage()
