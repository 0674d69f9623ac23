"""The protected /api list routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from ._endpoints import Endpoint, InvalidQuery, parse_query
from ._pagination import PageRequest, render
from ._state import STATE
from ._tokens import bearer_token

_NOT_CARRIED = frozenset({"page", "cursor"})  # page URLs set these themselves


def list_handler(path: str, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The GET handler of one list: auth, company, scope and validation checks, then a page."""

    async def handle(request: web.Request) -> web.Response:
        state = request.app[STATE]
        token = state.tokens.get(bearer_token(request.headers.get(hdrs.AUTHORIZATION)))
        if token is None or not state.tokens.active(token):
            return message(401, "Unauthenticated.")
        if not state.config.company_exists:
            return message(404, "Company not found.")
        if endpoint.scope not in token.scopes:
            return message(403, "Token does not have the required scope.")
        try:
            query = parse_query(
                endpoint,
                request.query,
                max_per_page=state.config.max_per_page,
                oversize=state.config.per_page_oversize,
            )
        except InvalidQuery as exc:
            body = {"message": "The given data was invalid.", "errors": exc.errors}
            return web.json_response(body, status=422)
        page = PageRequest(
            path=state.base_url + request.path,  # the path served, which config may rename
            query=tuple((k, v) for k, v in request.query.items() if k not in _NOT_CARRIED),
            page=query.page,
            per_page=query.per_page,
            cursor=query.cursor,
        )
        items = endpoint.select(state.data.items[endpoint.key], query.filters)
        shape = state.config.pagination[path]
        return web.json_response(render(shape, items, page, state.config.empty_pages))

    return handle


def message(status: int, text: str) -> web.Response:
    """The /api error shape: ``{"message": text}``."""
    return web.json_response({"message": text}, status=status)
