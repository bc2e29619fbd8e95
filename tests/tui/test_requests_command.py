"""`interlink requests ...` with a reference that is malformed, unknown, or known (who acts is
the system's word: see test_staff_command.py for the refusals)."""

from __future__ import annotations

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from domains.changes import Workflow
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.factories import NEW_TECH, make_domain
from tests.support.staff import add_me
from tui.commands import requests

COMMANDS = [
    ("show",),
    ("approve",),
    ("apply",),
    ("reject", "--reason", "Unknown company"),
    ("cancel",),
    ("resend",),
]


@pytest.fixture
def app() -> typer.Typer:
    """The `requests` commands as the CLI registers them."""
    app = typer.Typer()
    app.add_typer(requests.app, name="requests")
    return app


def run(app: typer.Typer, command: tuple[str, ...], reference: str, url: str) -> Result:
    name, *options = command
    return CliRunner().invoke(
        app, ["requests", name, reference, *options, "--db", url], env={"COLUMNS": "200"}
    )


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
@pytest.mark.parametrize("reference", ["CR-NOPE-00000", "nonsense", "CR-ABCDE-FGH2!"])
def test_a_malformed_reference_is_named_as_such(
    app: typer.Typer, sqlite_store: Store, command: tuple[str, ...], reference: str
) -> None:
    result = run(app, command, reference, str(sqlite_store.engine.url))
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: reference: {reference!r} is not a request reference; ")
    assert "CR-ABCDE-FGH23" in line  # what one looks like


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_well_formed_unknown_reference_is_no_such_request(
    app: typer.Typer, sqlite_store: Store, command: tuple[str, ...]
) -> None:
    add_me(sqlite_store, StaffRole.SUPERVISOR)
    result = run(app, command, "CR-AAAAA-BBBBB", str(sqlite_store.engine.url))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: no change request 'CR-AAAAA-BBBBB'"]


def test_a_known_reference_in_lower_case_is_found(app: typer.Typer, sqlite_store: Store) -> None:
    add_me(sqlite_store, StaffRole.SUPPORT)
    make_domain(sqlite_store, "refer-me.com")
    outcome = Workflow(sqlite_store).submit(
        actor="customer:portal", domain_name="refer-me.com", proposal=NEW_TECH, channel="portal"
    )
    reference = outcome.request.reference
    result = run(app, ("show",), f" {reference.lower()} ", str(sqlite_store.engine.url))
    assert result.exit_code == 0, result.output
    assert f"{reference}: refer-me.com (submitted)" in result.stdout
