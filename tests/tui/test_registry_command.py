"""`interlink registry show DOMAIN` end to end: the real CLI, a store file, the sandbox over TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from domains.settings import get_settings
from domains.store import Store
from domains.vocabulary import AccessPurpose, StaffRole
from publishers.sandbox.server import SandboxRegistry
from tests.support.net import free_port
from tests.support.staff import add_me
from tests.support.sync import (
    CLIENT_ID,
    CONTACT_AUTH,
    DOMAIN_AUTH,
    PASSWORD,
    PASSWORD_ENV,
    registered,
    registries,
    sandbox_in_thread,
    write_registries,
)
from tui.cli import app

SECRETS = (PASSWORD, DOMAIN_AUTH, CONTACT_AUTH)


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry password, and settings of this test only (no config file of the user's)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("INTERLINK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxRegistry]:
    registry = SandboxRegistry(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    with sandbox_in_thread(registry):
        yield registry


@pytest.fixture
def registries_file(sandbox: SandboxRegistry, sqlite_store: Store, tmp_path: Path) -> Path:
    """The sandbox as the registry; whoever runs the tests is support staff (both sides of the
    comparison hold private fields)."""
    add_me(sqlite_store, StaffRole.SUPPORT)
    return write_registries(tmp_path / "registries.toml", sandbox)


@pytest.fixture
def domain(sqlite_store: Store, sandbox: SandboxRegistry, registries_file: Path, tmp_path) -> str:
    """A domain in the store and at the sandbox as the sync would have left it."""
    regs = registries(registries_file, tmp_path)
    return registered(sqlite_store, sandbox, regs, "cli-check.com")


def show(store: Store, registries_file: Path, *args: str) -> Result:
    """`interlink registry show ...` on the test's store and registries file, 200 columns wide."""
    options = ["--db", str(store.engine.url), "--registries", str(registries_file)]
    return CliRunner().invoke(app, ["registry", "show", *args, *options], env={"COLUMNS": "200"})


def clean(result: Result) -> None:
    """No traceback and no secret, on either stream."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for secret in SECRETS:
        assert secret not in text


def test_an_agreeing_domain(sqlite_store, registries_file, domain):
    result = show(sqlite_store, registries_file, "CLI-Check.com")
    clean(result)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cli-check.com at registry sandbox (127.0.0.1:")
    assert lines[-1] == "registry and store agree"
    assert "≠" not in result.stdout
    headers = [line for line in lines if line.startswith("┃")]
    assert headers and all(
        h.split() == ["┃", "field", "┃", "registry", "┃", "┃", "Interlink", "┃"] for h in headers
    )
    registrant = sqlite_store.domain_record("cli-check.com").contact("registrant")
    assert [e.purpose for e in sqlite_store.access_events(registrant.handle)] == [
        AccessPurpose.REGISTRY_COMPARISON
    ]


def test_a_difference_is_marked_and_named(sqlite_store, sandbox, registries_file, domain):
    registrant = sqlite_store.domain_record(domain).contact("registrant")
    sandbox.db.execute(
        "UPDATE contact SET email = ? WHERE id = ?", ("moved@elsewhere.example", registrant.handle)
    )
    result = show(sqlite_store, registries_file, domain)
    clean(result)
    assert result.exit_code == 0, result.stderr
    (marked,) = [line for line in result.stdout.splitlines() if "≠" in line]
    cells = [cell.strip() for cell in marked.strip("│ ").split("│")]
    assert cells == ["email", "moved@elsewhere.example", "≠", registrant.email]
    assert result.stdout.splitlines()[-1] == "1 difference"

    as_json = show(sqlite_store, registries_file, domain, "--json")
    clean(as_json)
    data = json.loads(as_json.stdout)
    assert data["differences"] == 1
    rows = [row for section in data["sections"] for row in section["rows"] if row["differs"]]
    assert rows == [
        {
            "field": "email",
            "registry": "moved@elsewhere.example",
            "store": registrant.email,
            "differs": True,
        }
    ]


def test_a_domain_not_in_the_store(sqlite_store, registries_file):
    result = show(sqlite_store, registries_file, "Nowhere.com")
    clean(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: domain: nowhere.com is not in the store, so there is nothing to compare\n"
    )


def test_the_registry_is_not_reachable(sqlite_store, sandbox, registries_file, domain):
    port = free_port()
    text = registries_file.read_text().replace(f"port = {sandbox.port}", f"port = {port}")
    registries_file.write_text(text)
    result = show(sqlite_store, registries_file, domain)
    clean(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: registry sandbox at 127.0.0.1:{port} is not reachable: ")


def test_a_name_that_looks_like_markup_is_refused_plainly(sqlite_store, registries_file):
    result = show(sqlite_store, registries_file, "[/b]x.com")
    clean(result)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: domain: '[/b]x.com' ")


def test_it_needs_the_support_role(sqlite_store, registries_file, domain):
    add_me(sqlite_store, StaffRole.ADMIN)
    result = show(sqlite_store, registries_file, domain)
    clean(result)
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.endswith(" may not see customer data: that needs the support role")


def test_the_group_is_listed(sqlite_store):
    result = CliRunner().invoke(app, ["registry", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "show" in result.stdout
