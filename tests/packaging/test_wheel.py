"""The built wheel: what it ships, and that it imports and runs without the source tree.

The wheel is built offline from this checkout (`pip wheel --no-build-isolation`, hatchling
comes with the test extra) and installed with `--no-deps` into a fresh venv. A `.pth` file there
names this environment's site-packages, after the venv's own: the venv sees exactly the
dependencies the tests run with (never the base interpreter's), nothing is downloaded, and the
installed copy comes first.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest

from cliquify_async import __version__
from cliquify_async._wire import USER_AGENT

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path) -> str:
    """Run a command with no PYTHONPATH; its stdout, or the test fails with its stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and the wheel we built
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built offline."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, ROOT, cwd=out)  # fmt: skip
    (built,) = out.glob("cliquify_async-*.whl")
    return built


def test_the_wheel_ships_the_types_marker_the_sandbox_and_the_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))

    assert wheel.name.startswith(f"cliquify_async-{__version__}-py3-none-any")
    assert "cliquify_async/py.typed" in names
    assert "cliquify_async/sandbox/__init__.py" in names
    assert "cliquify_async/pytest_plugin.py" in names
    assert not any(name.startswith(("tests/", "benchmarks/", "docs/")) for name in names)
    assert f"Version: {__version__}\n" in metadata.decode()


def test_the_installed_wheel_imports_and_runs_without_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel, cwd=tmp_path)  # fmt: skip
    (own,) = run(python, "-c", "import site; print(*site.getsitepackages())", cwd=tmp_path).split()
    # Lines of a .pth file join sys.path; .pth files inside them (this checkout's editable
    # install among them) are not read, so the checkout stays out of the venv's path.
    (Path(own) / "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    probe = (
        "import aiohttp, cliquify_async, cliquify_async._wire as p; print(aiohttp.__file__); "
        "print(cliquify_async.__file__); print(cliquify_async.__version__); print(p.USER_AGENT)"
    )
    dependency, where, version, agent = run(python, "-c", probe, cwd=tmp_path).splitlines()

    assert dependency == aiohttp.__file__  # this environment's, whatever the base Python has
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    assert version == __version__
    assert agent == USER_AGENT == f"cliquify-async/{__version__}"
    usage = run(venv / "bin" / "cliquify-async", "--help", cwd=tmp_path)
    assert "harvest" in usage
