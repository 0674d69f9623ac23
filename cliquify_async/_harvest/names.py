"""Names of what a harvest writes and reports: an asset's file name, unique per id and safe
in any folder, and short printable labels for items and values a server sent."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PLAIN_ID = re.compile(r"[a-z0-9]{1,40}")
_NOT_PLAIN = re.compile(r"[^a-z0-9]+")
MAX_FILE_NAME: Final = 200
"""Characters in a downloaded file's name, well inside every file system's 255 bytes."""
_PLAIN_INT: Final = range(10**20)
_KEPT_EXTENSION: Final = 16  # a cut name keeps an extension up to this long


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def has_file_id(asset: Mapping[str, Any]) -> bool:
    """Whether `asset` has an id its file can be named by: an integer or a string."""
    key = asset.get("id")
    return isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool))


def _id_part(key: object) -> str:
    """The id as the start of a file name, distinct for distinct ids (see `file_name`)."""
    if isinstance(key, int) and not isinstance(key, bool):
        if key in _PLAIN_INT:
            return str(key)
        readable, tagged = (str(key) if -(10**40) < key < 10**40 else ""), f"int:{key:x}"
    elif isinstance(key, str):
        if _PLAIN_ID.fullmatch(key) and not key.isdigit():
            return key
        readable, tagged = key.lower(), f"str:{key}"
    else:
        return "_"
    digest = hashlib.sha256(tagged.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_NOT_PLAIN.sub('', readable)[:24]}_{digest}"


def file_name(asset: Mapping[str, Any]) -> str:
    """The name of an asset's file, `<id>-<name>`: at most MAX_FILE_NAME characters, never
    leaving its folder, and never the same for two assets with different ids.

    The id comes first and never holds a `-`: an integer up to 20 digits or a lowercase
    alphanumeric string with a letter stands as it is (`12-logo.png`, `a7f3-logo.png`); any
    other id (`"12-a"`, `"12"`, `"ABC"`, a long one) as its letters and digits, lowercased and
    cut at 24, then `_` and 16 hex digits of the SHA-256 of its type and value
    (`12a_5f0c...-b.png`). So distinct ids give distinct names, on a case-insensitive disk
    too. The name (or the URL's last part) follows with anything but letters, digits, `.`,
    `_` and `-` turned into `_`, cut to fit but keeping its extension. Without an integer or
    string id the name starts `_-`; the harvest downloads no such asset.
    """
    key = _id_part(asset.get("id"))
    name, url = asset.get("name"), asset.get("url")
    if not (isinstance(name, str) and name):
        name = (url if isinstance(url, str) else "").rsplit("/", 1)[-1] or "file"
    name = _safe(name)
    room = MAX_FILE_NAME - len(key) - 1
    if len(name) > room:
        stem, dot, extension = name.rpartition(".")
        keep = dot and len(extension) <= _KEPT_EXTENSION
        name = f"{stem[: room - len(extension) - 1]}.{extension}" if keep else name[:room]
    return f"{key}-{name}"


def item_label(item: object, position: int | None = None) -> str:
    """A short, printable name for a listed item: `item 7 (id 12)`, from what is known."""
    key = repr_bounded(item.get("id")) if isinstance(item, Mapping) and "id" in item else None
    parts = [f"item {position}" if position is not None else "item", f"(id {key})" if key else ""]
    return " ".join(part for part in parts if part)


def repr_bounded(value: object, limit: int = 60) -> str:
    """`value` as ASCII (escapes for anything else: nothing a terminal acts on), cut at
    `limit` characters: how a server-sent value appears in a message."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def asset_key(asset: Mapping[str, Any]) -> str:
    """An asset's id as JSON (`12`, `"a7"`): how its file's record is found again."""
    return json.dumps(asset.get("id"))
