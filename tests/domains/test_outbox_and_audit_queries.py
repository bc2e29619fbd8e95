"""Staff read the outbox and the audit trail, and put a failed registry change back in line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domains import audit, outbox
from domains.changes import Workflow
from domains.errors import RuleViolation
from domains.models import OutboxEntry, utcnow
from tests.support.factories import NEW_TECH, make_domain


def applied_request(store):
    make_domain(store, "sync-me.com")
    flow = Workflow(store)
    outcome = flow.submit(
        actor="customer:portal", domain_name="sync-me.com", proposal=NEW_TECH, channel="portal"
    )
    flow.confirm(token=outcome.token)
    return flow, flow.approve_and_apply(actor="staff:ann", reference=outcome.request.reference)


def test_retry_of_a_failed_entry_puts_it_and_its_request_back(store):
    flow, applied = applied_request(store)
    flow.mark_sync_failed(reference=applied.request.reference, error="2004 bad value")
    with store.write() as session:
        entry = session.get(OutboxEntry, applied.request.outbox_id)
        entry.status, entry.last_error = "failed", "2004 bad value"
    assert [e.id for e in outbox.list_entries(store, status="failed")] == [entry.id]

    retried = outbox.retry_entry(store, entry.id, actor="staff:bob")
    assert (retried.status, retried.last_error) == ("pending", None)
    assert flow.get(applied.request.reference).state == "applied"
    events = audit.list_events(store, entity_type="outbox_entry", entity_id=str(entry.id))
    assert [(e.action, e.actor) for e in events] == [("outbox.retry", "staff:bob")]
    with pytest.raises(RuleViolation, match="only a failed one can be retried"):
        outbox.retry_entry(store, entry.id, actor="staff:bob")
    assert outbox.count_by_status(store) == {"pending": 1}


def test_audit_filters_by_entity_actor_and_time(store):
    _, applied = applied_request(store)
    ref = applied.request.reference
    by_ref = audit.list_events(store, request_ref=ref)
    assert {e.action for e in by_ref} >= {"change.submit", "change.confirm", "change.apply"}
    assert {e.actor for e in audit.list_events(store, actor="staff:")} == {
        "staff:test",
        "staff:ann",
    }
    assert audit.list_events(store, since=utcnow() + timedelta(minutes=1)) == []
    newest = audit.list_events(store, limit=2)
    older = audit.list_events(store, before_id=newest[-1].id, limit=500)
    assert newest[0].id > newest[1].id > older[0].id
    assert audit.list_events(store, entity_type="domain", entity_id="sync-me.com")
