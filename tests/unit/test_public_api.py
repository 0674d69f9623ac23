"""The public namespace stays honest, and secrets never show in reprs."""

from __future__ import annotations

import importlib
import inspect

import pytest

import cliquify_async
from cliquify_async import AccessToken, errors


def test_all_is_sorted() -> None:
    assert cliquify_async.__all__ == sorted(cliquify_async.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(set(cliquify_async.__all__)) == len(cliquify_async.__all__)


@pytest.mark.parametrize("name", cliquify_async.__all__)
def test_every_name_is_importable(name: str) -> None:
    module = importlib.import_module("cliquify_async")
    assert hasattr(module, name)
    namespace: dict[str, object] = {}
    exec(f"from cliquify_async import {name}", namespace)  # noqa: S102 - fixed, trusted names
    assert namespace[name] is getattr(cliquify_async, name)


PUBLIC_OBJECTS = [
    (name, getattr(cliquify_async, name))
    for name in cliquify_async.__all__
    if inspect.isclass(getattr(cliquify_async, name))
    or inspect.isfunction(getattr(cliquify_async, name))
]


def test_public_objects_found() -> None:
    assert len(PUBLIC_OBJECTS) >= 30


@pytest.mark.parametrize(("name", "obj"), PUBLIC_OBJECTS)
def test_every_public_class_and_function_has_a_docstring(name: str, obj: object) -> None:
    # A class's __doc__ is not inherited, so this is its own docstring.
    doc = obj.__doc__
    assert doc is not None, name
    assert doc.strip(), name


def test_every_exception_is_exported() -> None:
    for name in errors.__all__:
        assert name in cliquify_async.__all__
        assert getattr(cliquify_async, name) is getattr(errors, name)


def test_every_exception_derives_from_cliquify_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.CliquifyError), name


def test_version_is_a_string() -> None:
    assert isinstance(cliquify_async.__version__, str)
    assert cliquify_async.__version__


# --- secrets --------------------------------------------------------------------------------


def test_access_token_repr_hides_token() -> None:
    token = AccessToken(access_token="tok-SECRET")
    assert "tok-SECRET" not in repr(token)
    assert "tok-SECRET" not in str(token)
    assert "tok-SECRET" not in f"{token}"
    assert "Bearer" in repr(token)
    assert token.access_token == "tok-SECRET"


def test_access_token_extra_not_in_repr() -> None:
    token = AccessToken(access_token="tok-SECRET", extra={"refresh": "also-SECRET"})
    assert "also-SECRET" not in repr(token)


def test_access_token_repr_inside_containers() -> None:
    token = AccessToken(access_token="tok-SECRET", expires_in=3600)
    assert "tok-SECRET" not in repr([token])
    assert "tok-SECRET" not in repr({"token": token})
