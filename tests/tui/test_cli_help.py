"""Every command's `--help`: who acts comes from the system, so only `demo` takes `--user`."""

from __future__ import annotations

import click
import pytest
import typer

from tests.support.cli import interlink
from tui.cli import COMMANDS, LazyGroup, app

#: Owned elsewhere: `tui` loses its --user with the staff app's own change (issue 15, staff UI).


def every_command() -> list[tuple[str, ...]]:
    """Each command of COMMANDS, and each sub-command of the groups."""
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    context = click.Context(group)  # type: ignore[arg-type]
    found: list[tuple[str, ...]] = []
    for name in COMMANDS:
        command = group.get_command(context, name)
        found.append((name,))
        if hasattr(command, "list_commands"):  # a group (of Typer's own copy of click)
            found.extend((name, sub) for sub in command.list_commands(context))
    return found


def params() -> list[object]:
    return [pytest.param(path, id=" ".join(path)) for path in every_command()]


def test_the_new_groups_are_listed() -> None:
    paths = every_command()
    for path in [("staff", s) for s in ("add", "list", "grant", "revoke", "disable")]:
        assert path in paths
    assert ("audit", "access") in paths


@pytest.mark.parametrize("path", params())
def test_only_demo_takes_a_user_name(path: tuple[str, ...]) -> None:
    result = interlink(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert ("--user" in result.stdout) == (path == ("demo",)), result.stdout
