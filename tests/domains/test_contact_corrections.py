"""A customer correcting their own contact: applied at once, a new address verified by link, and
a Change of Registrant that both parties confirm (or refuse), with the 60-day transfer lock.

Real parts: the store (SQLite, and PostgreSQL when configured), the .eml folder for the mail.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains import audit
from domains.contact_corrections import (
    CHANGE_EXPIRY,
    TRANSFER_LOCK,
    UNVERIFIED_AFTER,
    VERIFY_LINK,
    ContactCorrections,
    CorrectionOutcome,
    deliver,
)
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.errors import ConflictError, NotFound, RuleViolation, ValidationFailed
from domains.mailer import FolderMailer
from domains.models import Contact, OutboxEntry, utcnow
from domains.request_tokens import InvalidToken
from domains.store import Store
from portal.links import PortalLinks
from tests.support.factories import account_data, contact_data

BASE = "http://127.0.0.1:8080"
LINK = re.compile(re.escape(BASE) + r"/(verify-email|registrant-change)/([A-Za-z0-9_-]+)")


class Mailbox:
    """The corrections under test and the mail they sent, read from the .eml folder."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.links = PortalLinks(store.settings)
        self.corrections = ContactCorrections(store, self.links)

    def send(self, notice_ids: tuple[int, ...], contexts: dict | None = None) -> None:
        mailer = FolderMailer(self.folder)
        sent = deliver(self.store, notice_ids, contexts or {}, mailer=mailer, links=self.links)
        assert [n.status for n in sent] == ["sent"] * len(notice_ids), [n.error for n in sent]

    def deliver(self, outcome: CorrectionOutcome) -> None:
        self.send(outcome.notice_ids, dict(outcome.contexts))

    def mails(self) -> list[EmailMessage]:
        files = sorted(self.folder.glob("*.eml")) if self.folder.exists() else []
        return [
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails() if address in str(m["To"])]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def token_in(message: EmailMessage) -> str:
    found = LINK.search(text_of(message))
    assert found, "the mail carries no link"
    return found.group(2)


@pytest.fixture
def box(store: Store, tmp_path: Path) -> Mailbox:
    return Mailbox(store, tmp_path / "outbox")


def customer(store: Store, *tlds: str, role: str = "registrant") -> tuple[str, Contact]:
    """An account with a contact; for each TLD a domain where the contact holds `role`."""
    account = store.create_account("staff:test", account_data())
    contact = store.create_contact("staff:test", contact_data(), account_number=account.number)
    for n, tld in enumerate(tlds):
        roles = {"registrant": contact.handle}
        if role != "registrant":
            other = store.create_contact(
                "staff:test", contact_data(), account_number=account.number
            )
            roles = {"registrant": other.handle, role: contact.handle}
        store.create_domain(
            "staff:test",
            {"name": f"{contact.handle.lower()}-{n}.{tld}"},
            account_number=account.number,
            contacts=roles,
        )
    return account.number, contact


def outbox_of(store: Store, contact: Contact) -> list[OutboxEntry]:
    with store.read() as session:
        return list(
            session.execute(select(OutboxEntry).where(col(OutboxEntry.contact_id) == contact.id))
            .scalars()
            .all()
        )


def change_row(store: Store, reference: str) -> RegistrantChange:
    with store.read() as session:
        found = session.execute(
            select(RegistrantChange).where(col(RegistrantChange.reference) == reference)
        ).scalar_one()
        return found


def locks(store: Store) -> list[TransferLock]:
    with store.read() as session:
        return list(session.execute(select(TransferLock)).scalars().all())


# -- edits that apply at once ----------------------------------------------------------


def test_an_edit_applies_at_once_queues_the_registry_update_and_names_the_customer(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store, "com", role="admin")
    outcome = box.corrections.edit(
        number, contact.handle, contact.version, {"city": "Potsdam", "voice": "+49 331 977 0"}
    )
    assert outcome.result.applied == ("city", "voice")
    assert outcome.result.email is None and outcome.result.registrant_change is None
    assert outcome.notice_ids == ()
    after = store.get_contact(contact.handle)
    assert (after.city, after.voice) == ("Potsdam", "+49.3319770")
    assert outcome.result.version == after.version == contact.version + 1
    (entry,) = outbox_of(store, contact)
    assert entry.kind == "contact.update" and entry.payload["fields"] == ["city", "voice"]
    (event,) = audit.list_events(store, entity_type="contact", entity_id=contact.handle, limit=1)
    assert event.actor == f"customer:{number}"
    assert event.changes["city"] == {"before": "Berlin", "after": "Potsdam"}


def test_every_bad_field_is_named_at_once_and_nothing_changes(store: Store, box: Mailbox) -> None:
    number, contact = customer(store, "com", role="tech")
    with pytest.raises(ValidationFailed) as caught:
        box.corrections.edit(
            number,
            contact.handle,
            contact.version,
            {"city": "", "country": "XX", "voice": "call me", "email": "not an address"},
        )
    named = {e.field for e in caught.value.errors}
    assert {"city", "country", "voice", "email"} <= named
    assert all(e.message for e in caught.value.errors)
    assert store.get_contact(contact.handle).version == contact.version


def test_a_field_that_cannot_be_corrected_here_is_refused(store: Store, box: Mailbox) -> None:
    number, contact = customer(store)
    with pytest.raises(ValidationFailed) as caught:
        box.corrections.edit(number, contact.handle, contact.version, {"is_house": True})
    assert caught.value.for_field("is_house") == "cannot be changed here"


def test_a_stale_version_is_a_conflict_and_writes_nothing(store: Store, box: Mailbox) -> None:
    number, contact = customer(store, "com", role="tech")
    box.corrections.edit(number, contact.handle, contact.version, {"city": "Potsdam"})
    with pytest.raises(ConflictError) as caught:
        box.corrections.edit(number, contact.handle, contact.version, {"city": "Leipzig"})
    assert caught.value.current == contact.version + 1
    assert store.get_contact(contact.handle).city == "Potsdam"


def test_another_accounts_contact_is_not_found_like_one_that_does_not_exist(
    store: Store, box: Mailbox
) -> None:
    number, _mine = customer(store)
    _other_number, theirs = customer(store)
    with pytest.raises(NotFound) as foreign:
        box.corrections.edit(number, theirs.handle, theirs.version, {"city": "Potsdam"})
    with pytest.raises(NotFound) as missing:
        box.corrections.edit(number, "ILC999999", 1, {"city": "Potsdam"})
    assert str(foreign.value) == str(missing.value).replace("ILC999999", theirs.handle)
    assert store.get_contact(theirs.handle).city == "Berlin"
    house = store.house_contact()
    with pytest.raises(NotFound):
        box.corrections.edit(number, house.handle, house.version, {"city": "Potsdam"})


# -- a new e-mail address --------------------------------------------------------------


def test_a_new_address_waits_for_its_link_while_the_other_fields_apply(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store, "de")  # a ccTLD registrant: no change of registrant
    old = contact.email
    outcome = box.corrections.edit(
        number,
        contact.handle,
        contact.version,
        {"email": "New.Person@example.net", "city": "Potsdam"},
    )
    assert outcome.result.applied == ("city",)
    assert outcome.result.email is not None
    assert outcome.result.email.address == "New.Person@example.net"
    assert "verify_url" not in repr(outcome)  # the link is never shown, only mailed
    waiting = store.get_contact(contact.handle)
    assert (waiting.email, waiting.city) == (old, "Potsdam")

    box.deliver(outcome)
    (mail,) = box.to("New.Person@example.net")
    assert mail["Subject"] == "Please confirm your new e-mail address"
    assert not box.to(old)
    token = token_in(mail)
    with store.read() as session:
        row = session.execute(select(EmailVerification)).scalar_one()
    assert token not in row.token_hash and len(row.token_hash) == 64

    view = box.corrections.describe_verification(token)
    assert view.address == "New.Person@example.net" and view.handle == contact.handle
    assert store.get_contact(contact.handle).email == old  # describing changes nothing

    done = box.corrections.verify_email(token)
    after = store.get_contact(contact.handle)
    assert after.email == done.address == "New.Person@example.net"
    (event,) = audit.list_events(store, entity_type="contact", entity_id=contact.handle, limit=1)
    assert event.actor == f"customer:{number}"
    assert event.changes["email"] == {"before": old, "after": "New.Person@example.net"}

    with pytest.raises(InvalidToken, match="already been used") as reused:
        box.corrections.verify_email(token)
    assert reused.value.gone


def test_an_expired_unknown_or_replaced_link_is_refused(store: Store, box: Mailbox) -> None:
    number, contact = customer(store)
    long_ago = utcnow() - VERIFY_LINK - timedelta(minutes=1)
    first = box.corrections.edit(
        number, contact.handle, contact.version, {"email": "first@example.org"}, now=long_ago
    )
    box.deliver(first)
    expired = token_in(box.to("first@example.org")[0])
    with pytest.raises(InvalidToken, match="expired") as caught:
        box.corrections.verify_email(expired)
    assert caught.value.gone
    with pytest.raises(InvalidToken, match="not valid") as unknown:
        box.corrections.verify_email("x" * 43)
    assert not unknown.value.gone

    second = box.corrections.edit(
        number, contact.handle, contact.version, {"email": "a@example.org"}
    )
    third = box.corrections.edit(
        number, contact.handle, contact.version, {"email": "b@example.org"}
    )
    box.deliver(second)
    box.deliver(third)
    with pytest.raises(InvalidToken, match="newer change"):
        box.corrections.verify_email(token_in(box.to("a@example.org")[0]))
    box.corrections.verify_email(token_in(box.to("b@example.org")[0]))
    assert store.get_contact(contact.handle).email == "b@example.org"


def test_staff_see_new_addresses_left_unverified_for_fifteen_days(
    store: Store, box: Mailbox
) -> None:
    now = utcnow()
    number, stale = customer(store)
    _n2, recent = customer(store)
    number3, verified = customer(store)
    box.corrections.edit(
        number,
        stale.handle,
        stale.version,
        {"email": "stale@example.com"},
        now=now - UNVERIFIED_AFTER - timedelta(hours=1),
    )
    box.corrections.edit(_n2, recent.handle, recent.version, {"email": "recent@example.com"})
    done = box.corrections.edit(
        number3,
        verified.handle,
        verified.version,
        {"email": "done@example.com"},
        now=now - UNVERIFIED_AFTER - timedelta(days=1) + VERIFY_LINK / 2,
    )
    box.deliver(done)
    box.corrections.verify_email(
        token_in(box.to("done@example.com")[0]), now=now - UNVERIFIED_AFTER
    )
    (listed,) = box.corrections.unverified_for_staff(now)
    assert (listed.handle, listed.account_number, listed.address) == (
        stale.handle,
        number,
        "stale@example.com",
    )
    assert listed.link_expired


# -- change of registrant ---------------------------------------------------------------


def start_change(box: Mailbox, store: Store, *, now=None) -> tuple[str, Contact, CorrectionOutcome]:
    number, contact = customer(store, "com", "org", "de")
    outcome = box.corrections.edit(
        number,
        contact.handle,
        contact.version,
        {"name": "Erika Neu", "email": "erika@example.net", "city": "Potsdam"},
        now=now,
    )
    return number, contact, outcome


def test_a_change_of_registrant_applies_only_after_both_confirm_and_locks_the_gtlds(
    store: Store, box: Mailbox
) -> None:
    number, contact, outcome = start_change(box, store)
    pending = outcome.result.registrant_change
    assert pending is not None and outcome.result.applied == ()
    assert pending.fields == ("name", "city", "email")
    assert sorted(pending.domains) == sorted(
        [f"{contact.handle.lower()}-0.com", f"{contact.handle.lower()}-1.org"]
    )  # the .de domain is a ccTLD: outside the Transfer Policy
    unchanged = store.get_contact(contact.handle)
    assert (unchanged.name, unchanged.email, unchanged.city) == (
        contact.name,
        contact.email,
        "Berlin",
    )

    box.deliver(outcome)
    (to_prior,) = box.to(contact.email)
    (to_new,) = box.to("erika@example.net")
    assert pending.reference in to_prior["Subject"] and pending.reference in to_new["Subject"]
    assert "choose not to have" in text_of(to_new) and "choose not to" not in text_of(to_prior)
    prior_token, new_token = token_in(to_prior), token_in(to_new)
    assert prior_token != new_token

    view = box.corrections.describe_registrant_change(new_token)
    assert view.party == "new" and not view.prior_confirmed

    with pytest.raises(ValidationFailed, match="only the new registrant"):
        box.corrections.confirm_registrant_change(prior_token, lock_opt_out=True)
    first = box.corrections.confirm_registrant_change(prior_token)
    assert first.change.prior_confirmed and not first.change.new_confirmed
    assert first.notice_ids == ()
    assert store.get_contact(contact.handle).name == contact.name
    with pytest.raises(InvalidToken, match="already confirmed"):
        box.corrections.confirm_registrant_change(prior_token)
    with pytest.raises(RuleViolation, match=pending.reference):
        box.corrections.edit(number, contact.handle, contact.version, {"city": "Leipzig"})

    before = utcnow()
    done = box.corrections.confirm_registrant_change(new_token)
    assert done.change.state == "applied"
    after = store.get_contact(contact.handle)
    assert (after.name, after.email, after.city) == ("Erika Neu", "erika@example.net", "Potsdam")
    (event,) = audit.list_events(store, entity_type="contact", entity_id=contact.handle, limit=1)
    assert event.actor == f"customer:{number}" and event.request_ref == pending.reference
    held = locks(store)
    assert len(held) == 2  # .com and .org, not .de
    for lock in held:
        assert lock.change_ref == pending.reference
        assert before + TRANSFER_LOCK <= lock.until <= utcnow() + TRANSFER_LOCK
    lock_view = box.corrections.transfer_lock(f"{contact.handle.lower()}-0.com")
    assert lock_view is not None and lock_view.change_ref == pending.reference
    assert box.corrections.transfer_lock(f"{contact.handle.lower()}-2.de") is None
    assert outbox_of(store, contact)  # the registry learns the new details
    # ... as a contact.update of the same contact object: the registrant of each domain is still
    # that contact, so no domain.update (a change of which contact is the registrant) is queued.
    assert {e.kind for e in outbox_of(store, contact)} == {"contact.update"}
    with store.read() as session:
        kinds = set(session.execute(select(col(OutboxEntry.kind))).scalars())
    assert "domain.update" not in kinds
    for n, tld in enumerate(("com", "org", "de")):
        record = store.domain_record(f"{contact.handle.lower()}-{n}.{tld}")
        assert record.contact("registrant").handle == contact.handle

    box.send(done.notice_ids)
    (done_prior,) = [m for m in box.to(contact.email) if "made" in m["Subject"]]
    (done_new,) = [m for m in box.to("erika@example.net") if "made" in m["Subject"]]
    for mail in (done_prior, done_new):
        assert f"until {held[0].until.day} " in " ".join(text_of(mail).split())
    with pytest.raises(InvalidToken, match="applied") as spent:
        box.corrections.confirm_registrant_change(new_token)
    assert spent.value.gone


def test_the_new_registrant_may_opt_out_of_the_transfer_lock(store: Store, box: Mailbox) -> None:
    _number, contact, outcome = start_change(box, store)
    box.deliver(outcome)
    new_token = token_in(box.to("erika@example.net")[0])
    box.corrections.confirm_registrant_change(new_token, lock_opt_out=True)
    done = box.corrections.confirm_registrant_change(token_in(box.to(contact.email)[0]))
    assert done.change.state == "applied" and done.change.lock_opt_out
    assert store.get_contact(contact.handle).name == "Erika Neu"
    assert locks(store) == []
    box.send(done.notice_ids)
    (mail,) = [m for m in box.to("erika@example.net") if "made" in m["Subject"]]
    assert "chose not to have the 60-day lock" in " ".join(text_of(mail).split())


@pytest.mark.parametrize("party", ["prior", "new"])
def test_either_party_may_refuse_and_nothing_changes(
    store: Store, box: Mailbox, party: str
) -> None:
    _number, contact, outcome = start_change(box, store)
    box.deliver(outcome)
    prior_token = token_in(box.to(contact.email)[0])
    new_token = token_in(box.to("erika@example.net")[0])
    box.corrections.confirm_registrant_change(new_token if party == "prior" else prior_token)
    refused = box.corrections.refuse_registrant_change(
        prior_token if party == "prior" else new_token
    )
    assert refused.change.state == "refused"
    row = change_row(store, refused.change.reference)
    assert row.refused_by == party and row.decided_at is not None
    after = store.get_contact(contact.handle)
    assert (after.name, after.email, after.version) == (
        contact.name,
        contact.email,
        contact.version,
    )
    assert locks(store) == []
    box.send(refused.notice_ids)
    for address in (contact.email, "erika@example.net"):
        (mail,) = [m for m in box.to(address) if "refused" in m["Subject"]]
        who = "current" if party == "prior" else "new"
        assert f"The {who} registrant refused" in " ".join(text_of(mail).split())
    for token in (prior_token, new_token):
        with pytest.raises(InvalidToken, match="refused"):
            box.corrections.confirm_registrant_change(token)


def test_a_change_not_confirmed_in_time_expires(store: Store, box: Mailbox) -> None:
    started = utcnow() - CHANGE_EXPIRY - timedelta(minutes=1)
    number, contact, outcome = start_change(box, store, now=started)
    box.deliver(outcome)
    prior_token = token_in(box.to(contact.email)[0])
    box.corrections.confirm_registrant_change(prior_token, now=started + timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        box.corrections.confirm_registrant_change(token_in(box.to("erika@example.net")[0]))
    # The contact may be corrected again as soon as the change has run out.
    assert box.corrections.pending(number, contact.handle).registrant_change is None

    (expired,) = box.corrections.expire_registrant_changes()
    assert expired.change.state == "expired"
    assert box.corrections.expire_registrant_changes() == []
    assert store.get_contact(contact.handle).name == contact.name
    box.send(expired.notice_ids)
    assert [m for m in box.to(contact.email) if "expired" in m["Subject"]]
    assert [m for m in box.to("erika@example.net") if "expired" in m["Subject"]]


def test_a_registrant_name_change_keeps_the_address_and_mails_it_twice(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store, "com")
    outcome = box.corrections.edit(number, contact.handle, contact.version, {"org": "Neu GmbH"})
    assert outcome.result.registrant_change is not None
    box.deliver(outcome)
    prior_mail, new_mail = box.to(contact.email)
    assert token_in(prior_mail) != token_in(new_mail)
    for mail in (prior_mail, new_mail):
        box.corrections.confirm_registrant_change(token_in(mail))
    assert store.get_contact(contact.handle).org == "Neu GmbH"


def test_an_address_waiting_for_its_link_is_not_used_once_the_contact_became_a_registrant(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store)
    outcome = box.corrections.edit(
        number, contact.handle, contact.version, {"email": "later@example.com"}
    )
    box.deliver(outcome)
    store.create_domain(
        "staff:test",
        {"name": f"{contact.handle.lower()}-late.com"},
        account_number=number,
        contacts={"registrant": contact.handle},
    )
    token = token_in(box.to("later@example.com")[0])
    with pytest.raises(RuleViolation, match="both registrants must confirm"):
        box.corrections.verify_email(token)
    assert store.get_contact(contact.handle).email == contact.email
    with pytest.raises(InvalidToken, match="no longer works"):
        box.corrections.verify_email(token)


def test_the_edit_form_reads_what_waits_and_whose_registrant_it_is(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store, "com", "de")
    form = box.corrections.editable(number, contact.handle)
    assert form.registrant_of == (f"{contact.handle.lower()}-0.com",)
    assert form.values["city"] == "Berlin" and form.version == contact.version
    assert form.pending.email is None and form.pending.registrant_change is None
    box.corrections.edit(number, contact.handle, contact.version, {"name": "Neu"})
    waiting = box.corrections.editable(number, contact.handle).pending.registrant_change
    assert waiting is not None and waiting.fields == ("name",)
    _other, theirs = customer(store)
    with pytest.raises(NotFound):
        box.corrections.editable(number, theirs.handle)


def test_a_link_mail_without_its_link_fails_plainly_instead_of_going_out_empty(
    store: Store, box: Mailbox
) -> None:
    number, contact = customer(store)
    outcome = box.corrections.edit(
        number, contact.handle, contact.version, {"email": "nolink@example.com"}
    )
    sent = deliver(store, outcome.notice_ids, {}, mailer=FolderMailer(box.folder), links=box.links)
    assert [n.status for n in sent] == ["failed"]
    assert "verify_url" in (sent[0].error or "")
    assert box.mails() == []


def test_the_sync_workers_housekeeping_ends_changes_not_confirmed_in_time(
    store: Store, box: Mailbox
) -> None:
    from publishers.sync.housekeeping import Housekeeping
    from publishers.sync.report import SyncReport

    started = utcnow() - CHANGE_EXPIRY - timedelta(minutes=1)
    _, _, outcome = start_change(box, store, now=started)
    assert outcome.result.registrant_change is not None
    reference = outcome.result.registrant_change.reference
    Housekeeping(store, None, expire_requests=False).housekeeping(SyncReport())
    assert change_row(store, reference).state == "pending"  # only a worker that expires does
    Housekeeping(store, None, expire_requests=True).housekeeping(SyncReport())
    assert change_row(store, reference).state == "expired"
