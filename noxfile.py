"""Developer sessions: `nox -s tests`, `lint`, `typecheck`, `soak`."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite against the sandbox server on loopback."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The soak run: 20,000 requests, 10% faults (CLIQUIFY_SOAK_REQUESTS to change)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "soak", "-s", "tests/reliability", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff's lint and format checks."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[test,lint]")
    session.run("mypy", "--strict", "cliquify_async")
