"""The typed records the API returns: frozen, keyword-only attrs classes.

The field lists are assumed (docs/contract.md §3), so every field but `id` is optional and
any key the model does not name is kept in `extra` (left out of repr) instead of dropped.
Timestamps are aware datetimes in UTC, whichever of the API's formats the server sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import field, frozen

__all__ = [
    "AccessToken",
    "Asset",
    "BrandKit",
    "Color",
    "Folder",
    "Id",
    "Logo",
    "Tag",
    "Template",
    "TokenInfo",
]

Id = int | str
"""Resource ids are integers on a Laravel server; strings are accepted as they come."""


@frozen(kw_only=True)
class Tag:
    """A template tag (brand tag) or an asset tag."""

    id: Id
    name: str | None = None
    slug: str | None = None
    count: int | None = None
    """How many items carry the tag, as the server counts them (the meaning is assumed)."""
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class Template:
    """A design template."""

    id: Id
    name: str | None = None
    description: str | None = None
    thumbnail_url: str | None = None
    preview_url: str | None = None
    width: int | None = None
    height: int | None = None
    tags: list[Tag] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class Folder:
    """An asset folder; `parent_id` is None at the top level."""

    id: Id
    name: str | None = None
    parent_id: Id | None = None
    assets_count: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class Asset:
    """A brand asset (an image or other file); `size` is in bytes, `url` is the file."""

    id: Id
    name: str | None = None
    type: str | None = None
    mime_type: str | None = None
    url: str | None = None
    thumbnail_url: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    folder_id: Id | None = None
    tags: list[Tag] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class BrandKit:
    """A brand kit: a named set of logos and colours."""

    id: Id
    name: str | None = None
    description: str | None = None
    is_default: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class Logo:
    """A logo of a brand kit."""

    id: Id
    name: str | None = None
    url: str | None = None
    thumbnail_url: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    brand_kit_id: Id | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class Color:
    """A colour of a brand kit; `hex` is `#RRGGBB`."""

    id: Id
    name: str | None = None
    hex: str | None = None
    brand_kit_id: Id | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class AccessToken:
    """An OAuth access token. Its value never shows in repr; never decode it, it is opaque."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name
    expires_in: float | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""


@frozen(kw_only=True)
class TokenInfo:
    """What the introspection endpoint says about a token; `expires_at` is aware UTC."""

    active: bool
    client_id: str | None = None
    user_id: int | None = None
    scopes: list[str] | None = None
    expires_at: datetime | None = None
    extra: dict[str, Any] = field(factory=dict, repr=False)
    """What the server sent that the model does not name, or that did not fit a field, as sent."""
