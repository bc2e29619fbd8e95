"""The repository stands on its own: no tracked file reads or points to a path outside it."""

from __future__ import annotations

import ast
import posixpath
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: A relative path that starts with `..`, as a token of its own (not the tail of a URL path such
#: as `/rdap/domain/../x`, which a hostile-input test sends on purpose).
RELATIVE_UP = re.compile(r"(?<![\w/.%-])(?:\.\./)+[\w./-]*")
#: Built, not written out: this file's own examples must not trip its test.
UP_ONCE = "../"
UP_TWICE = UP_ONCE * 2
SKIPPED_SUFFIXES = {".svg", ".png", ".jpg", ".xsd"}


def tracked_files() -> list[str]:
    """Every file under version control, as repository-relative POSIX paths."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    return [name for name in listing.decode().split("\0") if name]


def text_of(name: str) -> str | None:
    """The file's text, or None for binary files and pictures."""
    if Path(name).suffix in SKIPPED_SUFFIXES:
        return None
    data = (REPO / name).read_bytes()
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def escaping_relative_paths(name: str, text: str) -> list[str]:
    """Relative paths in `text` that, read from the file's folder, leave the repository."""
    folder = posixpath.dirname(name)
    found = []
    for match in RELATIVE_UP.finditer(text):
        resolved = posixpath.normpath(posixpath.join(folder, match.group()))
        if resolved == ".." or resolved.startswith("../"):
            found.append(match.group())
    return found


def levels_up_from_file(node: ast.AST) -> int | None:
    """How many folders above `__file__` an expression like Path(__file__).parents[2] names."""
    if isinstance(node, ast.Name) and node.id == "__file__":
        return 0
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in {"Path", "PurePath"} and node.args:
            return levels_up_from_file(node.args[0])
        if isinstance(func, ast.Attribute) and func.attr in {"resolve", "absolute"}:
            return levels_up_from_file(func.value)
        return None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = levels_up_from_file(node.value)
        return None if inner is None else inner + 1
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
    ):
        inner = levels_up_from_file(node.value.value)
        return None if inner is None else inner + node.slice.value + 1
    return None


def file_relative_escapes(name: str, text: str) -> list[str]:
    """Expressions built on `__file__` that climb above the repository's root."""
    depth = len(Path(name).parts)  # levels from the file up to the repository's root
    escapes = []
    for node in ast.walk(ast.parse(text, filename=name)):
        levels = levels_up_from_file(node)
        if levels is not None and levels > depth:
            escapes.append(f"line {node.lineno}: {ast.unparse(node)}")
    return escapes


def sibling_paths(text: str, root: Path = REPO) -> list[str]:
    """Absolute paths in `text` to what lies beside the checkout (its parent's other entries).

    Only real neighbours count, so a checkout that lives in a shared folder such as /tmp does
    not turn every example path under /tmp into a finding."""
    parent = root.parent
    if len(parent.parts) < 2:
        return []
    try:
        neighbours = [entry.name for entry in parent.iterdir() if entry.name != root.name]
    except OSError:
        return []
    found = []
    for name in neighbours:
        path = f"{parent}/{name}"
        if re.search(re.escape(path) + r"(?![\w.-])", text):
            found.append(path)
    return found


def outside_references(name: str) -> list[str]:
    """Everything in one tracked file that refers to a path outside the repository."""
    text = text_of(name)
    if text is None:
        return []
    problems = [f"relative path {path!r}" for path in escaping_relative_paths(name, text)]
    problems += [f"absolute path {path}" for path in sibling_paths(text)]
    if name.endswith(".py"):
        problems.extend(file_relative_escapes(name, text))
    return problems


def test_no_tracked_file_refers_to_a_path_outside_the_repository() -> None:
    files = tracked_files()
    assert "README.md" in files
    offenders = {name: found for name in files if (found := outside_references(name))}
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("README.md", f"See `{UP_ONCE}notes/DESIGN.md` here.", [f"{UP_ONCE}notes/DESIGN.md"]),
        ("docs/architecture.md", "[schemas](../publishers/epp/schemas/)", []),
        ("docs/architecture.md", f"[design]({UP_TWICE}DESIGN.md)", [f"{UP_TWICE}DESIGN.md"]),
        (".ci/run", 'cd "$(dirname "$0")/.."', []),
        ("tests/t.py", '"/rdap/domain/../../../etc/passwd"', []),
    ],
)
def test_relative_paths_are_resolved_from_the_files_folder(
    name: str, text: str, expected: list[str]
) -> None:
    assert escaping_relative_paths(name, text) == expected


@pytest.mark.parametrize(
    ("name", "source", "escapes"),
    [
        ("tests/publishers/t.py", 'X = Path(__file__).resolve().parents[2].parent / "x"', True),
        ("tests/publishers/t.py", "X = Path(__file__).resolve().parents[3]", True),
        ("tests/publishers/t.py", "X = Path(__file__).resolve().parents[2]", False),
        ("tests/conftest.py", "X = Path(__file__).parent.parent", False),
        ("tests/conftest.py", "X = Path(__file__).parent.parent.parent", True),
    ],
)
def test_paths_built_on_dunder_file_may_climb_to_the_root_only(
    name: str, source: str, escapes: bool
) -> None:
    assert bool(file_relative_escapes(name, source)) is escapes


def test_an_absolute_path_counts_only_when_it_names_a_neighbour(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    (tmp_path / "notes").mkdir()
    assert sibling_paths(f"read {tmp_path}/notes/DESIGN.md", root) == [f"{tmp_path}/notes"]
    assert sibling_paths(f"e.g. sqlite:///{tmp_path}/store.db", root) == []
    assert sibling_paths(f"{tmp_path}/notes-old/x", root) == []
