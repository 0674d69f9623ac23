"""The one cattrs converter: JSON values in, models out, failures as ResponseDecodeError."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
from cattrs import Converter
from cattrs.gen import make_dict_structure_fn
from cattrs.strategies import configure_union_passthrough

from . import models
from .errors import ResponseDecodeError

T = TypeVar("T")

_MODELS: tuple[type[Any], ...] = (
    models.AccessToken,
    models.Asset,
    models.BrandKit,
    models.Color,
    models.Folder,
    models.Logo,
    models.Tag,
    models.Template,
    models.TokenInfo,
)


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from ISO 8601 (`...Z`, offsets) or `YYYY-MM-DD HH:MM:SS` (UTC)."""
    if not isinstance(value, str):
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value.strip())
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


def _keeping_extra(cls: type[Any], converter: Converter) -> Callable[[Any, Any], Any]:
    """A structure hook for `cls` that moves the keys it does not name into `extra`."""
    named = frozenset(a.name for a in attrs.fields(cls)) - {"extra"}
    structure_known = make_dict_structure_fn(cls, converter)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__}")
        known = {k: v for k, v in value.items() if k in named}
        unknown = {k: v for k, v in value.items() if k not in named}
        if unknown:
            known["extra"] = unknown
        return structure_known(known, cls)

    return structure


def _build() -> Converter:
    converter = Converter(detailed_validation=False)
    configure_union_passthrough(int | str | None, converter)
    converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    converter.register_structure_hook(bool, lambda value, _: parse_bool(value))
    for cls in _MODELS:
        attrs.resolve_types(cls)
        converter.register_structure_hook(cls, _keeping_extra(cls, converter))
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
