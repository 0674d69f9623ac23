"""The pytest plugin (cliquify_async.pytest_plugin), as a user's test suite meets it.

Each inner project is written by `pytester` and run by a fresh `python -m pytest` with the
package installed and nothing of this repository's conftest: the plugin arrives through its
pytest11 entry point, as it would in a user's project. Warnings are errors in there too, so an
unclosed session or a never-awaited coroutine fails the inner run. The thread-backed sandbox
itself is tested in this process.
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.metadata
import importlib.util
import shutil
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from cliquify_async import APIConnectionError, pytest_plugin
from cliquify_async.pytest_plugin import sandbox_client, threaded_sandbox
from cliquify_async.sandbox import Fault

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytest_plugin"
TIMEOUT = 60.0
HAS_TRIO = importlib.util.find_spec("trio") is not None

# What a user's pytest.ini holds; the loop scope option only keeps pytest-asyncio from warning.
STRICT_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""
AUTO_INI = STRICT_INI.replace("strict", "auto")
# Traces of a leaked session, task or coroutine; any of them in the output is a failure.
LEAKS = ("Unclosed", "was destroyed but it is pending", "never awaited", "warnings summary")


def run_inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest on the inner project in a subprocess, warnings as errors."""
    result = pytester.runpytest_subprocess(
        "-W",
        "error",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # not needed in there; saves start-up time
        "-p",
        "no:benchmark",
        "-rA",
        *args,
        timeout=TIMEOUT,
    )
    output = result.stdout.str() + result.stderr.str()
    assert not [leak for leak in LEAKS if leak in output], output
    return result


# --- pytest-asyncio -------------------------------------------------------------------------------

STRICT_TESTS = """
import http.client

import pytest

from cliquify_async import ServerError
from cliquify_async.sandbox import Fault


@pytest.mark.asyncio
async def test_defaults(cliquify_sandbox, cliquify_client):
    folders = await cliquify_client.folders.list().collect()

    assert [f.id for f in folders] == [f["id"] for f in cliquify_sandbox.items("/api/folders")]
    assert cliquify_sandbox.config.rate_limit is None
    assert cliquify_client.rate_limits == ()


@pytest.mark.cliquify_sandbox(templates=2, assets=50)
class TestMarkers:
    @pytest.mark.asyncio
    @pytest.mark.cliquify_sandbox(assets=7)
    async def test_the_closest_marker_wins_and_others_merge(self, cliquify_client):
        assert len(await cliquify_client.assets.list().collect()) == 7
        assert len(await cliquify_client.templates.list().collect()) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("cliquify_sandbox", [{"folders": 2}, {"folders": 3}], indirect=True)
@pytest.mark.cliquify_sandbox(folders=9)
async def test_indirect_parameters_override_markers(cliquify_sandbox, cliquify_client):
    folders = await cliquify_client.folders.list().collect()

    assert len(folders) == cliquify_sandbox.config.folders in (2, 3)


@pytest.mark.asyncio
async def test_a_fault_added_in_the_test_is_retried(cliquify_sandbox, cliquify_client):
    cliquify_sandbox.faults.add(Fault.html(502), path="/api/assets", times=2)

    await cliquify_client.assets.list().collect()

    assert cliquify_client.stats.retries == 2
    assert cliquify_sandbox.stats.count("/api/assets", status=502) == 2


@pytest.mark.asyncio
@pytest.mark.cliquify_sandbox(faults=[Fault.status(503)])
@pytest.mark.cliquify_client(max_retries=0)
async def test_marked_faults_and_client_options(cliquify_client):
    with pytest.raises(ServerError):
        await cliquify_client.folders.list().collect()


@pytest.mark.asyncio
@pytest.mark.parametrize("cliquify_client", [{"max_retries": 0}], indirect=True)
async def test_an_indirect_client_option(cliquify_sandbox, cliquify_client):
    cliquify_sandbox.faults.add(Fault.status(503))
    with pytest.raises(ServerError):
        await cliquify_client.folders.list().collect()


@pytest.mark.asyncio(loop_scope="module")
async def test_in_the_module_loop(cliquify_client):
    assert len(await cliquify_client.folders.list().collect()) == 8


@pytest.mark.asyncio(loop_scope="module")
async def test_in_the_module_loop_again(cliquify_client):
    assert len(await cliquify_client.folders.list().collect()) == 8


def test_a_sync_test_gets_a_served_sandbox(cliquify_sandbox):
    connection = http.client.HTTPConnection("127.0.0.1", int(cliquify_sandbox.url.split(":")[-1]))
    connection.request("GET", "/api/folders")
    assert connection.getresponse().status == 401
    connection.close()
    assert cliquify_sandbox.stats.count("/api/folders") == 1


def test_a_sync_test_gets_no_client(cliquify_client):
    pass


@pytest.mark.cliquify_sandbox(50)
def test_a_positional_marker_option(cliquify_sandbox):
    pass


@pytest.mark.parametrize("cliquify_sandbox", [50], indirect=True)
def test_a_parameter_that_is_not_a_dict(cliquify_sandbox):
    pass
"""


def test_under_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_strict=STRICT_TESTS)

    result = run_inner(pytester)

    result.assert_outcomes(passed=10, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a_sync_test_gets_no_client*",
            "cliquify_client needs an async test that pytest-asyncio or anyio runs*",
            "*ERROR at setup of test_a_positional_marker_option*",
            "@pytest.mark.cliquify_sandbox takes keyword options only, got (50,)",
            "*ERROR at setup of test_a_parameter_that_is_not_a_dict*",
            "indirect parameters of cliquify_sandbox are dicts of options, got 50",
        ]
    )


AUTO_MODULE_TESTS = """
import pytest

from cliquify_async.pytest_plugin import sandbox_fixture

cliquify_sandbox = sandbox_fixture(scope="module", assets=9)
pytestmark = pytest.mark.cliquify_sandbox(templates=3)
SEEN = []


async def test_one(cliquify_sandbox, cliquify_client):
    SEEN.append(cliquify_sandbox)
    assert len(await cliquify_client.assets.list().collect()) == 9
    assert len(await cliquify_client.templates.list().collect()) == 3


async def test_two_shares_the_sandbox(cliquify_sandbox, cliquify_client):
    SEEN.append(cliquify_sandbox)
    cliquify_sandbox.revoke_all_tokens()  # the last test's token: this client gets its own
    await cliquify_client.folders.list().collect()
    assert SEEN[0] is SEEN[1]
    assert cliquify_sandbox.stats.token_requests == 2


@pytest.mark.asyncio(loop_scope="module")
async def test_three_in_the_module_loop(cliquify_sandbox, cliquify_client):
    assert SEEN[0] is cliquify_sandbox
    await cliquify_client.folders.list().collect()
    assert cliquify_sandbox.stats.token_requests == 3
"""

AUTO_FUNCTION_TESTS = """
URLS = []


async def test_a(cliquify_sandbox, cliquify_client):
    URLS.append(cliquify_sandbox.url)
    assert len(await cliquify_client.assets.list().collect()) == 120


async def test_b_gets_a_sandbox_of_its_own(cliquify_sandbox):
    URLS.append(cliquify_sandbox.url)
    assert URLS[0] != URLS[1]
"""

SESSION_CONFTEST = """
from cliquify_async.pytest_plugin import sandbox_fixture

cliquify_sandbox = sandbox_fixture(scope="session", folders=4)
"""

SESSION_TESTS = """
async def test_first(cliquify_sandbox, cliquify_client):
    assert len(await cliquify_client.folders.list().collect()) == 4


async def test_second_sees_the_first(cliquify_sandbox):
    assert cliquify_sandbox.stats.count("/api/folders") == 1
"""


def test_under_pytest_asyncio_auto_mode_in_every_scope(pytester: pytest.Pytester) -> None:
    pytester.makeini(AUTO_INI)
    pytester.makepyfile(
        test_module_scope=AUTO_MODULE_TESTS, test_function_scope=AUTO_FUNCTION_TESTS
    )
    shared = pytester.mkpydir("shared")
    (shared / "conftest.py").write_text(SESSION_CONFTEST)
    (shared / "test_session_scope.py").write_text(SESSION_TESTS)

    result = run_inner(pytester)

    result.assert_outcomes(passed=7)


# --- anyio ----------------------------------------------------------------------------------------

ANYIO_TESTS = """
import pytest

from cliquify_async.sandbox import Fault

pytestmark = pytest.mark.anyio


async def test_on_every_backend(cliquify_sandbox, cliquify_client):
    assert len(await cliquify_client.folders.list().collect()) == 8


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.cliquify_sandbox(
    assets=4, faults=[{"fault": Fault.html(502), "path": "/api/assets", "times": 2}]
)
async def test_marked_faults(cliquify_client):
    assert len(await cliquify_client.assets.list().collect()) == 4
    assert cliquify_client.stats.retries == 2
"""

ANYIO_MODULE_TESTS = """
import pytest

from cliquify_async.pytest_plugin import sandbox_client, sandbox_fixture

pytestmark = pytest.mark.anyio
cliquify_sandbox = sandbox_fixture(scope="module")


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def shared_client(cliquify_sandbox):
    # anyio runs a module's async fixtures and tests in one loop, so a client can be shared.
    async with sandbox_client(cliquify_sandbox) as client:
        yield client


@pytest.mark.parametrize("run", [1, 2])
async def test_shared_and_own_clients(cliquify_sandbox, shared_client, cliquify_client, run):
    await shared_client.folders.list().collect()
    await cliquify_client.folders.list().collect()
    assert cliquify_sandbox.stats.token_requests == 1 + run
"""


@pytest.mark.parametrize("asyncio_plugin", ["loaded", "disabled"])
def test_under_anyio(pytester: pytest.Pytester, asyncio_plugin: str) -> None:
    # pytest-asyncio, when loaded, stays in strict mode next to anyio, as its docs advise.
    pytester.makeini(STRICT_INI if asyncio_plugin == "loaded" else "[pytest]\n")
    pytester.makepyfile(test_anyio=ANYIO_TESTS, test_anyio_module=ANYIO_MODULE_TESTS)

    result = run_inner(pytester, *(["-p", "no:asyncio"] if asyncio_plugin == "disabled" else []))

    result.assert_outcomes(passed=4, skipped=1 if HAS_TRIO else 0)
    if HAS_TRIO:
        result.stdout.fnmatch_lines(["*SKIPPED*aiohttp does not run on trio*"])


def test_the_inner_runs_catch_an_unclosed_session(pytester: pytest.Pytester) -> None:
    # The control: a test that leaks a session fails under these settings.
    pytester.makeini(AUTO_INI)
    pytester.makepyfile(
        """
        import aiohttp

        async def test_leaks():
            aiohttp.ClientSession()
        """
    )

    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    assert result.ret != 0
    assert "Unclosed client session" in result.stdout.str() + result.stderr.str()


# --- the example project, and the package --------------------------------------------------------


def test_the_example_project_passes_from_a_directory_of_its_own(pytester: pytest.Pytester) -> None:
    for source in EXAMPLE.iterdir():
        if source.is_file():
            shutil.copy(source, pytester.path / source.name)

    result = run_inner(pytester)

    result.assert_outcomes(passed=9)


def test_the_entry_point_names_the_plugin() -> None:
    points = importlib.metadata.entry_points(group="pytest11", name="cliquify")

    assert [point.value for point in points] == ["cliquify_async.pytest_plugin"]


def test_importing_the_package_does_not_import_pytest(pytester: pytest.Pytester) -> None:
    code = "import sys, cliquify_async, cliquify_async.sandbox; print('pytest' in sys.modules)"

    result = pytester.run(sys.executable, "-c", code, timeout=TIMEOUT)

    assert result.stdout.lines == ["False"]


# pytest-asyncio before 0.24 passes what fixture() gets on to pytest, which knows no loop_scope.
OLD_PYTEST_ASYNCIO = """
import pytest


def fixture(fixture_function=None, **kwargs):
    if fixture_function is None:
        return lambda function: pytest.fixture(function, **kwargs)
    return pytest.fixture(fixture_function, **kwargs)


def is_async_test(item):
    return False
"""


def test_an_old_pytest_asyncio_never_stops_pytest_from_starting(pytester: pytest.Pytester) -> None:
    # The entry point loads the plugin into every pytest run where the package is installed,
    # the user's unrelated projects included.
    pytester.mkpydir("pytest_asyncio").joinpath("__init__.py").write_text(OLD_PYTEST_ASYNCIO)
    pytester.makepyfile(
        "def test_served(cliquify_sandbox):\n"
        "    assert cliquify_sandbox.url.startswith('http://127.0.0.1:')\n"
    )

    result = run_inner(pytester, "-p", "no:asyncio")  # the real one, loaded by its entry point

    result.assert_outcomes(passed=1)


# --- the sandbox on its own thread ----------------------------------------------------------------


async def test_faults_added_from_another_thread_are_each_used_once() -> None:
    # End to end, as a test uses it; that the plan's lock holds other threads back is tested
    # deterministically in tests/sandbox/test_faults.py (the GIL hides most races here).
    with threaded_sandbox(rate_limit=None) as sandbox:
        added = threading.Event()

        def add_faults() -> None:
            for _ in range(100):
                sandbox.faults.add(Fault.status(503), path="/api/folders")
            added.set()

        async with aiohttp.ClientSession(sandbox.url) as http:

            async def get() -> int:
                async with http.get("/api/folders") as response:
                    return response.status

            adder = threading.Thread(target=add_faults)
            adder.start()
            statuses = await asyncio.gather(*(get() for _ in range(300)))
            adder.join()

        assert added.is_set()
        assert statuses.count(503) == sandbox.stats.count(status=503) == 100 - len(sandbox.faults)
        assert statuses.count(503) + statuses.count(401) == 300


async def test_tokens_and_close_work_from_the_test_loop() -> None:
    with threaded_sandbox(rate_limit=None) as sandbox:
        async with sandbox_client(sandbox, max_retries=0) as client:
            await client.folders.list().collect()
            sandbox.revoke_all_tokens()
            await client.folders.list().collect()  # a 401, a new token, the request replayed
            assert sandbox.stats.token_requests == 2

            await sandbox.aclose()
            with pytest.raises(APIConnectionError):
                await client.folders.list().collect()


def test_a_sandbox_that_cannot_start_raises_in_the_caller() -> None:
    with threaded_sandbox() as running:
        port = int(running.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"), threaded_sandbox(port=port):
            pass

    assert not [t for t in threading.enumerate() if t.name == "cliquify-sandbox"]


def test_sync_code_can_use_it() -> None:
    with threaded_sandbox() as sandbox:
        connection = http.client.HTTPConnection("127.0.0.1", int(sandbox.url.rsplit(":", 1)[1]))
        connection.request("GET", "/api/folders")
        status = connection.getresponse().status
        connection.close()

    assert status == 401  # served, and without a token
    assert sandbox.stats.count("/api/folders", status=401) == 1


async def test_sandbox_client_defaults_to_fast_settings() -> None:
    with threaded_sandbox(rate_limit=None) as sandbox:
        client = sandbox_client(sandbox, max_retries=2)
        async with client:
            assert client._transport.retry == pytest_plugin.fast_retries(2)  # millisecond waits
            assert client.rate_limits == ()
            assert client.base_url.host == "127.0.0.1"
            sandbox.faults.add(Fault.status(503), times=2)
            await client.folders.list().collect()
            assert client.stats.retries == 2


def test_a_sandbox_too_slow_to_start_stops_once_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_plugin, "_START_TIMEOUT", 0.001)  # its data takes longer

    with pytest.raises(TimeoutError, match="did not start within"), threaded_sandbox(assets=5000):
        pass

    for _ in range(500):  # it starts in the background, then stops by itself
        if not [t for t in threading.enumerate() if t.name == "cliquify-sandbox"]:
            break
        time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.name == "cliquify-sandbox"]
