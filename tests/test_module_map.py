"""docs/architecture.md's module map names every module of the four packages, and no other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("domains", "publishers", "portal", "tui")
ENTRY = re.compile(r"^- `([\w/]+\.py)`: \S")


def modules() -> set[str]:
    """Every module with code or a docstring (migration scripts are Alembic's, not listed)."""
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if "/migrations/versions/" in rel:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if path.name == "__init__.py" and not tree.body:
                continue
            found.add(rel)
    return found


def listed() -> list[str]:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## 13. Module map", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for line in section.splitlines() if (m := ENTRY.match(line))]


def test_every_module_has_one_line_in_the_map():
    names = listed()
    assert len(names) == len(set(names)), "a module is listed twice"
    assert sorted(modules() - set(names)) == [], "modules missing from the map"
    assert sorted(set(names) - modules()) == [], "the map lists modules that do not exist"


def test_every_module_has_a_docstring():
    missing = [
        rel
        for rel in sorted(modules())
        if not ast.get_docstring(ast.parse((REPO / rel).read_text(encoding="utf-8")))
    ]
    assert missing == []
