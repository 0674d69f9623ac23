"""Timestamps as the API sends them, read into aware UTC datetimes by one set of rules."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from .errors import ResponseDecodeError


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, `2026-04-09T14:14:08.000000Z` (Laravel's own form):
    one fixed width, so text order is time order (how the harvest writes its times)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value is taken to be UTC already (what the API's are).

    Raises OverflowError for an offset that moves it past year 1 or 9999.
    """
    if value.tzinfo is None:  # combine() is several times faster than replace(tzinfo=...)
        return datetime.combine(value.date(), value.time(), UTC)
    return value.astimezone(UTC)


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from RFC 3339 (`...Z`, offsets), `YYYY-MM-DD HH:MM:SS` (UTC), or
    any other ISO 8601 form `datetime.fromisoformat` reads; anything else raises
    ResponseDecodeError.

    msgspec reads the string first because it also reads timestamps for the exact decoders
    (see _exact), so a timestamp means the same on every path. Digits past the microsecond
    round in what msgspec reads, and are cut off in the forms only fromisoformat reads.
    """
    if not isinstance(value, str):
        raise ResponseDecodeError(f"expected a timestamp string, got {type(value).__name__}")
    text = value.strip()
    try:
        parsed = msgspec.convert(text, datetime)
    except ValueError:  # msgspec's ValidationError, or a lone surrogate it cannot encode
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ResponseDecodeError(f"not a timestamp: {value[:40]!r}", data=value) from None
    if parsed.tzinfo is UTC:
        return parsed
    try:
        return to_utc(parsed)
    except OverflowError:
        raise ResponseDecodeError(f"timestamp out of range: {value[:40]!r}", data=value) from None
