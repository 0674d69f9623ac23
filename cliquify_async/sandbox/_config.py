"""SandboxConfig: every knob of the sandbox server, validated once, immutable afterwards."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import attrs
from attrs import validators as v

from ._endpoints import ENDPOINTS, MAX_PER_PAGE, Oversize
from ._pagination import SHAPES, Shape

DEFAULT_SCOPES: Final = ("profile:read", "templates:read", "assets:read", "brandkit:read")
_SIZE: Final = [v.instance_of(int), v.ge(0)]

# An asset item field holding its file's hex digest; "checksum" holds a SHA-256 one.
Checksum = Literal["md5", "sha1", "sha256", "checksum"]


def _pagination_table(value: str | Mapping[str, str]) -> Mapping[str, Shape]:
    """One shape for every endpoint, or a per-path mapping (unlisted paths get "resource")."""
    table = {path: value for path in ENDPOINTS} if isinstance(value, str) else dict(value)
    unknown = sorted(set(table) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"pagination: unknown endpoint paths {unknown}")
    shapes: dict[str, Shape] = {}
    for path in ENDPOINTS:
        shape = table.get(path, "resource")
        if shape not in SHAPES:
            raise ValueError(f"pagination: unknown shape {shape!r}, expected one of {SHAPES}")
        shapes[path] = shape
    return MappingProxyType(shapes)


def _positions(value: Iterable[int]) -> frozenset[int]:
    """Walk positions to serve empty: page numbers from 1 (a cursor walk's n-th page)."""
    positions = frozenset(value)
    for position in positions:
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise ValueError(f"empty_pages: positions are pages from 1, got {position!r}")
    return positions


def _drop_fields(value: Iterable[str]) -> tuple[str, ...]:
    """Optional field names to omit from every item; ``id`` is mandatory and cannot go."""
    fields = (value,) if isinstance(value, str) else tuple(value)
    if "id" in fields:
        raise ValueError("drop_fields: 'id' is required by the contract and cannot be dropped")
    return fields


def _renamed_paths(value: Mapping[str, str]) -> Mapping[str, str]:
    """Contract paths to the paths served instead; only known list paths may be renamed."""
    unknown = sorted(set(value) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"paths: unknown endpoint paths {unknown}")
    return MappingProxyType(dict(value))


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """Validator: the value, when set, must be greater than zero."""
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _rate_tiers(value: Iterable[tuple[int, float]]) -> tuple[tuple[int, float], ...]:
    """Extra ``(count, window seconds)`` limits, each positive (a list of pairs is accepted)."""
    tiers = []
    for count, window in value:
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise ValueError(f"extra_rate_limits: count must be a positive int, got {count!r}")
        if isinstance(window, bool) or not isinstance(window, int | float):
            raise ValueError(f"extra_rate_limits: window must be seconds, got {window!r}")
        if not (math.isfinite(window) and window > 0):
            raise ValueError(
                f"extra_rate_limits: window must be positive and finite, got {window!r}"
            )
        tiers.append((count, float(window)))
    return tuple(tiers)


def _needs_main_limit(instance: SandboxConfig, _: attrs.Attribute[Any], value: object) -> None:
    """Validator: extra limits stack in front of the main one, so rate_limit must be set."""
    if value and instance.rate_limit is None:
        raise ValueError("extra_rate_limits need a main rate_limit, got rate_limit=None")


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """Options of a Sandbox; the defaults match the documented production behaviour."""

    seed: int = 0  # the data generator's seed; sizes below are item counts
    assets: int = attrs.field(default=120, validator=_SIZE)
    templates: int = attrs.field(default=40, validator=_SIZE)
    folders: int = attrs.field(default=8, validator=_SIZE)
    template_tags: int = attrs.field(default=12, validator=_SIZE)
    asset_tags: int = attrs.field(default=15, validator=_SIZE)
    brand_kits: int = attrs.field(default=2, validator=_SIZE)
    logos_per_kit: int = attrs.field(default=3, validator=_SIZE)
    colors_per_kit: int = attrs.field(default=5, validator=_SIZE)

    client_id: str = "sandbox-client"
    client_secret: str = attrs.field(default="sandbox-secret-do-not-use", repr=False)
    token_lifetime: float = attrs.field(default=31_536_000.0, validator=_positive)  # seconds
    token_shape: Literal["wrapped", "bare"] = attrs.field(
        default="wrapped", validator=v.in_(("wrapped", "bare"))
    )
    introspect_shape: Literal["wrapped", "bare"] = attrs.field(
        default="wrapped", validator=v.in_(("wrapped", "bare"))
    )
    enterprise_active: bool = True
    company_exists: bool = True
    scopes: tuple[str, ...] = attrs.field(default=DEFAULT_SCOPES, converter=tuple)  # per token

    rate_limit: int | None = attrs.field(default=60, validator=_positive)  # None: no throttle
    rate_window: float = attrs.field(default=60.0, validator=_positive)
    # (count, window seconds) limits checked and counted before the main one, as Laravel does
    extra_rate_limits: tuple[tuple[int, float], ...] = attrs.field(
        default=(), converter=_rate_tiers, validator=_needs_main_limit
    )
    retry_after_precision: Literal["seconds", "float"] = attrs.field(
        default="seconds", validator=v.in_(("seconds", "float"))
    )
    # X-RateLimit-Reset: unix time on 429s only (Laravel), unix time or seconds on every answer
    reset_header: Literal["on-429", "epoch", "seconds"] = attrs.field(
        default="on-429", validator=v.in_(("on-429", "epoch", "seconds"))
    )
    # monotonic seconds for the throttle, token expiry and record times; tests inject their own
    clock: Callable[[], float] = attrs.field(default=time.monotonic, eq=False, repr=False)

    pagination: Mapping[str, Shape] = attrs.field(default="resource", converter=_pagination_table)
    max_per_page: int = attrs.field(default=MAX_PER_PAGE, validator=[v.instance_of(int), v.ge(1)])
    # a per_page above max_per_page: served at the maximum, answered 422, or ignored entirely
    per_page_oversize: Oversize = attrs.field(default="clamp", validator=v.in_(get_args(Oversize)))
    # walk positions (page n, or a cursor walk's n-th page) served with no items while the list
    # still points on, as a server filtering after paging does; their items come a page later
    empty_pages: frozenset[int] = attrs.field(default=frozenset(), converter=_positions)
    latency: float = attrs.field(default=0.0, validator=v.ge(0.0))  # seconds added to /api answers
    extra_fields: bool = False
    drop_fields: tuple[str, ...] = attrs.field(default=(), converter=_drop_fields)
    port: int = attrs.field(default=0, validator=[v.ge(0), v.le(65535)])  # 0: any free port

    # Ways to differ from the SDK's assumptions, for testing `cliquify-async doctor`:
    # serve a list under another path ({"/api/assets/tags": "/api/asset-tags"}), accept the
    # token request only as JSON or only as a form, leave out the X-RateLimit-* headers.
    paths: Mapping[str, str] = attrs.field(factory=dict, converter=_renamed_paths)
    token_body: Literal["both", "json", "form"] = attrs.field(
        default="both", validator=v.in_(("both", "json", "form"))
    )
    rate_limit_headers: bool = True

    # The /files "CDN": ETag and Last-Modified (and so 304s and If-Range), byte ranges (206),
    # seconds before each answer's headers, and a per-answer bandwidth in bytes per second.
    file_validators: bool = True
    file_ranges: bool = True
    file_latency: float = attrs.field(default=0.0, validator=v.ge(0.0))
    file_bandwidth: float | None = attrs.field(default=None, validator=_positive)
    # Every asset's file (not its thumbnail) exactly this many bytes, its item's size saying so;
    # every asset item with this field holding its file's hex digest.
    asset_file_size: int | None = attrs.field(default=None, validator=v.optional(_SIZE))
    asset_checksum: Checksum | None = attrs.field(
        default=None, validator=v.optional(v.in_(get_args(Checksum)))
    )
