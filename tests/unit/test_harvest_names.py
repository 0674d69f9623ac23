"""Asset file names come from the server, so they must never leave the files folder."""

from __future__ import annotations

import pytest

from cliquify_async._harvest import file_name


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


def test_an_asset_without_an_id_still_gets_a_safe_name() -> None:
    assert file_name({"name": "orphan.png"}) == "_-orphan.png"
