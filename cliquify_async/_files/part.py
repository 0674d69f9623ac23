"""A file being downloaded: `.<name>.part` with its bytes so far, and `.<name>.part.json`
beside it with what resuming needs (the URL, the validators and the length of the answer
that started it). The sidecar is replaced atomically and written before the first byte, so
after any crash a `.part` either has a sidecar that describes it or is started again."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import BinaryIO

import attrs
from attrs import frozen, validators

from .._disk import create_exclusive, open_fd, read_own, refuse_link, replace_file
from ..errors import OutputError

_TEXT = validators.optional(validators.instance_of(str))


def url_digest(url: str) -> str:
    """What a sidecar keeps of a URL: its SHA-256, never the URL (a signed one is a secret)."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


@frozen(kw_only=True)
class Origin:
    """Where a `.part`'s bytes come from: the URL (`source`, its `url_digest`), the
    validators of the answer that started it (either may be absent), and that answer's
    whole length when it said."""

    source: str = attrs.field(validator=validators.instance_of(str))
    etag: str | None = attrs.field(default=None, validator=_TEXT)
    last_modified: str | None = attrs.field(default=None, validator=_TEXT)
    length: int | None = attrs.field(
        default=None, validator=validators.optional(validators.instance_of(int))
    )

    @property
    def if_range(self) -> str | None:
        """What `If-Range` can carry (RFC 9110 §13.1.5): a strong ETag, or the Last-Modified
        date when there is no ETag at all; None otherwise (the bytes cannot be resumed)."""
        if self.etag is not None:
            return None if self.etag.startswith("W/") else self.etag
        return self.last_modified

    def same_as(self, etag: str | None, last_modified: str | None) -> bool:
        """Whether an answer's validators (those it sent) are this origin's."""
        return (etag is None or etag == self.etag) and (
            last_modified is None or last_modified == self.last_modified
        )


class PartFile:
    """The `.part` and sidecar of one target file."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}.part")
        self.sidecar = target.with_name(f".{target.name}.part.json")

    def resumable(self, url: str) -> tuple[Origin, int] | None:
        """The origin and the bytes on disk of a `.part` that can go on from `url`; anything
        else left by an earlier run (no sidecar, another URL, no validator, a damaged
        sidecar) is removed."""
        origin, size = self._origin(), self._size()
        if (
            origin is None
            or size is None
            or origin.source != url_digest(url)
            or origin.if_range is None
            or (origin.length is not None and size > origin.length)
        ):
            self.discard()
            return None
        return origin, size

    def begin(self, origin: Origin) -> BinaryIO:
        """Start the file afresh from an answer of `origin`: the sidecar first, then an
        empty `.part` created exclusively."""
        self.path.unlink(missing_ok=True)
        replace_file(self.sidecar, json.dumps(attrs.asdict(origin)).encode())
        return create_exclusive(self.path)

    def append(self, offset: int) -> BinaryIO:
        """The `.part` opened to go on writing at `offset` (anything after it cut off)."""
        refuse_link(self.path, in_place=True)
        part = os.fdopen(open_fd(self.path, os.O_WRONLY), "wb")
        part.truncate(offset)
        part.seek(offset)
        return part

    def finish(self) -> None:
        """Put the complete file in place (replacing a symlink there, never following it)
        and forget the sidecar."""
        self.path.replace(self.target)
        self.sidecar.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove the `.part` and its sidecar."""
        self.path.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def _origin(self) -> Origin | None:
        try:
            saved = read_own(self.sidecar)
            return None if saved is None else Origin(**json.loads(saved))
        except (ValueError, TypeError, OutputError):  # damaged, or a link planted there
            return None

    def _size(self) -> int | None:
        """The `.part`'s length; None if it is missing or a link the SDK did not make (then
        it is removed, never followed)."""
        try:
            found = self.path.lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(found.st_mode) or found.st_nlink > 1:
            return None
        return found.st_size
