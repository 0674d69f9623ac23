"""`client.folders`: asset folders."""

from __future__ import annotations

from .. import _endpoints
from .._pagination.paginator import AsyncPaginator
from .._pagination.rules import DEFAULT_MAX_PAGES
from .._wire import QueryValue
from ..models import Folder
from ._base import Resource


class Folders(Resource):
    """Asset folders (`/api/folders`)."""

    def list(
        self, *, max_pages: int | None = DEFAULT_MAX_PAGES, **filters: QueryValue
    ) -> AsyncPaginator[Folder]:
        """Every folder; keyword filters (`per_page`, `parent_id`, ...) go to the query."""
        return self._list(_endpoints.FOLDERS, filters, max_pages)
