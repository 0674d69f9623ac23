"""`client.templates`: design templates and their tags."""

from __future__ import annotations

from .. import _endpoints
from .._pagination.paginator import AsyncPaginator
from .._pagination.rules import DEFAULT_MAX_PAGES
from .._wire import QueryValue
from ..models import Tag, Template
from ._base import Resource


class Templates(Resource):
    """Templates (`/api/templates`) and template tags, a.k.a. brand tags (`/api/tags`)."""

    def list(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Template]:
        """Every template; keyword filters (`per_page`, `tag_id`, `search`, ...) go to the query."""
        return self._list(_endpoints.TEMPLATES, filters, max_pages)

    def tags(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Tag]:
        """Every template tag (the categories that organise templates)."""
        return self._list(_endpoints.TEMPLATE_TAGS, filters, max_pages)
