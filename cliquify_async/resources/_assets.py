"""`client.assets`: brand assets and their tags."""

from __future__ import annotations

from .. import _endpoints
from .._pagination.paginator import AsyncPaginator
from .._pagination.rules import DEFAULT_MAX_PAGES
from .._wire import QueryValue
from ..models import Asset, Tag
from ._base import Resource


class Assets(Resource):
    """Assets (`/api/assets`) and asset tags (`/api/assets/tags`)."""

    def list(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Asset]:
        """Every asset; keyword filters (`per_page`, `folder_id`, `tag_id`, ...) go to the query."""
        return self._list(_endpoints.ASSETS, filters, max_pages)

    def tags(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Tag]:
        """Every asset tag (the labels that categorise assets)."""
        return self._list(_endpoints.ASSET_TAGS, filters, max_pages)
