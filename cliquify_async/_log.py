"""The SDK's loggers: each record's arguments are made safe before any handler sees them.

Log arguments often come from the server (a path, a message, a field name). Each is
redacted of secrets, has its unprintable characters escaped (so a newline cannot forge a
second log line) and is cut to `MAX_ARG_CHARS`, so a 5 MB field name makes a short line.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final, Literal

from ._redact import redacted_start

ROOT: Final = "cliquify_async"
MAX_ARG_CHARS: Final = 500


def printable(text: str, limit: int = MAX_ARG_CHARS) -> str:
    """`text` redacted, with unprintable characters escaped, cut to `limit` characters."""
    shown = escaped(redacted_start(text, limit + 1))
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(text)} chars)"


def escaped(text: str) -> str:
    """`text` with every character a terminal could act on or hide written as its escape
    (`\\n`, `\\x1b`, `\\u202e`, a lone `\\ud800`)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def one_line(text: str, limit: int = MAX_ARG_CHARS) -> str:
    """`text` as one line of a terminal: white space runs as one space, then `printable`."""
    return printable(" ".join(text.split()), limit)


class _Shown(str):
    """Safe text that `%r` shows quoted as it is, not escaped a second time."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{self}'"


def _safe(arg: Any) -> Any:
    """A log argument as it may be shown: numbers as they are, anything else as safe text."""
    if arg is None or isinstance(arg, bool | int | float):
        return arg
    return _Shown(printable(str(arg)))


class SafeArguments(logging.Filter):
    """Makes every argument of a record safe to show (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_safe(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _safe(value) for key, value in record.args.items()}
        record.msg = printable(str(record.msg), limit=2 * MAX_ARG_CHARS)
        return True


_FILTER: Final = SafeArguments()


Concept = Literal[
    "auth", "drift", "files", "harvest", "pagination", "ratelimit", "redis", "retry", "transport"
]
"""The SDK's loggers, each `cliquify_async.<concept>`: `auth` (tokens and their stores),
`drift` (fields the server adds, drops or retypes), `files` (downloads started again, files
found changed or gone), `harvest` (items and files that fail),
`pagination` (listings that end early, follow a moved link or go on past an empty page),
`ratelimit` (what the gates learn or refuse, waits after a 429, local and Redis alike),
`redis` (the shared budget's connection), `retry` (attempts made again), `transport` (each
request at DEBUG, replays)."""


def get_logger(concept: Concept) -> logging.Logger:
    """The logger of `concept`, with the filter that makes its arguments safe."""
    logger = logging.getLogger(f"{ROOT}.{concept}")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


LOG_ENV: Final = "CLIQUIFY_LOG"
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def log_from_environment() -> None:
    """`CLIQUIFY_LOG=debug|info|warning` writes the SDK's records at that level to stderr,
    for a quick look without configuring logging; any other value is said once, on stderr.
    Called once, when the package is imported."""
    value = os.environ.get(LOG_ENV, "").strip().lower()
    if not value:
        return
    root = logging.getLogger(ROOT)
    if value not in LEVELS:
        shown = escaped(value[:40])
        print(
            f"cliquify_async: {LOG_ENV}={shown} is not one of {', '.join(LEVELS)}", file=sys.stderr
        )
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(LEVELS[value])
