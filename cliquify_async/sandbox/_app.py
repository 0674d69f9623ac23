"""The aiohttp application: routes plus the middleware chain every request passes through.

Chain, outermost first: record -> latency -> throttle (/api only) -> faults -> JSON errors
-> handler. A 429 is decided before any fault; faults are recorded like normal answers.
Record also sends the body of a BodyResponse (files, and answers a fault cuts short), so
that it can count the bytes written.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Final

from aiohttp import hdrs, web

from ._api import list_handler, message
from ._body import BodyResponse
from ._endpoints import ENDPOINTS
from ._faults import Fault, FaultKind, Handler, perform
from ._files import serve_file
from ._oauth import access_token, introspect, revoke
from ._state import STATE, SandboxState
from ._stats import RecordedRequest
from ._throttle import Verdict
from ._tokens import bearer_token

_FAULT: Final = web.RequestKey("fault", Fault)
_VERDICT: Final = web.RequestKey("verdict", Verdict)
_API: Final = "/api/"
_FILES: Final = "/files/"
# request headers of downloads worth recording: ranges and conditions
_FILE_HEADERS: Final = (hdrs.RANGE, hdrs.IF_RANGE, hdrs.IF_NONE_MATCH, hdrs.IF_MODIFIED_SINCE)


def create_app(state: SandboxState) -> web.Application:
    """An application serving the contract from ``state``."""
    app = web.Application(middlewares=[_record, _latency, _throttle, _faults, _json_errors])
    app[STATE] = state
    app.on_response_prepare.append(_rate_limit_headers)
    app.router.add_post("/oauth/access-token", access_token)
    app.router.add_post("/oauth/introspect", introspect)
    app.router.add_post("/oauth/revoke", revoke)
    for path, endpoint in ENDPOINTS.items():
        app.router.add_get(state.config.paths.get(path, path), list_handler(path, endpoint))
    app.router.add_get("/files/{file:.+}", serve_file)
    return app


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Append a RecordedRequest to the stats once the request is answered; the answer names
    the request (X-Request-Id), as many APIs' gateways do."""
    state = request.app[STATE]
    arrived = state.config.clock()
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        response.headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        if isinstance(response, BodyResponse):
            await response.send(request)  # here, so that the record counts what it wrote
        return response
    finally:
        fault = request.get(_FAULT)
        verdict = request.get(_VERDICT)
        authorization = request.headers.get(hdrs.AUTHORIZATION)
        reset = fault is not None and fault.kind is FaultKind.RESET
        state.stats.record(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                remote=request.remote,
                status=None if reset or response is None else response.status,
                time=arrived,
                has_authorization=authorization is not None,
                token=bearer_token(authorization),
                fault=fault,
                throttled=verdict is not None and not verdict.allowed,
                body_bytes=_body_bytes(request, response),
                file_headers=_file_headers(request),
            )
        )


def _body_bytes(request: web.Request, response: web.StreamResponse | None) -> int:
    """Body bytes a successful (2xx) answer wrote, all or up to a cut; 0 for any other, so that
    a retried download counts only the payload delivered."""
    if response is None or not 200 <= response.status < 300 or request.method == hdrs.METH_HEAD:
        return 0
    if isinstance(response, BodyResponse):
        return response.sent
    body = response.body if isinstance(response, web.Response) else None
    return len(body) if isinstance(body, bytes) else 0


def _file_headers(request: web.Request) -> dict[str, str]:
    """The request's range and condition headers, those it has (repeats joined by commas)."""
    headers = request.headers
    return {str(name): ", ".join(headers.getall(name)) for name in _FILE_HEADERS if name in headers}


@web.middleware
async def _latency(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delay every /api answer by the configured latency, every /files one by file_latency."""
    response = await handler(request)
    config = request.app[STATE].config
    if request.path.startswith(_API):
        delay = config.latency
    else:
        delay = config.file_latency if request.path.startswith(_FILES) else 0.0
    if delay:
        await asyncio.sleep(delay)
    return response


@web.middleware
async def _throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count /api requests per client IP in every tier; answer 429 once one tier is full."""
    throttle = request.app[STATE].throttle
    if throttle is None or not request.path.startswith(_API):
        return await handler(request)
    verdict = request[_VERDICT] = throttle.hit(request.remote or "")
    if not verdict.allowed:
        return message(429, "Too Many Attempts.")
    return await handler(request)


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer with the next planned fault for this path, if any."""
    fault = request.app[STATE].faults.take(request.path)
    if fault is None:
        return await handler(request)
    request[_FAULT] = fault
    return await perform(fault, request, handler)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Routing errors (404, 405) as JSON ``{"message": ...}``, like Laravel's API answers."""
    try:
        return await handler(request)
    except web.HTTPError as exc:
        response = message(exc.status, exc.reason)
        if hdrs.ALLOW in exc.headers:
            response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        return response


async def _rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Stamp the throttle's verdict on any response to a throttled request, faults included."""
    verdict = request.get(_VERDICT)
    config = request.app[STATE].config
    if verdict is not None and config.rate_limit_headers:
        response.headers.update(verdict.headers(config.retry_after_precision, config.reset_header))
