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

from cliquify_async import (
    APIConnectionError,
    FileMismatchError,
    ReadLimits,
    ResponseDecodeError,
    ResponseTooLargeError,
)
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


def chunked(data: bytes, etag: str = ETAG) -> Answer:
    """`data` without a Content-Length, in chunks."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"ETag": etag})
        await response.prepare(request)
        for start in range(0, len(data), 4096):
            await response.write(data[start : start + 4096])
        return response

    return answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (whole, f"announces {len(DATA)} bytes where the item's size says 100"),
        (chunked(DATA), "more than the 100 bytes announced arrived"),
    ],
)
async def test_no_more_of_a_file_is_read_than_its_item_s_size(
    tmp_path: Path, answer: Answer, message: str
) -> None:
    with pytest.raises(FileMismatchError, match=message):
        await download(FileHost(*[answer] * ATTEMPTS), tmp_path / "f.bin", size=100)

    assert list(tmp_path.iterdir()) == []


async def test_a_file_of_no_announced_size_is_read_up_to_the_client_s_bound(
    tmp_path: Path,
) -> None:
    host = FileHost(chunked(DATA))
    async with (
        serving(host.app()) as files,
        hostile_client(HostileAPI(), read_limits=ReadLimits(max_file_bytes=4096)) as client,
    ):
        with pytest.raises(ResponseTooLargeError, match="max_file_bytes=4096"):
            await client.download(f"{files}/files/f.bin", tmp_path / "f.bin")

    assert list(tmp_path.iterdir()) == []


async def changed_range(request: web.Request) -> web.StreamResponse:
    """The rest of another version of the file, as a host that ignores If-Range sends it."""
    first = len(DATA) // 2
    headers = {"ETag": '"v2"', "Content-Range": f"bytes {first}-{len(DATA) - 1}/{len(DATA)}"}
    return web.Response(status=206, body=DATA[first:][::-1], headers=headers)


async def test_the_rest_of_another_version_is_never_joined_to_the_part(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    host = FileHost(cut(), changed_range, whole)
    async with file_client(host) as fetch:
        with pytest.raises(APIConnectionError):
            await fetch(target)

        await fetch(target)

    assert target.read_bytes() == DATA
    assert host.ranges == [None, f"bytes={len(DATA) // 2}-", None]


async def test_a_part_already_whole_is_put_in_place_on_the_host_s_416(tmp_path: Path) -> None:
    async def past_the_end(request: web.Request) -> web.StreamResponse:
        return web.Response(status=416, headers={"Content-Range": f"bytes */{len(DATA)}"})

    target, part = tmp_path / "f.bin", tmp_path / ".f.bin.part"
    host = FileHost(cut(), past_the_end)
    async with file_client(host) as fetch:
        with pytest.raises(APIConnectionError):
            await fetch(target)
        with part.open("ab") as file:  # the rest arrived, then a crash before the rename
            file.write(DATA[len(DATA) // 2 :])

        assert await fetch(target) == len(DATA)

    assert target.read_bytes() == DATA
    assert host.ranges == [None, f"bytes={len(DATA)}-"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f.bin"]


async def test_the_sidecar_keeps_no_url_a_signature_could_be_read_from(tmp_path: Path) -> None:
    host = FileHost(cut())
    async with serving(host.app()) as files, hostile_client(HostileAPI()) as client:
        with pytest.raises(APIConnectionError):
            await client.download(f"{files}/files/f.bin?sig={CLIENT_SECRET}", tmp_path / "f.bin")

    sidecar = (tmp_path / ".f.bin.part.json").read_text()
    assert "sig" not in sidecar and CLIENT_SECRET not in sidecar
