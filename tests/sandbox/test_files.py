"""The /files "CDN" as a plain HTTP client sees it: validators, 304s, ranges, If-Range, file
versions, sizes and checksums, pacing, cuts, and what the stats make of it all."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Fault, Sandbox
from cliquify_async.sandbox._dataset import file_bytes

MakeSandbox = Callable[..., Any]
SIZE = 100_000  # every asset file's size in these tests


@pytest.fixture
async def sb(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox: Sandbox = await make_sandbox(rate_limit=None, assets=3, asset_file_size=SIZE)
    return sandbox


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: Mapping[str, str] | None = None, **kw: Any
) -> tuple[int, Mapping[str, str], bytes]:
    """Status, headers and body of a GET (or ``method=``)."""
    async with http.request(kw.pop("method", "GET"), url, headers=headers, **kw) as response:
        return response.status, response.headers, await response.read()


def url_and_path(sb: Sandbox, n: int = 0) -> tuple[str, str]:
    url: str = sb.dataset["assets"][n]["url"]
    return url, url.removeprefix(sb.url)


async def test_whole_file_with_validators(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    url, path = url_and_path(sb)
    status, headers, body = await fetch(http, url)
    assert (status, body) == (200, file_bytes(path, SIZE))
    assert re.fullmatch(r'"[0-9a-f]+"', headers["ETag"])
    assert parsedate_to_datetime(headers["Last-Modified"]).tzinfo is not None
    assert headers["Accept-Ranges"] == "bytes"
    assert (await fetch(http, url))[1]["ETag"] == headers["ETag"]  # stable
    assert (await fetch(http, sb.dataset["assets"][1]["url"]))[1]["ETag"] != headers["ETag"]
    status, head, body = await fetch(http, url, method="HEAD")
    assert (status, body, head["Content-Length"]) == (200, b"", str(SIZE))
    assert (head["ETag"], head["Last-Modified"]) == (headers["ETag"], headers["Last-Modified"])


@pytest.mark.parametrize(
    ("value", "start", "stop"),
    [
        ("bytes=0-", 0, SIZE),
        ("bytes=100-199", 100, 200),
        ("bytes=70000-", 70_000, SIZE),
        ("bytes=99999-99999", 99_999, SIZE),
        ("bytes=5-999999999", 5, SIZE),  # an end past the file is clamped
    ],
)
async def test_range(
    sb: Sandbox, http: aiohttp.ClientSession, value: str, start: int, stop: int
) -> None:
    url, path = url_and_path(sb)
    status, headers, body = await fetch(http, url, {"Range": value})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert int(headers["Content-Length"]) == stop - start
    assert body == file_bytes(path, SIZE)[start:stop]
    assert "ETag" in headers
    assert "Last-Modified" in headers


async def test_range_past_the_end(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    url, _ = url_and_path(sb)
    for value in (f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}"):
        status, headers, body = await fetch(http, url, {"Range": value})
        assert (status, headers["Content-Range"], body) == (416, f"bytes */{SIZE}", b"")


@pytest.mark.parametrize(
    "value", ["bytes=-500", "bytes=0-1,5-9", "bytes=9-5", "items=0-5", "bytes=x-", ""]
)
async def test_other_ranges_get_the_whole_file(
    sb: Sandbox, http: aiohttp.ClientSession, value: str
) -> None:
    url, path = url_and_path(sb)
    status, headers, body = await fetch(http, url, {"Range": value})
    assert (status, body) == (200, file_bytes(path, SIZE))
    assert "Content-Range" not in headers


async def test_if_range(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    url, path = url_and_path(sb)
    _, headers, _ = await fetch(http, url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    part = file_bytes(path, SIZE)[10:]
    whole = file_bytes(path, SIZE)
    for if_range, expected in [
        (etag, (206, part)),
        (modified, (206, part)),
        ('"other"', (200, whole)),
        (f"W/{etag}", (200, whole)),  # If-Range compares strongly
        ("Tue, 02 Jan 2024 00:00:00 GMT", (200, whole)),
        ("not a date", (200, whole)),
    ]:
        status, _, body = await fetch(http, url, {"Range": "bytes=10-", "If-Range": if_range})
        assert (status, body) == expected, if_range


async def test_conditional_get(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    url, _ = url_and_path(sb)
    _, headers, _ = await fetch(http, url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    later = "Fri, 01 Jan 2027 00:00:00 GMT"
    earlier = "Sun, 31 Dec 2023 00:00:00 GMT"
    for conditions, expected in [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": f'"a", {etag}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": f"W/{etag}"}, 304),  # If-None-Match compares weakly
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": modified}, 304),
        ({"If-Modified-Since": later}, 304),
        ({"If-Modified-Since": earlier}, 200),
        ({"If-Modified-Since": "garbage"}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": later}, 200),  # the tag decides
        ({"If-None-Match": etag, "Range": "bytes=0-9"}, 304),  # before any range
    ]:
        status, answer, body = await fetch(http, url, conditions)
        assert status == expected, conditions
        if status == 304:
            assert (answer["ETag"], answer["Last-Modified"], body) == (etag, modified, b"")


async def test_ranges_off(make_sandbox: MakeSandbox, http: aiohttp.ClientSession) -> None:
    sb: Sandbox = await make_sandbox(assets=1, asset_file_size=SIZE, file_ranges=False)
    url, path = url_and_path(sb)
    _, headers, _ = await fetch(http, url)
    for conditions in ({"Range": "bytes=10-"}, {"Range": "bytes=10-", "If-Range": "x"}):
        status, answer, body = await fetch(http, url, conditions)
        assert (status, body) == (200, file_bytes(path, SIZE))
        assert "Accept-Ranges" not in answer
        assert "Content-Range" not in answer
    assert (await fetch(http, url, {"Range": f"bytes={SIZE}-"}))[0] == 200
    assert (await fetch(http, url, {"If-None-Match": headers["ETag"]}))[0] == 304  # still


async def test_validators_off(make_sandbox: MakeSandbox, http: aiohttp.ClientSession) -> None:
    sb: Sandbox = await make_sandbox(assets=1, asset_file_size=SIZE, file_validators=False)
    url, path = url_and_path(sb)
    status, headers, _ = await fetch(http, url)
    assert status == 200
    assert "ETag" not in headers
    assert "Last-Modified" not in headers
    for conditions in (
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Fri, 01 Jan 2027 00:00:00 GMT"},
        {"Range": "bytes=10-", "If-Range": '"any"'},  # nothing to compare: the whole file
    ):
        status, answer, body = await fetch(http, url, conditions)
        assert (status, body) == (200, file_bytes(path, SIZE)), conditions
        assert "ETag" not in answer
    status, _, body = await fetch(http, url, {"Range": "bytes=10-"})
    assert (status, body) == (206, file_bytes(path, SIZE)[10:])


async def test_change_file(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    url, path = url_and_path(sb)
    _, before, old = await fetch(http, url)
    item = dict(sb.dataset["assets"][0])

    sb.change_file(url)
    status, after, new = await fetch(http, url)
    assert status == 200
    assert new == file_bytes(path, SIZE, version=1) != old
    assert after["ETag"] != before["ETag"]
    modified = parsedate_to_datetime(after["Last-Modified"])
    assert modified > parsedate_to_datetime(before["Last-Modified"])
    assert (await fetch(http, url, {"If-None-Match": before["ETag"]}))[0] == 200
    stale = {"Range": "bytes=10-", "If-Range": before["ETag"]}
    status, _, body = await fetch(http, url, stale)
    assert (status, body) == (200, new)
    assert sb.dataset["assets"][0] == item  # the listing is the test's to change

    sb.change_file(path, size=1_234)  # a path works too
    status, headers, body = await fetch(http, url)
    assert (status, body) == (200, file_bytes(path, 1_234, version=2))
    assert parsedate_to_datetime(headers["Last-Modified"]) > modified
    with pytest.raises(KeyError, match="no file"):
        sb.change_file(f"{sb.url}/files/nope.png")
    with pytest.raises(ValueError, match="negative"):
        sb.change_file(url, size=-1)


@pytest.mark.parametrize(
    ("field", "algorithm"),
    [("md5", "md5"), ("sha1", "sha1"), ("sha256", "sha256"), ("checksum", "sha256")],
)
async def test_asset_file_size_and_checksum(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, field: str, algorithm: str
) -> None:
    sb: Sandbox = await make_sandbox(assets=3, asset_file_size=30_000, asset_checksum=field)
    for asset in sb.dataset["assets"]:
        _, _, body = await fetch(http, asset["url"])
        assert len(body) == asset["size"] == 30_000
        assert asset[field] == hashlib.new(algorithm, body).hexdigest()
        _, _, thumbnail = await fetch(http, asset["thumbnail_url"])
        assert len(thumbnail) <= 8_000  # thumbnails keep their own sizes
    asset = sb.dataset["assets"][0]
    listed = asset[field]
    sb.change_file(asset["url"])
    _, _, body = await fetch(http, asset["url"])
    assert asset[field] == listed != hashlib.new(algorithm, body).hexdigest()  # the test's call


@pytest.mark.parametrize("fault", [Fault.reset_mid_body(), Fault.truncated()])
async def test_cut_in_the_middle_of_a_range(
    sb: Sandbox, http: aiohttp.ClientSession, fault: Fault
) -> None:
    url, _ = url_and_path(sb)
    sb.faults.add(fault, path="/files/")
    async with http.get(url, headers={"Range": "bytes=1000-50999"}) as response:
        assert response.status == 206
        if fault == Fault.reset_mid_body():
            assert response.headers["Content-Length"] == "50000"  # the whole range announced
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    record = sb.stats.requests[-1]
    assert (record.status, record.body_bytes, record.fault) == (206, 25_000, fault)


@pytest.mark.parametrize("fault", [Fault.reset_mid_body(), Fault.truncated()])
async def test_cut_in_the_middle_of_a_paced_answer(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession, fault: Fault
) -> None:
    sb: Sandbox = await make_sandbox(assets=1, asset_file_size=SIZE, file_bandwidth=1_000_000)
    url, _ = url_and_path(sb)
    sb.faults.add(fault, path="/files/")
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(http, url)
    assert (sb.stats.requests[-1].status, sb.stats.requests[-1].body_bytes) == (200, SIZE // 2)
    assert (await fetch(http, url))[0] == 200  # the next answer is whole


async def test_bandwidth_paces_each_answer(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(assets=1, asset_file_size=200_000, file_bandwidth=1_000_000)
    url, path = url_and_path(sb)
    started = time.monotonic()
    status, headers, body = await fetch(http, url)
    assert time.monotonic() - started >= 0.15  # 0.2 s at 1 MB/s, loosely
    assert (status, headers["Content-Length"], body) == (200, "200000", file_bytes(path, 200_000))
    started = time.monotonic()
    status, _, body = await fetch(http, url, {"Range": "bytes=150000-"})
    assert time.monotonic() - started >= 0.03  # 50 KB: 0.05 s
    assert (status, body) == (206, file_bytes(path, 200_000)[150_000:])


async def test_file_latency_delays_file_answers(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(assets=1, file_latency=0.15)
    started = time.monotonic()
    assert (await fetch(http, sb.dataset["assets"][0]["url"]))[0] == 200
    assert time.monotonic() - started >= 0.15


async def test_stats_count_body_bytes_and_file_headers(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    url, _ = url_and_path(sb)
    _, headers, _ = await fetch(http, url)
    await fetch(http, url, {"Range": "bytes=0-9", "If-Range": headers["ETag"], "X-Other": "1"})
    await fetch(http, url, {"If-None-Match": headers["ETag"]})
    await fetch(http, url, {"If-Modified-Since": headers["Last-Modified"]})
    await fetch(http, url, method="HEAD")
    await fetch(http, url, {"Range": f"bytes={SIZE}-"})
    await fetch(http, f"{sb.url}/files/nope.png")
    records = sb.stats.requests
    assert [(r.status, r.body_bytes) for r in records] == [
        (200, SIZE), (206, 10), (304, 0), (304, 0), (200, 0), (416, 0), (404, 0)
    ]  # fmt: skip
    assert [r.file_headers for r in records[:4]] == [
        {},
        {"Range": "bytes=0-9", "If-Range": headers["ETag"]},
        {"If-None-Match": headers["ETag"]},
        {"If-Modified-Since": headers["Last-Modified"]},
    ]
    assert sb.stats.bytes_sent() == SIZE + 10
    assert sb.stats.bytes_sent("/files/assets/2/") == 0
