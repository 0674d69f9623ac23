"""The /api endpoint table: what each list serves, the scope it needs, how its query narrows it.

Everything here is assumed (docs/contract.md §3), so it lives in one table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal

import attrs

from ._pagination import Item

DEFAULT_PER_PAGE: Final = 15
MAX_PER_PAGE: Final = 100
Oversize = Literal["clamp", "reject", "reject-between", "ignore"]
"""What a list does with a per_page above its maximum: serve the maximum (a paginator that
clamps), answer 422 (a form request's `max` rule, or its `between` rule), or always serve
its default size."""
_INTEGER: Final = re.compile(r"-?\d+")


@attrs.frozen
class Filter:
    """A query parameter narrowing a list.

    ``equals``: the item's field of the same name; ``has_tag``: an id in the item's ``tags``;
    ``contains``: a case-insensitive substring of the item's ``name``.
    """

    param: str
    kind: Literal["equals", "has_tag", "contains"]

    def matches(self, item: Item, value: int | str) -> bool:
        """Whether ``item`` passes this filter for the (already parsed) ``value``."""
        if self.kind == "equals":
            return bool(item.get(self.param) == value)
        if self.kind == "has_tag":
            return any(tag.get("id") == value for tag in item.get("tags") or ())
        return str(value).casefold() in str(item.get("name") or "").casefold()


_FOLDER: Final = Filter("folder_id", "equals")
_PARENT: Final = Filter("parent_id", "equals")
_BRAND_KIT: Final = Filter("brand_kit_id", "equals")
_TAG: Final = Filter("tag_id", "has_tag")
_SEARCH: Final = Filter("search", "contains")


@attrs.frozen
class Endpoint:
    """One list route: its dataset key, the scope a token needs, and its filters."""

    key: str
    scope: str
    filters: tuple[Filter, ...] = ()

    def select(self, items: Sequence[Item], filters: Mapping[str, int | str]) -> Sequence[Item]:
        """The items this endpoint lists for the parsed ``filters`` (the dataset itself when
        there are none: copying 200,000 items for every page would make the server slow)."""
        active = [(f, filters[f.param]) for f in self.filters if f.param in filters]
        if not active:
            return items
        return [item for item in items if all(f.matches(item, v) for f, v in active)]


ENDPOINTS: Final[Mapping[str, Endpoint]] = {
    "/api/templates": Endpoint("templates", "templates:read", (_TAG, _SEARCH)),
    "/api/tags": Endpoint("template_tags", "templates:read"),
    "/api/folders": Endpoint("folders", "assets:read", (_PARENT,)),
    "/api/assets": Endpoint("assets", "assets:read", (_FOLDER, _TAG, _SEARCH)),
    "/api/assets/tags": Endpoint("asset_tags", "assets:read"),
    "/api/brand-kit": Endpoint("brand_kits", "brandkit:read"),
    "/api/brand-kit/logos": Endpoint("logos", "brandkit:read", (_BRAND_KIT,)),
    "/api/brand-kit/colors": Endpoint("colors", "brandkit:read", (_BRAND_KIT,)),
}


class InvalidQuery(Exception):
    """The query failed validation; ``errors`` is Laravel's ``{field: [message]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@attrs.frozen(kw_only=True)
class ListQuery:
    """A validated list query: position plus the endpoint's filters (empty values ignored)."""

    page: int
    per_page: int
    cursor: str | None
    filters: Mapping[str, int | str]


def parse_query(
    endpoint: Endpoint,
    query: Mapping[str, str],
    *,
    max_per_page: int = MAX_PER_PAGE,
    oversize: Oversize = "clamp",
) -> ListQuery:
    """Validate ``query`` like a Laravel form request; raise InvalidQuery listing every problem.
    A per_page above ``max_per_page`` is served as ``oversize`` says."""
    errors: dict[str, list[str]] = {}

    def integer(name: str, minimum: int | None = None) -> int | None:
        raw = query.get(name) or None
        if raw is None:
            return None
        label = name.replace("_", " ")
        if not _INTEGER.fullmatch(raw):
            errors[name] = [f"The {label} must be an integer."]
            return None
        if minimum is not None and int(raw) < minimum:
            errors[name] = [f"The {label} must be at least {minimum}."]
            return None
        return int(raw)

    page = integer("page", 1)
    per_page = integer("per_page", 1)
    if oversize.startswith("reject") and per_page is not None and per_page > max_per_page:
        errors["per_page"] = [
            f"The per page field must be between 1 and {max_per_page}."
            if oversize == "reject-between"
            else f"The per page field must not be greater than {max_per_page}."
        ]
    if oversize == "ignore":
        per_page = None
    filters: dict[str, int | str] = {}
    for f in endpoint.filters:
        value = query.get(f.param) if f.kind == "contains" else integer(f.param)
        if value is not None and value != "":
            filters[f.param] = value
    if errors:
        raise InvalidQuery(errors)
    return ListQuery(
        page=page or 1,
        per_page=min(per_page or DEFAULT_PER_PAGE, max_per_page),
        cursor=query.get("cursor") or None,
        filters=filters,
    )
