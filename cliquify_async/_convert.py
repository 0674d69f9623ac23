"""The one cattrs converter: JSON values in, models out, failures as ResponseDecodeError."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar, get_args, get_origin

import attrs
from cattrs import Converter
from cattrs.strategies import configure_union_passthrough

from . import _drift as drift
from . import models
from ._exact import ExactModel, Unusual
from ._fields import named_fields
from ._timestamps import parse_datetime
from ._wire import read_int
from .errors import ResponseDecodeError

T = TypeVar("T")

# The models of list items: their assumed field lists are what drift warnings watch.
_LISTED: tuple[type[Any], ...] = (
    models.Tag,
    models.Asset,
    models.BrandKit,
    models.Color,
    models.Folder,
    models.Logo,
    models.Template,
)
_MODELS: tuple[type[Any], ...] = (*_LISTED, models.AccessToken, models.TokenInfo)


_BOOLEAN_TEXT = {"1": True, "true": True, "0": False, "false": False}


def parse_bool(value: object) -> bool:
    """A boolean from JSON true/false, 1/0, or the "1"/"0"/"true"/"false" strings PHP may send.

    cattrs alone would call bool(), which turns the string "0" into True.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value.strip().lower()]
    raise TypeError(f"expected a boolean, got {value!r}")


def parse_int(value: object) -> int:
    """An integer as `read_int` reads one; anything else fails (cattrs alone would call int(),
    which silently truncates 640.5 to 640)."""
    number = read_int(value)
    if number is None:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return number


def parse_str(value: object) -> str:
    """A string, or a number written as one (an id or a size sent as a number is still text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


Hook = Callable[[Any, Any], Any]
Exact = Callable[[dict[str, Any], dict[str, Any]], Any]
"""Builds a model from its known fields and the `extra` dict, or raises on anything unusual."""


def _is_list(cls: Any) -> bool:
    return get_origin(cls) is list


def _lists_only(converter: Converter) -> Hook:
    """A structure hook for `list[X]` that takes a JSON array only.

    cattrs alone would iterate any iterable, so a string became a list of its letters and an
    object the list of its keys, and the value was lost instead of kept in `extra`.
    """

    def structure(value: Any, cls: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item,) = get_args(cls)
        return [converter.structure(each, item) for each in value]

    return structure


def _keeping_extra(
    cls: type[Any], converter: Converter, exact: Exact, *, watch_drift: bool
) -> Hook:
    """A structure hook for `cls` that keeps what it cannot use in `extra` instead of failing.

    Keys the model does not name go to `extra`. The field types are assumed too, so a known
    field whose value does not fit (tags as strings, a size like "12 KB") is also moved to
    `extra`, leaving the field None. Only a missing or unusable `id` (or another required
    field) fails the item. Each surprise is a drift warning, once per model and field.
    Items whose fields all fit exactly are built by `exact` instead (see _exact).
    """
    named = named_fields(cls)
    types = {a.name: a.type for a in attrs.fields(cls)}
    required = frozenset(a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING)

    def salvage(known: dict[str, Any], unknown: dict[str, Any]) -> Any:
        kept: dict[str, Any] = {}
        for name, raw in known.items():
            try:
                kept[name] = converter.structure(raw, types[name])
            except Exception as exc:
                if name in required:  # no default to fall back on: the item fails
                    raise
                unknown[name] = raw
                drift.undecodable(cls.__name__, name, exc)
        for name in required:
            if name not in kept:
                raise KeyError(name)
        return cls(**kept, extra=unknown)

    def split(value: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            (known if key in named else unknown)[key] = item
        if watch_drift:
            if unknown:
                drift.unknown_fields(cls.__name__, unknown)
            if len(known) < len(named):
                drift.missing_fields(cls.__name__, named - known.keys())
        return known, unknown

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__}")
        # The usual item has exactly the assumed fields: nothing to split off or warn about.
        known, unknown = (value, {}) if value.keys() == named else split(value)
        try:
            return exact(known, unknown)
        except Exception:
            return salvage(known, unknown)

    return structure


def _never_exact(known: dict[str, Any], extra: dict[str, Any]) -> Any:
    """The exact decoder of a converter without exact decoding: always the lenient path."""
    raise Unusual


def _build(*, exact: bool = True) -> tuple[Converter, dict[type[Any], ExactModel]]:
    """The converter and the models' exact decoders; `exact=False` leaves only the lenient
    path (tests compare the two)."""
    converter = Converter(detailed_validation=False)
    configure_union_passthrough(int | str | None, converter)
    converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    converter.register_structure_hook(bool, lambda value, _: parse_bool(value))
    converter.register_structure_hook(int, lambda value, _: parse_int(value))
    converter.register_structure_hook(str, lambda value, _: parse_str(value))
    converter.register_structure_hook_func(_is_list, _lists_only(converter))
    exact_models: dict[type[Any], ExactModel] = {}
    for cls in _MODELS:
        attrs.resolve_types(cls)  # the lenient path reads the field types too
        if exact:
            exact_models[cls] = ExactModel(cls)
        one = exact_models[cls].one if exact else _never_exact
        hook = _keeping_extra(cls, converter, one, watch_drift=cls in _LISTED)
        converter.register_structure_hook(cls, hook)
    return converter, exact_models


converter, _exact_models = _build()


def _decode_error(exc: Exception, cls: type[Any], value: Any, url: str | None) -> Exception:
    reason = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
    return ResponseDecodeError(f"cannot decode {cls.__name__}: {reason}", data=value, url=url)


def structure(value: Any, cls: type[T], *, url: str | None = None) -> T:
    """Decode one JSON value into `cls`, or raise ResponseDecodeError carrying the value."""
    try:
        return converter.structure(value, cls)
    except Exception as exc:
        raise _decode_error(exc, cls, value, url) from exc


def structure_many(values: Iterable[Any], cls: type[T], *, url: str | None = None) -> list[T]:
    """Decode a list of JSON values into `cls` items, failing with the first bad one.

    A page whose items are all exactly shaped is built in one call (see _exact); any other
    goes item by item.
    """
    exact = _exact_models.get(cls)
    if exact is not None and isinstance(values, list):
        page: list[T] | None = exact.page(values)
        if page is not None:
            return page
    hook = converter.get_structure_hook(cls)  # looked up once per page, not once per item
    items: list[T] = []
    for value in values:
        try:
            items.append(hook(value, cls))
        except Exception as exc:
            raise _decode_error(exc, cls, value, url) from exc
    return items
