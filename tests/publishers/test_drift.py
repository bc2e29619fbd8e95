"""The registry drift check (`interlink sync --reconcile`) against the sandbox over TLS: each
difference listed (name servers, a contact's field, a domain the registry lacks, a domain
another registrar sponsors), personal values never kept, the run stored in place of the last,
the TLD filter, and the registry's commands-per-second limit kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from domains.drift import Finding, last_run
from domains.drift_models import DriftDifference, DriftRun
from domains.settings import get_settings
from domains.store import Store
from publishers.drift import reconcile
from publishers.registries import UnknownTld
from publishers.sandbox.server import SandboxRegistry
from tests.support.factories import make_domain
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    registered,
    registries,
    sandbox_in_thread,
    write_registries,
)
from tui.cli import app

pytestmark = pytest.mark.usefixtures("sandbox_password")
ACTOR = "system:drift-check"
CHANGED_EMAIL = "somebody.else@drifted.example.org"


class TimedSandbox(SandboxRegistry):
    """The sandbox, noting when each drift-check command arrived (monotonic seconds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[float] = []

    async def _handle(self, state: Any, frame: bytes) -> Any:
        if b"ILDRIFT-" in frame:
            self.arrivals.append(time.monotonic())
        return await super()._handle(state, frame)


@pytest.fixture
async def timed(tmp_path: Path) -> Any:
    registry = TimedSandbox(tmp_path / "timed.db", clients={CLIENT_ID: PASSWORD})
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


def drifted(store: Store, sandbox: SandboxRegistry, regs) -> dict[str, str]:
    """Five domains, four of them drifted apart from the store in four ways; their names."""
    names = {
        "same": registered(store, sandbox, regs, "same-as-ever.com"),
        "ns": registered(store, sandbox, regs, "other-hosts.com"),
        "contact": registered(store, sandbox, regs, "moved-mail.net"),
        "gone": registered(store, sandbox, regs, "taken-away.com"),
    }
    make_domain(store, "never-sent.com")
    names["missing"] = "never-sent.com"
    db = sandbox.store.db
    db.execute("UPDATE domain SET ns = 'ns9.elsewhere.example' WHERE name = ?", (names["ns"],))
    registrant = store.domain_record(names["contact"]).contact("registrant")
    assert registrant is not None
    db.execute("UPDATE contact SET email = ? WHERE id = ?", (CHANGED_EMAIL, registrant.handle))
    sandbox.transfer_out(names["gone"])
    return names


async def test_every_difference_is_listed_and_the_run_kept(
    store: Store, sandbox: SandboxRegistry, tmp_path: Path
) -> None:
    regs = registries(
        write_registries(tmp_path / "r.toml", sandbox, commands_per_second=1000), tmp_path
    )
    names = drifted(store, sandbox, regs)
    registrant = store.domain_record(names["contact"]).contact("registrant")
    assert registrant is not None

    run = await reconcile(store, regs, actor=ACTOR)

    assert (run.domains_checked, run.domains_differing, run.errors) == (5, 4, 0)
    assert set(run.findings) == {
        Finding(names["ns"], "domain", "name servers", "ns9.elsewhere.example", "ns1.example.net"),
        Finding(names["contact"], f"contact {registrant.handle} (registrant)", "email"),
        Finding(names["gone"], "domain", "sponsoring client", "another registrar", CLIENT_ID),
        Finding(names["missing"], "domain", "domain object", None, names["missing"]),
    }
    assert run.differences == 4
    # The run is in the store, and the personal value that differs is not.
    assert last_run(store) == run
    with store.read() as session:
        kept = list(session.execute(select(DriftDifference)).scalars())
    assert len(kept) == 4
    assert all(CHANGED_EMAIL not in str(row.model_dump()) for row in kept)
    assert all(registrant.email not in str(row.model_dump()) for row in kept)

    # A second run, of one TLD, takes the first one's place.
    only_net = await reconcile(store, regs, actor=ACTOR, tld=".NET")
    assert (only_net.tld, only_net.domains_checked, only_net.differences) == ("net", 1, 1)
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(DriftRun)).scalar_one() == 1
    assert last_run(store) == only_net


async def test_a_tld_without_a_registry_is_refused(
    store: Store, sandbox: SandboxRegistry, tmp_path: Path
) -> None:
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    with pytest.raises(UnknownTld, match="no registry is configured for .museum"):
        await reconcile(store, regs, actor=ACTOR, tld="museum")
    assert last_run(store) is None


async def test_the_check_keeps_to_the_registrys_rate(
    store: Store, timed: TimedSandbox, tmp_path: Path
) -> None:
    rate = 25.0
    regs = registries(
        write_registries(tmp_path / "r.toml", timed, commands_per_second=rate), tmp_path
    )
    for n in range(3):
        registered(store, timed, regs, f"paced{n}.com")
    run = await reconcile(store, regs, actor=ACTOR)
    assert (run.domains_checked, run.differences, run.errors) == (3, 0, 0)
    # Per domain a domain:info and two contact:info (registrant, tech), each a period apart.
    gaps = [b - a for a, b in zip(timed.arrivals, timed.arrivals[1:], strict=False)]
    assert len(timed.arrivals) == 9
    assert min(gaps) >= 0.8 / rate, gaps


@pytest.fixture
def own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings of this test only (no config file of the user's) for the command line."""
    monkeypatch.setenv("INTERLINK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("own_settings")
def test_the_reconcile_command_prints_each_difference(sqlite_store: Store, tmp_path: Path) -> None:
    registry = SandboxRegistry(tmp_path / "cli.db", clients={CLIENT_ID: PASSWORD})
    with sandbox_in_thread(registry):
        path = write_registries(tmp_path / "r.toml", registry, commands_per_second=1000)
        names = drifted(sqlite_store, registry, registries(path, tmp_path))
        options = ["--db", str(sqlite_store.engine.url), "--registries", str(path)]
        result = CliRunner().invoke(
            app, ["sync", "--reconcile", "--tld", "com", *options], env={"COLUMNS": "200"}
        )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Traceback" not in text and PASSWORD not in text and CHANGED_EMAIL not in text
    for name in (names["ns"], names["gone"], names["missing"]):
        assert name in text
    assert names["contact"] not in text  # a .net domain: not in the .com walk
    assert "ns9.elsewhere.example" in text and "another registrar" in text
    assert "drift check (.com): 4 domains checked, 3 differ (3 differences)" in text
    assert last_run(sqlite_store) is not None

    wrong = CliRunner().invoke(app, ["sync", "--once", "--reconcile", *options])
    assert wrong.exit_code == 2 and "--reconcile runs alone" in wrong.output
