"""Drift warnings: the first time a model meets a field it does not know, or misses one it
assumes, say so once, so users notice that the API moved (the field lists are assumed).

They go to the `cliquify_async.drift` logger at WARNING; silence them with
`logging.getLogger("cliquify_async.drift").setLevel(logging.ERROR)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ._log import get_logger

logger = get_logger("drift")

MAX_WARNINGS: Final = 200
"""Distinct warnings given before the rest are dropped: a server that makes up a new field
name per item would otherwise fill the log (and this module's memory) without end."""

_seen: set[tuple[str, str, str]] = set()


def _warn(kind: str, message: str, model: str, field: str, *details: object) -> None:
    """Log `message` with the model, the field and `details`, once per model, field and kind,
    and no more than MAX_WARNINGS times in all."""
    key = (model, field, kind)
    if key in _seen or len(_seen) > MAX_WARNINGS:
        return
    _seen.add(key)
    if len(_seen) > MAX_WARNINGS:
        logger.warning("more than %d drift warnings; no more will be given", MAX_WARNINGS)
        return
    logger.warning(message, model, field, *details)


def unknown_fields(model: str, fields: Iterable[str]) -> None:
    """The server sent fields the model does not name (they are kept in `extra`)."""
    for field in fields:
        _warn(
            "unknown",
            "%s: the server sends a field %r the SDK does not know; it is kept in `extra`",
            model,
            field,
        )


def missing_fields(model: str, fields: Iterable[str]) -> None:
    """The server left out fields the model assumes (they are None)."""
    for field in fields:
        _warn(
            "missing",
            "%s.%s: the server's items do not have this field the SDK assumes; it is None",
            model,
            field,
        )


def undecodable(model: str, field: str, error: Exception) -> None:
    """A known field held a value of another type (kept in `extra`, the field None)."""
    _warn(
        "undecodable",
        "%s.%s: the server sent a value the SDK cannot decode (%s); it is kept in `extra` "
        "and the field left None. The API may have changed: please report it.",
        model,
        field,
        error,
    )


def reset() -> None:
    """Forget which warnings were given (for tests, or a long-lived process after a deploy)."""
    _seen.clear()
