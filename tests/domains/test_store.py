"""The store API on SQLite and PostgreSQL: mutations, audit, conflicts, look-up and search."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domains.errors import ConflictError, NotFound, ValidationFailed
from domains.models import Account, AuditEvent, Contact, Domain, DomainContact, OutboxEntry
from domains.store import Store
from tests.support.factories import account_data, contact_data, make_domain


def audit_rows(store: Store, entity_id: str | None = None) -> list[AuditEvent]:
    with store.read() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if entity_id:
            stmt = stmt.where(AuditEvent.entity_id == entity_id)
        return list(session.execute(stmt).scalars())


def count(store: Store, model: type) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_every_store_has_the_house_contact_from_settings(store, settings):
    house = store.house_contact()
    assert house.is_house and house.kind == "organization"
    assert house.handle == settings.house.handle
    assert house.email == settings.house.email
    assert house.voice == settings.house.voice
    # Opening again does not add a second one.
    again = Store.open(settings=settings)
    assert count(again, Contact) == 1
    again.close()


def test_every_kind_of_mutation_writes_its_audit_event(store):
    account = store.create_account("staff:ann", account_data())
    contact = store.create_contact("staff:ann", contact_data(), account_number=account.number)
    other = store.create_contact("staff:ann", contact_data())
    domain = store.create_domain(
        "staff:ann",
        {"name": "audit-me.com"},
        account_number=account.number,
        contacts={"registrant": contact.handle},
    )
    store.update_account("staff:bob", account.number, account.version, {"city": "Bath"})
    store.update_contact("staff:bob", contact.handle, contact.version, {"city": "Hamburg"})
    store.update_domain(
        "staff:bob", "audit-me.com", domain.version, {"statuses": ["clientTransferProhibited"]}
    )
    store.assign_contact("staff:cy", "audit-me.com", "tech", other.handle)

    actions = {(e.action, e.entity_id, e.actor) for e in audit_rows(store)}
    assert ("account.create", account.number, "staff:ann") in actions
    assert ("contact.create", contact.handle, "staff:ann") in actions
    assert ("domain.create", "audit-me.com", "staff:ann") in actions
    assert ("account.update", account.number, "staff:bob") in actions
    assert ("contact.update", contact.handle, "staff:bob") in actions
    assert ("domain.update", "audit-me.com", "staff:bob") in actions
    assert ("domain.assign", "audit-me.com", "staff:cy") in actions

    update = next(e for e in audit_rows(store, contact.handle) if e.action == "contact.update")
    assert update.changes == {"city": {"before": "Berlin", "after": "Hamburg"}}
    moved = [e for e in audit_rows(store, "audit-me.com") if e.action == "domain.assign"]
    assert moved[-1].changes == {
        "tech": {"before": store.house_contact().handle, "after": other.handle}
    }


def test_a_contact_edit_queues_the_registry_update(store):
    _, registrant = make_domain(store, "queue-me.de")
    store.update_contact("staff:ann", registrant.handle, 1, {"email": "new@example.net"})
    with store.read() as session:
        entries = list(session.execute(select(OutboxEntry)).scalars())
    assert [(e.kind, e.tld, e.payload["handle"]) for e in entries] == [
        ("contact.update", "de", registrant.handle)
    ]


def test_a_stale_version_is_a_conflict_and_overwrites_nothing(store):
    _, contact = make_domain(store)
    store.update_contact("staff:ann", contact.handle, 1, {"city": "Hamburg"})
    with pytest.raises(ConflictError) as info:
        store.update_contact("staff:bob", contact.handle, 1, {"city": "Köln"})
    assert contact.handle in str(info.value)
    assert "version 1" in str(info.value) and "version 2" in str(info.value)
    fresh = store.get_contact(contact.handle)
    assert (fresh.city, fresh.version) == ("Hamburg", 2)
    assert not [e for e in audit_rows(store, contact.handle) if e.actor == "staff:bob"]


@pytest.mark.parametrize("version", [None, "1", 1.0, True])
def test_a_contact_update_without_the_version_read_is_refused(store, version):
    """No expected version would skip the check and overwrite a colleague's change unseen."""
    _, contact = make_domain(store)
    before = count(store, AuditEvent)
    with pytest.raises(TypeError, match="expected_version"):
        store.update_contact("staff:ann", contact.handle, version, {"city": "Hamburg"})
    fresh = store.get_contact(contact.handle)
    assert (fresh.city, fresh.version) == (contact.city, 1)
    assert count(store, AuditEvent) == before


def test_stale_account_and_domain_versions_conflict(store):
    make_domain(store, "stale.net")
    store.update_domain("staff:a", "stale.net", 1, {"dnssec": True})
    with pytest.raises(ConflictError, match=r"domain stale\.net"):
        store.update_domain("staff:b", "stale.net", 1, {"dnssec": False})
    assert store.get_domain("stale.net").dnssec is True
    account = store.create_account("staff:a", account_data())
    store.update_account("staff:a", account.number, 1, {"name": "New Name"})
    with pytest.raises(ConflictError, match=f"account {account.number}"):
        store.update_account("staff:b", account.number, 1, {"name": "Other"})


def test_bad_input_writes_nothing(store):
    before = (count(store, Contact), count(store, AuditEvent))
    with pytest.raises(ValidationFailed) as info:
        store.create_contact("staff:a", contact_data(email="not-an-address", country="XX"))
    assert {e.field for e in info.value.errors} >= {"email", "country"}
    assert (count(store, Contact), count(store, AuditEvent)) == before

    account = store.create_account("staff:a", account_data())
    before = (count(store, Domain), count(store, DomainContact), count(store, AuditEvent))
    with pytest.raises(ValidationFailed, match="no contact 'NOPE1'"):
        store.create_domain(
            "staff:a",
            {"name": "half-written.com"},
            account_number=account.number,
            contacts={"registrant": "NOPE1"},
        )
    assert (count(store, Domain), count(store, DomainContact), count(store, AuditEvent)) == before


def test_an_update_with_a_bad_field_keeps_the_old_values(store):
    _, contact = make_domain(store)
    with pytest.raises(ValidationFailed) as info:
        store.update_contact("staff:a", contact.handle, 1, {"voice": "12", "city": "Bonn"})
    assert info.value.for_field("voice")
    fresh = store.get_contact(contact.handle)
    assert (fresh.city, fresh.voice, fresh.version) == (contact.city, contact.voice, 1)
    with pytest.raises(ValidationFailed, match="handle: cannot be changed here"):
        store.update_contact("staff:a", contact.handle, 1, {"handle": "X123"})


def test_every_mutation_needs_an_actor(store):
    with pytest.raises(ValidationFailed, match="actor"):
        store.create_account("", account_data())
    assert count(store, Account) == 0


def test_one_contact_per_role(store):
    make_domain(store, "roles.org")
    first = store.create_contact("staff:a", contact_data())
    second = store.create_contact("staff:a", contact_data())
    store.assign_contact("staff:a", "roles.org", "admin", first.handle)
    store.assign_contact("staff:a", "roles.org", "admin", second.handle)
    record = store.domain_record("roles.org")
    assert record.contact("admin").handle == second.handle
    with pytest.raises(ValidationFailed, match="role"):
        store.assign_contact("staff:a", "roles.org", "owner", first.handle)


def test_look_up_by_a_label_or_u_label_in_any_case(store):
    make_domain(store, "Bücher.de")
    for name in ("bücher.de", "BÜCHER.DE", "xn--bcher-kva.de", "XN--BCHER-KVA.DE."):
        record = store.domain_record(name)
        assert record.domain.name == "xn--bcher-kva.de"
        assert record.domain.unicode_name == "bücher.de"
    with pytest.raises(NotFound, match=r"no domain 'nothere\.com'"):
        store.domain_record("nothere.com")


def test_handles_are_derived_from_the_id(store):
    contact = store.create_contact("staff:a", contact_data())
    assert contact.handle == f"ILC{contact.id}"
    assert store.get_contact(contact.handle).id == contact.id


def test_search_each_kind_with_keyset_paging(store):
    account = store.create_account("staff:a", account_data(number="B-2000"))
    people = [
        store.create_contact(
            "staff:a", contact_data(name=f"Smith {i:02d}", email=f"smith{i:02d}@example.com")
        )
        for i in range(7)
    ]
    for i, person in enumerate(people):
        store.create_domain(
            "staff:a",
            {"name": f"shop{i:02d}.com"},
            account_number=account.number,
            contacts={"registrant": person.handle},
        )
    make_domain(store, "münchen-shop.de")

    def all_pages(query: str, **kwargs) -> list[str]:
        names, cursor = [], None
        while True:
            page = store.search(query, cursor=cursor, limit=3, **kwargs)
            names += [hit.name for hit in page.hits]
            if page.next_cursor is None:
                return names
            cursor = page.next_cursor

    expected = [f"shop{i:02d}.com" for i in range(7)]
    assert all_pages("shop") == expected
    assert all_pages("SMITH0", kind="email") == expected
    assert all_pages("email:smith0") == expected
    assert all_pages("smith") == expected  # no domain starts with it: falls back to names
    assert all_pages("b-20") == expected
    assert all_pages("münchen") == ["xn--mnchen-shop-thb.de"]
    assert all_pages("xn--mnchen") == ["xn--mnchen-shop-thb.de"]
    assert all_pages("nothing-like-this") == []
    assert store.search("shop", limit=3).hits[0].account_number == "B-2000"
