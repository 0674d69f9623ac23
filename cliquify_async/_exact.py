"""Exact decoding in C: items whose keys and value types are just what their model assumes.

Almost every item the API sends is exactly shaped, and building its model field by field in
Python costs more than parsing the page. For those items msgspec builds the models in C, a
page at a time. It accepts a value only where the converter's lenient path would take it
unchanged or read it by the very same rules (timestamps: see _timestamps), so the two paths
agree; for anything else `one` raises and `page` gives None, and the caller takes the lenient
path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import chain, compress, repeat
from operator import attrgetter, eq, is_not
from typing import Any, get_args, get_origin

import attrs
import msgspec

from ._fields import named_fields, union_members
from ._timestamps import to_utc

_SCALARS = (str, int, float, bool)  # types msgspec accepts only as the lenient path returns them


class Unusual(Exception):
    """An item needs the lenient path (a nested item is not exactly shaped)."""


def _nested_model(cls: type[Any], field: attrs.Attribute[Any]) -> type[Any] | None:
    """The model listed by `field` (as in `tags: list[Tag] | None`), or None for a plain field.

    Raises TypeError for a field type whose exact decoding has not been shown to agree with
    the lenient path.
    """
    for member in union_members(field.type):
        if member in _SCALARS or member is datetime:
            continue
        if get_origin(member) is list:
            (item,) = get_args(member)
            if item in _SCALARS:
                continue
            if attrs.has(item) and "extra" in attrs.fields_dict(item):
                return item
        raise TypeError(f"no exact decoding for {cls.__name__}.{field.name}: {field.type!r}")
    return None


def _check_plain(cls: type[Any]) -> None:
    """Refuse a class msgspec would build differently from its `__init__`.

    msgspec sets the fields without calling `__init__`, so validators and converters would
    not run; init hooks would, but the lenient path's `__init__` is the reference.
    """
    if not attrs.has(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has an init hook")
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} is validated, converted or not init")


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """Sets slot `name` of a (frozen) instance of `cls`, as its own `__init__` does."""
    setter: Callable[[Any, Any], None] = vars(cls)[name].__set__
    return setter


class ExactModel:
    """The exact decoder of one attrs model with an `extra` field."""

    cls: type[Any]
    named: frozenset[str]  # the keys an exactly shaped item has
    _nested: tuple[tuple[str, frozenset[str]], ...]  # each list of models: its field, their keys
    _stamps: tuple[tuple[Callable[[Any], Any], Callable[[Any, Any], None]], ...]  # get, set

    def __init__(self, cls: type[Any]) -> None:
        _check_plain(cls)
        fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.name != "extra"]
        nested: list[tuple[str, frozenset[str]]] = []
        for field in fields:
            item = _nested_model(cls, field)
            if item is not None:
                listed = ExactModel(item)  # the same checks, for the listed model
                if listed._nested or listed._stamps:  # one level, with nothing to fix up
                    raise TypeError(f"{item.__name__} in a list has lists or timestamps")
                nested.append((field.name, listed.named))
        stamps = [f.name for f in fields if datetime in union_members(f.type)]
        self.cls = cls
        self.named = named_fields(cls)
        self._nested = tuple(nested)
        self._stamps = tuple((attrgetter(name), _slot_setter(cls, name)) for name in stamps)
        self._set_extra = _slot_setter(cls, "extra")
        self._many: Any = list[cls]  # type: ignore[valid-type]

    def one(self, known: dict[str, Any], extra: dict[str, Any]) -> Any:
        """The model from its known fields (some may be absent) and `extra`, or raise."""
        if not self._nested_exact((known,)):
            raise Unusual
        obj = msgspec.convert(known, self.cls)
        self._to_utc((obj,))
        if extra:
            self._set_extra(obj, extra)
        return obj

    def page(self, values: Sequence[Any]) -> list[Any] | None:
        """Models for a page of items that all have exactly the assumed keys, or None."""
        try:
            if not all(map(eq, map(dict.keys, values), repeat(self.named))):
                return None
        except TypeError:  # an item that is not an object (dict.keys refuses it)
            return None
        if not self._nested_exact(values):
            return None
        try:
            models: list[Any] = msgspec.convert(values, self._many)
            self._to_utc(models)
        except (ValueError, OverflowError):  # ValidationError, or a string msgspec cannot read
            return None
        return models

    def _nested_exact(self, values: Iterable[dict[str, Any]]) -> bool:
        """Whether every item listed inside `values` has exactly its model's keys.

        Absent, null and other falsy values (an empty list, but also 0 or "") are skipped
        here; msgspec refuses the ones that are not lists.
        """
        for name, named in self._nested:
            lists: Iterable[Any] = filter(None, map(dict.get, values, repeat(name)))
            listed = chain.from_iterable(lists)
            try:
                if not all(map(eq, map(dict.keys, listed), repeat(named))):
                    return False
            except TypeError:  # a listed item (or the list itself) of another JSON type
                return False
        return True

    def _to_utc(self, models: Sequence[Any]) -> None:
        """Move the models' timestamps to UTC (msgspec keeps offsets and leaves naive ones)."""
        for get, set_ in self._stamps:
            # The zone of each timestamp, UTC for an absent one; only the others are visited.
            zones = map(getattr, map(get, models), repeat("tzinfo"), repeat(UTC))
            for obj in compress(models, map(is_not, zones, repeat(UTC))):
                set_(obj, to_utc(get(obj)))
