"""Straight-line decoders for the common item: every field already has its model's JSON type.

Decoding a page field by field through the converter's dispatch costs more than reading the
page. Almost every item the API sends is already exactly typed, so each model gets one
generated function that reads its fields in a row and accepts a value only where the lenient
path would return it unchanged or hand it to the very same parser. Anything else raises, and
the caller takes the lenient path, so both paths always agree.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin

import attrs

Hook = Callable[[Any, Any], Any]
ExactDecoder = Callable[[Mapping[str, Any], dict[str, Any]], Any]
"""Builds a model from its known fields and the `extra` dict, or raises on anything unusual."""

_EXACT = (str, int, float, bool)  # JSON scalars the lenient path passes through unchanged


class Unusual(Exception):
    """A field needs the lenient path (its value has another type than the model's)."""


@attrs.frozen
class Nested:
    """How to decode a model inside a list of another: straight-line, or by its full hook."""

    hook: Hook  # the model's structure hook, lenient path included
    exact: ExactDecoder  # its straight-line decoder
    named: frozenset[str]  # the keys an exactly shaped item has


def named_fields(cls: type[Any]) -> frozenset[str]:
    """The keys of an item of `cls` as the model assumes them (all its fields but `extra`)."""
    return frozenset(a.name for a in attrs.fields(cls)) - {"extra"}


def _without_none(annotation: Any) -> tuple[Any, ...]:
    """The members of a union other than None, or the annotation alone."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _steps(
    name: str,
    annotation: Any,
    scope: dict[str, Any],
    nested: Mapping[type[Any], Nested],
    parsers: Mapping[type[Any], Callable[[object], Any]],
) -> list[str]:
    """The code that checks or decodes a present, non-default value in the local `f_<name>`."""
    local = f"f_{name}"
    members = _without_none(annotation)
    if all(m in _EXACT for m in members):
        check = " and ".join(f"type({local}) is not {m.__name__}" for m in members)
        return [f"if {check}:", "    raise Unusual"]
    if len(members) == 1 and members[0] in parsers:
        scope[f"parse_{name}"] = parsers[members[0]]
        return [f"{local} = parse_{name}({local})"]
    if len(members) == 1 and get_origin(members[0]) is list:
        item = get_args(members[0])[0]
        head = [f"if type({local}) is not list:", "    raise Unusual"]
        if item in _EXACT:
            loop = [f"for i in {local}:", f"    if type(i) is not {item.__name__}:"]
            return [*head, *loop, "        raise Unusual", f"{local} = list({local})"]
        if item in nested:
            scope[f"cls_{name}"], known = item, nested[item]
            scope[f"exact_{name}"], scope[f"keys_{name}"] = known.exact, known.named
            scope[f"hook_{name}"] = known.hook
            # An exactly shaped item goes straight in; any other takes the model's full hook.
            each = f"exact_{name}(i, {{}}) if type(i) is dict and i.keys() == keys_{name}"
            return [*head, f"{local} = [{each} else hook_{name}(i, cls_{name}) for i in {local}]"]
    raise TypeError(f"no straight-line decoding for {annotation!r} ({name})")


def _field_lines(
    field: attrs.Attribute[Any],
    scope: dict[str, Any],
    nested: Mapping[type[Any], Nested],
    parsers: Mapping[type[Any], Callable[[object], Any]],
) -> list[str]:
    """The code that reads `field` from `known` into the local `f_<name>`."""
    name = field.name
    steps = _steps(name, field.type, scope, nested, parsers)
    if field.default is attrs.NOTHING:
        return [f"f_{name} = known[{name!r}]", *steps]
    # An absent field keeps its default, which is also what the lenient path leaves there.
    scope[f"d_{name}"] = field.default
    return [
        f"f_{name} = known.get({name!r}, d_{name})",
        f"if f_{name} is not d_{name}:",
        *(f"    {step}" for step in steps),
    ]


def _check_plain(cls: type[Any]) -> None:
    """Refuse a class whose instances need more than their slots set (see compile_exact)."""
    if not attrs.has(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has an init hook")
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} is validated, converted or not init")


def compile_exact(
    cls: type[Any],
    *,
    nested: Mapping[type[Any], Nested],
    parsers: Mapping[type[Any], Callable[[object], Any]],
) -> ExactDecoder:
    """Generate the straight-line decoder of attrs class `cls` (which has an `extra` field).

    `nested` decode the models that may appear in lists; `parsers` turn a JSON value into a
    non-JSON type such as datetime and raise on anything they cannot use. The decoder sets
    the instance's slots directly, about twice as fast as a frozen class's `__init__`, which
    does the same for a model without validators, converters or init hooks; any other class
    is refused with TypeError.
    """
    _check_plain(cls)
    scope: dict[str, Any] = {"Unusual": Unusual, "cls": cls}
    fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.name != "extra"]
    body = [line for f in fields for line in _field_lines(f, scope, nested, parsers)]
    scope["new"] = object.__new__
    setters = []
    for f in [*fields, attrs.fields_dict(cls)["extra"]]:
        scope[f"set_{f.name}"] = vars(cls)[f.name].__set__
        setters.append(f"set_{f.name}(obj, f_{f.name})")
    source = "\n".join(
        [
            "def decode(known, f_extra):",
            *(f"    {line}" for line in body),
            "    obj = new(cls)",
            *(f"    {line}" for line in setters),
            "    return obj",
        ]
    )
    code = compile(source, f"<cliquify_async exact decoder {cls.__name__}>", "exec")
    exec(code, scope)  # noqa: S102 - the source is built from the model's own field list
    decoder: ExactDecoder = scope["decode"]
    return decoder
