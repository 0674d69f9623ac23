"""The one table of API paths: the OAuth helpers and every list endpoint with its item model.

Half of these paths are assumed (docs/contract.md §3); correcting one is a one-line change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Generic, TypeVar

from attrs import frozen

from .models import Asset, BrandKit, Color, Folder, Logo, Tag, Template

T = TypeVar("T")

TOKEN_PATH: Final = "/oauth/access-token"  # noqa: S105 - a path, not a secret
INTROSPECT_PATH: Final = "/oauth/introspect"
REVOKE_PATH: Final = "/oauth/revoke"


@frozen
class Endpoint(Generic[T]):
    """A list endpoint: its SDK call (`assets.tags`), resource name, path and item model."""

    key: str
    name: str
    path: str
    model: type[T]


TEMPLATES: Final = Endpoint("templates.list", "templates", "/api/templates", Template)
TEMPLATE_TAGS: Final = Endpoint("templates.tags", "template_tags", "/api/tags", Tag)
FOLDERS: Final = Endpoint("folders.list", "folders", "/api/folders", Folder)
ASSETS: Final = Endpoint("assets.list", "assets", "/api/assets", Asset)
ASSET_TAGS: Final = Endpoint("assets.tags", "asset_tags", "/api/assets/tags", Tag)
BRAND_KITS: Final = Endpoint("brand_kit.list", "brand_kits", "/api/brand-kit", BrandKit)
BRAND_KIT_LOGOS: Final = Endpoint("brand_kit.logos", "logos", "/api/brand-kit/logos", Logo)
BRAND_KIT_COLORS: Final = Endpoint("brand_kit.colors", "colors", "/api/brand-kit/colors", Color)

BY_NAME: Final[Mapping[str, Endpoint[Any]]] = {
    endpoint.name: endpoint
    for endpoint in (
        TEMPLATES,
        TEMPLATE_TAGS,
        FOLDERS,
        ASSETS,
        ASSET_TAGS,
        BRAND_KITS,
        BRAND_KIT_LOGOS,
        BRAND_KIT_COLORS,
    )
}
"""Every list endpoint by resource name (the harvest's file names), in harvest order."""

BY_KEY: Final[Mapping[str, Endpoint[Any]]] = {e.key: e for e in BY_NAME.values()}
"""Every list endpoint by SDK call (`assets.tags`): the keys of path overrides."""

# Items asked for per page unless the caller says otherwise: the assumed server maximum, so a
# 60 requests-per-minute budget moves as many items as it can.
DEFAULT_PER_PAGE: Final = 100
