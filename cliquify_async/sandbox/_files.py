"""The unprotected /files "CDN" the items' URLs point to, serving like a real one: ETag and
Last-Modified validators, conditional GETs (304), single byte ranges (206, 416) and If-Range."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

import attrs
from aiohttp import hdrs, web

from ._api import message
from ._body import BodyResponse
from ._dataset import FileSpec, file_bytes
from ._state import STATE

_FIRST_MODIFIED: Final = datetime(2024, 1, 1, tzinfo=UTC)  # version 0's Last-Modified
_VERSION_AGE: Final = timedelta(hours=1)  # each later version is modified this much later
_RANGE: Final = re.compile(r"bytes=(\d+)-(\d*)")  # the only forms served; others get it all


@attrs.frozen
class _Validators:
    """A file version's ETag and Last-Modified, and the request conditions they decide."""

    etag: str
    modified: datetime

    @classmethod
    def of(cls, path: str, spec: FileSpec) -> _Validators:
        """Cheap per request: a hash of path, version and size, and a date per version."""
        key = f"{spec.version}:{spec.size}:{path}".encode()
        return cls(
            etag=f'"{hashlib.blake2b(key, digest_size=8).hexdigest()}"',
            modified=_FIRST_MODIFIED + spec.version * _VERSION_AGE,
        )

    def headers(self) -> dict[str, str]:
        return {
            hdrs.ETAG: self.etag,
            hdrs.LAST_MODIFIED: format_datetime(self.modified, usegmt=True),
        }

    def not_modified(self, headers: Mapping[str, str]) -> bool:
        """If-None-Match names this version (weakly), or, without it, If-Modified-Since is
        not before Last-Modified."""
        if_none_match = headers.get(hdrs.IF_NONE_MATCH)
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or self.etag in tags
        since = _date(headers.get(hdrs.IF_MODIFIED_SINCE))
        return since is not None and since >= self.modified

    def named_by(self, if_range: str) -> bool:
        """If-Range names this version: its ETag (a strong match) or exactly Last-Modified."""
        if if_range.startswith('"'):
            return if_range == self.etag
        return _date(if_range) == self.modified


async def serve_file(request: web.Request) -> web.StreamResponse:
    """GET/HEAD /files/...: a file named in the dataset, whole, a range of it, or a 304."""
    state = request.app[STATE]
    spec = state.data.files.get(request.path)
    if spec is None:
        return message(404, "Not Found.")
    config = state.config
    validators = _Validators.of(request.path, spec) if config.file_validators else None
    headers = validators.headers() if validators is not None else {}
    if validators is not None and validators.not_modified(request.headers):
        return web.Response(status=304, headers=headers)
    span = None
    if config.file_ranges:
        headers[hdrs.ACCEPT_RANGES] = "bytes"
        span = _wanted_span(request.headers, validators, spec.size)
    if span is None:
        return _content(request.path, spec, 0, spec.size, headers, config.file_bandwidth)
    start, stop = span
    if start >= spec.size:
        headers[hdrs.CONTENT_RANGE] = f"bytes */{spec.size}"
        return web.Response(status=416, headers=headers)
    headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{spec.size}"
    return _content(request.path, spec, start, stop, headers, config.file_bandwidth)


def _wanted_span(
    headers: Mapping[str, str], validators: _Validators | None, size: int
) -> tuple[int, int] | None:
    """The range to serve, or None to serve it all: there is none, or If-Range names another
    version (without validators, If-Range names none)."""
    span = _span(headers.get(hdrs.RANGE), size)
    if_range = headers.get(hdrs.IF_RANGE)
    if span is None or if_range is None:
        return span
    return span if validators is not None and validators.named_by(if_range) else None


def _span(value: str | None, size: int) -> tuple[int, int] | None:
    """Bytes [start, stop) of a ``size``-byte file that one ``bytes=N-`` or ``bytes=N-M`` range
    asks for (a start at or past the end stays: unsatisfiable); None for any other value."""
    match = _RANGE.fullmatch(value.strip()) if value is not None else None
    if match is None:
        return None
    start = int(match[1])
    if not match[2]:
        return start, size
    last = int(match[2])
    return (start, min(last + 1, size)) if last >= start else None


def _content(
    path: str, spec: FileSpec, start: int, stop: int, headers: dict[str, str], rate: float | None
) -> BodyResponse:
    """Bytes [start, stop) of the file: 206 when the headers have a Content-Range, else 200."""
    headers[hdrs.CONTENT_TYPE] = spec.content_type
    return BodyResponse(
        lambda begin, end: file_bytes(path, start + end, version=spec.version, start=start + begin),
        stop - start,
        status=206 if hdrs.CONTENT_RANGE in headers else 200,
        headers=headers,
        rate=rate,
    )


def _date(value: str | None) -> datetime | None:
    """An HTTP-date, None if absent or unreadable; a date with no zone is taken as UTC."""
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
