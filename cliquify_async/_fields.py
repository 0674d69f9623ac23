"""What a model's fields say of the JSON it is built from: the keys it names and the types a
field may hold. Read by the decoders, the doctor and the SQLite sink alike."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import attrs


def named_fields(cls: type[Any]) -> frozenset[str]:
    """The keys of an item of `cls` as the model assumes them (all its fields but `extra`)."""
    return frozenset(a.name for a in attrs.fields(cls)) - {"extra"}


def union_members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union other than None, or the annotation alone."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)
