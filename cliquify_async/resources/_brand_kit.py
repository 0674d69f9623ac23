"""`client.brand_kit`: brand kits, their logos and their colours."""

from __future__ import annotations

from .. import _endpoints
from .._pagination.paginator import AsyncPaginator
from .._pagination.rules import DEFAULT_MAX_PAGES
from .._wire import QueryValue
from ..models import BrandKit, Color, Logo
from ._base import Resource


class BrandKits(Resource):
    """Brand kits (`/api/brand-kit`), logos and colours."""

    def list(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[BrandKit]:
        """Every brand kit; keyword filters go to the query."""
        return self._list(_endpoints.BRAND_KITS, filters, max_pages)

    def logos(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Logo]:
        """Every brand kit logo; `brand_kit_id=` narrows it to one kit."""
        return self._list(_endpoints.BRAND_KIT_LOGOS, filters, max_pages)

    def colors(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Color]:
        """Every brand kit colour; `brand_kit_id=` narrows it to one kit."""
        return self._list(_endpoints.BRAND_KIT_COLORS, filters, max_pages)
