"""Staff edits of a domain's registry data: roles checked, every edit audited, ONE `domain.update`
outbox entry per edit with the contract's payload, and nothing written on a refusal.

Real parts: the store on SQLite, and on PostgreSQL when one is reachable.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from domains import audit
from domains.errors import ConflictError, RuleViolation, ValidationFailed
from domains.models import AuditEvent, DsRecord, OutboxEntry
from domains.staff import Refused, UnknownStaff
from domains.store import Store
from tests.support.factories import contact_data, make_domain
from tests.support.staff import ADMIN, DISABLED, SUPERVISOR, SUPPORT

ACTOR = "staff:ann"
D1 = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"
D2 = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3F4D8B1E9D1C6B8D2E5A7F30"
DS1 = {"key_tag": 2371, "alg": 13, "digest_type": 2, "digest": D1}
DS2 = {"key_tag": 60485, "alg": 15, "digest_type": 2, "digest": D2}
LOCK = ["clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"]


def entries(store: Store) -> list[OutboxEntry]:
    """Every domain.update entry, oldest first."""
    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry)
            .where(col(OutboxEntry.kind) == "domain.update")
            .order_by(col(OutboxEntry.id))
        ).scalars()
        return list(rows)


def written(store: Store) -> tuple[int, ...]:
    """How many outbox entries, audit events and DS rows the store holds."""
    with store.read() as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (OutboxEntry, AuditEvent, DsRecord)
        )


def events(store: Store, name: str) -> list[AuditEvent]:
    return audit.list_events(store, entity_type="domain", entity_id=name, limit=50)


@pytest.fixture
def domain(store: Store) -> str:
    created, _ = make_domain(store, "kite-makers.com", nameservers=["ns1.example.net"])
    return created.name


def test_lock_queues_one_entry_with_the_contract_payload_and_audits_it(
    store: Store, domain: str
) -> None:
    version = store.get_domain(domain).version
    edit = store.lock(ACTOR, domain, version)
    assert edit.changed and edit.record.domain.version == version + 1
    assert edit.record.domain.statuses == LOCK
    (entry,) = entries(store)
    assert (entry.kind, entry.tld, entry.domain_id) == (
        "domain.update",
        "com",
        edit.record.domain.id,
    )
    assert entry.payload == {"domain": domain, "statuses": {"add": LOCK, "rem": []}}
    assert edit.payload == entry.payload
    latest = events(store, domain)[0]
    assert (latest.action, latest.actor) == ("domain.update", ACTOR)
    assert latest.changes == {"statuses": {"before": ["ok"], "after": LOCK}}

    before = written(store)
    again = store.lock(ACTOR, domain)
    assert not again.changed and again.payload == {}
    assert written(store) == before
    assert store.get_domain(domain).version == version + 1


def test_a_locked_domain_refuses_other_edits_until_unlocked(store: Store, domain: str) -> None:
    store.lock(ACTOR, domain)
    before = written(store)
    for edit in (
        lambda: store.set_nameservers(ACTOR, domain, None, ["ns2.example.net"]),
        lambda: store.set_ds(ACTOR, domain, None, [DS1]),
        lambda: store.set_client_statuses(ACTOR, domain, None, add=["clientHold"]),
    ):
        with pytest.raises(RuleViolation, match=r"locked \(clientUpdateProhibited\)"):
            edit()
    assert written(store) == before

    unlocked = store.unlock(ACTOR, domain)
    assert unlocked.record.domain.statuses == ["ok"]
    assert entries(store)[-1].payload == {"domain": domain, "statuses": {"add": [], "rem": LOCK}}


def test_one_client_status_at_a_time_and_server_locks_refuse_everything(
    store: Store, domain: str
) -> None:
    held = store.set_client_statuses(ACTOR, domain, None, add=["clientHold"])
    assert entries(store)[-1].payload == {
        "domain": domain,
        "statuses": {"add": ["clientHold"], "rem": []},
    }
    assert held.record.domain.statuses == ["clientHold"]
    with pytest.raises(ValidationFailed) as caught:
        store.set_client_statuses(ACTOR, domain, None, add=["serverHold", "clientHold"])
    assert caught.value.errors[0].field == "statuses.add[0]"
    assert "'serverHold' is not a status the registrar sets" in caught.value.errors[0].message

    store.update_domain(
        ACTOR, domain, None, {"statuses": ["clientHold", "serverUpdateProhibited"]}, sync=False
    )
    before = written(store)
    with pytest.raises(RuleViolation, match="serverUpdateProhibited: the registry refuses"):
        store.lock(ACTOR, domain, None)
    with pytest.raises(RuleViolation, match="serverUpdateProhibited"):
        store.set_client_statuses(ACTOR, domain, None, remove=["clientHold"])
    assert written(store) == before


def test_roles_are_checked_and_a_refusal_writes_nothing(store: Store, domain: str) -> None:
    before = written(store)
    with pytest.raises(Refused, match="needs the support role"):
        store.lock(f"staff:{ADMIN}", domain)
    with pytest.raises(Refused, match="may not change a domain's registrant"):
        store.change_registrant(f"staff:{SUPPORT}", domain, None, "ILC1")
    with pytest.raises(UnknownStaff):
        store.set_ds(f"staff:{DISABLED}", domain, None, [DS1])
    assert written(store) == before
    assert store.lock(f"staff:{SUPPORT}", domain).changed


def test_a_stale_version_is_a_conflict_and_writes_nothing(store: Store, domain: str) -> None:
    version = store.get_domain(domain).version
    store.set_nameservers(ACTOR, domain, version, ["ns2.example.net"])
    before = written(store)
    with pytest.raises(ConflictError, match="was changed by someone else"):
        store.set_ds(ACTOR, domain, version, [DS1])
    assert written(store) == before


def test_name_servers_with_glue_for_a_host_under_the_domain(store: Store, domain: str) -> None:
    before = written(store)
    with pytest.raises(ValidationFailed) as caught:
        store.set_nameservers(ACTOR, domain, None, ["ns1.kite-makers.com", "ns1.example.net"])
    assert [e.field for e in caught.value.errors] == ["glue[ns1.kite-makers.com]"]
    assert written(store) == before

    edit = store.set_nameservers(
        ACTOR,
        domain,
        None,
        ["ns1.kite-makers.com", "NS1.example.net", "ns2.example.org"],
        {"ns1.kite-makers.com": ["192.0.2.1", "2001:db8::1"]},
    )
    assert edit.record.domain.nameservers == [
        "ns1.kite-makers.com",
        "ns1.example.net",
        "ns2.example.org",
    ]
    (entry,) = entries(store)
    assert entry.payload == {
        "domain": domain,
        "ns": {"add": ["ns1.kite-makers.com", "ns2.example.org"], "rem": []},
        "hosts": {"ns1.kite-makers.com": ["192.0.2.1", "2001:db8::1"]},
    }
    latest = events(store, domain)[0]
    assert latest.changes["glue"] == {
        "before": None,
        "after": {"ns1.kite-makers.com": ["192.0.2.1", "2001:db8::1"]},
    }

    store.set_nameservers(ACTOR, domain, None, ["ns2.example.org"])
    assert entries(store)[-1].payload == {
        "domain": domain,
        "ns": {"add": [], "rem": ["ns1.kite-makers.com", "ns1.example.net"]},
    }


def test_ds_records_sign_the_domain_and_removing_all_unsigns_it(store: Store, domain: str) -> None:
    first = store.set_ds(ACTOR, domain, None, [f"2371 13 2 {D1.lower()}"])
    assert first.record.domain.dnssec is True
    assert [ds.payload() for ds in first.record.ds] == [DS1]
    assert entries(store)[-1].payload == {"domain": domain, "ds": {"add": [DS1], "rem": []}}
    latest = events(store, domain)[0]
    assert latest.action == "domain.ds"
    assert latest.changes == {
        "ds": {"before": [], "after": [f"2371 13 2 {D1}"]},
        "dnssec": {"before": False, "after": True},
    }

    second = store.add_ds(ACTOR, domain, None, [DS2])
    assert entries(store)[-1].payload == {"domain": domain, "ds": {"add": [DS2], "rem": []}}
    assert [ds.key_tag for ds in second.record.ds] == [2371, 60485]

    before = written(store)
    with pytest.raises(ValidationFailed, match=r"ds\[0\]: 2371 13 2 .* is on file already"):
        store.add_ds(ACTOR, domain, None, [DS1])
    with pytest.raises(ValidationFailed, match=r"ds\[0\]: .* is not on file for this domain"):
        store.remove_ds(ACTOR, domain, None, [{**DS1, "key_tag": 1}])
    with pytest.raises(ValidationFailed) as caught:
        store.set_ds(ACTOR, domain, None, [DS1, {**DS2, "alg": 5, "digest": D2[:-1]}])
    assert [e.field for e in caught.value.errors] == ["ds[1].digest"]
    assert written(store) == before

    store.remove_ds(ACTOR, domain, None, [DS1])
    assert entries(store)[-1].payload == {"domain": domain, "ds": {"add": [], "rem": [DS1]}}
    last = store.set_ds(ACTOR, domain, None, [])
    assert last.record.domain.dnssec is False and last.record.ds == ()
    assert entries(store)[-1].payload == {"domain": domain, "ds": {"add": [], "rem": [DS2]}}
    assert events(store, domain)[0].changes["dnssec"] == {"before": True, "after": False}
    assert len(entries(store)) == 4  # one per edit


def test_a_domain_flagged_signed_without_ds_on_file_stays_signed(store: Store) -> None:
    created, _ = make_domain(store, "legacy-signed.org", dnssec=True)
    record = store.domain_record(created.name)
    assert record.domain.dnssec is True and record.ds == ()
    assert not store.set_ds(ACTOR, created.name, None, []).changed
    assert store.get_domain(created.name).dnssec is True
    assert entries(store) == []
    signed = store.set_ds(ACTOR, created.name, None, [DS1])
    assert signed.record.domain.dnssec is True
    assert "dnssec" not in events(store, created.name)[0].changes  # it was signed already


def test_change_of_registrant_to_another_contact_of_the_account(store: Store, domain: str) -> None:
    record = store.domain_record(domain)
    old = record.contact("registrant")
    assert old is not None
    new = store.create_contact(ACTOR, contact_data(), account_number=record.account.number)
    stranger = store.create_contact(ACTOR, contact_data())
    before = written(store)
    with pytest.raises(ValidationFailed, match="registrant: no contact 'ILC999999'"):
        store.change_registrant(ACTOR, domain, None, "ILC999999")
    with pytest.raises(ValidationFailed, match="is not a contact of the domain's account"):
        store.change_registrant(ACTOR, domain, None, stranger.handle)
    assert written(store) == before

    edit = store.change_registrant(f"staff:{SUPERVISOR}", domain, None, new.handle)
    assert edit.record.contact("registrant").handle == new.handle
    (entry,) = entries(store)
    assert entry.payload == {
        "domain": domain,
        "registrant": {"before": old.handle, "after": new.handle},
    }
    latest = events(store, domain)[0]
    assert latest.action == "domain.assign"
    assert latest.changes == {"registrant": {"before": old.handle, "after": new.handle}}
    assert not store.change_registrant(ACTOR, domain, None, new.handle).changed
    assert len(entries(store)) == 1


def test_update_domain_queues_client_statuses_and_name_servers_only(
    store: Store, domain: str
) -> None:
    store.update_domain(ACTOR, domain, None, {"roid": "D42-COM", "dnssec": False})
    store.update_domain(ACTOR, domain, None, {"statuses": ["serverHold"]})
    assert entries(store) == []
    store.update_domain(
        ACTOR,
        domain,
        None,
        {
            "statuses": ["serverHold", "clientTransferProhibited"],
            "nameservers": ["ns9.example.net"],
        },
    )
    (entry,) = entries(store)
    expected: dict[str, Any] = {
        "domain": domain,
        "statuses": {"add": ["clientTransferProhibited"], "rem": []},
        "ns": {"add": ["ns9.example.net"], "rem": ["ns1.example.net"]},
    }
    assert entry.payload == expected
    store.update_domain(ACTOR, domain, None, {"statuses": ["serverHold"]}, sync=False)
    assert len(entries(store)) == 1


def test_assigning_the_registrant_queues_the_same_change(store: Store, domain: str) -> None:
    record = store.domain_record(domain)
    new = store.create_contact(ACTOR, contact_data(), account_number=record.account.number)
    with pytest.raises(Refused):
        store.assign_contact(f"staff:{SUPPORT}", domain, "registrant", new.handle)
    store.assign_contact(ACTOR, domain, "registrant", new.handle)
    (entry,) = entries(store)
    assert entry.payload["registrant"]["after"] == new.handle
    store.assign_contact(f"staff:{SUPPORT}", domain, "admin", new.handle)  # not the registry's
    assert len(entries(store)) == 1


def test_the_flag_cannot_be_cleared_while_ds_records_are_on_file(store: Store, domain: str) -> None:
    store.set_ds(ACTOR, domain, None, [DS1])
    before = written(store)
    with pytest.raises(ValidationFailed, match="dnssec: .* has DS records on file"):
        store.update_domain(ACTOR, domain, None, {"dnssec": False})
    assert written(store) == before
    assert store.get_domain(domain).dnssec is True
