"""`interlink domains lock|unlock|ns|ds|registrant`: who acts comes from the system, every change
is queued for the registry, and a refusal is one clear line."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains import audit
from domains.models import OutboxEntry
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.cli import on, one_error
from tests.support.factories import contact_data, make_domain
from tests.support.staff import add_me

DOMAIN = "kite-makers.com"
D1 = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"
D2 = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3F4D8B1E9D1C6B8D2E5A7F30"


def payloads(store: Store) -> list[dict]:
    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry)
            .where(col(OutboxEntry.kind) == "domain.update")
            .order_by(col(OutboxEntry.id))
        ).scalars()
        return [row.payload for row in rows]


def said(result) -> str:
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


@pytest.fixture
def domain(store: Store) -> str:
    return make_domain(store, DOMAIN, nameservers=["ns1.example.net"])[0].name


def test_lock_and_unlock_as_the_member_at_the_keyboard(store: Store, domain: str) -> None:
    me = add_me(store, StaffRole.SUPPORT)
    out = said(on(store, "domains", "lock", domain))
    assert out.startswith(
        f"{DOMAIN}: statuses now clientDeleteProhibited, clientTransferProhibited"
    )
    assert "the registry update is queued" in out
    assert said(on(store, "domains", "lock", domain)) == f"{DOMAIN}: nothing changed"
    # The registry refuses any change but lifting the update lock while it is set.
    refused = one_error(on(store, "domains", "lock", domain, "--status", "clientHold"))
    assert refused.startswith(f"error: {DOMAIN} is locked (clientUpdateProhibited)")
    said(on(store, "domains", "unlock", domain, "--status", "clientUpdateProhibited"))
    said(on(store, "domains", "unlock", domain))
    assert payloads(store) == [
        {
            "domain": DOMAIN,
            "statuses": {
                "add": [
                    "clientDeleteProhibited",
                    "clientTransferProhibited",
                    "clientUpdateProhibited",
                ],
                "rem": [],
            },
        },
        {"domain": DOMAIN, "statuses": {"add": [], "rem": ["clientUpdateProhibited"]}},
        {
            "domain": DOMAIN,
            "statuses": {"add": [], "rem": ["clientDeleteProhibited", "clientTransferProhibited"]},
        },
    ]
    (latest, *_) = audit.list_events(store, entity_type="domain", entity_id=DOMAIN)
    assert latest.actor == me


def test_name_servers_with_glue_and_a_clear_line_without_it(store: Store, domain: str) -> None:
    add_me(store, StaffRole.SUPPORT)
    error = one_error(on(store, "domains", "ns", domain, "ns1.kite-makers.com", "ns2.example.net"))
    assert error.startswith("error: glue[ns1.kite-makers.com]: ns1.kite-makers.com is under")
    out = said(
        on(
            store,
            "domains",
            "ns",
            domain,
            "ns1.kite-makers.com",
            "ns2.example.net",
            "--glue",
            "ns1.kite-makers.com=192.0.2.1,2001:db8::1",
        )
    )
    assert "name servers now ns1.kite-makers.com, ns2.example.net" in out
    assert payloads(store) == [
        {
            "domain": DOMAIN,
            "ns": {"add": ["ns1.kite-makers.com", "ns2.example.net"], "rem": ["ns1.example.net"]},
            "hosts": {"ns1.kite-makers.com": ["192.0.2.1", "2001:db8::1"]},
        }
    ]
    bad = one_error(on(store, "domains", "ns", domain, "x", "--glue", "nonsense"))
    assert "glue: 'nonsense' is not HOST=ADDRESS" in bad


def test_ds_records_added_listed_replaced_and_cleared(store: Store, domain: str) -> None:
    add_me(store, StaffRole.SUPPORT)
    listed = said(on(store, "domains", "ds", domain))
    assert listed == f"{DOMAIN}: no DS records (unsigned)"
    out = said(on(store, "domains", "ds", domain, "--add", f"2371 13 2 {D1}"))
    assert "1 DS record(s) on file, signed" in out
    listed = said(on(store, "domains", "ds", domain))
    assert f"2371 13 2 {D1} (ECDSAP256SHA256, SHA-256)" in listed
    said(
        on(
            store,
            "domains",
            "ds",
            domain,
            "--add",
            f"60485 15 2 {D2}",
            "--remove",
            f"2371 13 2 {D1}",
        )
    )
    out = said(on(store, "domains", "ds", domain, "--clear"))
    assert "0 DS record(s) on file, unsigned" in out
    ds1 = {"key_tag": 2371, "alg": 13, "digest_type": 2, "digest": D1}
    ds2 = {"key_tag": 60485, "alg": 15, "digest_type": 2, "digest": D2}
    assert payloads(store) == [
        {"domain": DOMAIN, "ds": {"add": [ds1], "rem": []}},
        {"domain": DOMAIN, "ds": {"add": [ds2], "rem": [ds1]}},
        {"domain": DOMAIN, "ds": {"add": [], "rem": [ds2]}},
    ]


def test_bad_ds_input_is_one_line_naming_the_field(store: Store, domain: str) -> None:
    add_me(store, StaffRole.SUPPORT)
    error = one_error(on(store, "domains", "ds", domain, "--add", f"2371 3 2 {D1}"))
    assert error.startswith("error: ds[0].algorithm: 3 (DSA) must not be used to sign zones")
    error = one_error(on(store, "domains", "ds", domain, "--add", f"2371 13 2 {D1[:-4]}"))
    assert "ds[0].digest: has 60 hexadecimal digits; a SHA-256 digest (type 2) has 64" in error
    error = one_error(
        on(store, "domains", "ds", domain, "--add", f"1 13 2 {D2}", "--remove", f"2371 13 2 {D1}")
    )
    assert "remove[0]: 2371 13 2" in error and "is not on file for this domain" in error
    assert payloads(store) == []


def test_registrant_needs_a_supervisor_and_a_contact_of_the_account(
    store: Store, domain: str
) -> None:
    record = store.domain_record(domain)
    new = store.create_contact("staff:test", contact_data(), account_number=record.account.number)
    add_me(store, StaffRole.SUPPORT)
    refused = one_error(on(store, "domains", "registrant", domain, new.handle))
    assert "may not change a domain's registrant: that needs the supervisor role" in refused
    add_me(store, StaffRole.SUPERVISOR)
    out = said(on(store, "domains", "registrant", domain, new.handle))
    assert f"registrant now {new.handle}" in out
    old = record.contact("registrant")
    assert old is not None
    assert payloads(store) == [
        {"domain": DOMAIN, "registrant": {"before": old.handle, "after": new.handle}}
    ]
    unknown = one_error(on(store, "domains", "registrant", domain, "ILC999999"))
    assert unknown == "error: registrant: no contact 'ILC999999'"


def test_a_stale_version_an_unknown_domain_and_a_missing_role(store: Store, domain: str) -> None:
    add_me(store, StaffRole.ADMIN)
    refused = one_error(on(store, "domains", "lock", domain))
    assert "may not change a domain's locks, name servers or DS records" in refused
    add_me(store, StaffRole.SUPPORT)
    stale = one_error(on(store, "domains", "lock", domain, "--version", "99"))
    assert "was changed by someone else (you edited version 99" in stale
    missing = one_error(on(store, "domains", "lock", "not-ours.com"))
    assert missing == "error: no domain 'not-ours.com'"
    assert payloads(store) == []
