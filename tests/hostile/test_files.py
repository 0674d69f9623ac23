"""A file host that lies about ranges, answers what was not asked, or echoes a secret: each
download ends exact or with a typed error, never with a wrong file in place."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cliquify_async import APIConnectionError, FileMismatchError, ResponseDecodeError
from cliquify_async._files.fetch import ATTEMPTS
from tests.conftest import serving
from tests.hostile.api import CLIENT_SECRET, HostileAPI, hostile_client

DATA = bytes(range(256)) * 40  # 10,240 bytes
ETAG = '"v1"'
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FileHost:
    """Serves /files/f.bin with the test's answers, one per request, and records the Range
    each request asked for."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.ranges: list[str | None] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/files/f.bin", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.ranges.append(request.headers.get("Range"))
        return await self.answers.pop(0)(request)


async def whole(request: web.Request) -> web.StreamResponse:
    return web.Response(body=DATA, headers={"ETag": ETAG})


def cut(etag: str = ETAG) -> Answer:
    """The whole file announced, half of it sent, then the connection closed."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"ETag": etag})
        response.content_length = len(DATA)
        await response.prepare(request)
        await response.write(DATA[: len(DATA) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    return answer


def ranged(first: int, status: int = 206) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        headers = {"ETag": ETAG, "Content-Range": f"bytes {first}-{len(DATA) - 1}/{len(DATA)}"}
        return web.Response(status=status, body=DATA[first:], headers=headers)

    return answer


@contextlib.asynccontextmanager
async def file_client(host: FileHost) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """`download(target, **options)` of the host's file, by one client."""
    async with serving(host.app()) as files, hostile_client(HostileAPI()) as client:
        yield partial(client.download, f"{files}/files/f.bin")


async def download(host: FileHost, target: Path, **options: Any) -> int:
    async with file_client(host) as fetch:
        return await fetch(target, **options)


async def test_a_range_other_than_the_one_asked_is_thrown_away_and_fetched_whole(
    tmp_path: Path,
) -> None:
    target = tmp_path / "f.bin"
    host = FileHost(cut(), ranged(100), whole)
    async with file_client(host) as fetch:
        with pytest.raises(APIConnectionError):
            await fetch(target)
        assert (tmp_path / ".f.bin.part").stat().st_size == len(DATA) // 2

        assert await fetch(target) == len(DATA)

    assert target.read_bytes() == DATA
    assert host.ranges == [None, f"bytes={len(DATA) // 2}-", None]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f.bin"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (ranged(0), "206 Partial Content answered a request for the whole file"),
        (ranged(0, status=304), "304 Not Modified answered a request that asked for the file"),
    ],
)
async def test_an_answer_to_a_question_not_asked_is_a_typed_error(
    tmp_path: Path, answer: Answer, message: str
) -> None:
    with pytest.raises(ResponseDecodeError, match=message):
        await download(FileHost(answer), tmp_path / "f.bin")

    assert list(tmp_path.iterdir()) == []


async def test_bytes_unlike_the_checksum_are_fetched_again_then_refused(tmp_path: Path) -> None:
    host = FileHost(*[whole] * ATTEMPTS)
    wrong = hashlib.sha256(DATA + b"!").hexdigest()

    with pytest.raises(FileMismatchError, match=f"where the item says {wrong}"):
        await download(host, tmp_path / "f.bin", checksum=wrong)

    assert host.ranges == [None] * ATTEMPTS
    assert list(tmp_path.iterdir()) == []


async def test_the_right_checksum_and_size_let_the_file_in(tmp_path: Path) -> None:
    digest = f"md5:{hashlib.md5(DATA).hexdigest()}"

    size = await download(FileHost(whole), tmp_path / "f.bin", checksum=digest, size=len(DATA))

    assert size == len(DATA)
    assert (tmp_path / "f.bin").read_bytes() == DATA


@pytest.mark.parametrize("etag", [f'"{CLIENT_SECRET}"', '"' + "e" * 300 + '"'])
async def test_a_validator_echoing_a_secret_or_absurd_is_never_kept(
    tmp_path: Path, etag: str
) -> None:
    host = FileHost(cut(etag), whole)
    async with file_client(host) as fetch:
        with pytest.raises(APIConnectionError):
            await fetch(tmp_path / "f.bin")

        assert list(tmp_path.iterdir()) == []  # nothing to resume by: nothing kept
        await fetch(tmp_path / "f.bin")
    assert host.ranges == [None, None]
    assert (tmp_path / "f.bin").read_bytes() == DATA
