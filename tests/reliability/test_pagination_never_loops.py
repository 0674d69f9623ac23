"""Property: whatever list bodies a server sends, a listing ends, with items or a typed error.

Hypothesis writes sequences of list responses whose next links point back at pages already
fetched, at other hosts, or nowhere, then repeats the last one a hundred times; the paginator
must stop after at most one request per distinct URL it can be sent to.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cliquify_async import CliquifyClient, CliquifyError, RetryPolicy
from cliquify_async.sandbox import Fault, Sandbox

PATH = "/api/folders"
LINKS = [
    None,
    "{url}/api/folders?per_page=100",
    "{url}/api/folders?per_page=100&page=2",
    "{url}/api/folders?page=3",
    "/api/folders?page=4",
    "https://elsewhere.example/api/folders?page=5",
    "https://elsewhere.example/steal",
]

items = st.lists(st.fixed_dictionaries({"id": st.integers(1, 50)}), max_size=3)
link = st.sampled_from(LINKS)
json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
bodies = st.one_of(
    st.builds(
        lambda data, nxt, page: {
            "data": data,
            "links": {"next": nxt},
            "meta": {"current_page": page},
        },
        items,
        link,
        st.integers(1, 4),
    ),
    st.builds(
        lambda data, nxt, page, last: {
            "data": data,
            "current_page": page,
            "last_page": last,
            "next_page_url": nxt,
        },
        items,
        link,
        st.integers(1, 4),
        st.integers(1, 4),
    ),
    st.builds(
        lambda data, nxt, cursor: {"data": data, "next_cursor": cursor, "next_page_url": nxt},
        items,
        link,
        st.none() | st.sampled_from(["a", "b"]),
    ),
    json_junk,
)


def _fill(body: Any, url: str) -> Any:
    """Put the sandbox's real address into the templated links."""
    if isinstance(body, dict):
        return {key: _fill(value, url) for key, value in body.items()}
    if isinstance(body, str):
        return body.replace("{url}", url)
    return body


async def _walk(sequence: list[Any]) -> tuple[int, list[Any] | CliquifyError]:
    async with Sandbox(rate_limit=None) as sandbox:
        for body in sequence[:-1]:
            sandbox.faults.add(Fault.body(_fill(body, sandbox.url)), path=PATH)
        sandbox.faults.add(Fault.body(_fill(sequence[-1], sandbox.url)), path=PATH, times=100)
        async with CliquifyClient(
            sandbox.client_id,
            sandbox.client_secret,
            base_url=sandbox.url,
            requests_per_minute=None,
            max_retries=RetryPolicy(max_retries=0),
        ) as client:
            try:
                outcome: list[Any] | CliquifyError = await asyncio.wait_for(
                    client.folders.list().collect(), timeout=20
                )
            except CliquifyError as exc:
                outcome = exc
        return sandbox.stats.count(PATH), outcome


@settings(max_examples=60, deadline=None, database=None)
@given(sequence=st.lists(bodies, min_size=1, max_size=4))
def test_a_listing_always_ends_with_items_or_a_typed_error(sequence: list[Any]) -> None:
    requests, outcome = asyncio.run(_walk(sequence))

    assert isinstance(outcome, list | CliquifyError)
    # Each queued body, then at most one request per distinct URL the links can name
    # (the start URL, the LINKS above, and page/cursor variants of them).
    assert requests <= len(sequence) + 2 * len(LINKS) + 4
