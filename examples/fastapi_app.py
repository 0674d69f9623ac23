"""A FastAPI application that shares one CliquifyClient for its whole lifetime.

    python examples/fastapi_app.py --sandbox   # start it in-process, call it, stop it
    python examples/fastapi_app.py             # the same, with the CLIQUIFY_* variables
    uvicorn examples.fastapi_app:app           # serve it (CLIQUIFY_* variables)

The client is made in the `lifespan` when the application starts and closed when it stops;
every endpoint receives it through a dependency, so they share one session, one token and one
rate gate. The SDK's typed errors become HTTP answers in exception handlers. This script needs
`pip install fastapi httpx` (httpx only to call the app in-process here).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from cliquify_async import (
    APIConnectionError,
    CliquifyClient,
    CliquifyError,
    RateLimitError,
    ServerError,
)
from cliquify_async.sandbox import Fault, Sandbox

SANDBOX_WINDOW = 6.0  # the real API's 60 requests per minute, ten times faster


def get_client(request: Request) -> CliquifyClient:
    """The application's one client, for endpoints: `client: Client`."""
    client: CliquifyClient = request.app.state.cliquify
    return client


Client = Annotated[CliquifyClient, Depends(get_client)]


def create_app(**client_options: Any) -> FastAPI:
    """The application; `client_options` go to CliquifyClient (default: CLIQUIFY_* variables)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with CliquifyClient(**client_options) as client:  # startup
            app.state.cliquify = client
            yield
        # shutdown: the client and its session are closed here, after the last request

    app = FastAPI(title="Cliquify proxy", lifespan=lifespan)

    @app.get("/folders")
    async def list_folders(client: Client) -> list[dict[str, Any]]:
        folders = await client.folders.list().collect()
        return [{"id": f.id, "name": f.name, "assets": f.assets_count} for f in folders]

    @app.get("/folders/{folder_id}/assets")
    async def list_folder_assets(
        client: Client, folder_id: int, limit: Annotated[int, Query(ge=1, le=1000)] = 20
    ) -> list[dict[str, Any]]:
        # `async with` cancels the pages being read ahead if this call is cancelled;
        # collect(max_items=) itself stops reading ahead at `limit` items.
        async with client.assets.list(folder_id=folder_id, per_page=min(limit, 100)) as assets:
            items = await assets.collect(max_items=limit)
        return [{"id": a.id, "name": a.name, "url": a.url} for a in items]

    # The most specific handler wins, so RateLimitError goes to its own.
    @app.exception_handler(RateLimitError)
    async def rate_limited(request: Request, exc: RateLimitError) -> JSONResponse:
        # The API's budget is spent for longer than the SDK waits: say when to come back.
        wait = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else {}
        return JSONResponse({"error": "rate limited upstream"}, status_code=503, headers=wait)

    @app.exception_handler(ServerError)
    @app.exception_handler(APIConnectionError)
    async def unavailable(request: Request, exc: CliquifyError) -> JSONResponse:
        return JSONResponse({"error": "Cliquify is unavailable"}, status_code=502)

    @app.exception_handler(CliquifyError)
    async def failed(request: Request, exc: CliquifyError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__}, status_code=500)

    return app


app = create_app()  # for `uvicorn examples.fastapi_app:app`; the client is made at startup


async def exercise(app: FastAPI, sandbox: Sandbox | None) -> None:
    """Start the application in-process, call it as a user would, shut it down."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # startup ... shutdown, as a server runs them
        httpx.AsyncClient(transport=transport, base_url="http://app") as http,
    ):
        client: CliquifyClient = app.state.cliquify
        response = await http.get("/folders")
        folders = response.json()
        print(f"GET /folders -> {response.status_code}: {len(folders)} folders")
        path = f"/folders/{folders[0]['id']}/assets"
        response = await http.get(path, params={"limit": 3})
        print(f"GET {path}?limit=3 -> {response.status_code}: {len(response.json())} assets")

        responses = await asyncio.gather(*(http.get("/folders") for _ in range(10)))
        statuses = sorted({r.status_code for r in responses})
        print(
            f"10 concurrent GET /folders -> {statuses}, "
            f"{client.stats.token_requests} token request in all"
        )
        if sandbox is not None:
            # A 429 asking for five minutes: more than the SDK sleeps through.
            sandbox.faults.add(Fault.status(429, retry_after=300), path="/api/folders")
            response = await http.get("/folders")
            wait = response.headers.get("Retry-After")
            print(f"GET /folders when rate limited -> {response.status_code}, retry after {wait}")
    print(f"shut down; the client is closed: {client.closed}")


async def run(args: argparse.Namespace) -> None:
    if not args.sandbox:
        await exercise(create_app(), None)
        return
    async with Sandbox(rate_limit=60, rate_window=SANDBOX_WINDOW) as sb:
        application = create_app(
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            base_url=sb.url,
            requests_per_minute=60 * 60 / SANDBOX_WINDOW,
            rate_window=SANDBOX_WINDOW,
        )
        await exercise(application, sb)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
