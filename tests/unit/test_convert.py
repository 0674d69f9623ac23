"""Unit tests of the one cattrs converter in cliquify_async._convert (docs/contract.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import msgspec
import pytest

from cliquify_async import _drift as drift
from cliquify_async._convert import _build, structure, structure_many
from cliquify_async._exact import ExactModel, Unusual
from cliquify_async._fields import named_fields
from cliquify_async._timestamps import parse_datetime
from cliquify_async.errors import ResponseDecodeError
from cliquify_async.models import (
    AccessToken,
    Asset,
    BrandKit,
    Color,
    Folder,
    Logo,
    Tag,
    Template,
    TokenInfo,
)

URL = "https://oauth.cliquify.me/api/assets"
CREATED = "2026-04-09T14:14:08.000000Z"
CREATED_DT = datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)
UPDATED = "2026-04-10 09:30:00"
UPDATED_DT = datetime(2026, 4, 10, 9, 30, 0, tzinfo=UTC)

ID_MODELS = [Tag, Template, Folder, Asset, BrandKit, Logo, Color]


def assert_utc(value: datetime | None, expected: datetime) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert value == expected


# --- parse_datetime ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-09T14:14:08.000000Z", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("2026-04-09T14:14:08.123456Z", datetime(2026, 4, 9, 14, 14, 8, 123456, tzinfo=UTC)),
        ("2026-04-09T14:14:08Z", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("2027-01-01 12:00:00", datetime(2027, 1, 1, 12, 0, 0, tzinfo=UTC)),
        ("2026-04-09T14:14:08", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("2026-04-09T16:14:08+02:00", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("2026-04-09T09:14:08-05:00", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("2026-04-09T00:30:00+01:00", datetime(2026, 4, 8, 23, 30, 0, tzinfo=UTC)),
        ("2026-04-09T14:14:08+00:00", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),
        ("  2027-01-01 12:00:00\n", datetime(2027, 1, 1, 12, 0, 0, tzinfo=UTC)),
        ("2026-04-09t14:14:08z", datetime(2026, 4, 9, 14, 14, 8, tzinfo=UTC)),  # RFC 3339 allows
        ("2026-04-09", datetime(2026, 4, 9, tzinfo=UTC)),  # what only fromisoformat reads
        # A seventh fractional digit rounds (msgspec's rule, on every path):
        ("2026-04-09T14:14:08.1234565Z", datetime(2026, 4, 9, 14, 14, 8, 123457, tzinfo=UTC)),
        ("2026-04-09T14:14:08.9999995Z", datetime(2026, 4, 9, 14, 14, 9, tzinfo=UTC)),
        (" 2026-04-09T14:14:08.9999995Z\n", datetime(2026, 4, 9, 14, 14, 9, tzinfo=UTC)),
        # ... and is cut off in the forms only fromisoformat reads:
        ("2026-04-09T14:14:08.9999995+00:00:00", datetime(2026, 4, 9, 14, 14, 8, 999999, UTC)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    assert_utc(parse_datetime(text), expected)


def test_parse_datetime_offset_result_is_utc_zone() -> None:
    parsed = parse_datetime("2026-04-09T16:14:08+02:00")
    assert parsed.tzinfo is UTC
    assert parsed.hour == 14


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2026-13-01 00:00:00", "2026-04-09 25:00:00", "2026-04-09T14:14:08Z\ud800"],
)
def test_parse_datetime_garbage_raises_our_error(text: str) -> None:
    with pytest.raises(ResponseDecodeError, match="not a timestamp"):
        parse_datetime(text)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_datetime_out_of_range_in_utc_raises_our_error(text: str) -> None:
    with pytest.raises(ResponseDecodeError, match="out of range"):
        parse_datetime(text)


@pytest.mark.parametrize("value", [1712672048, 1.5, None, ["2026-04-09"], {"date": "x"}])
def test_parse_datetime_non_string_raises_our_error(value: Any) -> None:
    with pytest.raises(ResponseDecodeError, match="expected a timestamp string"):
        parse_datetime(value)


# --- structure: each model --------------------------------------------------------------


def test_tag() -> None:
    tag = structure({"id": 7, "name": "Summer", "slug": "summer", "count": 12}, Tag)
    assert tag == Tag(id=7, name="Summer", slug="summer", count=12)
    assert tag.extra == {}


def test_template_with_nested_tags_and_extras() -> None:
    raw = {
        "id": 12,
        "name": "Instagram post",
        "description": "Square post",
        "thumbnail_url": "https://cdn.example/t/12.png",
        "preview_url": "https://cdn.example/p/12.png",
        "width": 1080,
        "height": 1080,
        "tags": [
            {"id": 1, "name": "Social", "slug": "social", "count": 4, "color": "#ff0000"},
            {"id": "t-2", "name": "Square"},
        ],
        "created_at": CREATED,
        "updated_at": UPDATED,
        "category": {"id": 3, "name": "Marketing"},
        "is_premium": False,
    }
    template = structure(raw, Template)
    assert template.id == 12
    assert template.name == "Instagram post"
    assert template.description == "Square post"
    assert template.thumbnail_url == "https://cdn.example/t/12.png"
    assert template.preview_url == "https://cdn.example/p/12.png"
    assert (template.width, template.height) == (1080, 1080)
    assert template.tags == [
        Tag(id=1, name="Social", slug="social", count=4, extra={"color": "#ff0000"}),
        Tag(id="t-2", name="Square"),
    ]
    assert template.tags[0].extra == {"color": "#ff0000"}
    assert_utc(template.created_at, CREATED_DT)
    assert_utc(template.updated_at, UPDATED_DT)
    assert template.extra == {"category": {"id": 3, "name": "Marketing"}, "is_premium": False}


def test_folder() -> None:
    raw = {
        "id": 5,
        "name": "Logos",
        "parent_id": None,
        "assets_count": 17,
        "created_at": CREATED,
        "updated_at": None,
    }
    folder = structure(raw, Folder)
    assert folder == Folder(
        id=5, name="Logos", parent_id=None, assets_count=17, created_at=CREATED_DT
    )
    assert structure({"id": 6, "parent_id": 5}, Folder).parent_id == 5
    assert structure({"id": 6, "parent_id": "f-5"}, Folder).parent_id == "f-5"


def test_asset() -> None:
    raw = {
        "id": 101,
        "name": "hero.png",
        "type": "image",
        "mime_type": "image/png",
        "url": "https://cdn.example/a/101.png",
        "thumbnail_url": "https://cdn.example/a/101_t.png",
        "size": 204800,
        "width": 1920,
        "height": 1080,
        "folder_id": 5,
        "tags": [{"id": 3, "name": "hero", "slug": "hero"}],
        "created_at": CREATED,
        "updated_at": UPDATED,
        "uploaded_by": {"id": 9, "name": "Ana"},
    }
    asset = structure(raw, Asset)
    assert asset == Asset(
        id=101,
        name="hero.png",
        type="image",
        mime_type="image/png",
        url="https://cdn.example/a/101.png",
        thumbnail_url="https://cdn.example/a/101_t.png",
        size=204800,
        width=1920,
        height=1080,
        folder_id=5,
        tags=[Tag(id=3, name="hero", slug="hero")],
        created_at=CREATED_DT,
        updated_at=UPDATED_DT,
        extra={"uploaded_by": {"id": 9, "name": "Ana"}},
    )


def test_brand_kit() -> None:
    raw = {"id": 1, "name": "Main", "description": None, "is_default": True, "created_at": CREATED}
    kit = structure(raw, BrandKit)
    assert kit == BrandKit(id=1, name="Main", is_default=True, created_at=CREATED_DT)


def test_logo() -> None:
    raw = {
        "id": 3,
        "name": "Primary",
        "url": "https://cdn.example/l/3.svg",
        "thumbnail_url": None,
        "mime_type": "image/svg+xml",
        "width": 512,
        "height": 512,
        "brand_kit_id": 1,
        "variant": "dark",
    }
    logo = structure(raw, Logo)
    assert logo == Logo(
        id=3,
        name="Primary",
        url="https://cdn.example/l/3.svg",
        mime_type="image/svg+xml",
        width=512,
        height=512,
        brand_kit_id=1,
        extra={"variant": "dark"},
    )


def test_color() -> None:
    color = structure({"id": 4, "name": "Brand red", "hex": "#E30613", "brand_kit_id": 1}, Color)
    assert color == Color(id=4, name="Brand red", hex="#E30613", brand_kit_id=1)


def test_access_token_bare_body() -> None:
    raw = {"token_type": "Bearer", "expires_in": 31536000, "access_token": "eyJ0eXAi.a.b"}
    token = structure(raw, AccessToken)
    assert token.access_token == "eyJ0eXAi.a.b"
    assert token.token_type == "Bearer"
    assert token.expires_in == 31536000.0
    assert token.extra == {}


def test_access_token_defaults_and_extra() -> None:
    token = structure({"access_token": "tok", "scope": "*"}, AccessToken)
    assert token.token_type == "Bearer"
    assert token.expires_in is None
    assert token.extra == {"scope": "*"}


def test_access_token_without_access_token_fails() -> None:
    raw = {"token_type": "Bearer", "expires_in": 3600}
    with pytest.raises(ResponseDecodeError, match="access_token") as info:
        structure(raw, AccessToken)
    assert info.value.data is raw


def test_token_info_from_introspection() -> None:
    raw = {
        "active": True,
        "client_id": "a1b2c3d4e5f6g7h8",
        "user_id": None,
        "scopes": ["profile:read", "templates:read", "assets:read"],
        "expires_at": "2027-01-01 12:00:00",
    }
    info = structure(raw, TokenInfo)
    assert info.active is True
    assert info.client_id == "a1b2c3d4e5f6g7h8"
    assert info.user_id is None
    assert info.scopes == ["profile:read", "templates:read", "assets:read"]
    assert_utc(info.expires_at, datetime(2027, 1, 1, 12, 0, 0, tzinfo=UTC))


def test_token_info_inactive() -> None:
    info = structure({"active": False}, TokenInfo)
    assert info.active is False
    assert info.expires_at is None


def test_token_info_without_active_fails() -> None:
    with pytest.raises(ResponseDecodeError, match="active"):
        structure({"client_id": "x"}, TokenInfo)


def test_a_required_field_that_does_not_fit_fails_with_its_own_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drift.reset()  # warnings are once per process: earlier tests must not hide this one
    with pytest.raises(ResponseDecodeError, match="expected a boolean, got 'maybe'"):
        structure({"active": "maybe"}, TokenInfo)
    assert "kept in `extra`" not in caplog.text  # no drift warning about a field left None


# --- structure: generic rules -----------------------------------------------------------


@pytest.mark.parametrize("cls", ID_MODELS)
def test_only_id_is_required_and_others_are_none(cls: type[Any]) -> None:
    obj = structure({"id": 1}, cls)
    assert obj.id == 1
    assert obj.extra == {}
    for field in attrs.fields(cls):
        if field.name not in ("id", "extra"):
            assert getattr(obj, field.name) is None, field.name


@pytest.mark.parametrize("cls", ID_MODELS)
@pytest.mark.parametrize("ident", [1, 0, 2**40, "abc", "7", "3f2a-uuid"])
def test_int_or_str_ids_kept_as_given(cls: type[Any], ident: int | str) -> None:
    obj = structure({"id": ident}, cls)
    assert obj.id == ident
    assert type(obj.id) is type(ident)


@pytest.mark.parametrize("cls", ID_MODELS)
def test_missing_id_raises_with_raw_value(cls: type[Any]) -> None:
    raw = {"name": "no id here", "whatever": [1, 2]}
    with pytest.raises(ResponseDecodeError, match="missing field 'id'") as info:
        structure(raw, cls, url=URL)
    assert info.value.data is raw
    assert info.value.url == URL
    assert isinstance(info.value.__cause__, KeyError)


@pytest.mark.parametrize("cls", ID_MODELS)
def test_unknown_fields_kept_in_extra(cls: type[Any]) -> None:
    raw = {"id": 1, "brand_new_field": {"nested": [1, 2]}, "another": None}
    obj = structure(raw, cls)
    assert obj.extra == {"brand_new_field": {"nested": [1, 2]}, "another": None}
    assert "brand_new_field" not in repr(obj)


def test_field_called_extra_is_kept_not_lost() -> None:
    tag = structure({"id": 1, "extra": "server's own 'extra'"}, Tag)
    assert tag.extra == {"extra": "server's own 'extra'"}


def test_structure_does_not_mutate_input() -> None:
    raw = {"id": 1, "unknown": 2, "tags": [{"id": 3, "x": 4}]}
    snapshot = {"id": 1, "unknown": 2, "tags": [{"id": 3, "x": 4}]}
    structure(raw, Asset)
    assert raw == snapshot


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        [{"id": 1}],
        "id",
        1,
        {"id": None},
        {"id": 1.5},
        {"id": True},
        {"id": [1]},
        {"id": {"v": 1}},
    ],
)
def test_not_an_object_or_bad_id_raises(value: Any) -> None:
    with pytest.raises(ResponseDecodeError, match="cannot decode Asset") as info:
        structure(value, Asset)
    assert info.value.data is value


@pytest.mark.parametrize(
    "raw",
    [
        {"id": 1, "created_at": "yesterday"},
        {"id": 1, "created_at": "2026-02-30 00:00:00"},
        {"id": 1, "updated_at": 1712672048},
        {"id": 1, "width": "wide"},
        {"id": 1, "tags": [{"name": "tag without id"}]},
        {"id": 1, "tags": "social"},
    ],
)
def test_a_field_that_does_not_fit_is_kept_in_extra(raw: dict[str, Any]) -> None:
    template = structure(raw, Template)
    (field,) = set(raw) - {"id"}
    assert getattr(template, field) is None
    assert template.extra == {field: raw[field]}


@pytest.mark.parametrize(
    ("cls", "raw", "field"),
    [
        (TokenInfo, {"active": True, "scopes": "read write"}, "scopes"),  # not its letters
        (TokenInfo, {"active": True, "scopes": {"read": True}}, "scopes"),  # nor its keys
        (Template, {"id": 1, "tags": {}}, "tags"),
        (Template, {"id": 1, "tags": {"id": 2}}, "tags"),
    ],
)
def test_a_list_field_takes_only_a_list(cls: type[Any], raw: dict[str, Any], field: str) -> None:
    obj = structure(raw, cls)
    assert getattr(obj, field) is None
    assert obj.extra == {field: raw[field]}


def test_a_timestamp_msgspec_cannot_read_is_kept_in_extra_on_every_path() -> None:
    odd = "2026-04-09T14:14:08Z\ud800"  # a lone surrogate, as json.loads reads one
    item = {**dict.fromkeys(named_fields(Folder)), "id": 1, "created_at": odd}
    assert ExactModel(Folder).page([item]) is None
    (folder,) = structure_many([item], Folder)
    assert folder.created_at is None
    assert folder.extra == {"created_at": odd}


def test_structure_many() -> None:
    tags = structure_many([{"id": 1}, {"id": "b", "name": "B"}], Tag, url=URL)
    assert tags == [Tag(id=1), Tag(id="b", name="B")]


def test_structure_many_fails_on_first_bad_item() -> None:
    bad = {"name": "missing id"}
    with pytest.raises(ResponseDecodeError) as info:
        structure_many([{"id": 1}, bad, {"also": "bad"}], Tag, url=URL)
    assert info.value.data is bad
    assert info.value.url == URL


@pytest.mark.parametrize(
    ("cls", "raw", "field"),
    [
        (BrandKit, {"id": 1, "is_default": "0"}, "is_default"),
        (BrandKit, {"id": 1, "is_default": "false"}, "is_default"),
        (TokenInfo, {"active": "false"}, "active"),
    ],
)
def test_false_looking_strings_are_not_true(
    cls: type[Any], raw: dict[str, Any], field: str
) -> None:
    try:
        obj = structure(raw, cls)
    except ResponseDecodeError:
        return
    assert getattr(obj, field) is False


# --- the exact decoders -----------------------------------------------------------------

EXACT_TAG = {"id": 1, "name": "x", "slug": "x", "count": 2}
EXACT_ASSET: dict[str, Any] = {
    **dict.fromkeys(named_fields(Asset)),
    "id": 7,
    "name": "a.jpg",
    "size": 10,
    "tags": [EXACT_TAG],
    "created_at": CREATED,
    "updated_at": UPDATED,
}


def test_exact_model_reads_an_exactly_typed_item() -> None:
    extra = {"kept": True}
    raw = {"id": 7, "name": "a.jpg", "size": 10, "tags": [EXACT_TAG]}
    asset = ExactModel(Asset).one({**raw, "created_at": CREATED}, extra)
    tags = [Tag(id=1, name="x", slug="x", count=2)]
    assert asset == Asset(
        id=7, name="a.jpg", size=10, tags=tags, created_at=CREATED_DT, extra=extra
    )
    assert asset.extra is extra
    assert asset.tags[0].extra == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CREATED, CREATED_DT),
        (UPDATED, UPDATED_DT),  # no zone: UTC
        ("2026-04-10T11:30:00+02:00", UPDATED_DT),  # an offset: moved to UTC
    ],
)
def test_exact_model_gives_utc_timestamps(text: str, expected: datetime) -> None:
    asset = ExactModel(Asset).one({"id": 1, "updated_at": text}, {})
    assert asset.updated_at.tzinfo is UTC
    assert asset.updated_at == expected
    (from_page,) = ExactModel(Asset).page([{**EXACT_ASSET, "updated_at": text}])
    assert from_page.updated_at.tzinfo is UTC
    assert from_page.updated_at == expected


@pytest.mark.parametrize(
    "raw",
    [
        {"id": 7, "size": "10"},  # a number as a string: the lenient path parses it
        {"id": True},  # a boolean is not an id
        {"id": 7, "size": 10.0},  # nor is a float a size
        {"id": 7, "tags": ({"id": 1},)},  # not a JSON list
        {"id": 7, "name": 3},
        {"id": 7, "tags": [{"id": 1, "count": "2", "slug": None, "name": None}]},  # tag count
        {"id": 7, "tags": [EXACT_TAG, {"id": 2, "new": "kept"}]},  # a tag with another key
        {"id": 7, "tags": [EXACT_TAG, "social"]},
        {"id": 7, "tags": "social"},
        {"id": 7, "created_at": "0001-01-01T00:00:00+01:00"},  # out of range in UTC
        {"id": 7, "created_at": "2026-04-09"},  # read by fromisoformat only, on the lenient path
        {"name": "no id"},
    ],
)
def test_exact_model_leaves_anything_else_to_the_lenient_path(raw: dict[str, Any]) -> None:
    exact = ExactModel(Asset)
    with pytest.raises((Unusual, msgspec.ValidationError, OverflowError)):
        exact.one(raw, {})
    page = [EXACT_ASSET, {**dict.fromkeys(named_fields(Asset)), **raw}]
    assert exact.page(page) is None


def test_exact_model_reads_a_page_as_the_lenient_path_does() -> None:
    items = [
        {**EXACT_ASSET, "id": n, "tags": tags}
        for n, tags in enumerate([[], None, [EXACT_TAG, {**EXACT_TAG, "id": "b"}]])
    ]
    page = ExactModel(Asset).page(items)
    lenient, _ = _build(exact=False)
    assert page == [lenient.structure(item, Asset) for item in items]
    assert structure_many(items, Asset) == page
    assert ExactModel(Asset).page([]) == []


@pytest.mark.parametrize(
    "page",
    [
        [EXACT_ASSET, {**EXACT_ASSET, "new": 1}],  # a key the model does not name
        [EXACT_ASSET, {k: v for k, v in EXACT_ASSET.items() if k != "width"}],  # one missing
        [EXACT_ASSET, {**EXACT_ASSET, "extra": {}}],
        [EXACT_ASSET, "not an object"],
    ],
)
def test_exact_model_reads_no_page_with_an_item_of_another_shape(page: list[Any]) -> None:
    assert ExactModel(Asset).page(page) is None


def test_exact_model_refuses_a_field_type_it_cannot_check() -> None:
    @attrs.frozen
    class Odd:
        id: int
        sizes: dict[str, int]
        extra: dict[str, Any] = attrs.field(factory=dict)

    with pytest.raises(TypeError, match="sizes"):
        ExactModel(Odd)


@attrs.frozen
class _Stamped:
    id: int
    at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class _ListsStamped:
    id: int
    items: list[_Stamped] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


def test_exact_model_refuses_a_listed_model_with_timestamps() -> None:
    with pytest.raises(TypeError, match="_Stamped"):
        ExactModel(_ListsStamped)


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if value <= 0:
        raise ValueError(attribute.name)


@attrs.frozen
class _Validated:
    id: int = attrs.field(validator=_positive)
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class _PostInit:
    id: int
    extra: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        pass


@attrs.define(slots=False)
class _NotSlotted:
    id: int
    extra: dict[str, Any] = attrs.field(factory=dict)


@pytest.mark.parametrize("cls", [_Validated, _PostInit, _NotSlotted])
def test_exact_model_refuses_a_class_msgspec_would_build_otherwise(cls: type[Any]) -> None:
    with pytest.raises(TypeError, match=cls.__name__):
        ExactModel(cls)


def test_decode_error_names_the_url_without_inventing_a_status() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        structure({"name": "no id"}, Asset, url=URL)
    assert str(info.value) == f"cannot decode Asset: missing field 'id' ({URL})"
