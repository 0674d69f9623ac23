"""Developer sessions: `nox -s tests`, `lint`, `typecheck`, `soak`, `bench`, `docs`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite against the sandbox server (and a redis-server) on loopback."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The soak run: 20,000 requests, 10% faults (CLIQUIFY_SOAK_REQUESTS to change)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "soak", "-s", "tests/reliability", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks against plain aiohttp on the sandbox (about ten minutes)."""
    session.install(".[redis,bench]")
    session.run("python", "-m", "benchmarks.run", *session.posargs)
    session.run("python", "-m", "benchmarks.shared_gate")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff's lint and format checks."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[test,lint,redis]")
    session.run("mypy", "--strict", "cliquify_async")


def exported(path: str) -> list[str]:
    """The names in a module's `__all__`, read from its source (nothing is imported)."""
    for node in ast.parse(Path(path).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return [str(name) for name in ast.literal_eval(node.value)]
    raise ValueError(f"{path} has no __all__")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site: `mkdocs build --strict`, offline, into a temporary folder,
    then a check that the API reference lists every public name."""
    session.install("-e", ".[docs,redis,otel]")
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--site-dir",
        str(site),
        env={"NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's banner about its successor
    )
    # mkdocstrings gives each object it documents an HTML id equal to its import path.
    page = (site / "reference" / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', page))
    errors = exported("cliquify_async/errors.py")
    wanted = [f"cliquify_async.{n}" for n in exported("cliquify_async/__init__.py")]
    wanted = [name for name in wanted if name.rpartition(".")[2] not in errors]
    wanted += [f"cliquify_async.errors.{n}" for n in errors]
    for module in ("sandbox/__init__", "redis/__init__", "pytest_plugin", "otel"):
        names = exported(f"cliquify_async/{module}.py")
        wanted += [f"cliquify_async.{module.removesuffix('/__init__')}.{n}" for n in names]
    missing = [name for name in wanted if name not in ids]
    if missing:
        session.error(f"docs/reference.md does not list {', '.join(missing)}")
    session.log(f"The API reference lists all {len(wanted)} public names; the site is in {site}")
