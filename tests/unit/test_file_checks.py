"""What a file is checked against: checksums told by field name, prefix or length, the
item's size, and the announced length; and the wire forms a range answer is read from."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from cliquify_async._files.checks import Checksum, Digests, Expected, item_checksum, mismatch
from cliquify_async._wire import content_range, validator

DATA = b"the bytes of a file"
MD5, SHA1 = hashlib.md5(DATA).hexdigest(), hashlib.sha1(DATA).hexdigest()
SHA256, SHA512 = hashlib.sha256(DATA).hexdigest(), hashlib.sha512(DATA).hexdigest()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"md5": MD5}, f"md5:{MD5}"),
        ({"sha1": SHA1.upper()}, f"sha1:{SHA1}"),
        ({"sha256": SHA256}, f"sha256:{SHA256}"),
        ({"checksum": SHA512}, f"sha512:{SHA512}"),  # by its length
        ({"checksum": MD5}, f"md5:{MD5}"),
        ({"checksum": f"SHA1:{SHA1}"}, f"sha1:{SHA1}"),  # by its prefix
        ({"hash": f"sha256:{SHA256}"}, f"sha256:{SHA256}"),
        ({"md5": SHA256, "sha1": SHA1}, f"sha1:{SHA1}"),  # an md5 of 64 digits is none
        ({"checksum": "not-hex" * 5}, None),
        ({"checksum": "ab" * 20 + "z"}, None),
        ({"checksum": f"md5:{SHA256}"}, None),  # the prefix and the length disagree
        ({"sha256": f"md5:{MD5}"}, None),  # the field and the prefix disagree
        ({"checksum": 12345}, None),
        ({"size": 3}, None),
    ],
)
def test_a_checksum_is_told_by_field_name_prefix_or_length(
    item: dict[str, Any], expected: str | None
) -> None:
    found = item_checksum(item)
    assert (None if found is None else str(found)) == expected


@pytest.mark.parametrize(
    ("expected", "announced", "size", "problem"),
    [
        (Expected(), None, len(DATA), None),
        (Expected(size=len(DATA), checksum=Checksum("md5", MD5)), len(DATA), len(DATA), None),
        (Expected(checksum=Checksum("sha512", SHA512)), None, len(DATA), None),
        (Expected(), len(DATA) + 1, len(DATA), "arrived where the answer announced"),
        (Expected(size=len(DATA) - 1), None, len(DATA), "where the item's size says"),
        (Expected(checksum=Checksum("sha256", "0" * 64)), None, len(DATA), "where the item says"),
    ],
)
def test_a_file_is_checked_against_length_size_and_checksum(
    expected: Expected, announced: int | None, size: int, problem: str | None
) -> None:
    digests = Digests(expected)
    digests.update(DATA)

    found = mismatch(expected, announced, size, digests)

    named = expected.checksum
    assert digests.hex() == (
        None if named is None else hashlib.new(named.algorithm, DATA).hexdigest()
    )
    assert (found is None) == (problem is None)
    assert problem is None or (found is not None and problem in found)


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes 0-99/100", (0, 99, 100)),
        (" bytes 40-99/100 ", (40, 99, 100)),
        ("bytes 40-99/*", None),
        ("bytes 50-40/100", None),
        ("bytes 0-100/100", None),
        ("items 0-9/10", None),
        ("bytes 0-" + "9" * 30 + "/1", None),
        (None, None),
    ],
)
def test_content_range_is_read_only_in_its_one_form(
    header: str | None, span: tuple[int, int, int] | None
) -> None:
    assert content_range(header) == span


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ('"abc"', '"abc"'),
        ('W/"abc"', 'W/"abc"'),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("", None),
        ('"' + "a" * 300 + '"', None),
        ('"caf\u00e9"', None),
        ('"a\x1b[2J"', None),
        (None, None),
    ],
)
def test_a_validator_is_kept_only_as_short_printable_ascii(
    header: str | None, kept: str | None
) -> None:
    assert validator(header) == kept
