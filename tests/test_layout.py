"""The tests' own layout: helpers live in `tests/support/`, conftests hold fixtures only, and no
test module imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SUPPORT = "tests.support"


def modules() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> list[str]:
    """Every module an import statement names (`from tests.x import y` counts `tests.x.y` too,
    for `y` may be a module)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_fixture(decorator: ast.expr) -> bool:
    """`@pytest.fixture` or `@pytest.fixture(...)`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (
        isinstance(target, ast.Attribute)
        and target.attr == "fixture"
        and isinstance(target.value, ast.Name)
        and target.value.id == "pytest"
    )


def not_a_fixture(node: ast.stmt) -> str | None:
    """Why a top-level statement of a conftest is not allowed there, or None."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return None
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return None  # the docstring
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if node.name.startswith("pytest_") or any(map(is_fixture, node.decorator_list)):
            return None
        return f"function {node.name}() is not a fixture"
    return f"line {node.lineno}: {type(node).__name__} (a helper or constant)"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(TESTS)))
def test_only_support_modules_are_imported(path: Path) -> None:
    others = [
        name
        for name in imported_modules(parsed(path))
        if (name == "tests" or name.startswith("tests."))
        and name != SUPPORT
        and not name.startswith(SUPPORT + ".")
    ]
    assert not others, f"import helpers from tests/support/, not from {sorted(set(others))}"


@pytest.mark.parametrize(
    "path", sorted(TESTS.rglob("conftest.py")), ids=lambda p: str(p.relative_to(TESTS))
)
def test_conftests_hold_fixtures_only(path: Path) -> None:
    problems = [why for node in parsed(path).body if (why := not_a_fixture(node))]
    assert not problems, f"move helpers to tests/support/: {problems}"


@pytest.mark.parametrize("path", sorted((TESTS / "support").glob("*.py")), ids=lambda p: p.name)
def test_support_modules_define_no_fixtures_or_tests(path: Path) -> None:
    defined = [
        node.name
        for node in ast.walk(parsed(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (node.name.startswith("test_") or any(map(is_fixture, node.decorator_list)))
    ]
    assert not defined, f"fixtures belong in a conftest, tests in a test module: {defined}"


def test_the_checks_see_what_they_refuse() -> None:
    """The rules above catch what they are about (so a passing run means something)."""
    importing = ast.parse("from tests.tui.conftest import wait_for\nimport tests.domains.x\n")
    assert {"tests.tui.conftest", "tests.domains.x"} <= set(imported_modules(importing))
    helper = ast.parse("LIMIT = 3\ndef helper():\n    pass\n@pytest.fixture\ndef f():\n    pass\n")
    assert [not_a_fixture(node) is None for node in helper.body] == [False, False, True]
