"""One file fetched from its URL into place: resumed from its `.part` with `Range` and
`If-Range`, revalidated with a conditional GET when a copy exists, checked against what the
answer and the item said, and only then renamed into place."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, Protocol, TypeVar

import aiohttp
import attrs
from attrs import frozen
from yarl import URL

from .._log import get_logger
from .._options import CallOptions, Pairs
from .._readers import ReadLimits, stream
from .._wire import content_range, read_int, validator
from ..errors import FileMismatchError, ResponseDecodeError
from .checks import UNKNOWN, Digests, Expected, mismatch
from .part import Origin, PartFile

logger = get_logger("files")

R = TypeVar("R")

ATTEMPTS: Final = 3
"""Fetches of one file that ended in a mismatch (or a range unlike the one asked) before it
fails: the bytes are thrown away and fetched again from the start each time."""
_PREFIX_BLOCK: Final = 2**20

Outcome = Literal["fetched", "resumed", "unchanged"]


@frozen(kw_only=True)
class Validators:
    """What a later request can send to ask whether a copy is still current."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of_file(cls, path: Path) -> Validators:
        """A copy with no record: its modification time as `If-Modified-Since`."""
        return cls(last_modified=email.utils.formatdate(path.stat().st_mtime, usegmt=True))

    def headers(self) -> Pairs:
        pairs = []
        if self.etag is not None:
            pairs.append(("If-None-Match", self.etag))
        if self.last_modified is not None:
            pairs.append(("If-Modified-Since", self.last_modified))
        return tuple(pairs)


@frozen(kw_only=True)
class Fetched:
    """What fetching a file did: its `outcome`, its `size` in place, the bytes `received`
    from the host (over every attempt) and `resumed` from a `.part`, its `sha256` (None when
    unchanged), the validators to revalidate it by, and the `checks` it passed."""

    outcome: Outcome
    size: int
    received: int
    resumed: int
    sha256: str | None
    validators: Validators
    checks: tuple[str, ...]


class Downloads(Protocol):
    """The transport's side: one file request, retried, read by a `FileAttempt`."""

    async def download(self, url: URL, attempt: FileAttempt, options: CallOptions) -> Fetched: ...


async def fetch_file(
    transport: Downloads,
    url: URL,
    target: Path,
    *,
    options: CallOptions,
    limits: ReadLimits,
    expected: Expected = UNKNOWN,
    revalidate: Validators | None = None,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> Fetched:
    """Fetch `url` into `target`: `revalidate` a copy there (a 304 leaves it), else go on from
    its `.part` or start afresh. A mismatch is fetched again from the start, at most ATTEMPTS
    times in all, then raised as FileMismatchError; `target` is never replaced by bytes that
    failed a check. `on_bytes` hears of every chunk that arrives."""
    received = 0

    def count(size: int) -> None:
        nonlocal received
        received += size
        on_bytes(size)

    for attempt in range(1, ATTEMPTS + 1):
        fetch = FileAttempt(target, str(url), expected, revalidate, limits, count)
        try:
            fetched = await transport.download(url, fetch, options)
        except FileMismatchError as exc:
            if attempt == ATTEMPTS:
                raise
            logger.info("fetching %s again from the start: %s", url, exc.reason)
            revalidate = None
            continue
        return attrs.evolve(fetched, received=received)
    raise AssertionError("unreachable")


class FileAttempt:
    """One request for a file: the headers to send, made anew for each attempt from what is
    on disk (a retry after a cut asks for the rest), and the answer read into the `.part`."""

    def __init__(
        self,
        target: Path,
        url: str,
        expected: Expected,
        revalidate: Validators | None,
        limits: ReadLimits,
        on_bytes: Callable[[int], None],
    ) -> None:
        self._part = PartFile(target)
        self._url = url
        self._expected = expected
        self._revalidate = revalidate
        self._limits = limits
        self._on_bytes = on_bytes
        self._resume: tuple[Origin, int] | None = None

    def request_headers(self) -> Pairs:
        """`Range` from the `.part`'s length with `If-Range`, else the conditional headers
        of a copy in place, else none."""
        self._resume = self._part.resumable(self._url)
        if self._resume is not None:
            origin, offset = self._resume
            return (("Range", f"bytes={offset}-"), ("If-Range", str(origin.if_range)))
        return () if self._revalidate is None else self._revalidate.headers()

    async def receive(self, response: aiohttp.ClientResponse) -> Fetched:
        """Read a file's answer: 304 leaves the copy, 206 goes on from the `.part`, any
        other success starts it afresh; then check the whole and put it in place."""
        if response.status == 304:
            return self._unchanged(response)
        if response.status == 416:
            self._part.discard()
            raise self._mismatch(response, "the host has no bytes past those already fetched")
        if response.status == 206:
            origin, offset = self._resumed_from(response)
            digests = await _digest_of(self._part.path, offset, self._expected)
            part = self._part.append(offset)
        else:
            origin = Origin(
                url=self._url,
                etag=validator(response.headers.get("ETag")),
                last_modified=validator(response.headers.get("Last-Modified")),
                length=response.content_length,
            )
            offset, digests = 0, Digests(self._expected)
            part = self._part.begin(origin)
        size = offset
        try:
            with part:
                async for chunk in stream(response, self._limits):
                    part.write(chunk)
                    digests.update(chunk)
                    size += len(chunk)
                    self._on_bytes(len(chunk))
        except BaseException:
            if origin.if_range is None:  # nothing to resume it by: no use keeping it
                self._part.discard()
            raise
        problem = mismatch(self._expected, origin.length, size, digests)
        if problem is not None:
            self._part.discard()
            raise self._mismatch(response, problem)
        self._part.finish()
        return Fetched(
            outcome="resumed" if offset else "fetched",
            size=size,
            received=0,
            resumed=offset,
            sha256=digests.hex(),
            validators=Validators(etag=origin.etag, last_modified=origin.last_modified),
            checks=self._checks(origin),
        )

    def _resumed_from(self, response: aiohttp.ClientResponse) -> tuple[Origin, int]:
        """The `.part` a 206 goes on from, if the range it carries is the one asked."""
        span = content_range(response.headers.get("Content-Range"))
        if self._resume is None:
            raise ResponseDecodeError(
                "a 206 Partial Content answered a request for the whole file",
                status=206,
                url=str(response.url),
            )
        origin, offset = self._resume
        if span is None or span[0] != offset or span[1] + 1 != span[2]:
            self._part.discard()
            raise self._mismatch(response, f"the host sent a range unlike bytes={offset}-")
        if origin.length is not None and span[2] != origin.length:
            self._part.discard()
            raise self._mismatch(response, "the file's length changed while it was fetched")
        length = read_int(response.headers.get("Content-Length"), low=0)
        if length is not None and length != span[2] - offset:
            self._part.discard()
            raise self._mismatch(response, "the range's Content-Length disagrees with its span")
        return attrs.evolve(origin, length=span[2]), offset

    def _unchanged(self, response: aiohttp.ClientResponse) -> Fetched:
        """A 304: the copy in place stands, with the validators the answer renews."""
        known = self._revalidate
        if known is None or self._resume is not None:
            raise ResponseDecodeError(
                "a 304 Not Modified answered a request that asked for the file",
                status=304,
                url=str(response.url),
            )
        headers = response.headers
        return Fetched(
            outcome="unchanged",
            size=self._part.target.stat().st_size,
            received=0,
            resumed=0,
            sha256=None,
            validators=Validators(
                etag=validator(headers.get("ETag")) or known.etag,
                last_modified=validator(headers.get("Last-Modified")) or known.last_modified,
            ),
            checks=(),
        )

    def _checks(self, origin: Origin) -> tuple[str, ...]:
        """The checks a file that passed them all was held to."""
        checks = []
        if origin.length is not None:
            checks.append("length")
        if self._expected.size is not None:
            checks.append("size")
        if self._expected.checksum is not None:
            checks.append(self._expected.checksum.algorithm)
        return tuple(checks)

    def _mismatch(self, response: aiohttp.ClientResponse, reason: str) -> FileMismatchError:
        return FileMismatchError(reason, status=response.status, url=self._url)


async def _digest_of(path: Path, size: int, expected: Expected) -> Digests:
    """The digests of the first `size` bytes of `path` (a `.part` resumed), hashed on a
    worker thread: a large part must not stall the event loop."""
    digests = Digests(expected)

    def read() -> None:
        with path.open("rb") as part:
            left = size
            while left > 0 and (block := part.read(min(_PREFIX_BLOCK, left))):
                digests.update(block)
                left -= len(block)

    await asyncio.to_thread(read)
    return digests
