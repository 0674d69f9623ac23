"""One file fetched from its URL into place: resumed from its `.part` with `Range` and
`If-Range`, revalidated with a conditional GET when a copy exists, checked against what the
answer and the item said, and only then renamed into place."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, Protocol

import aiohttp
import attrs
from attrs import frozen
from yarl import URL

from .._log import get_logger
from .._options import CallOptions, Pairs
from .._readers import ReadLimits, stream
from .._wire import content_range, read_int, unsatisfied_length, validator
from ..errors import FileMismatchError, ResponseDecodeError, ResponseTooLargeError
from .checks import UNKNOWN, Digests, Expected, mismatch
from .part import Origin, PartFile, url_digest

logger = get_logger("files")

ATTEMPTS: Final = 3
"""Fetches of one file that ended in a mismatch (or a range unlike the one asked) before it
fails: the bytes are thrown away and fetched again from the start each time."""
BLOCK: Final = 2**20  # bytes of a file read back at a time

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
    from the host (over every attempt) and `resumed` from a `.part`, the validators to
    revalidate it by, and the `checks` it passed."""

    outcome: Outcome
    size: int
    received: int
    resumed: int
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

    attempt = 1
    while True:
        fetch = FileAttempt(target, str(url), expected, revalidate, limits, count)
        try:
            fetched = await transport.download(url, fetch, options)
        except FileMismatchError as exc:
            if attempt == ATTEMPTS:
                raise
            logger.info("fetching %s again from the start: %s", url, exc.reason)
            attempt, revalidate = attempt + 1, None
        else:
            return attrs.evolve(fetched, received=received)


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
        """Read a file's answer: 304 leaves the copy, 416 may find the `.part` whole, 206 goes
        on from the `.part`, any other success starts it afresh; then check the whole and
        put it in place. No more bytes are read than the file may have."""
        if response.status == 304:
            return self._unchanged(response)
        if response.status == 416:
            return await self._past_the_end(response)
        if response.status == 206:
            origin, offset = self._resumed_from(response)
            digests = await digest_of(self._part.path, offset, self._expected)
            part = self._part.append(offset)
        else:
            origin = Origin(
                source=url_digest(self._url),
                etag=validator(response.headers.get("ETag")),
                last_modified=validator(response.headers.get("Last-Modified")),
                length=response.content_length,
            )
            self._check_length(response, origin.length)
            offset, digests = 0, Digests(self._expected)
            part = self._part.begin(origin)
        size, most = offset, self._most(origin)
        try:
            with part:
                async for chunk in stream(response, self._limits):
                    size += len(chunk)
                    if size > most:
                        raise self._too_long(response, origin, most)
                    part.write(chunk)
                    digests.update(chunk)
                    self._on_bytes(len(chunk))
        except BaseException as exc:
            # A file with nothing to resume it by, or bytes that are wrong, are not kept.
            if origin.if_range is None or isinstance(exc, ResponseDecodeError):
                self._part.discard()
            raise
        return self._finish(response, origin, offset, size, digests)

    def _finish(
        self,
        response: aiohttp.ClientResponse,
        origin: Origin,
        offset: int,
        size: int,
        digests: Digests,
    ) -> Fetched:
        """Check the whole `.part` of `size` bytes (`offset` of them from before), and put it
        in place if it passes."""
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
            validators=Validators(etag=origin.etag, last_modified=origin.last_modified),
            checks=self._checks(origin),
        )

    def _most(self, origin: Origin) -> int:
        """The most bytes the file may have: its announced length or the item's size when
        either is known, and the client's bound on any file."""
        known = (origin.length, self._expected.size, self._limits.max_file_bytes)
        return min(bound for bound in known if bound is not None)

    def _check_length(self, response: aiohttp.ClientResponse, length: int | None) -> None:
        """Refuse, before reading it, a file whose announced length is not the item's size."""
        size = self._expected.size
        if length is not None and size is not None and length != size:
            self._part.discard()
            raise self._mismatch(
                response, f"the answer announces {length} bytes where the item's size says {size}"
            )

    def _too_long(
        self, response: aiohttp.ClientResponse, origin: Origin, most: int
    ) -> ResponseDecodeError:
        """The error for a body that went past `most` bytes."""
        if most in (origin.length, self._expected.size):
            return self._mismatch(response, f"more than the {most} bytes announced arrived")
        return ResponseTooLargeError(
            f"the file is larger than the client reads (max_file_bytes={most})",
            status=response.status,
            url=self._url,
        )

    async def _past_the_end(self, response: aiohttp.ClientResponse) -> Fetched:
        """A 416 to a Range: a `.part` that is the whole file (a crash came between its last
        byte and its rename) is checked and put in place; any other starts over."""
        length = unsatisfied_length(response.headers.get("Content-Range"))
        if self._resume is not None:
            origin, offset = self._resume
            if length == offset and origin.length in (None, offset):
                digests = await digest_of(self._part.path, offset, self._expected)
                origin = attrs.evolve(origin, length=offset)
                return attrs.evolve(
                    self._finish(response, origin, offset, offset, digests), outcome="resumed"
                )
        self._part.discard()
        raise self._mismatch(response, "the host has no bytes past those already fetched")

    def _resumed_from(self, response: aiohttp.ClientResponse) -> tuple[Origin, int]:
        """The `.part` a 206 goes on from, if the range it carries is the one asked, of the
        same file (its validators, where it sends them, and its length)."""
        span = content_range(response.headers.get("Content-Range"))
        if self._resume is None:
            raise ResponseDecodeError(
                "a 206 Partial Content answered a request for the whole file",
                status=206,
                url=str(response.url),
            )
        origin, offset = self._resume
        problem = None
        if span is None or span[0] != offset or span[1] + 1 != span[2]:
            problem = f"the host sent a range unlike bytes={offset}-"
        elif origin.length not in (None, span[2]) or not origin.same_as(
            validator(response.headers.get("ETag")),
            validator(response.headers.get("Last-Modified")),
        ):
            problem = "the file changed while it was fetched"
        elif read_int(response.headers.get("Content-Length"), low=0) not in (
            None,
            span[2] - offset,
        ):
            problem = "the range's Content-Length disagrees with its span"
        if problem is not None:
            self._part.discard()
            raise self._mismatch(response, problem)
        assert span is not None  # a range unlike the one asked is a problem above
        self._check_length(response, span[2])
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


async def digest_of(path: Path, size: int, expected: Expected) -> Digests:
    """The digest the item names of the first `size` bytes of `path` (a `.part` resumed, a
    copy found), hashed on a worker thread: a large file must not stall the event loop. The
    file is not read when the item names none."""
    digests = Digests(expected)
    if expected.checksum is None:
        return digests

    def read() -> None:
        with path.open("rb") as part:
            left = size
            while left > 0 and (block := part.read(min(BLOCK, left))):
                digests.update(block)
                left -= len(block)

    await asyncio.to_thread(read)
    return digests
