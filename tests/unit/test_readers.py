"""JSON from response bytes: msgspec's speed, the standard library's answers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliquify_async._wire import loads

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)  # around and past 64 bits
    | st.integers(min_value=-(2**70), max_value=-(2**63) + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, database=None)
@given(value=values, ascii_only=st.booleans())
def test_loads_agrees_with_the_standard_library(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert loads(raw) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"size": NaN, "width": Infinity}',  # the standard library's extensions
        b'{"id": 123456789012345678901234567890}',  # past 64 bits
        '{"name": "\u00e9t\u00e9"}'.encode("utf-16"),  # another encoding, with its BOM
        b'\xef\xbb\xbf{"a": 1}',  # UTF-8 with a byte-order mark
        b'{"name": "\\ud800"}',  # a lone surrogate
        b'{"a": 1e400}',  # out of a float's range: inf
    ],
)
def test_what_msgspec_refuses_is_read_as_the_standard_library_reads_it(raw: bytes) -> None:
    expected = json.loads(raw)
    got = loads(raw)
    assert json.dumps(got) == json.dumps(expected)
    if isinstance(expected, dict) and isinstance(expected.get("size"), float):
        assert math.isnan(got["size"])


@pytest.mark.parametrize("raw", [b"", b"<html>", b'{"a": 1', b"[" * 100_000])
def test_what_neither_reads_is_an_error(raw: bytes) -> None:
    with pytest.raises((ValueError, RecursionError)):
        loads(raw)
