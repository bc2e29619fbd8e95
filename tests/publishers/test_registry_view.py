"""What the registry holds beside the store, against the real sandbox over TLS (no mocks)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from domains.errors import ValidationFailed
from domains.store import Store
from portal.links import PortalLinks
from publishers.registries import RegistryConfigError, RegistryMap, UnknownTld
from publishers.registry_compare import Comparison, Section
from publishers.registry_view import (
    LoginRefused,
    NotAtRegistry,
    NotInStore,
    RegistryRefused,
    RegistryUnreachable,
    compare_with_registry,
)
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.contacts import contact_data
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.factories import make_domain
from tests.support.net import free_port
from tests.support.sync import (
    CLIENT_ID,
    CONTACT_AUTH,
    DOMAIN_AUTH,
    PASSWORD,
    PASSWORD_ENV,
    move_tech,
    new_tech,
    registered,
    registries,
    write_registries,
)

#: The sandbox's password in the environment, as the registries file names it.
pytestmark = pytest.mark.usefixtures("sandbox_password")


@pytest.fixture
def regs(sandbox: SandboxRegistry, tmp_path: Path) -> RegistryMap:
    return registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)


def section(comparison: Comparison, start: str) -> Section:
    (found,) = [s for s in comparison.sections if s.title.startswith(start)]
    return found


def differing(comparison: Comparison) -> list[tuple[str, str, str | None, str | None]]:
    """(section title, field, registry, store) of every row marked as differing."""
    return [
        (s.title, row.field, row.registry, row.store)
        for s in comparison.sections
        for row in s.rows
        if row.differs
    ]


async def sync_once(store: Store, regs: RegistryMap) -> None:
    async with SyncWorker(
        store, regs, SyncOptions(retry_wait=0.01, backoff=0.05), links=PortalLinks(store.settings)
    ) as worker:
        async with asyncio.timeout(30):
            report = await worker.run_once()
    assert report.failed == 0 and report.retried == 0


# ---------------------------------------------------------------- agreeing and differing


async def test_a_domain_as_the_sync_left_it_agrees(store, sandbox, regs):
    name = registered(store, sandbox, regs, "agreeing.com")
    comparison = await compare_with_registry(store, regs, name)
    assert comparison.differences == 0, differing(comparison)
    assert comparison.registry == "sandbox" and comparison.address.startswith("127.0.0.1:")
    domain = section(comparison, "domain agreeing.com")
    rows = {row.field: (row.registry, row.store) for row in domain.rows}
    registrant = store.domain_record(name).contact("registrant").handle
    assert rows["registrant handle"] == (registrant, registrant)
    assert rows["sponsoring client"] == (CLIENT_ID, CLIENT_ID)
    assert rows["tech handle"] == ("IL-HOUSE", "IL-HOUSE")
    assert rows["admin handle"] == (None, None)
    assert rows["name servers"] == ("ns1.example.net", "ns1.example.net")
    fields = [row.field for row in section(comparison, f"contact {registrant}").rows]
    assert fields[:4] == ["sponsoring client", "name", "org", "street 1"]
    assert {"email", "voice", "cc (country)", "disclose email", "disclose addr"} <= set(fields)


async def test_a_contact_edit_differs_until_the_sync_sends_it(store, sandbox, regs):
    name = registered(store, sandbox, regs, "edited.net")
    registrant = store.domain_record(name).contact("registrant")
    store.update_contact("staff:ann", registrant.handle, registrant.version, {"city": "Potsdam"})

    before = await compare_with_registry(store, regs, name)
    title = f"contact {registrant.handle} (registrant)"
    assert differing(before) == [(title, "city", "Berlin", "Potsdam")]

    await sync_once(store, regs)
    after = await compare_with_registry(store, regs, name)
    assert after.differences == 0, differing(after)


async def test_a_tech_move_differs_until_the_sync_sends_it(store, sandbox, regs):
    name = registered(store, sandbox, regs, "moved.org")
    move_tech(store, name, new_tech(1))
    tech = store.domain_record(name).contact("tech").handle

    before = await compare_with_registry(store, regs, name)
    marked = differing(before)
    assert ("domain moved.org", "tech handle", "IL-HOUSE", tech) in marked
    missing = section(before, f"contact {tech}")
    assert missing.note == f"the registry holds no contact {tech}"
    # The house contact the registry still names is shown, not compared.
    house = section(before, "contact IL-HOUSE")
    assert "Interlink does not" in (house.note or "") and house.differences == 0

    await sync_once(store, regs)
    after = await compare_with_registry(store, regs, name)
    assert after.differences == 0, differing(after)
    registrant = store.domain_record(name).contact("registrant").handle
    assert [s.title for s in after.sections] == [
        "domain moved.org",
        f"contact {registrant} (registrant)",
        f"contact {tech} (tech)",
    ]


async def test_changes_behind_our_back_are_marked(store, sandbox, regs):
    name = registered(store, sandbox, regs, "tampered.de")
    registrant = store.domain_record(name).contact("registrant").handle
    # Another hand edits the registry's own database: the registrant's e-mail changes, and the
    # domain's tech now points at a contact Interlink never sent.
    db = sandbox.db
    db.execute(
        "UPDATE contact SET email = ? WHERE id = ?", ("changed@elsewhere.example", registrant)
    )
    stranger = replace(contact_data(store.get_contact(registrant)), handle="OTHER9")
    sandbox.seed_contact(stranger, CLIENT_ID)
    db.execute(
        "UPDATE domain_contact SET contact = 'OTHER9' WHERE type = 'tech' AND domain_seq ="
        " (SELECT seq FROM domain WHERE name = ?)",
        (name,),
    )

    comparison = await compare_with_registry(store, regs, name)

    marked = differing(comparison)
    title = f"contact {registrant} (registrant)"
    email = store.get_contact(registrant).email
    assert (title, "email", "changed@elsewhere.example", email) in marked
    assert ("domain tampered.de", "tech handle", "OTHER9", "IL-HOUSE") in marked
    assert comparison.differences == 2, marked
    assert "contact OTHER9 (tech)" in [s.title for s in comparison.sections]


async def test_names_are_compared_in_a_label_form_in_any_case(store, sandbox, regs):
    name = registered(store, sandbox, regs, "bücherwurm-beispiel.com")
    assert name.startswith("xn--")
    comparison = await compare_with_registry(store, regs, "BÜCHERWURM-Beispiel.COM.")
    assert comparison.domain == name and comparison.unicode_name == "bücherwurm-beispiel.com"
    assert comparison.differences == 0, differing(comparison)


async def test_no_password_or_auth_info_in_the_comparison(store, sandbox, regs):
    name = registered(store, sandbox, regs, "secretive.com")
    comparison = await compare_with_registry(store, regs, name)
    text = json.dumps(comparison.as_dict()) + repr(comparison)
    for secret in (PASSWORD, DOMAIN_AUTH, CONTACT_AUTH):
        assert secret not in text


# ---------------------------------------------------------------- errors


async def test_a_name_that_is_not_valid(store, regs):
    with pytest.raises(ValidationFailed, match=r"^domain: 'no_such\.\.com' is not a valid"):
        await compare_with_registry(store, regs, "no_such..com")


async def test_a_domain_not_in_the_store(store, regs):
    with pytest.raises(NotInStore, match=r"^domain: absent\.com is not in the store"):
        await compare_with_registry(store, regs, "Absent.com")


async def test_no_registry_for_the_tld(store, sandbox, tmp_path):
    only_com = registries(write_registries(tmp_path / "c.toml", sandbox, tlds=["com"]), tmp_path)
    make_domain(store, "elsewhere.net")
    with pytest.raises(UnknownTld, match=r"no registry is configured for \.net"):
        await compare_with_registry(store, only_com, "elsewhere.net")


async def test_the_registry_does_not_hold_the_domain(store, regs):
    make_domain(store, "never-sent.com")
    with pytest.raises(NotAtRegistry, match=r"holds no domain never-sent\.com \(EPP 2303 "):
        await compare_with_registry(store, regs, "never-sent.com")


async def test_another_registrars_domain_is_not_shown(store, sandbox, regs):
    domain, _ = make_domain(store, "theirs.com")
    sandbox.add_client("otherreg", "other-pw1")
    sandbox.seed_domain(domain.name, None, [], "otherreg")
    with pytest.raises(RegistryRefused, match=r"would not show domain theirs\.com: EPP 2201 "):
        await compare_with_registry(store, regs, "theirs.com")


async def test_the_registry_lacks_a_contact_its_domain_references(store, sandbox, regs):
    name = registered(store, sandbox, regs, "dangling.com")
    registrant = store.domain_record(name).contact("registrant").handle
    db = sandbox.db
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("DELETE FROM contact WHERE id = ?", (registrant,))
    db.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(NotAtRegistry, match=rf"holds no contact {registrant} \(EPP 2303 "):
        await compare_with_registry(store, regs, name)


async def test_the_registry_is_not_reachable(store, sandbox, tmp_path):
    path = write_registries(tmp_path / "r.toml", sandbox)
    port = free_port()
    path.write_text(path.read_text().replace(f"port = {sandbox.port}", f"port = {port}"))
    make_domain(store, "offline.com")
    with pytest.raises(RegistryUnreachable, match=rf"at 127\.0\.0\.1:{port} is not reachable: "):
        await compare_with_registry(store, registries(path, tmp_path), "offline.com")


async def test_a_ca_file_that_cannot_be_read(store, sandbox, tmp_path):
    path = write_registries(tmp_path / "r.toml", sandbox)
    path.write_text(path.read_text().replace(str(sandbox.ca_file), str(tmp_path / "gone.pem")))
    make_domain(store, "no-ca.com")
    with pytest.raises(RegistryConfigError, match=r"^registries\.sandbox: ca_file, cert_file or"):
        await compare_with_registry(store, registries(path, tmp_path), "no-ca.com")


async def test_the_login_is_refused(store, sandbox, regs, monkeypatch):
    name = registered(store, sandbox, regs, "locked-out.com")
    monkeypatch.setenv(PASSWORD_ENV, "wrong-pw-123")
    with pytest.raises(LoginRefused, match=r"refused the login of client interlink: EPP 2200") as e:
        await compare_with_registry(store, regs, name)
    assert "wrong-pw-123" not in str(e.value) and PASSWORD not in str(e.value)
