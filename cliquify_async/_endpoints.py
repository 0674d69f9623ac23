"""The one table of list endpoints: where each lives and what it returns.

Half of these paths are assumed (cliquify-api.md §3); correcting one is a one-line change here.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

from attrs import frozen

from .models import Asset, BrandKit, Color, Folder, Logo, Tag, Template

T = TypeVar("T")


@frozen
class Endpoint(Generic[T]):
    """A list endpoint: its key (as in `client.assets.tags`), its path and its item model."""

    key: str
    path: str
    model: type[T]


TEMPLATES: Final = Endpoint("templates.list", "/api/templates", Template)
TEMPLATE_TAGS: Final = Endpoint("templates.tags", "/api/tags", Tag)
FOLDERS: Final = Endpoint("folders.list", "/api/folders", Folder)
ASSETS: Final = Endpoint("assets.list", "/api/assets", Asset)
ASSET_TAGS: Final = Endpoint("assets.tags", "/api/assets/tags", Tag)
BRAND_KITS: Final = Endpoint("brand_kit.list", "/api/brand-kit", BrandKit)
BRAND_KIT_LOGOS: Final = Endpoint("brand_kit.logos", "/api/brand-kit/logos", Logo)
BRAND_KIT_COLORS: Final = Endpoint("brand_kit.colors", "/api/brand-kit/colors", Color)

ALL: Final[tuple[Endpoint[Any], ...]] = (
    TEMPLATES,
    TEMPLATE_TAGS,
    FOLDERS,
    ASSETS,
    ASSET_TAGS,
    BRAND_KITS,
    BRAND_KIT_LOGOS,
    BRAND_KIT_COLORS,
)

# Items asked for per page unless the caller says otherwise: the assumed server maximum, so a
# 60 requests-per-minute budget moves as many items as it can.
DEFAULT_PER_PAGE: Final = 100
