"""One audit event read as a frozen view (Store.audit_event), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from domains import audit
from domains.audit import FieldChange
from domains.changes import Workflow
from domains.errors import NotFound
from tests.support.factories import confirmed_request, contact_data, make_domain


def newest(store) -> audit.AuditEvent:
    return audit.list_events(store, limit=1)[0]


def test_an_update_shows_each_field_before_and_after(store):
    contact = store.create_contact("staff:ann", contact_data(city="Berlin", street=["A 1"]))
    store.update_contact(
        "staff:bob",
        contact.handle,
        contact.version,
        {"city": "Hamburg", "street": ["B 2", "Hof 3"]},
    )
    event = newest(store)
    view = store.audit_event(event.id)
    assert (view.id, view.actor, view.action) == (event.id, "staff:bob", "contact.update")
    assert view.entity == f"contact:{contact.handle}"
    assert view.at == event.at and view.at.tzinfo is not None
    assert view.fields == (
        FieldChange("city", "Berlin", "Hamburg"),
        FieldChange("street", ["A 1"], ["B 2", "Hof 3"]),
    )
    assert view.reason is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.actor = "staff:eve"  # type: ignore[misc]


def test_a_rejection_carries_its_reason_and_request(store):
    make_domain(store, "reasons.org")
    reference = confirmed_request(store, "reasons.org")
    Workflow(store).reject(actor="staff:bob", reference=reference, reason="Not the owner")
    view = store.audit_event(newest(store).id)
    assert view.reason == "Not the owner"
    assert view.request_ref == reference
    assert FieldChange("state", "confirmed", "rejected") in view.fields


def test_values_recorded_without_a_before_are_marked_so(store):
    with store.write() as session:
        audit.record(
            session,
            actor="system:import",
            action="store.import",
            entity_type="store",
            entity_id="x.json",
            changes={"file": "x.json", "domains": 3, "city": {"before": "A", "after": "B"}},
        )
    view = store.audit_event(newest(store).id)
    assert view.fields == (
        FieldChange("city", "A", "B"),
        FieldChange("domains", None, 3, changed=False),
        FieldChange("file", None, "x.json", changed=False),
    )


def test_an_event_that_does_not_exist(store):
    with pytest.raises(NotFound, match="no audit event '999999'"):
        store.audit_event(999999)
