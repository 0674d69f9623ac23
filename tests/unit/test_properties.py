"""Property-based tests of the pure modules: they never crash on what a server may send."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from cliquify_async import _drift as drift
from cliquify_async import errors, models
from cliquify_async._convert import _build, _exact_models, converter, structure, structure_many
from cliquify_async._pagination.rules import PageInfo, next_page_url, points_further, read_page
from cliquify_async._timestamps import parse_datetime
from cliquify_async._wire import decode_json, error_for_response, parse_retry_after
from cliquify_async.models import Asset

SETTINGS = settings(max_examples=200, deadline=None, database=None)
SMALL = settings(max_examples=80, deadline=None, database=None)

PATH = "https://oauth.cliquify.me/api/assets"

# Keys the decoders look at, mixed with random ones, so generated objects reach every branch.
KNOWN_KEYS = [
    "message",
    "code",
    "details",
    "errors",
    "error",
    "success",
    "data",
    "meta",
    "links",
    "next",
    "current_page",
    "last_page",
    "per_page",
    "total",
    "next_page_url",
    "next_cursor",
]
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=12,
)


short_text = st.text(max_size=20)
numberish = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.integers(min_value=-5, max_value=10**6).map(str),
    short_text,
)
urlish = st.one_of(
    st.none(),
    short_text,
    st.integers(min_value=1, max_value=99).map(lambda n: f"{PATH}?page={n}"),
    st.just("?page=2"),
)
page_keys = {
    "current_page": numberish,
    "last_page": numberish,
    "per_page": numberish,
    "total": numberish,
    "next_page_url": urlish,
    "next_cursor": st.one_of(st.none(), short_text),
    "from": numberish,
    "to": numberish,
    "path": urlish,
}
meta = st.one_of(json_values, st.fixed_dictionaries({}, optional=page_keys))
links = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"next": urlish, "prev": urlish, "first": urlish}),
)
list_bodies = st.fixed_dictionaries(
    {"data": st.lists(json_values, max_size=4)},
    optional={"meta": meta, "links": links, **page_keys},
)

retry_after_values = st.one_of(
    st.text(max_size=40),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(
        [
            "inf",
            "-inf",
            "nan",
            "1e400",
            "-5",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Mon, 01 Jan 10000 00:00:00 GMT",
            "Mon, 31 Feb 2020 00:00:00 GMT",
            "Fri, 01 Jan 2100 00:00:00 +9999",
            "Sat, 01 Jan 0001 00:00:00 -2359",
        ]
    ),
)
headers_dicts = st.builds(
    lambda base, retry_after: base if retry_after is None else {**base, "Retry-After": retry_after},
    st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    st.one_of(st.none(), retry_after_values),
)
bodies = st.one_of(
    st.text(),
    json_values.map(json.dumps),
    st.fixed_dictionaries({}, optional={k: json_values for k in KNOWN_KEYS[:7]}).map(json.dumps),
)


# --- _wire --------------------------------------------------------------------------------


@SETTINGS
@given(status=st.integers(min_value=100, max_value=599), text=bodies, headers=headers_dicts)
def test_error_for_response_never_raises(status: int, text: str, headers: dict[str, str]) -> None:
    exc = error_for_response(status, text, headers, method="GET", url=PATH)
    assert isinstance(exc, errors.APIStatusError)
    assert exc.status == status
    assert exc.method == "GET"
    assert exc.url == PATH
    assert isinstance(exc.message, str)
    assert exc.code is None or isinstance(exc.code, str)
    assert str(exc).startswith(f"{status} ")
    if status == 401:
        assert isinstance(exc, errors.AuthenticationError)
    if status == 422:
        assert isinstance(exc, errors.ValidationError)
        assert all(isinstance(m, str) for ms in exc.errors.values() for m in ms)
    if status == 429:
        assert isinstance(exc, errors.RateLimitError)
        assert exc.retry_after is None or (math.isfinite(exc.retry_after) and exc.retry_after >= 0)
    if status >= 500:
        assert isinstance(exc, errors.ServerError)
    if status not in (400, 401, 403, 404, 422, 429) and status < 500:
        assert type(exc) is errors.APIStatusError


@SETTINGS
@given(value=retry_after_values)
def test_parse_retry_after_is_none_or_a_finite_non_negative_wait(value: str) -> None:
    wait = parse_retry_after(value)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


@SETTINGS
@given(value=st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_parse_retry_after_round_trips_delta_seconds(value: float) -> None:
    assert parse_retry_after(repr(value)) == value


@SETTINGS
@given(text=st.text())
def test_decode_json_never_raises_on_text(text: str) -> None:
    value = decode_json(text)
    if value is not None:
        assert json.loads(text) == value or value != value


json_values_without_nan = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=12,
)


@SMALL
@given(value=json_values_without_nan)
def test_decode_json_round_trips(value: Any) -> None:
    assert decode_json(json.dumps(value)) == value


# --- _pages -----------------------------------------------------------------------------------


@SETTINGS
@given(body=st.one_of(json_values, list_bodies))
def test_read_page_returns_page_info_or_decode_error(body: Any) -> None:
    try:
        info = read_page(body, url=PATH)
    except errors.ResponseDecodeError as exc:
        failure: errors.ResponseDecodeError | None = exc
    else:
        failure = None
    if failure is not None:
        assert failure.data is body
        assert not isinstance(body, list)
        return
    assert isinstance(info, PageInfo)
    assert info.items is (body if isinstance(body, list) else body["data"])
    for number in (info.number, info.per_page, info.total, info.last_page):
        assert number is None or type(number) is int
    for link in (info.next_url, info.next_cursor):
        assert link is None or (isinstance(link, str) and link)


page_infos = st.builds(
    PageInfo,
    shape=st.sampled_from(
        ["resource", "cursor_resource", "flat", "simple", "cursor", "data", "bare"]
    ),
    items=st.just([]),
    number=st.one_of(st.none(), st.integers()),
    per_page=st.one_of(st.none(), st.integers()),
    total=st.one_of(st.none(), st.integers()),
    last_page=st.one_of(st.none(), st.integers()),
    next_url=urlish,
    next_cursor=st.one_of(st.none(), short_text),
)
current_urls = st.builds(
    lambda page, extra: URL(PATH).update_query({"page": page, **extra}),
    st.integers(min_value=1, max_value=50),
    st.dictionaries(st.sampled_from(["per_page", "folder_id", "search"]), st.text(max_size=5)),
)


@SMALL
@given(info=page_infos, current=current_urls)
def test_an_empty_page_goes_on_exactly_where_it_points_further(
    info: PageInfo, current: URL
) -> None:
    try:
        following = next_page_url(info, current)
    except errors.MalformedURLError:
        assert points_further(info)  # only a link the listing would follow is read
        return
    assert (following is not None) == points_further(info)
    if info.shape in ("data", "bare"):
        assert next_page_url(info, current, "page") is None  # the page hint ends on it


@SETTINGS
@given(
    shape=st.sampled_from(["resource", "flat", "simple"]),
    number=st.one_of(st.none(), st.integers(min_value=-5, max_value=100)),
    last_page=st.one_of(st.none(), st.integers(min_value=-5, max_value=100)),
    current=current_urls,
)
def test_page_counting_only_moves_forward(
    shape: Any, number: int | None, last_page: int | None, current: URL
) -> None:
    info = PageInfo(shape=shape, items=[{"id": 1}], number=number, last_page=last_page)
    url = next_page_url(info, current)
    if url is None:
        assert number is None or last_page is None or number >= last_page
    else:
        assert number is not None
        assert last_page is not None
        assert number < last_page
        assert url.query["page"] == str(number + 1)
        assert url.path == current.path
        for key in current.query:
            if key != "page":
                assert url.query[key] == current.query[key]


# --- _convert ---------------------------------------------------------------------------------


def _format(dt: datetime, fmt: str) -> str:
    # %Y is not zero-padded below year 1000 on glibc; the documented formats are 4 digits.
    return dt.strftime(fmt.replace("%Y", f"{dt.year:04d}"))


@SETTINGS
@given(dt=st.datetimes())
def test_parse_datetime_laravel_iso_format(dt: datetime) -> None:
    parsed = parse_datetime(_format(dt, "%Y-%m-%dT%H:%M:%S.%fZ"))
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == dt.replace(tzinfo=UTC)


@SETTINGS
@given(dt=st.datetimes())
def test_parse_datetime_plain_format_is_utc(dt: datetime) -> None:
    parsed = parse_datetime(_format(dt, "%Y-%m-%d %H:%M:%S"))
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == dt.replace(microsecond=0, tzinfo=UTC)


@SETTINGS
@given(
    dt=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    minutes=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_parse_datetime_offsets_become_utc(dt: datetime, minutes: int) -> None:
    aware = dt.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    parsed = parse_datetime(aware.isoformat())
    assert parsed.tzinfo is UTC
    assert parsed == aware


def _not_a_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return True
    return False


@SETTINGS
@given(garbage=st.text(max_size=40).filter(_not_a_timestamp))
def test_garbage_timestamp_is_refused_and_kept_in_extra(garbage: str) -> None:
    with pytest.raises(errors.ResponseDecodeError):
        parse_datetime(garbage)
    asset = structure({"id": 1, "created_at": garbage}, Asset)
    assert asset.created_at is None
    assert asset.extra == {"created_at": garbage}


@SMALL
@given(
    raw=st.dictionaries(keys, json_values, max_size=6),
    ident=st.one_of(st.integers(), st.text(max_size=10)),
)
def test_structure_asset_keeps_every_unknown_key(raw: dict[str, Any], ident: int | str) -> None:
    raw = {**raw, "id": ident}
    try:
        asset = structure(raw, Asset)
    except errors.ResponseDecodeError as exc:
        failure: errors.ResponseDecodeError | None = exc
    else:
        failure = None
    if failure is not None:
        assert failure.data is raw
        return
    assert asset.id == ident
    known = {"id", "name", "type", "mime_type", "url", "thumbnail_url", "size", "width"}
    known |= {"height", "folder_id", "tags", "created_at", "updated_at"}
    # Unknown keys are kept as they came; a known field whose value did not fit is kept
    # beside them and left None. Nothing is dropped and nothing is invented.
    # (`is` first: a NaN is kept as it came, yet is not equal to itself.)
    for key, value in raw.items():
        if key not in known:
            assert asset.extra[key] is value or asset.extra[key] == value
    assert set(asset.extra) <= set(raw)
    for key in set(asset.extra) & known:
        assert asset.extra[key] is raw[key] or asset.extra[key] == raw[key]
        assert getattr(asset, key) is None


# The exact decoders must agree with the lenient field-by-field path on every item.
lenient, _ = _build(exact=False)
MODELS = [
    models.Tag,
    models.Template,
    models.Folder,
    models.Asset,
    models.BrandKit,
    models.Logo,
    models.Color,
    models.AccessToken,
    models.TokenInfo,
]
timestamps = st.builds(
    lambda dt, iso: dt.isoformat() + "Z" if iso else _format(dt, "%Y-%m-%d %H:%M:%S"),
    st.datetimes(min_value=datetime(1000, 1, 1)),
    st.booleans(),
)


@st.composite
def timestamp_variants(draw: st.DrawFn) -> str:
    """Timestamps in the forms where parsers differ: separators, 0 to 9 fractional digits,
    lowercase or spaced zones, offsets that move the first and last days out of range."""
    dt = draw(st.datetimes())
    sep = draw(st.sampled_from("Tt "))
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = draw(st.text("0123456789", min_size=digits, max_size=digits))
    zone = draw(st.sampled_from(["Z", "z", "", "+02:00", "-05:30", "+00:00", "+14:00", " Z"]))
    odd = draw(st.sampled_from(["", "", "", " ", "\ud800"]))  # padding, a lone surrogate
    fraction = f".{fraction}" if digits else ""
    return f"{_format(dt, '%Y-%m-%d')}{sep}{dt:%H:%M:%S}{fraction}{zone}{odd}"


typed_tags = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.text(max_size=6))},
    optional={
        "name": st.one_of(st.none(), st.text(max_size=6)),
        "slug": st.one_of(st.none(), st.text(max_size=6)),
        "count": st.one_of(st.none(), st.integers()),
        "new": json_values,  # a key the model does not name
    },
)
tag_like = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.text(max_size=6))},
    optional={"name": st.text(max_size=6), "count": numberish, "new": json_values},
)
# Values that fit a field of another type, or none: numbers as strings, PHP booleans, ...
loose_values = st.one_of(
    numberish,
    st.dictionaries(keys, json_values, max_size=2),  # an object where a list belongs
    st.sampled_from(["true", "false", "0", "1", " 12 ", "12 KB", "2024-02-30 10:00:00"]),
    timestamps,
    st.lists(st.one_of(tag_like, st.text(max_size=4)), max_size=3),
    json_values,
)
_TYPED = {
    str: st.text(max_size=12),
    int: st.integers(),
    float: st.floats(allow_nan=False),
    bool: st.booleans(),
    datetime: st.one_of(timestamps, timestamp_variants()),
}


def _typed(annotation: Any) -> st.SearchStrategy[Any]:
    """Values a field annotated `annotation` takes as they are (its own JSON type)."""
    members = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    choices = [st.none()] if len(members) < len(getattr(annotation, "__args__", ())) else []
    for member in members:
        if member in _TYPED:
            choices.append(_TYPED[member])
        elif member == list[models.Tag]:
            choices.append(st.lists(typed_tags, max_size=3))
        else:
            assert member == list[str], member
            choices.append(st.lists(st.text(max_size=4), max_size=3))
    return st.one_of(choices)


@st.composite
def model_items(draw: st.DrawFn, cls: type[Any]) -> dict[str, Any]:
    """An item for `cls`: all fields or some, each typed exactly or loosely, maybe extra keys."""
    exact, complete = draw(st.booleans()), draw(st.booleans())
    item: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name != "extra" and (complete or draw(st.booleans())):
            typed = _typed(field.type)
            item[field.name] = draw(typed if exact else st.one_of(typed, loose_values))
    item.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return item


for_every_model = given(data=st.data(), cls=st.sampled_from(MODELS))
"""A property over items of every model: draws a model class and a `data` to draw items."""


class _Warnings(logging.Handler):
    """The drift warnings logged while it is attached."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _outcome(using: Any, value: Any, cls: type[Any]) -> tuple[str, Any, list[str]]:
    """What decoding `value` gives: the model or the error, and the drift warnings it logs."""
    drift.reset()
    warnings = _Warnings()
    drift.logger.addHandler(warnings)
    try:
        return "decoded", using.structure(value, cls), warnings.messages
    except Exception as exc:
        return "failed", (type(exc), str(exc)), warnings.messages
    finally:
        drift.logger.removeHandler(warnings)


@settings(max_examples=600, deadline=None, database=None)  # cheap, and it guards every model
@for_every_model
def test_exact_decoding_agrees_with_the_lenient_path(data: st.DataObject, cls: type[Any]) -> None:
    item = data.draw(model_items(cls))
    snapshot = json.dumps(item, sort_keys=True)
    assert _outcome(converter, item, cls) == _outcome(lenient, item, cls)
    assert json.dumps(item, sort_keys=True) == snapshot  # neither path changed the input


@settings(max_examples=300, deadline=None, database=None)
@for_every_model
def test_a_page_decodes_as_its_items_do_on_the_lenient_path(
    data: st.DataObject, cls: type[Any]
) -> None:
    items = data.draw(st.lists(model_items(cls), max_size=4))
    expected: tuple[str, Any] = ("decoded", [])
    for item in items:  # as structure_many promises: the models, or the first failure
        kind, result, _ = _outcome(lenient, item, cls)
        if kind == "failed":
            expected = ("failed", (item, result))
            break
        expected[1].append(result)
    try:
        got: tuple[str, Any] = ("decoded", structure_many(items, cls))
    except errors.ResponseDecodeError as exc:
        cause = exc.__cause__
        got = ("failed", (exc.data, (type(cause), str(cause))))
    assert got == expected


exact_tags = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(), st.text(max_size=6)),
        "name": st.one_of(st.none(), st.text(max_size=6)),
        "slug": st.one_of(st.none(), st.text(max_size=6)),
        "count": st.one_of(st.none(), st.integers()),
    }
)


@st.composite
def exact_items(draw: st.DrawFn, cls: type[Any]) -> dict[str, Any]:
    """An item for `cls` with every field, each of its own JSON type, tags included."""
    item: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        members = getattr(field.type, "__args__", ())
        if list[models.Tag] in members:
            item[field.name] = draw(st.one_of(st.none(), st.lists(exact_tags, max_size=3)))
        elif datetime in members:  # the two forms the API sends, which msgspec reads
            item[field.name] = draw(st.one_of(st.none(), timestamps))
        else:
            item[field.name] = draw(_typed(field.type))
    return item


@settings(max_examples=300, deadline=None, database=None)
@for_every_model
def test_an_exactly_shaped_page_is_built_in_one_call_as_the_lenient_path_builds_it(
    data: st.DataObject, cls: type[Any]
) -> None:
    items = data.draw(st.lists(exact_items(cls), max_size=4))
    page = _exact_models[cls].page(items)
    assert page is not None  # the exact path is taken, not left to the lenient one
    assert page == [lenient.structure(item, cls) for item in items]
