"""Asset file names come from the server: they never leave the files folder, stay readable
where the id allows, and two different assets never share one."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliquify_async._harvest.names import MAX_FILE_NAME, file_name


@pytest.mark.parametrize(
    "asset",
    [
        {"id": "../../../tmp/evil", "name": "x.png"},
        {"id": 7, "name": "../../etc/passwd"},
        {"id": "a/b", "name": "/abs/path.png"},
        {"id": "..", "name": ".."},
    ],
)
def test_file_names_have_no_path_parts(asset: dict[str, object]) -> None:
    name = file_name(asset)
    assert "/" not in name and "\\" not in name
    assert not name.startswith(".")
    assert name not in ("", ".", "..")


def test_file_names_keep_id_and_name_when_they_are_safe() -> None:
    assert file_name({"id": 12, "name": "Logo Final.png"}) == "12-Logo_Final.png"
    assert file_name({"id": 3, "url": "https://cdn.example/a/b/photo.jpg"}) == "3-photo.jpg"
    assert file_name({"id": "a7f3", "name": "logo.png"}) == "a7f3-logo.png"


def test_ids_that_could_be_read_two_ways_are_told_apart() -> None:
    pairs = [
        ({"id": "12-a", "name": "b.png"}, {"id": 12, "name": "a-b.png"}),
        ({"id": "12", "name": "x.png"}, {"id": 12, "name": "x.png"}),
        ({"id": "ABC", "name": "x.png"}, {"id": "abc", "name": "x.png"}),
        ({"id": "a" * 300 + "1", "name": "x"}, {"id": "a" * 300 + "2", "name": "x"}),
    ]
    for first, second in pairs:
        assert file_name(first) != file_name(second)
    assert re.fullmatch(r"12a_[0-9a-f]{16}-b\.png", file_name(pairs[0][0]))


def test_a_long_name_is_cut_but_keeps_its_extension() -> None:
    name = file_name({"id": 5, "name": "n" * 500 + ".tiff"})
    assert len(name) == MAX_FILE_NAME and name.endswith(".tiff")


ids = st.one_of(st.integers(), st.text(max_size=300))


@settings(max_examples=300, deadline=None, database=None)
@given(first=st.tuples(ids, st.text()), second=st.tuples(ids, st.text()))
def test_two_different_ids_never_share_a_file_name(
    first: tuple[object, str], second: tuple[object, str]
) -> None:
    (id1, name1), (id2, name2) = first, second
    if (type(id1), id1) == (type(id2), id2):
        return
    a, b = file_name({"id": id1, "name": name1}), file_name({"id": id2, "name": name2})
    assert a.lower() != b.lower()  # distinct on a case-insensitive disk too
    assert len(a) <= MAX_FILE_NAME and len(b) <= MAX_FILE_NAME
