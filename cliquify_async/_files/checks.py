"""What a downloaded file must be: the length its answer announced, the item's `size`, and
the item's checksum, a hex digest recognised by its field's name or its length."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final

from attrs import frozen

DIGEST_LENGTHS: Final = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
"""The algorithms a checksum may name, by the hex length of their digest."""
_BY_LENGTH: Final = {length: name for name, length in DIGEST_LENGTHS.items()}
CHECKSUM_FIELDS: Final = ("sha512", "sha256", "sha1", "md5", "checksum", "hash")
"""An item's fields that may hold its file's digest, strongest first: one named after its
algorithm, or `checksum`/`hash` with an `algorithm:` prefix or a digest of telling length."""
_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_MAX_SIZE: Final = 2**63


@frozen
class Checksum:
    """A file's digest by one algorithm, as lowercase hex; written `sha256:<hex>`."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str, algorithm: str | None = None) -> Checksum | None:
        """The checksum `text` holds (`<hex>` or `<algorithm>:<hex>`), its algorithm named by
        `algorithm` (a field's name), its prefix or its length; None if it is none."""
        named, colon, digest = text.strip().rpartition(":")
        if colon:
            if algorithm is not None and named.lower() != algorithm:
                return None
            algorithm = named.lower()
        algorithm = algorithm or _BY_LENGTH.get(len(digest))
        if algorithm not in DIGEST_LENGTHS or not _HEX.fullmatch(digest):
            return None
        if len(digest) != DIGEST_LENGTHS[algorithm]:
            return None
        return cls(algorithm, digest.lower())


def item_checksum(item: Mapping[str, object]) -> Checksum | None:
    """The first usable checksum among an item's CHECKSUM_FIELDS; a value that is not one
    (wrong length, not hex) is passed over, as if the field were absent."""
    for name in CHECKSUM_FIELDS:
        value = item.get(name)
        if isinstance(value, str):
            found = Checksum.parse(value, name if name in DIGEST_LENGTHS else None)
            if found is not None:
                return found
    return None


def item_size(item: Mapping[str, object]) -> int | None:
    """The item's `size` in bytes when it is a plausible one (an integer, 0 to 2**63)."""
    size = item.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and 0 <= size < _MAX_SIZE:
        return size
    return None


@frozen
class Expected:
    """What the item says its file is; either may be unknown."""

    size: int | None = None
    checksum: Checksum | None = None

    @classmethod
    def of(cls, item: Mapping[str, object]) -> Expected:
        return cls(item_size(item), item_checksum(item))


UNKNOWN: Final = Expected()
"""A file nothing is known of beforehand."""


class Digests:
    """The digest a file's item names, taken as the file is written; nothing when the item
    names none (hashing is most of a download's cost on a fast link)."""

    def __init__(self, expected: Expected) -> None:
        checksum = expected.checksum
        self._hash = None if checksum is None else hashlib.new(checksum.algorithm)

    def update(self, chunk: bytes) -> None:
        if self._hash is not None:
            self._hash.update(chunk)

    def hex(self) -> str | None:
        return None if self._hash is None else self._hash.hexdigest()


def mismatch(expected: Expected, announced: int | None, size: int, digests: Digests) -> str | None:
    """Why a file of `size` bytes, hashed into `digests`, is not the one its answer
    (`announced` bytes) and its item describe; None when it is."""
    if announced is not None and size != announced:
        return f"{size} bytes arrived where the answer announced {announced}"
    if expected.size is not None and size != expected.size:
        return f"the file has {size} bytes where the item's size says {expected.size}"
    checksum, found = expected.checksum, digests.hex()
    if checksum is not None and found != checksum.hex:
        return f"the file's {checksum.algorithm} is {found} where the item says {checksum.hex}"
    return None
