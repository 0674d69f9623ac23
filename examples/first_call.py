"""First call: a token, a few listings, a page at a time, and the errors worth catching.

python examples/first_call.py --sandbox   # a built-in sandbox: no credentials, no network
python examples/first_call.py             # the CLIQUIFY_* variables (the real API, or a
                                          # `cliquify-async sandbox` on loopback)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from cliquify_async import (
    CliquifyClient,
    CliquifyError,
    ConfigurationError,
    InvalidClientError,
)
from cliquify_async.sandbox import Sandbox

# The sandbox's window: the real API's 60 requests per minute, ten times faster.
SANDBOX_WINDOW = 6.0


@contextlib.asynccontextmanager
async def open_client(*, sandbox: bool) -> AsyncIterator[CliquifyClient]:
    """A client from CLIQUIFY_CLIENT_ID, CLIQUIFY_CLIENT_SECRET and CLIQUIFY_BASE_URL, or one
    for a sandbox started here."""
    if not sandbox:
        async with CliquifyClient() as client:
            yield client
        return
    async with (
        Sandbox(rate_limit=60, rate_window=SANDBOX_WINDOW) as sb,
        CliquifyClient(
            sb.client_id,
            sb.client_secret,
            base_url=sb.url,
            requests_per_minute=60 * 60 / SANDBOX_WINDOW,
            rate_window=SANDBOX_WINDOW,
        ) as client,
    ):
        yield client


async def first_call(client: CliquifyClient) -> None:
    # The token is fetched on first use and renewed before it expires; you rarely need it.
    token = await client.auth.token()
    lifetime = token.expires_in  # None when the server leaves expires_in out
    expires = "no expiry given" if lifetime is None else f"expires in {lifetime:.0f} s"
    print(f"token: {token.token_type}, {expires}")
    info = await client.auth.introspect()
    print(f"introspect: active={info.active} scopes={','.join(info.scopes or [])}")

    # collect() gathers every item of every page into a list.
    folders = await client.folders.list().collect()
    print(f"folders: {len(folders)}")

    # Keyword filters go to the query string; collect(max_items=) reads no further ahead
    # than the items it still wants.
    assets = client.assets.list(folder_id=folders[0].id, per_page=5)
    for asset in await assets.collect(max_items=5):
        print(f"  asset {asset.id} in folder {asset.folder_id}: {asset.name} ({asset.size} B)")

    # pages() yields one Page per request, with what the server said about the whole.
    async for page in client.templates.list(per_page=25).pages():
        print(f"templates page {page.number}/{page.last_page}: {len(page.items)} of {page.total}")

    stats = client.stats
    print(f"requests: {stats.requests} to /api, {stats.token_requests} for the token")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use a built-in sandbox")
    args = parser.parse_args()
    try:
        async with open_client(sandbox=args.sandbox) as client:
            await first_call(client)
    except ConfigurationError as exc:  # no credentials in the environment, a bad base URL
        print(f"configuration: {exc}", file=sys.stderr)
        return 3
    except InvalidClientError:  # 401 from the token endpoint
        print("the client id or secret is wrong", file=sys.stderr)
        return 4
    except CliquifyError as exc:  # anything else the SDK raises: all typed, all catchable
        print(f"failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
