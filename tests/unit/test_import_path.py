"""No module of this checkout hides a dependency of the same name.

A folder ends up on `sys.path` when pytest or Python runs a file from it and it is not inside
a package: every such folder, and the folders on `sys.path` now, must hold no module or folder
named like a distribution that is installed or that pyproject.toml asks for. (A folder named
`redis` beside the tests once made `import redis` find it instead of redis-py.)
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORED = {".git", ".venv", ".venv-ci", ".nox", "site", "build", "dist"}


def dependency_names() -> set[str]:
    """Import names of every installed distribution, and the normalised names of every
    distribution pyproject.toml requires (installed or not), ours excepted."""
    installed = importlib.metadata.packages_distributions().items()
    names = {name for name, dists in installed if dists != ["cliquify-async"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"].values()
    for requirement in [*project["dependencies"], *(r for extra in extras for r in extra)]:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name is not None, requirement
        names.add(name.group().lower().replace("-", "_").replace(".", "_"))
    return names - {"cliquify_async"}


def path_folders() -> set[Path]:
    """The folders of this checkout (not its venvs) that are or may be put on sys.path."""
    on_path = {Path(entry).resolve() for entry in sys.path if entry}
    scripts = {folder.parent for folder in ROOT.rglob("*.py")}
    return {
        folder
        for folder in on_path | scripts | {ROOT}
        if folder.is_relative_to(ROOT)
        and not IGNORED & set(folder.relative_to(ROOT).parts)
        and not (folder / "__init__.py").exists()
    }


def top_level_names(folder: Path) -> set[str]:
    """What `import NAME` could find in `folder`: modules, packages and namespace folders."""
    return {
        child.stem if child.suffix == ".py" else child.name
        for child in folder.iterdir()
        if (child.suffix == ".py" or child.is_dir()) and child.stem.isidentifier()
    }


def test_the_checkout_shadows_no_dependency() -> None:
    dependencies = dependency_names()
    assert {"aiohttp", "redis", "pytest", "msgspec"} <= dependencies  # the check sees them
    clashes = {
        f"{folder.relative_to(ROOT)}/{name}": name
        for folder in path_folders()
        for name in top_level_names(folder) & dependencies
    }
    assert clashes == {}
