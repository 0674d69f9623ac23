"""docs/modules.md names every module of the package, once, and no module that is gone."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_map_matches_the_tree() -> None:
    text = (ROOT / "docs" / "modules.md").read_text(encoding="utf-8")
    listed = Counter(re.findall(r"^- `([^`]+\.py)` — \S", text, flags=re.MULTILINE))
    package = ROOT / "cliquify_async"
    present = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}

    assert {name for name, times in listed.items() if times > 1} == set()
    assert set(listed) - present == set()  # listed, but not in the tree
    assert present - set(listed) == set()  # in the tree, but not listed
