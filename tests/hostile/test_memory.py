"""Memory: no body a server sends makes the client hold more than its bound (ReadLimits).

A JSON body over `max_json_bytes` is refused while it streams (by Content-Length when given,
by counting otherwise, after decompression); an error body is cut; a file is saved as sent,
never inflated. Each case ends in a typed error, and the same client then lists as before.
The peak-memory check runs the client in a child process and reads its peak RSS.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from cliquify_async import ReadLimits, ResponseTooLargeError, ServerError
from tests.conftest import serving
from tests.hostile.api import HostileAPI, hostile_client, lists_normally

MiB = 2**20
GiB = 2**30
LIMITS = ReadLimits(max_json_bytes=4 * MiB)
ROOT = Path(__file__).resolve().parents[2]


def zeros_gzip(total: int, chunk: int = MiB) -> Iterator[bytes]:
    """`total` zero bytes as one gzip stream, compressed only as far as it is read."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        if packed := packer.compress(zeros):
            yield packed
    yield packer.flush()


async def endless_json(request: web.Request) -> web.StreamResponse:
    """`{"data": [0, 0, ...` for a GiB, chunked, with no Content-Length."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"data": [')
    piece = b"0, " * 20_000
    for _ in range(GiB // len(piece)):
        await response.write(piece)
    return response


async def announced_gib(request: web.Request) -> web.StreamResponse:
    """A Content-Length of a GiB; only its first bytes are ever sent."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = GiB
    await response.prepare(request)
    await response.write(b'{"data": [' + b"0, " * 1000)
    for _ in range(100):  # the client must not wait for the rest: it hangs up first
        if request.transport is None or request.transport.is_closing():
            break
        await asyncio.sleep(0.05)
    return response


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    """A GiB of zeros (as the inside of a JSON string) gzipped: about a MB on the wire."""
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    await response.prepare(request)
    for packed in zeros_gzip(GiB):
        await response.write(packed)
    return response


async def small_bomb_with_length(request: web.Request) -> web.StreamResponse:
    """64 MiB unpacked, sent with the honest Content-Length of its 64 KB packed form."""
    packed = b"".join(zeros_gzip(64 * MiB))
    return web.Response(
        body=packed,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


@pytest.mark.parametrize("answer", [endless_json, announced_gib, gzip_bomb, small_bomb_with_length])
async def test_a_body_over_the_bound_is_refused_while_it_streams(answer: object) -> None:
    api = HostileAPI(answer)  # type: ignore[arg-type]
    async with hostile_client(api, read_limits=LIMITS) as client:
        with pytest.raises(ResponseTooLargeError, match="max_json_bytes=4194304") as caught:
            await asyncio.wait_for(client.assets.list().collect(), 30)
        assert caught.value.status == 200
        assert caught.value.url is not None and caught.value.url.endswith(
            "/api/assets?per_page=100"
        )

        await lists_normally(client)


async def test_a_huge_error_body_is_cut_to_its_start() -> None:
    page = b"<html><title>Bad gateway</title>" + b"x" * (8 * MiB)

    async def huge_error(request: web.Request) -> web.StreamResponse:
        return web.Response(status=502, body=page, content_type="text/html")

    api = HostileAPI(huge_error)
    async with hostile_client(api, read_limits=LIMITS) as client:
        with pytest.raises(ServerError, match="Bad gateway") as caught:
            await client.assets.list().collect()
        assert isinstance(caught.value.body, str)
        assert len(caught.value.body) == LIMITS.max_error_bytes

        await lists_normally(client)


async def test_a_compressed_file_is_saved_as_sent_not_inflated(tmp_path: Path) -> None:
    packed = gzip.compress(b"\0" * (16 * MiB))
    seen: list[str] = []

    async def file(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Accept-Encoding", ""))
        return web.Response(body=packed, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/files/blob.bin", file)
    api = HostileAPI()
    async with serving(app) as files, hostile_client(api) as client:
        written = await client.download(f"{files}/files/blob.bin", tmp_path / "blob.bin")

        assert seen == ["identity"]
        assert written == len(packed)
        assert (tmp_path / "blob.bin").read_bytes() == packed
        await lists_normally(client)


def test_read_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_json_bytes"):
        ReadLimits(max_json_bytes=0)
    with pytest.raises(ValueError, match="slow_window"):
        ReadLimits(slow_window=0)


# --- peak memory, in a child process --------------------------------------------------------

CHILD = """
import asyncio, json, resource, sys
from cliquify_async import CliquifyClient, ReadLimits, ResponseTooLargeError
from cliquify_async.pytest_plugin import fast_retries

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

async def main(url):
    limits = ReadLimits(max_json_bytes=int(sys.argv[2]))
    async with CliquifyClient("hostile-client", "hostile-secret-0123456789", base_url=url,
                              requests_per_minute=None, max_retries=fast_retries(0),
                              read_limits=limits) as client:
        await client.assets.list().collect()  # a normal page first: imports and buffers warm
        before = peak_kib()
        try:
            await client.assets.list().collect()
        except ResponseTooLargeError:
            pass
        else:
            raise SystemExit("the oversized body was accepted")
        print(json.dumps({"before": before, "after": peak_kib()}))

asyncio.run(main(sys.argv[1]))
"""


async def one_item(request: web.Request) -> web.StreamResponse:
    return web.json_response({"data": [{"id": 1}]})


@pytest.mark.parametrize("answer", [endless_json, gzip_bomb])
async def test_the_peak_memory_stays_within_the_bound_plus_a_small_constant(
    answer: object,
) -> None:
    bound = 16 * MiB
    api = HostileAPI(one_item, answer)  # type: ignore[arg-type]
    async with serving(api.app()) as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, url, str(bound),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 0, err.decode()
    peaks = json.loads(out)
    grown = (peaks["after"] - peaks["before"]) * 1024  # ru_maxrss is in KiB on Linux
    # The body held (the bound), its copy for the parser, and a constant for aiohttp's buffers.
    print(f"{answer.__name__}: peak RSS grew by {grown / MiB:.1f} MiB")  # type: ignore[attr-defined]
    assert grown <= 2 * bound + 24 * MiB, f"peak RSS grew by {grown / MiB:.1f} MiB"


async def test_a_body_of_more_values_than_the_bound_is_refused_before_it_is_decoded() -> None:
    # 3 bytes a value on the wire, some 30 times that once decoded: the byte bound alone
    # would let 32 MiB become a GiB of objects.
    body = b'{"data": [' + b"{}," * 200_000 + b"{}]}"

    async def dense(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    api = HostileAPI(dense)
    async with hostile_client(api, read_limits=ReadLimits(max_json_values=100_000)) as client:
        with pytest.raises(ResponseTooLargeError, match="max_json_values=100000"):
            await client.assets.list().collect()

        await lists_normally(client)
