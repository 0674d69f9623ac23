"""The one cattrs converter: JSON values in, models out, failures as ResponseDecodeError."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
from cattrs import Converter
from cattrs.gen import make_dict_structure_fn
from cattrs.strategies import configure_union_passthrough

from . import _drift as drift
from . import models
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
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


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
    cls: type[Any], converter: Converter, *, watch_drift: bool
) -> Callable[[Any, Any], Any]:
    """A structure hook for `cls` that keeps what it cannot use in `extra` instead of failing.

    Keys the model does not name go to `extra`. The field types are assumed too, so a known
    field whose value does not fit (tags as strings, a size like "12 KB") is also moved to
    `extra`, leaving the field None. Only a missing or unusable `id` (or another required
    field) fails the item. Each surprise is a drift warning, once per model and field.
    """
    named = frozenset(a.name for a in attrs.fields(cls)) - {"extra"}
    types = {a.name: a.type for a in attrs.fields(cls)}
    required = [a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING]
    structure_known = make_dict_structure_fn(cls, converter)

    def salvage(known: dict[str, Any], unknown: dict[str, Any]) -> Any:
        kept: dict[str, Any] = {}
        for name, raw in known.items():
            try:
                kept[name] = converter.structure(raw, types[name])
            except Exception as exc:
                if name == "id":
                    raise
                unknown[name] = raw
                drift.undecodable(cls.__name__, name, exc)
        for name in required:
            if name not in kept:
                raise KeyError(name)
        return cls(**kept, extra=unknown)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__}")
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            (known if key in named else unknown)[key] = item
        if watch_drift:
            if unknown:
                drift.unknown_fields(cls.__name__, unknown)
            if len(known) < len(named):
                drift.missing_fields(cls.__name__, named - known.keys())
        try:
            return structure_known({**known, "extra": unknown}, cls)
        except Exception:
            return salvage(known, unknown)

    return structure


def _or_none(parse: Callable[[object], Any], exact: type | None) -> Callable[[Any, Any], Any]:
    """A hook for `X | None`: None, a value already of type `exact` as it is, else `parse`."""

    def structure(value: Any, _: Any) -> Any:
        if value is None or type(value) is exact:
            return value
        return parse(value)

    return structure


def _build() -> Converter:
    converter = Converter(detailed_validation=False)
    configure_union_passthrough(int | str | None, converter)
    converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    converter.register_structure_hook(bool, lambda value, _: parse_bool(value))
    converter.register_structure_hook(int, lambda value, _: parse_int(value))
    converter.register_structure_hook(str, lambda value, _: parse_str(value))
    # Optional fields straight to their parser: cattrs' generic Optional dispatch is the
    # largest cost of decoding a page otherwise.
    for kind, parse in ((str, parse_str), (int, parse_int), (bool, parse_bool)):
        converter.register_structure_hook(kind | None, _or_none(parse, kind))
    converter.register_structure_hook(datetime | None, _or_none(parse_datetime, None))
    for cls in _MODELS:
        attrs.resolve_types(cls)
        hook = _keeping_extra(cls, converter, watch_drift=cls in _LISTED)
        converter.register_structure_hook(cls, hook)
    return converter


converter = _build()


def structure(value: Any, cls: type[T], *, url: str | None = None) -> T:
    """Decode one JSON value into `cls`, or raise ResponseDecodeError carrying the value."""
    try:
        return converter.structure(value, cls)
    except Exception as exc:
        reason = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        raise ResponseDecodeError(
            f"cannot decode {cls.__name__}: {reason}", data=value, url=url
        ) from exc


def structure_many(values: Iterable[Any], cls: type[T], *, url: str | None = None) -> list[T]:
    """Decode a list of JSON values into `cls` items, failing with the first bad one."""
    return [structure(value, cls, url=url) for value in values]
