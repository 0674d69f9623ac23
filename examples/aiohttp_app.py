"""An aiohttp.web service that shares one CliquifyClient for its whole lifetime.

    python examples/aiohttp_app.py --sandbox            # start it, call it, stop it
    python examples/aiohttp_app.py                      # the same, with the CLIQUIFY_* variables
    python examples/aiohttp_app.py --serve --port 8080  # serve until Ctrl-C (CLIQUIFY_*)

The client is made in a `cleanup_ctx` when the application starts and closed when it shuts
down, after the last request; every handler uses it, so they share one session, one token
(however many requests arrive at once) and one rate gate.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from cliquify_async import (
    APIConnectionError,
    CliquifyClient,
    CliquifyError,
    RateLimitError,
    ServerError,
)
from cliquify_async.sandbox import Fault, Sandbox

CLIENT = web.AppKey("cliquify", CliquifyClient)
SANDBOX_WINDOW = 6.0  # the real API's 60 requests per minute, ten times faster

routes = web.RouteTableDef()


@routes.get("/folders")
async def list_folders(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    folders = await client.folders.list().collect()
    return web.json_response(
        [{"id": f.id, "name": f.name, "assets": f.assets_count} for f in folders]
    )


@routes.get("/folders/{folder_id}/assets")
async def list_folder_assets(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None
    folder_id = request.match_info["folder_id"]
    # `async with` cancels the pages being read ahead if this handler is cancelled (our
    # caller hung up); collect(max_items=) itself stops reading ahead at `limit` items.
    async with client.assets.list(folder_id=folder_id, per_page=min(limit, 100)) as assets:
        items = await assets.collect(max_items=limit)
    return web.json_response([{"id": a.id, "name": a.name, "url": a.url} for a in items])


@web.middleware
async def cliquify_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn the SDK's typed errors into answers for our own callers."""
    try:
        return await handler(request)
    except RateLimitError as exc:
        # The API's budget is spent for longer than the SDK waits: say when to come back.
        wait = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else {}
        return web.json_response({"error": "rate limited upstream"}, status=503, headers=wait)
    except (ServerError, APIConnectionError):  # after the SDK's own retries
        return web.json_response({"error": "Cliquify is unavailable"}, status=502)
    except CliquifyError as exc:
        return web.json_response({"error": type(exc).__name__}, status=500)


def create_app(**client_options: Any) -> web.Application:
    """The service; `client_options` go to CliquifyClient (default: the CLIQUIFY_* variables)."""

    async def cliquify_client(app: web.Application) -> AsyncIterator[None]:
        async with CliquifyClient(**client_options) as client:  # startup
            app[CLIENT] = client
            yield
        # shutdown: the client and its session are closed here, after the last request

    app = web.Application(middlewares=[cliquify_errors])
    app.cleanup_ctx.append(cliquify_client)
    app.add_routes(routes)
    return app


async def status_of(http: aiohttp.ClientSession, path: str) -> int:
    async with http.get(path) as response:
        await response.read()
        return response.status


async def exercise(app: web.Application, sandbox: Sandbox | None) -> None:
    """Start the service on a free loopback port, call it as a user would, shut it down."""
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup_ctx up to its `yield`: the client exists now
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    client = app[CLIENT]
    try:
        async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
            async with http.get("/folders") as response:
                folders = await response.json()
            print(f"GET /folders -> {response.status}: {len(folders)} folders")
            path = f"/folders/{folders[0]['id']}/assets"
            async with http.get(path, params={"limit": "3"}) as response:
                assets = await response.json()
            print(f"GET {path}?limit=3 -> {response.status}: {len(assets)} assets")

            statuses = await asyncio.gather(*(status_of(http, "/folders") for _ in range(10)))
            print(
                f"10 concurrent GET /folders -> {sorted(set(statuses))}, "
                f"{client.stats.token_requests} token request in all"
            )
            if sandbox is not None:
                # A 429 asking for five minutes: more than the SDK sleeps through.
                sandbox.faults.add(Fault.status(429, retry_after=300), path="/api/folders")
                async with http.get("/folders") as response:
                    wait = response.headers.get("Retry-After")
                print(f"GET /folders when rate limited -> {response.status}, retry after {wait}")
    finally:
        await runner.cleanup()  # shutdown: the cleanup_ctx closes the client
    print(f"shut down; the client is closed: {client.closed}")


async def run(args: argparse.Namespace) -> None:
    if not args.sandbox:
        await exercise(create_app(), None)
        return
    async with Sandbox(rate_limit=60, rate_window=SANDBOX_WINDOW) as sb:
        app = create_app(
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            base_url=sb.url,
            requests_per_minute=60 * 60 / SANDBOX_WINDOW,
            rate_window=SANDBOX_WINDOW,
        )
        await exercise(app, sb)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    parser.add_argument("--serve", action="store_true", help="serve until Ctrl-C (CLIQUIFY_*)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if args.serve:
        web.run_app(create_app(), host=args.host, port=args.port)
        return 0
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
