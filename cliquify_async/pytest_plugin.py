"""pytest fixtures for testing your code against the sandbox: `cliquify_sandbox` and
`cliquify_client` (the `cliquify` plugin, loaded through the package's pytest11 entry point).

The sandbox serves from its own event loop on a background thread, so one sync fixture works in
every scope, in sync tests, and under pytest-asyncio (strict or auto, any loop_scope) and anyio
alike; only the client lives in the test's loop, as an async fixture of whichever plugin runs
the test. aiohttp needs asyncio, so tests that anyio runs on trio skip `cliquify_client`.

    @pytest.mark.cliquify_sandbox(assets=50)            # any Sandbox option, and `faults`
    @pytest.mark.cliquify_client(max_retries=0)         # any CliquifyClient option
    async def test_mine(cliquify_sandbox, cliquify_client): ...

    cliquify_sandbox = sandbox_fixture(scope="module")  # in a module or conftest: one per module
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib.util
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, get_args

import pytest

from ._client import CliquifyClient
from ._retry import RetryPolicy
from .sandbox import Fault, Sandbox, SandboxConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["fast_retries", "sandbox_client", "sandbox_fixture", "threaded_sandbox"]

T = TypeVar("T")
Scope = Literal["function", "class", "module", "package", "session"]

_SANDBOX_MARK: Final = "cliquify_sandbox"
_CLIENT_MARK: Final = "cliquify_client"
_SANDBOX_DEFAULTS: Final[Mapping[str, Any]] = {"rate_limit": None}  # no throttle unless asked
_SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)
_START_TIMEOUT: Final = 30.0  # seconds for the server thread to bind and generate its data
_STOP_TIMEOUT: Final = 30.0  # seconds for it to close (the sandbox gives requests 1 s)
_CLIENT_OPTIONS: Final = pytest.StashKey[dict[str, Any]]()
_HAS_PYTEST_ASYNCIO: Final = importlib.util.find_spec("pytest_asyncio") is not None


# --- the sandbox on a thread of its own ---------------------------------------------------------


class _ThreadedSandbox(Sandbox):
    """A Sandbox whose server runs on another thread's loop; what a test calls is safe there.

    Faults are locked (FaultPlan is); token changes and aclose() run on the server's loop. Stats
    are appended by the server before it answers (or hangs up), so a finished request's record
    is always there; change `dataset` between requests, not while a response is being built.
    """

    def __init__(self, config: SandboxConfig | None = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        self._loop: asyncio.AbstractEventLoop | None = None

    def revoke_all_tokens(self) -> None:
        self._on_server(super().revoke_all_tokens)

    def expire_all_tokens(self) -> None:
        self._on_server(super().expire_all_tokens)

    async def aclose(self) -> None:
        """Stop serving (from any thread's loop); the thread itself stops when its `with` ends."""
        loop = self._loop
        if loop is None or loop is _running_loop():
            await super().aclose()
            return
        closing = super().aclose()
        try:
            done = asyncio.run_coroutine_threadsafe(closing, loop)
        except RuntimeError:  # that loop has ended: nothing is served any more
            closing.close()
            return
        await asyncio.wrap_future(done)

    def _on_server(self, call: Callable[[], T]) -> T:
        """Run `call` on the server's loop, between two of its steps, and return its result."""
        loop = self._loop
        if loop is None or loop is _running_loop() or loop.is_closed():
            return call()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(call())
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result(_STOP_TIMEOUT)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextlib.contextmanager
def threaded_sandbox(config: SandboxConfig | None = None, /, **options: Any) -> Iterator[Sandbox]:
    """A started Sandbox serving from its own event loop on a background thread; closed on exit.

    Use it from sync code, e.g. your own fixture of any scope: it does not depend on the test's
    loop. Faults, stats, `revoke_all_tokens()` and the rest are safe to use from the test.
    """
    sandbox = _ThreadedSandbox(config, **options)  # invalid options raise here, in the caller
    ready: concurrent.futures.Future[asyncio.Event] = concurrent.futures.Future()
    finished: concurrent.futures.Future[None] = concurrent.futures.Future()
    thread = threading.Thread(
        target=_serve, args=(sandbox, ready, finished), name="cliquify-sandbox", daemon=True
    )
    thread.start()
    try:
        stop = ready.result(_START_TIMEOUT)
    except BaseException as exc:
        # Not started in time (or interrupted): it serves nobody, so it stops once it starts.
        ready.add_done_callback(functools.partial(_stop_when_ready, sandbox))
        if isinstance(exc, TimeoutError) and not ready.done():
            raise TimeoutError(f"the sandbox did not start within {_START_TIMEOUT} s") from None
        raise
    loop = sandbox._loop
    assert loop is not None  # set by the thread before it reported ready
    try:
        yield sandbox
    finally:
        with contextlib.suppress(RuntimeError):  # that loop has ended already: see `finished`
            loop.call_soon_threadsafe(stop.set)
        thread.join(_STOP_TIMEOUT)
    finished.result(0)  # what went wrong while serving or closing, if the test went well


def _stop_when_ready(
    sandbox: _ThreadedSandbox, ready: concurrent.futures.Future[asyncio.Event]
) -> None:
    """Stop a server that became ready after its caller gave up on it."""
    loop = sandbox._loop
    if loop is not None and not ready.cancelled() and ready.exception() is None:
        with contextlib.suppress(RuntimeError):  # that loop has ended: nothing is served
            loop.call_soon_threadsafe(ready.result().set)


def _serve(
    sandbox: _ThreadedSandbox,
    ready: concurrent.futures.Future[asyncio.Event],
    finished: concurrent.futures.Future[None],
) -> None:
    """The server thread: start, report ready, serve until told to stop, close."""

    async def serve() -> None:
        stop = asyncio.Event()
        sandbox._loop = asyncio.get_running_loop()
        await Sandbox.start(sandbox)
        ready.set_result(stop)
        try:
            await stop.wait()
        finally:
            await Sandbox.aclose(sandbox)

    try:
        asyncio.run(serve())
    except BaseException as exc:
        (finished if ready.done() else ready).set_exception(exc)
    if not finished.done():
        finished.set_result(None)


# --- configuration from markers and parameters --------------------------------------------------


def _marked_options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """Keyword options of every `name` marker on the requesting node, the closest winning."""
    options: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers(name))):
        if mark.args:
            pytest.fail(
                f"@pytest.mark.{name} takes keyword options only, got {mark.args}", pytrace=False
            )
        options.update(mark.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, Mapping):
            pytest.fail(
                f"indirect parameters of {name} are dicts of options, got {param!r}", pytrace=False
            )
        options.update(param)
    return options


def _plan_faults(sandbox: Sandbox, faults: object) -> None:
    """Queue the `faults` option: Fault objects, or dicts of FaultPlan.add's arguments."""
    if not isinstance(faults, Sequence):
        pytest.fail(f"faults: expected a list of Fault or dict, got {faults!r}", pytrace=False)
    for planned in faults:
        if isinstance(planned, Fault):
            sandbox.faults.add(planned)
        elif isinstance(planned, Mapping):
            sandbox.faults.add(**planned)
        else:
            pytest.fail(
                f"faults: expected a Fault or dict(fault=..., path=..., times=...), "
                f"got {planned!r}",
                pytrace=False,
            )


def sandbox_fixture(*, scope: Scope = "function", **options: Any) -> Any:
    """A sandbox fixture with `scope`: assign it to `cliquify_sandbox` in a test module or
    conftest.py to replace the plugin's per-test one there (and `cliquify_client` follows).

    `options` are Sandbox options (and `faults`); the `cliquify_sandbox` marker of the
    fixture's node (the module, for scope="module") and an indirect parameter override them.
    """

    def cliquify_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
        """A Sandbox on 127.0.0.1, served from a thread of its own (no rate limit unless asked).

        Options from @pytest.mark.cliquify_sandbox(...) and indirect parametrization; a
        `faults` option queues Faults (or dicts of sandbox.faults.add arguments) at start.
        """
        merged = {**_SANDBOX_DEFAULTS, **options, **_marked_options(request, _SANDBOX_MARK)}
        faults = merged.pop("faults", ())
        with threaded_sandbox(**merged) as sandbox:
            _plan_faults(sandbox, faults)
            yield sandbox

    return pytest.fixture(scope=scope)(cliquify_sandbox)


cliquify_sandbox = sandbox_fixture()


# --- the client, in the loop of the test ---------------------------------------------------------


def fast_retries(max_retries: int = 3) -> RetryPolicy:
    """A retry policy with millisecond backoff, so tests never wait out real seconds."""
    return RetryPolicy(max_retries=max_retries, backoff_base=0.001, backoff_cap=0.01)


def sandbox_client(sandbox: Sandbox, **options: Any) -> CliquifyClient:
    """A client of `sandbox` made for tests: the rate gate off, retries backing off in ms.

    `options` are CliquifyClient's; an int `max_retries` keeps the millisecond backoff. Use it
    as `async with sandbox_client(sb) as client:` in your own fixtures.
    """
    options.setdefault("requests_per_minute", None)
    retries = options.pop("max_retries", 3)
    if isinstance(retries, int):
        retries = fast_retries(retries)
    return CliquifyClient(
        sandbox.client_id,
        sandbox.client_secret,
        base_url=sandbox.url,
        max_retries=retries,
        **options,
    )


@pytest.fixture
def cliquify_client(request: pytest.FixtureRequest, cliquify_sandbox: Sandbox) -> CliquifyClient:
    """A CliquifyClient of `cliquify_sandbox`, opened in the test's loop and closed after it.

    Options from @pytest.mark.cliquify_client(...) and indirect parametrization; by default
    the rate gate is off and retries back off in milliseconds. For async tests that
    pytest-asyncio or anyio runs; a test anyio runs on trio is skipped (aiohttp needs asyncio).
    """
    request.node.stash[_CLIENT_OPTIONS] = _marked_options(request, _CLIENT_MARK)
    client: CliquifyClient = request.getfixturevalue(_client_fixture_for(request))
    return client


def _client_fixture_for(request: pytest.FixtureRequest) -> str:
    """The name of the async client fixture that runs in the loop of the requesting test."""
    scope = _asyncio_loop_scope(request.node)
    if scope is not None:
        if not _ASYNCIO_CLIENTS:
            pytest.fail("cliquify_client needs pytest-asyncio 0.24 or newer", pytrace=False)
        return f"_cliquify_client_asyncio_{scope}"
    if "anyio_backend" in request.fixturenames:
        name = request.getfixturevalue("anyio_backend_name")
        if name != "asyncio":
            pytest.skip(f"cliquify_client needs asyncio (aiohttp does not run on {name})")
        return "_cliquify_client_anyio"
    pytest.fail(
        "cliquify_client needs an async test that pytest-asyncio or anyio runs "
        "(@pytest.mark.asyncio, asyncio_mode = auto, or @pytest.mark.anyio); "
        "a sync test can use cliquify_sandbox alone",
        pytrace=False,
    )


def _asyncio_loop_scope(item: pytest.Item) -> str | None:
    """The loop scope pytest-asyncio runs `item` in, or None if it does not run it."""
    if not _HAS_PYTEST_ASYNCIO:
        return None
    import pytest_asyncio

    if not pytest_asyncio.is_async_test(item):
        return None
    marker = item.get_closest_marker("asyncio")
    scope = marker and (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope"))
    if not scope:
        try:
            scope = item.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # a pytest-asyncio without that option runs tests per function
            scope = None
    return str(scope or "function")


def _client_in_test_loop() -> Callable[..., AsyncIterator[CliquifyClient]]:
    """cliquify_client's body, opened in the loop of whichever runner calls it (a new function
    each time, since each runner's fixture decorator takes one of its own)."""

    async def client(
        request: pytest.FixtureRequest, cliquify_sandbox: Sandbox
    ) -> AsyncIterator[CliquifyClient]:
        options = request.node.stash[_CLIENT_OPTIONS]
        async with sandbox_client(cliquify_sandbox, **options) as opened:
            yield opened

    return client


_cliquify_client_anyio = pytest.fixture(_client_in_test_loop())
"""cliquify_client as anyio runs it."""


def _asyncio_client_fixture(loop_scope: Scope) -> Any:
    """cliquify_client as pytest-asyncio runs it in its loop of `loop_scope`."""
    import pytest_asyncio

    return pytest_asyncio.fixture(_client_in_test_loop(), loop_scope=loop_scope)


def _define_asyncio_client_fixtures() -> bool:
    """One client fixture per loop scope, as pytest-asyncio runs a fixture in the loop its
    decorator names; False (and none) without pytest-asyncio, or with one older than 0.24,
    which has no loop_scope: the plugin must never stop pytest from starting."""
    if not _HAS_PYTEST_ASYNCIO:
        return False
    try:
        fixtures = {scope: _asyncio_client_fixture(scope) for scope in _SCOPES}
    except TypeError:  # pytest-asyncio < 0.24: fixture() passes loop_scope on to pytest
        return False
    for scope, fixture in fixtures.items():
        globals()[f"_cliquify_client_asyncio_{scope}"] = fixture
    return True


_ASYNCIO_CLIENTS: Final = _define_asyncio_client_fixtures()


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, so that --strict-markers accepts them."""
    config.addinivalue_line(
        "markers",
        f"{_SANDBOX_MARK}(**options): options of the cliquify_sandbox fixture (any Sandbox "
        "option, and faults=[Fault or dict(fault=, path=, times=)])",
    )
    config.addinivalue_line(
        "markers",
        f"{_CLIENT_MARK}(**options): CliquifyClient options of the cliquify_client fixture",
    )
