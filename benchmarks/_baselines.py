"""The two baselines, written the way users write them with plain aiohttp.

(a) `harvest_concurrent`: `aiolimiter.AsyncLimiter(L, W)` (the documented limit as a burst
    limiter), page 1 first to learn `last_page`, then every other page at once with
    `asyncio.gather`; a 429 sleeps its `Retry-After` and tries again. Items stay plain dicts
    and the function returns them all, as a gather does.
(b) `iter_sequential`: one page after another, following `links.next`, retrying a 429 after
    sleeping `Retry-After`; items are yielded as plain dicts as each page arrives.

Both get their own token from /oauth/access-token (JSON body) and send `Authorization:
Bearer ...` and `Accept: application/json`. Loops are bounded: a page gives up after
MAX_ATTEMPTS answers of 429, a listing after MAX_PAGES pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import aiohttp
import attrs
from aiolimiter import AsyncLimiter

MAX_ATTEMPTS: Final = 50
MAX_PAGES: Final = 10_000
DEFAULT_RETRY_AFTER: Final = 1.0
ACCEPT: Final = {"Accept": "application/json"}

Item = dict[str, Any]


@attrs.frozen
class Credentials:
    base_url: str
    client_id: str
    client_secret: str


class BaselineError(RuntimeError):
    """A baseline met an answer it does not handle, or gave up."""


async def fetch_token(session: aiohttp.ClientSession, creds: Credentials) -> str:
    """POST /oauth/access-token with the client credentials; the token inside `token`."""
    body = {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    async with session.post(
        f"{creds.base_url}/oauth/access-token", json=body, headers=ACCEPT
    ) as response:
        if response.status != 200:
            raise BaselineError(f"token request answered {response.status}")
        data = await response.json()
    token: str = data.get("token", data)["access_token"]
    return token


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError):
        return DEFAULT_RETRY_AFTER


async def get_page(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str | int] | None,
    token: str,
    limiter: AsyncLimiter | None = None,
) -> Any:
    """GET one page as JSON; on 429 sleep `Retry-After` (outside the limiter) and retry."""
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    for _ in range(MAX_ATTEMPTS):
        if limiter is not None:
            await limiter.acquire()
        async with session.get(url, params=params, headers=headers) as response:
            if response.status == 200:
                return await response.json()
            if response.status != 429:
                raise BaselineError(f"GET {url} answered {response.status}")
            wait = _retry_after(response.headers)
        await asyncio.sleep(wait)
    raise BaselineError(f"GET {url}: still 429 after {MAX_ATTEMPTS} attempts")


async def harvest_concurrent(
    session: aiohttp.ClientSession,
    creds: Credentials,
    path: str,
    params: Mapping[str, str | int],
    *,
    rate: tuple[float, float] | None,
) -> list[Item]:
    """Baseline (a): every item of a listing, pages 2..last fetched at once through
    `AsyncLimiter(*rate)` (no limiter when `rate` is None)."""
    token = await fetch_token(session, creds)
    limiter = AsyncLimiter(*rate) if rate is not None else None
    url = f"{creds.base_url}{path}"
    first = await get_page(session, url, {**params, "page": 1}, token, limiter)
    last_page = int(first["meta"]["last_page"])
    if last_page > MAX_PAGES:
        raise BaselineError(f"{last_page} pages is more than this baseline fetches")
    rest = await asyncio.gather(
        *(
            get_page(session, url, {**params, "page": page}, token, limiter)
            for page in range(2, last_page + 1)
        )
    )
    return [item for body in (first, *rest) for item in body["data"]]


async def iter_sequential(
    session: aiohttp.ClientSession,
    creds: Credentials,
    path: str,
    params: Mapping[str, str | int],
) -> AsyncIterator[Item]:
    """Baseline (b): every item of a listing, one page after another (`links.next`)."""
    token = await fetch_token(session, creds)
    next_url: str | None = f"{creds.base_url}{path}"
    query: Mapping[str, str | int] | None = params
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        body = await get_page(session, next_url, query, token)
        for item in body["data"]:
            yield item
        next_url, query = body["links"]["next"], None
    raise BaselineError(f"more than {MAX_PAGES} pages")
