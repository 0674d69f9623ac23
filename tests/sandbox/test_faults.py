"""Every fault kind as a client observes it, plus the plan's matching and ordering rules."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from cliquify_async.sandbox import Fault, FaultKind, FaultPlan, Sandbox
from tests.sandbox.sandbox_helpers import get, issue_token

MakeSandbox = Callable[..., Any]


@pytest.fixture
async def sb(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox: Sandbox = await make_sandbox(rate_limit=None)
    return sandbox


@pytest.fixture
async def token(sb: Sandbox, http: aiohttp.ClientSession) -> str:
    return await issue_token(http, sb)


async def fetch(
    http: aiohttp.ClientSession, url: str, token: str | None = None
) -> tuple[int, str, bytes, Any]:
    """Status, content type, raw body and headers of a GET."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as response:
        return response.status, response.content_type, await response.read(), response.headers


async def test_status(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    sb.faults.add(Fault.status(503, retry_after=1), path="/api/assets")
    status, content_type, body, headers = await fetch(http, f"{sb.url}/api/assets", token)
    assert (status, content_type) == (503, "application/json")
    assert json.loads(body) == {"message": "Server Error"}
    assert headers["Retry-After"] == "1"
    assert (await fetch(http, f"{sb.url}/api/assets", token))[0] == 200  # used up


async def test_status_with_custom_parts(
    sb: Sandbox, http: aiohttp.ClientSession, token: str
) -> None:
    sb.faults.add(
        Fault.status(400, body="oops", content_type="text/plain", headers={"X-Test": "1"})
    )
    status, content_type, body, headers = await fetch(http, f"{sb.url}/api/tags", token)
    assert (status, content_type, body, headers["X-Test"]) == (400, "text/plain", b"oops", "1")


async def test_html(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    sb.faults.add(Fault.html(502))
    status, content_type, body, _ = await fetch(http, f"{sb.url}/api/assets", token)
    assert (status, content_type) == (502, "text/html")
    assert b"<title>502 Bad Gateway</title>" in body
    assert b"nginx" in body


async def test_reset(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    # aiohttp retries a GET once after a disconnect: two resets make the error visible
    sb.faults.add(Fault.reset(), path="/api/assets", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(http, f"{sb.url}/api/assets", token)
    assert [r.status for r in sb.stats.requests[-2:]] == [None, None]
    assert (await fetch(http, f"{sb.url}/api/assets", token))[0] == 200


@pytest.mark.parametrize("fault", [Fault.reset_mid_body(), Fault.truncated()])
async def test_cut_off_bodies(
    sb: Sandbox, http: aiohttp.ClientSession, token: str, fault: Fault
) -> None:
    sb.faults.add(fault, path="/api/assets")
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(http, f"{sb.url}/api/assets", token)
    sb.faults.add(fault, path="/files/")
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(http, sb.dataset["assets"][0]["url"])
    assert [r.status for r in sb.stats.requests[-2:]] == [200, 200]


async def test_slow(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    sb.faults.add(Fault.slow(0.3), path="/api/assets")
    with pytest.raises(TimeoutError):
        async with http.get(
            f"{sb.url}/api/assets",
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=0.05),
        ):
            pass
    sb.faults.add(Fault.slow(0.2))
    started = time.monotonic()
    assert (await fetch(http, f"{sb.url}/api/assets", token))[0] == 200
    assert time.monotonic() - started >= 0.2


async def test_malformed_and_empty_json(
    sb: Sandbox, http: aiohttp.ClientSession, token: str
) -> None:
    sb.faults.add(Fault.malformed_json())
    sb.faults.add(Fault.empty_body())
    status, content_type, body, _ = await fetch(http, f"{sb.url}/api/assets", token)
    assert (status, content_type, body) == (200, "application/json", b'{"data": [')
    status, content_type, body, _ = await fetch(http, f"{sb.url}/api/assets", token)
    assert (status, content_type, body) == (200, "application/json", b"")


async def test_wrong_content_type(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    sb.faults.add(Fault.wrong_content_type())
    status, content_type, body, _ = await fetch(http, f"{sb.url}/api/assets", token)
    assert (status, content_type) == (200, "text/plain")
    assert json.loads(body)["data"]


async def test_arbitrary_body(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    foreign = {"data": [], "next_page_url": "https://evil.example/api/assets?page=2"}
    sb.faults.add(Fault.body({"data": {"not": "a list"}}))
    sb.faults.add(Fault.body(foreign, status=206))
    assert (await get(http, f"{sb.url}/api/assets", token))[:2] == (
        200,
        {"data": {"not": "a list"}},
    )
    assert (await get(http, f"{sb.url}/api/assets", token))[:2] == (206, foreign)


async def test_unauthorized(sb: Sandbox, http: aiohttp.ClientSession, token: str) -> None:
    sb.faults.add(Fault.unauthorized(), path="/api/")
    status, body, _ = await get(http, f"{sb.url}/api/assets", token)
    assert (status, body) == (401, {"message": "Unauthenticated."})
    assert sb.stats.requests[-1].fault == Fault.unauthorized()


async def test_faults_reach_oauth_and_are_recorded(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    sb.faults.add(Fault.status(500))
    async with http.post(f"{sb.url}/oauth/access-token", json={}) as response:
        assert response.status == 500
    record = sb.stats.requests[-1]
    assert (record.path, record.status, record.fault) == (
        "/oauth/access-token",
        500,
        Fault.status(500),
    )
    assert sb.stats.token_requests == 1


async def test_throttle_comes_before_faults(
    make_sandbox: MakeSandbox, http: aiohttp.ClientSession
) -> None:
    sb: Sandbox = await make_sandbox(rate_limit=1)
    token = await issue_token(http, sb)
    await get(http, f"{sb.url}/api/tags", token)
    sb.faults.add(Fault.status(503))
    assert (await get(http, f"{sb.url}/api/tags", token))[0] == 429
    assert len(sb.faults) == 1  # not consumed by the throttled request
    assert (await get(http, f"{sb.url}/oauth/unknown"))[0] == 503
    assert sb.stats.requests[-1].fault == Fault.status(503)


def test_plan_is_fifo_by_path_prefix() -> None:
    plan = FaultPlan()
    first, second, anywhere = Fault.status(500), Fault.status(502), Fault.reset()
    plan.add(first, path="/api/assets", times=2)
    plan.add(anywhere)
    plan.add(second, path="/api/assets")
    assert len(plan) == 4
    assert plan.take("/api/assets/tags") is first  # a prefix match
    assert plan.take("/api/tags") is anywhere
    assert plan.take("/api/assets") is first
    assert plan.take("/api/tags") is None
    assert plan.take("/api/assets") is second
    assert plan.take("/api/assets") is None
    plan.add(first, times=3)
    plan.clear()
    assert plan.take("/") is None
    with pytest.raises(ValueError, match="times"):
        plan.add(first, times=0)


def test_fault_values() -> None:
    assert Fault.slow(1.5) == Fault(kind=FaultKind.SLOW, delay=1.5)
    assert Fault.status(429, retry_after=0.25).headers == (("Retry-After", "0.25"),)
    assert Fault.body([1, 2]).payload == b"[1, 2]"
    assert Fault.malformed_json().payload == b'{"data": ['
    assert Fault.html(504).content_type == "text/html"


def test_chaos_faults_a_seeded_share_of_requests_after_the_queue() -> None:
    plan = FaultPlan()
    boom = Fault.status(503)
    plan.chaos([boom], probability=0.25, path="/api/", seed=7)
    plan.add(Fault.status(418), path="/api/assets")

    assert plan.take("/api/assets") == Fault.status(418)  # the queue comes first
    faulted = sum(plan.take("/api/folders") is boom for _ in range(4000))
    assert 800 < faulted < 1200
    assert plan.take("/oauth/access-token") is None  # outside the chaos path

    plan.clear()
    assert plan.take("/api/x") is None  # clear() stops chaos


def test_chaos_is_deterministic_for_a_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan()
        plan.chaos([Fault.status(503)], probability=0.5, seed=seed)
        return [plan.take("/api/assets") is not None for _ in range(64)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)


def test_chaos_rejects_a_bad_probability() -> None:
    with pytest.raises(ValueError, match="probability"):
        FaultPlan().chaos([Fault.status(503)], probability=1.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda plan: plan.take("/api/assets"),
        lambda plan: plan.add(Fault.status(503)),
        lambda plan: plan.clear(),
        lambda plan: len(plan),
    ],
    ids=["take", "add", "clear", "len"],
)
def test_a_plan_being_changed_on_one_thread_holds_the_others_back(
    call: Callable[[FaultPlan], object],
) -> None:
    # The plugin's sandbox serves on its own thread while the test plans faults on another;
    # take() reads, decrements and removes, which must not interleave with another change.
    plan = FaultPlan()
    plan.add(Fault.status(503), path="/api/assets")
    worker = threading.Thread(target=call, args=(plan,))
    with plan._lock:  # another thread in the middle of a change
        worker.start()
        worker.join(0.2)
        assert worker.is_alive()  # waiting for the lock, not done
    worker.join(5)
    assert not worker.is_alive()
