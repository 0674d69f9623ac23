"""The one cattrs converter: JSON values in, models out, failures as ResponseDecodeError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
from cattrs import Converter
from cattrs.strategies import configure_union_passthrough

from . import _drift as drift
from . import models
from ._fastpath import ExactDecoder, Hook, Nested, Unusual, compile_exact, named_fields
from .errors import ResponseDecodeError

T = TypeVar("T")

# The models of list items: their assumed field lists are what drift warnings watch.
_LISTED: tuple[type[Any], ...] = (
    models.Tag,  # first: the models that hold tags build on its hook
    models.Asset,
    models.BrandKit,
    models.Color,
    models.Folder,
    models.Logo,
    models.Template,
)
_MODELS: tuple[type[Any], ...] = (*_LISTED, models.AccessToken, models.TokenInfo)


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from ISO 8601 (`...Z`, offsets) or `YYYY-MM-DD HH:MM:SS` (UTC).

    Anything else raises ResponseDecodeError.
    """
    if not isinstance(value, str):
        raise ResponseDecodeError(f"expected a timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ResponseDecodeError(f"not a timestamp: {value[:40]!r}", data=value) from None
    zone = parsed.tzinfo
    if zone is UTC:
        return parsed
    if zone is None:  # combine() is several times faster than replace(tzinfo=...)
        return datetime.combine(parsed.date(), parsed.time(), UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an offset that moves it past year 1 or 9999
        raise ResponseDecodeError(f"timestamp out of range: {value[:40]!r}", data=value) from None


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
    """An integer from a JSON integer, a whole float, or a decimal string; anything else fails.

    cattrs alone would call int(), which silently truncates 640.5 to 640.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.removeprefix("-").isdecimal():
        return int(text)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def parse_str(value: object) -> str:
    """A string, or a number written as one (an id or a size sent as a number is still text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _keeping_extra(
    cls: type[Any], converter: Converter, exact: ExactDecoder, *, watch_drift: bool
) -> Hook:
    """A structure hook for `cls` that keeps what it cannot use in `extra` instead of failing.

    Keys the model does not name go to `extra`. The field types are assumed too, so a known
    field whose value does not fit (tags as strings, a size like "12 KB") is also moved to
    `extra`, leaving the field None. Only a missing or unusable `id` (or another required
    field) fails the item. Each surprise is a drift warning, once per model and field.
    Items whose fields all fit exactly take the straight-line `exact` decoder instead.
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


def _never_exact(known: Mapping[str, Any], extra: dict[str, Any]) -> Any:
    """The exact decoder of a converter without straight-line decoding: always the lenient path."""
    raise Unusual


def _build(*, straight_line: bool = True) -> Converter:
    """The converter; `straight_line=False` leaves only the lenient path (tests compare them)."""
    converter = Converter(detailed_validation=False)
    configure_union_passthrough(int | str | None, converter)
    converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    converter.register_structure_hook(bool, lambda value, _: parse_bool(value))
    converter.register_structure_hook(int, lambda value, _: parse_int(value))
    converter.register_structure_hook(str, lambda value, _: parse_str(value))
    nested: dict[type[Any], Nested] = {}  # the models built so far, for those that list them
    for cls in _MODELS:
        attrs.resolve_types(cls)
        exact = (
            compile_exact(cls, nested=nested, parsers={datetime: parse_datetime})
            if straight_line
            else _never_exact
        )
        hook = _keeping_extra(cls, converter, exact, watch_drift=cls in _LISTED)
        nested[cls] = Nested(hook=hook, exact=exact, named=named_fields(cls))
        converter.register_structure_hook(cls, hook)
    return converter


converter = _build()


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
    """Decode a list of JSON values into `cls` items, failing with the first bad one."""
    hook = converter.get_structure_hook(cls)  # looked up once per page, not once per item
    items: list[T] = []
    for value in values:
        try:
            items.append(hook(value, cls))
        except Exception as exc:
            raise _decode_error(exc, cls, value, url) from exc
    return items
