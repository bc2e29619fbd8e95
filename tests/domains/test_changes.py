"""The technical-contact change workflow: every transition, who may make it, and from where."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domains.changes import Workflow
from domains.errors import NotFound, RuleViolation, ValidationFailed
from domains.models import AuditEvent, ChangeRequest, Contact, Notice, OutboxEntry, utcnow
from domains.request_tokens import InvalidToken, hash_token
from tests.support.factories import NEW_TECH, make_domain


def snapshot(store) -> tuple[int, ...]:
    """Row counts of every table a transition may write."""
    with store.read() as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ChangeRequest, Contact, AuditEvent, OutboxEntry, Notice)
        )


@pytest.fixture
def flow(store):
    return Workflow(store)


@pytest.fixture
def domain(store):
    created, _ = make_domain(store, "move-me.com")
    return created


def submitted(flow, name="move-me.com", actor="customer:portal", **kwargs):
    return flow.submit(
        actor=actor,
        domain_name=name,
        proposal=NEW_TECH,
        channel=kwargs.pop("channel", "portal"),
        **kwargs,
    )


def test_the_whole_way_from_submit_to_completed(store, flow, domain):
    house = store.house_contact()
    outcome = submitted(flow)
    request = outcome.request
    assert request.state == "submitted"
    assert len(outcome.token) >= 22  # >= 128 bits in URL-safe base64
    assert request.token_hash == hash_token(outcome.token) != outcome.token

    confirmed = flow.confirm(token=outcome.token)
    assert confirmed.request.state == "confirmed"
    approved = flow.approve(actor="staff:ann", reference=request.reference)
    assert approved.request.state == "approved"
    applied = flow.apply(actor="staff:ann", reference=request.reference)
    assert applied.request.state == "applied"

    record = store.domain_record("move-me.com")
    tech = record.contact("tech")
    assert tech.org == "Northwind Hosting GmbH" and tech.handle != house.handle
    assert tech.consent_fields == ["org", "email"]
    assert tech.voice == "+49.40609040"
    with store.read() as session:
        entry = session.get(OutboxEntry, applied.request.outbox_id)
    assert (entry.kind, entry.payload["old_tech"], entry.payload["new_tech"]) == (
        "domain.tech_move",
        house.handle,
        tech.handle,
    )

    done = flow.mark_completed(reference=request.reference, cltrid="IL-1", svtrid="SV-1")
    assert done.request.state == "completed"
    with store.read() as session:
        actions = [
            e.action
            for e in session.execute(
                select(AuditEvent).where(AuditEvent.request_ref == request.reference)
            ).scalars()
        ]
    assert actions == [
        "change.submit",
        "change.confirm",
        "change.approve",
        "contact.create",
        "domain.assign",
        "change.apply",
        "change.complete",
    ]


def test_notices_reach_registrant_old_and_new_tech(store, flow, domain):
    outcome = submitted(flow)
    with store.read() as session:
        first = session.get(Notice, outcome.notice_ids[0])
    registrant = store.domain_record("move-me.com").contact("registrant")
    assert (first.template, first.contact_id, first.category) == (
        "request_received",
        registrant.id,
        "essential",
    )
    confirmed = flow.confirm(token=outcome.token)
    with store.read() as session:
        sent = [session.get(Notice, i) for i in confirmed.notice_ids]
    assert {(n.recipient, n.contact_id) for n in sent} == {
        ("contact", registrant.id),
        ("contact", store.house_contact().id),
        ("proposed_tech", None),
    }
    flow.approve(actor="staff:ann", reference=outcome.request.reference)
    applied = flow.apply(actor="staff:ann", reference=outcome.request.reference)
    with store.read() as session:
        sent = [session.get(Notice, i) for i in applied.notice_ids]
    assert {n.contact_id for n in sent} == {
        registrant.id,
        store.house_contact().id,
        applied.request.new_tech_id,
    }
    assert all(n.category == "essential" for n in sent)


def test_wrong_reused_and_expired_tokens_change_nothing(store, flow, domain):
    outcome = submitted(flow)
    before = snapshot(store)
    with pytest.raises(InvalidToken, match="not valid"):
        flow.confirm(token="x" * 43)
    assert snapshot(store) == before
    flow.confirm(token=outcome.token)
    before = snapshot(store)
    with pytest.raises(InvalidToken, match="already been used"):
        flow.confirm(token=outcome.token)
    assert snapshot(store) == before

    make_domain(store, "late.com")
    late = submitted(flow, "late.com")
    before = snapshot(store)
    with pytest.raises(InvalidToken, match="expired"):
        flow.confirm(token=late.token, now=utcnow() + timedelta(days=8))
    assert snapshot(store) == before
    assert flow.get(late.request.reference).state == "submitted"


def test_one_open_request_per_domain(store, flow, domain):
    first = submitted(flow)
    before = snapshot(store)
    with pytest.raises(
        RuleViolation, match=f"already has an open change request \\({first.request.reference}"
    ):
        submitted(flow)
    assert snapshot(store) == before
    flow.cancel(
        actor="staff:ann", reference=first.request.reference, reason="customer changed mind"
    )
    assert submitted(flow).request.state == "submitted"


def test_the_one_who_entered_a_request_cannot_approve_it(store, flow, domain):
    outcome = submitted(flow, actor="staff:ann", channel="phone")
    flow.confirm(token=outcome.token)
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="staff:ann entered request .* cannot also approve it"):
        flow.approve(actor="staff:ann", reference=outcome.request.reference)
    assert snapshot(store) == before
    assert (
        flow.approve(actor="staff:bob", reference=outcome.request.reference).request.state
        == "approved"
    )


def test_customers_cannot_approve_or_reject(store, flow, domain):
    outcome = submitted(flow)
    flow.confirm(token=outcome.token)
    with pytest.raises(RuleViolation, match="only Interlink staff"):
        flow.approve(actor="customer:portal", reference=outcome.request.reference)
    with pytest.raises(RuleViolation, match="only Interlink staff"):
        flow.reject(actor="registrant:X", reference=outcome.request.reference, reason="no")


@pytest.mark.parametrize("lock", ["clientUpdateProhibited", "serverUpdateProhibited"])
def test_a_locked_domain_cannot_be_changed(store, flow, lock):
    make_domain(store, "locked.com", statuses=[lock])
    before = snapshot(store)
    with pytest.raises(
        RuleViolation, match=f"locked.com has {lock}: its contacts cannot be changed"
    ):
        submitted(flow, "locked.com")
    assert snapshot(store) == before


def test_a_lock_set_after_approval_stops_the_apply(store, flow, domain):
    outcome = submitted(flow)
    flow.confirm(token=outcome.token)
    flow.approve(actor="staff:ann", reference=outcome.request.reference)
    current = store.get_domain("move-me.com")
    store.update_domain(
        "staff:ann", "move-me.com", current.version, {"statuses": ["clientUpdateProhibited"]}
    )
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="clientUpdateProhibited"):
        flow.apply(actor="staff:ann", reference=outcome.request.reference)
    assert snapshot(store) == before
    assert flow.get(outcome.request.reference).state == "approved"
    assert store.domain_record("move-me.com").contact("tech").is_house


def test_unknown_domain_is_not_found(flow):
    with pytest.raises(NotFound):
        submitted(flow, "not-ours.com")


def test_proposal_fields_are_validated_with_the_store_validators(store, flow, domain):
    before = snapshot(store)
    with pytest.raises(ValidationFailed) as info:
        flow.submit(
            actor="customer:portal",
            domain_name="move-me.com",
            proposal={**NEW_TECH, "email": "nope", "voice": "12", "org": ""},
            channel="portal",
        )
    assert {e.field for e in info.value.errors} >= {"email", "voice", "org"}
    assert snapshot(store) == before


def test_reject_needs_a_reason_and_a_confirmed_request(store, flow, domain):
    outcome = submitted(flow)
    with pytest.raises(RuleViolation, match="is submitted; to reject it it must be confirmed"):
        flow.reject(actor="staff:ann", reference=outcome.request.reference, reason="no")
    flow.confirm(token=outcome.token)
    with pytest.raises(ValidationFailed, match="reason"):
        flow.reject(actor="staff:ann", reference=outcome.request.reference, reason=" ")
    rejected = flow.reject(
        actor="staff:ann", reference=outcome.request.reference, reason="Unknown company"
    )
    assert (rejected.request.state, rejected.request.reason) == ("rejected", "Unknown company")
    assert store.domain_record("move-me.com").contact("tech").is_house


def test_unconfirmed_requests_expire_after_seven_days(store, flow, domain):
    outcome = submitted(flow)
    assert flow.expire_stale(now=utcnow() + timedelta(days=6)) == []
    expired = flow.expire_stale(now=utcnow() + timedelta(days=7, minutes=1))
    assert [o.request.reference for o in expired] == [outcome.request.reference]
    assert flow.get(outcome.request.reference).state == "expired"
    with pytest.raises(InvalidToken):
        flow.confirm(token=outcome.token)


def test_moving_back_to_the_house_contact(store, flow, domain):
    outcome = submitted(flow)
    flow.confirm(token=outcome.token)
    flow.approve_and_apply(actor="staff:ann", reference=outcome.request.reference)
    flow.mark_completed(reference=outcome.request.reference)
    back = flow.submit(
        actor="staff:bob",
        domain_name="move-me.com",
        proposal=None,
        channel="letter",
        target="house",
    )
    flow.confirm(token=back.token)
    flow.approve_and_apply(actor="staff:ann", reference=back.request.reference)
    assert store.domain_record("move-me.com").contact("tech").is_house
    flow.mark_completed(reference=back.request.reference)
    with pytest.raises(RuleViolation, match="already Interlink"):
        flow.submit(
            actor="staff:bob",
            domain_name="move-me.com",
            proposal=None,
            channel="letter",
            target="house",
        )


def test_sync_failure_and_retry(store, flow, domain):
    outcome = submitted(flow)
    flow.confirm(token=outcome.token)
    applied = flow.approve_and_apply(actor="staff:ann", reference=outcome.request.reference)
    failed = flow.mark_sync_failed(reference=outcome.request.reference, error="2306 policy")
    assert (failed.request.state, failed.request.sync_error) == ("sync_failed", "2306 policy")
    retried = flow.retry_sync(actor="staff:bob", reference=outcome.request.reference)
    assert retried.request.state == "applied"
    with store.read() as session:
        assert session.get(OutboxEntry, applied.request.outbox_id).status == "pending"
