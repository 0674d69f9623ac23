"""A client behind an HTTP proxy named in the environment (`trust_env=True`), with its own
connection limits: every request, the token's included, goes through the proxy.

python examples/behind_a_proxy.py --sandbox   # a built-in sandbox and a proxy on loopback
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from yarl import URL

from cliquify_async import CliquifyClient
from cliquify_async.sandbox import Sandbox

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "host"}
UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)


def forward_proxy(seen: list[str]) -> web.Application:
    """A minimal forward proxy for plain http: each request names the absolute URL to fetch."""

    async def upstream(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[UPSTREAM] = session
            yield

    async def relay(request: web.Request) -> web.Response:
        target = URL(request.raw_path)
        seen.append(target.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with request.app[UPSTREAM].request(
            request.method, target, headers=headers, data=await request.read()
        ) as answer:
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            passed.pop("Content-Encoding", None)  # the body below is already decoded
            return web.Response(status=answer.status, body=await answer.read(), headers=passed)

    app = web.Application()
    app.cleanup_ctx.append(upstream)
    app.router.add_route("*", "/{tail:.*}", relay)
    return app


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    parser.parse_args()
    seen: list[str] = []
    runner = web.AppRunner(forward_proxy(seen))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    proxy = f"http://127.0.0.1:{runner.addresses[0][1]}"
    # What a deployment's environment would say; NO_PROXY would exempt hosts from it.
    os.environ.update(HTTP_PROXY=proxy, HTTPS_PROXY=proxy)
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    try:
        async with (
            Sandbox(rate_limit=None) as sandbox,
            CliquifyClient(
                sandbox.client_id,
                sandbox.client_secret,
                base_url=sandbox.url,
                trust_env=True,  # off by default: no proxy sees the token unless you say so
                connection_limit=8,
                connection_limit_per_host=4,
            ) as client,
        ):
            folders = await client.folders.list().collect()
    finally:
        await runner.cleanup()
    print(f"folders: {len(folders)}")
    print(f"through the proxy: {', '.join(seen)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
