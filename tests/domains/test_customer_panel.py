"""The customer's control panel, domain side: an account sees and changes its own records only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from domains import notice_delivery
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.customer_panel import VERIFICATION_REF, CustomerPanel, actor_words
from domains.errors import ConflictError, NotFound, ValidationFailed
from domains.grants import apply_grants
from domains.mailer import FolderMailer
from domains.models import (
    AuditEvent,
    Notice,
    OutboxEntry,
    PublishedAnswer,
    utcnow,
)
from domains.settings import Settings
from domains.store import Store
from domains.vocabulary import AccessPurpose, ContactRole
from portal.links import PortalLinks
from publishers.customer_preview import PolicyLens, consent_preview, customer_panel
from publishers.profiles import PROFILES
from publishers.published import Publication, publish
from publishers.whois_server import whois_lookup
from tests.support.factories import account_data, contact_data
from tests.support.large_account import BIG_ACCOUNT_DOMAINS, fill
from tests.support.notices import essential, make_request, queue_many
from tests.support.records import make_contact, make_record
from tests.support.staff import seed_staff

ANSWERS = PublishedAnswer.__table__  # type: ignore[attr-defined]


class Customer:
    """One account with its contacts and domains, made through the store as staff would."""

    def __init__(self, store: Store, tag: str, domains: list[str]) -> None:
        self.account = store.create_account(
            "staff:ann", account_data(email=f"holder.{tag}@example.com")
        )
        self.number = self.account.number
        self.registrant = store.create_contact(
            "staff:ann",
            contact_data(name=f"Rita {tag.title()}", email=f"rita.{tag}@example.org"),
            account_number=self.number,
        )
        self.admin = store.create_contact(
            "staff:ann",
            contact_data(
                kind="organization",
                name=f"Adam {tag.title()}",
                org=f"{tag.title()} Widgets Ltd",
                email=f"admin.{tag}@example.net",
            ),
            account_number=self.number,
        )
        self.domains = [
            store.create_domain(
                "staff:ann",
                {"name": name},
                account_number=self.number,
                contacts={"registrant": self.registrant.handle, "admin": self.admin.handle},
            )
            for name in domains
        ]

    @property
    def actor(self) -> str:
        return f"customer:{self.number}"


@pytest.fixture
def panel(store: Store) -> CustomerPanel:
    return customer_panel(store)


@pytest.fixture
def ours(store: Store) -> Customer:
    return Customer(store, "ours", ["panel-alpha.com", "panel-beta.net"])


@pytest.fixture
def theirs(store: Store) -> Customer:
    return Customer(store, "theirs", ["elsewhere-gamma.org"])


def audit_of(store: Store, entity_type: str, entity_id: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def count(store: Store, model: Any) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# -- the overview ----------------------------------------------------------------------------


def test_the_overview_holds_the_accounts_domains_roles_and_contacts(
    store: Store, panel: CustomerPanel, ours: Customer, theirs: Customer
) -> None:
    until = utcnow() + timedelta(days=60)
    with store.write() as session:
        session.add(TransferLock(domain_id=ours.domains[1].id, until=until, reason="registrant"))

    overview = panel.overview(ours.number.lower())  # the number in any case

    assert overview.account.number == ours.number
    assert overview.account.email == "holder.ours@example.com"
    assert overview.account.receives_marketing
    assert [d.name for d in overview.domains] == ["panel-alpha.com", "panel-beta.net"]
    alpha, beta = overview.domains
    house = store.house_contact()
    assert list(alpha.roles) == ["registrant", "admin", "tech"]
    assert alpha.roles["registrant"].handle == ours.registrant.handle
    assert alpha.roles["registrant"].name == "Rita Ours" and alpha.roles["registrant"].yours
    assert alpha.roles["admin"].name == "Adam Ours (Ours Widgets Ltd)"
    assert alpha.roles["tech"].handle == house.handle and not alpha.roles["tech"].yours
    assert alpha.lock_until is None
    assert beta.lock_until == until
    # Its own contacts only (not Interlink's), each with what the public sees in one line.
    assert [c.handle for c in overview.contacts] == sorted(
        [ours.registrant.handle, ours.admin.handle]
    )
    summary = {c.handle: c for c in overview.contacts}
    registrant = summary[ours.registrant.handle]
    assert registrant.roles == 2
    assert registrant.public is not None
    assert registrant.public.startswith("Public (registrant): State/province Berlin; Country DE")
    assert "Redacted: Name, Street, City, Postal code, Phone, E-mail" in registrant.public
    assert "Rita" not in registrant.public  # the name is not public without consent
    # The admin role is not in the public answers under the default profile.
    assert summary[ours.admin.handle].public == (
        "Not published: the public answers do not show the admin contact."
    )
    everything = json.dumps([str(overview)])
    assert "elsewhere-gamma" not in everything and theirs.registrant.handle not in everything

    assert [d.name for d in panel.overview(theirs.number).domains] == ["elsewhere-gamma.org"]
    with pytest.raises(NotFound):
        panel.overview("A-999999")


def test_without_a_lens_the_views_leave_the_public_parts_out(store: Store, ours: Customer) -> None:
    bare = CustomerPanel(store)
    assert all(c.public is None for c in bare.overview(ours.number).contacts)
    page = bare.contact(ours.number, ours.registrant.handle)
    assert page.preview_whois is None and all(f.whois is None for f in page.fields)
    assert page.fields[0].value == "Rita Ours"


# -- one contact -----------------------------------------------------------------------------


def test_another_accounts_contact_is_not_found_exactly_like_a_missing_one(
    store: Store, panel: CustomerPanel, ours: Customer, theirs: Customer
) -> None:
    before = count(store, AuditEvent)
    house = store.house_contact()
    refusals = []
    for handle in (theirs.registrant.handle, house.handle, "ILC999999"):
        with pytest.raises(NotFound) as caught:
            panel.contact(ours.number, handle)
        refusals.append((caught.value.entity, caught.value.key == handle))
        with pytest.raises(NotFound):
            panel.set_consent(ours.number, handle, {"name"})
        with pytest.raises(NotFound):
            consent_preview(panel, ours.number, handle, {"name"}, PolicyLens(store.settings))
        assert not panel.owns_contact(ours.number, handle)
    assert refusals == [("contact", True)] * 3
    assert count(store, AuditEvent) == before  # nothing written
    assert store.get_contact(theirs.registrant.handle).consent_fields == []
    assert panel.owns_contact(ours.number, ours.registrant.handle)


def test_a_contact_page_shows_every_field_beside_what_whois_and_rdap_show(
    store: Store, panel: CustomerPanel, ours: Customer
) -> None:
    page = panel.contact(ours.number, ours.registrant.handle)
    rows = {row.field: row for row in page.fields}
    assert list(rows) == [
        "name",
        "org",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "voice",
        "voice_ext",
        "fax",
        "fax_ext",
        "email",
    ]
    assert rows["name"].value == "Rita Ours"
    assert (rows["name"].whois, rows["name"].published) == ("REDACTED FOR PRIVACY", False)
    assert rows["name"].rdap == "empty (listed as redacted)"
    assert (rows["country"].whois, rows["country"].rdap) == ("DE", "DE")
    assert rows["email"].value == "rita.ours@example.org"
    assert rows["email"].whois.startswith("https://") and "example.org" not in rows["email"].whois
    assert rows["voice"].rdap == "left out (listed as redacted)"
    assert rows["name"].consentable and not rows["country"].consentable
    assert [r.field for r in page.fields if r.consentable] == [
        "name",
        "org",
        "street",
        "city",
        "postal_code",
        "voice",
        "fax",
        "email",
    ]
    # The preview is the exact public WHOIS answer of its first domain, as the registrant.
    assert (page.preview_domain, page.preview_role) == ("panel-alpha.com", "registrant")
    assert page.preview_whois is not None
    live = whois_lookup(store, cache_bytes=0).answer("panel-alpha.com").body
    assert live is not None
    assert stampless(page.preview_whois) == stampless(live.decode())
    assert page.roles == [
        {"domain": "panel-alpha.com", "unicode_name": "panel-alpha.com", "role": "registrant"},
        {"domain": "panel-beta.net", "unicode_name": "panel-beta.net", "role": "registrant"},
    ]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_what_the_overview_says_is_public_is_what_the_policy_publishes(profile: str) -> None:
    """The lens decides once per role, kind, house flag and consent (on a stand-in contact):
    for every such contact it must give exactly the fields the policy's own view publishes."""
    lens = PolicyLens(Settings(), profile)
    consents = [(), ("name",), ("email", "voice"), ("org", "street", "city", "postal_code")]
    for role in ContactRole:
        for kind in ("person", "organization"):
            for is_house in (False, True):
                for consent in consents:
                    contact = make_contact(kind=kind, is_house=is_house, consent_fields=consent)
                    role_view = lens.view(make_record({role: contact})).role(role)
                    expected = (
                        frozenset(
                            f.field for f in role_view.fields if f.published and f.field != "handle"
                        )
                        if role_view.shown
                        else None
                    )
                    columns = {name: getattr(contact, name) for name in ("kind", "is_house")}
                    columns["consent_fields"] = list(consent)
                    assert lens.shown_fields(role, columns) == expected, (role, kind, consent)


def stampless(text: str) -> str:
    """A WHOIS answer without its own generation time."""
    return "\n".join(line for line in text.splitlines() if "Last update of WHOIS" not in line)


# -- consent -----------------------------------------------------------------------------------


def test_consent_is_saved_with_when_and_how_and_the_public_answer_changes_at_once(
    store: Store, panel: CustomerPanel, ours: Customer
) -> None:
    publication = Publication(store.settings)
    publish(store, publication)
    lookup = whois_lookup(store)
    first = lookup.answer("panel-alpha.com").body or b""
    assert b"Registrant Name: REDACTED FOR PRIVACY" in first
    assert lookup.stats["published"] == 1  # the answer rendered ahead was served
    version = store.get_contact(ours.registrant.handle).version
    outbox_before = count(store, OutboxEntry)
    started = utcnow()

    page = panel.set_consent(
        ours.number, ours.registrant.handle, {"email", "name"}, expected_version=version
    )

    contact = store.get_contact(ours.registrant.handle)
    assert contact.consent_fields == ["name", "email"]
    assert contact.consent_method == "portal"
    assert contact.consent_at is not None and started <= contact.consent_at <= utcnow()
    assert contact.version == version + 1
    [event] = [
        e for e in audit_of(store, "contact", contact.handle) if e.action == "contact.update"
    ]
    assert event.actor == ours.actor
    assert set(event.changes) == {"consent_fields", "consent_at", "consent_method"}
    # The registry learns it, as after any other change of a contact (one entry per TLD).
    assert count(store, OutboxEntry) == outbox_before + 2
    # The answer rendered ahead is stale from the same transaction: the next answer is new.
    with store.engine.connect() as conn:
        keys = dict(conn.execute(select(ANSWERS.c.name, ANSWERS.c.render_key)).all())
    assert keys["panel-alpha.com"] == "" and keys["panel-beta.net"] == ""
    after = lookup.answer("panel-alpha.com").body or b""
    assert b"Registrant Name: Rita Ours" in after
    assert b"Registrant Email: rita.ours@example.org" in after
    assert b"Registrant Street: REDACTED FOR PRIVACY" in after
    # The page says when and how each consent was given.
    rows = {row.field: row for row in page.fields}
    for name in ("name", "email"):
        assert rows[name].consented and rows[name].published
        assert rows[name].consent_at == contact.consent_at
        assert rows[name].consent_method == "portal"
    assert not rows["street"].consented and rows["street"].consent_at is None
    assert rows["name"].whois == "Rita Ours"

    # Consent to one more field later keeps the time the first ones were given.
    later = panel.set_consent(ours.number, ours.registrant.handle, {"email", "name", "city"})
    rows = {row.field: row for row in later.fields}
    assert rows["name"].consent_at == contact.consent_at
    assert rows["city"].consent_at is not None and rows["city"].consent_at > contact.consent_at
    # Consent as it stands writes nothing; withdrawing all of it hides the fields again.
    events = len(audit_of(store, "contact", contact.handle))
    panel.set_consent(ours.number, ours.registrant.handle, ["city", "email", "name"])
    assert len(audit_of(store, "contact", contact.handle)) == events
    panel.set_consent(ours.number, ours.registrant.handle, set())
    withdrawn = store.get_contact(ours.registrant.handle)
    assert withdrawn.consent_fields == [] and withdrawn.consent_method is None
    assert b"Registrant Name: REDACTED FOR PRIVACY" in (
        lookup.answer("panel-alpha.com").body or b""
    )
    lookup.close()


def test_a_consent_preview_shows_the_answer_to_be_and_stores_nothing(
    store: Store, panel: CustomerPanel, ours: Customer
) -> None:
    version = store.get_contact(ours.registrant.handle).version
    preview = consent_preview(panel, ours.number, ours.registrant.handle, ["voice", "name"])
    assert preview.domain == "panel-alpha.com" and preview.role == "registrant"
    assert preview.consent_fields == ["name", "voice"]
    assert preview.before_whois and preview.after_whois
    assert "Registrant Name: REDACTED FOR PRIVACY" in preview.before_whois
    assert "Registrant Name: Rita Ours" in preview.after_whois
    assert "Registrant Phone: +49.30901820" in preview.after_whois
    assert "Registrant Name: Rita Ours" in preview.after_rdap
    assert "Registrant Name: empty (listed as redacted)" in preview.before_rdap
    assert preview.newly_public == ["name", "voice", "voice_ext"]
    assert preview.newly_hidden == []
    assert store.get_contact(ours.registrant.handle).version == version
    assert store.get_contact(ours.registrant.handle).consent_fields == []


def test_consent_to_a_field_that_takes_none_or_on_a_stale_page_is_refused(
    store: Store, panel: CustomerPanel, ours: Customer
) -> None:
    handle = ours.registrant.handle
    with pytest.raises(ValidationFailed) as refused:
        panel.set_consent(ours.number, handle, {"name", "country"})
    assert refused.value.for_field("consent_fields") is not None
    assert "country cannot be consented to" in str(refused.value)
    stale = store.get_contact(handle).version
    store.update_contact("staff:ann", handle, stale, {"city": "Potsdam"})
    with pytest.raises(ConflictError):
        panel.set_consent(ours.number, handle, {"name"}, expected_version=stale)
    assert store.get_contact(handle).consent_fields == []


# -- marketing ---------------------------------------------------------------------------------


def test_marketing_opt_out_and_back_in_are_the_customers_audited_changes(
    store: Store, panel: CustomerPanel, ours: Customer
) -> None:
    started = utcnow()
    summary = panel.set_marketing(ours.number, True)
    account = store.get_account(ours.number)
    assert account.marketing_opt_out_at is not None
    assert started <= account.marketing_opt_out_at <= utcnow()
    assert account.marketing_opt_out_via == "control panel"
    assert not summary.receives_marketing and summary.marketing_opt_out_via == "control panel"
    # Opting out again keeps the first time.
    panel.set_marketing(ours.number, True)
    assert store.get_account(ours.number).marketing_opt_out_at == account.marketing_opt_out_at

    back = panel.set_marketing(ours.number, False)
    account = store.get_account(ours.number)
    assert (account.marketing_opt_out_at, account.marketing_opt_out_via) == (None, None)
    assert back.receives_marketing
    updates = [e for e in audit_of(store, "account", ours.number) if e.action == "account.update"]
    assert [e.actor for e in updates] == [ours.actor, ours.actor]
    assert set(updates[0].changes) == {
        "marketing_opt_out_at",
        "marketing_opt_out_via",
        "marketing_opt_out_by",
    }
    assert updates[0].changes["marketing_opt_out_by"]["after"] == ours.actor
    assert updates[1].changes["marketing_opt_out_via"] == {
        "before": "control panel",
        "after": None,
    }


# -- the download ------------------------------------------------------------------------------


def test_the_download_holds_the_accounts_records_and_none_of_another(
    store: Store, panel: CustomerPanel, ours: Customer, theirs: Customer, tmp_path: Path
) -> None:
    # Changes by the customer, by staff and by the system; looks by staff; requests; notices.
    panel.set_consent(ours.number, ours.registrant.handle, {"email"})
    panel.set_marketing(ours.number, True)
    store.update_contact(
        "staff:ann",
        ours.admin.handle,
        store.get_contact(ours.admin.handle).version,
        {"city": "Köln"},
    )
    store.update_contact(
        "staff:bob",
        theirs.admin.handle,
        store.get_contact(theirs.admin.handle).version,
        {"city": "Mainz"},
    )
    store.update_domain("system:sync", "panel-alpha.com", None, {"roid": "D42-COM"})
    store.look_at_contact("staff:ann", ours.registrant.handle, AccessPurpose.CONTACT_EDIT)
    store.look_at_contact("staff:sam", theirs.registrant.handle, AccessPurpose.DOMAIN_SCREEN)
    make_request(store, ours.domains[0], reference="TC-OURS1", state="completed")
    make_request(store, theirs.domains[0], reference="TC-THEM1", state="completed")
    ids = queue_many(
        store,
        essential("request_completed", "TC-OURS1", contact_id=ours.registrant.id),
        essential("request_completed", "TC-THEM1", contact_id=theirs.registrant.id),
    )
    notice_delivery.deliver(
        store, ids, mailer=FolderMailer(tmp_path / "mail"), links=PortalLinks(store.settings)
    )
    with store.write() as session:
        session.add(
            TransferLock(domain_id=ours.domains[0].id, until=utcnow(), reason="registrant change")
        )
    corrections_of(store, ours, "RC-OURS")
    corrections_of(store, theirs, "RC-THEM")

    data = panel.account_data(ours.number)
    text = json.dumps(data)  # JSON-ready as it is

    assert data["account"]["number"] == ours.number
    assert data["account"]["marketing_opt_out_via"] == "control panel"
    assert [c["handle"] for c in data["contacts"]] == sorted(
        [ours.registrant.handle, ours.admin.handle]
    )
    registrant = next(c for c in data["contacts"] if c["handle"] == ours.registrant.handle)
    assert registrant["email"] == "rita.ours@example.org"
    assert registrant["consent_fields"] == ["email"] and registrant["consent_method"] == "portal"
    assert [d["name"] for d in data["domains"]] == ["panel-alpha.com", "panel-beta.net"]
    alpha = data["domains"][0]
    assert alpha["roles"]["registrant"]["handle"] == ours.registrant.handle
    assert alpha["transfer_lock"]["reason"] == "registrant change"
    assert [r["reference"] for r in data["change_requests"]] == ["TC-OURS1"]
    assert data["change_requests"][0]["entered_by"] == "system"  # the public form
    notice, done, verify = data["notices"]
    assert notice["subject"] and notice["category"] == "essential" and notice["sent_at"]
    assert notice["status"] == "sent"
    assert (done["subject"], verify["subject"]) == ("Change of registrant RC-OURS", "Verify")
    [change] = data["registrant_changes"]
    assert change["reference"] == "RC-OURS" and change["contact"] == ours.registrant.handle
    assert change["requested_by"] == "you" and change["fields"] == ["name"]
    [verification] = data["email_verifications"]
    assert verification["new_email"] == "new.ours@example.org"
    assert verification["verified_at"] is None and verification["requested_by"] == "you"

    by = {(c["action"], c["entity"]): c["by"] for c in data["changes"]}
    assert by["contact.update", f"contact {ours.registrant.handle}"] == "you"
    assert by["account.update", f"account {ours.number}"] == "you"
    assert by["contact.update", f"contact {ours.admin.handle}"] == "Interlink staff"
    assert by["domain.update", "domain panel-alpha.com"] == "system"
    [staff_edit] = [
        c
        for c in data["changes"]
        if c["entity"] == f"contact {ours.admin.handle}" and c["action"] == "contact.update"
    ]
    assert staff_edit["fields"] == ["city"]

    [look] = data["staff_access"]
    assert look["purpose"] == "contact edit"
    assert look["role"] == "privacy, supervisor"  # ann's roles, never her name
    assert look["contact"] == ours.registrant.handle

    # Nothing of the other account, and no member of staff by name.
    for theirs_value in (
        theirs.number,
        theirs.registrant.handle,
        theirs.admin.handle,
        "rita.theirs@example.org",
        "holder.theirs@example.com",
        "elsewhere-gamma",
        "TC-THEM1",
        "RC-THEM",
        "new.theirs@example.org",
        "Mainz",
        "domain screen",
    ):
        assert theirs_value not in text, theirs_value
    for staff in ("staff:", '"ann"', "Ann", "Bob", "Sam"):
        assert staff not in text, staff


def test_under_the_portals_database_role_the_panel_reads_and_writes(
    pg_store: Store, tmp_path: Path
) -> None:
    """On PostgreSQL the portal runs as interlink_portal: every read and write of the panel is
    within its grants (domains/grants.py)."""
    seed_staff(pg_store)
    apply_grants(pg_store.engine, pg_store.staff.members())
    ours = Customer(pg_store, "granted", ["granted-panel.com"])
    url = pg_store.engine.url.set(username="interlink_portal", password=None)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False), data_dir=tmp_path / "data"
    )
    portal_store = Store.open(settings=settings, migrate=False)
    try:
        panel = customer_panel(portal_store)
        assert [d.name for d in panel.overview(ours.number).domains] == ["granted-panel.com"]
        panel.set_consent(ours.number, ours.registrant.handle, {"name"})
        assert consent_preview(panel, ours.number, ours.registrant.handle, {"email"}).domain
        panel.set_marketing(ours.number, True)
        data = panel.account_data(ours.number)
        assert data["contacts"][0]["consent_fields"] == ["name"]
        assert any(c["by"] == "you" for c in data["changes"])
    finally:
        portal_store.close()
    assert pg_store.get_account(ours.number).marketing_opt_out_via == "control panel"


def corrections_of(store: Store, who: Customer, reference: str) -> None:
    """A change of registrant and an e-mail verification of the customer's registrant, each
    with a notice sent about it (rows written straight: their workflow is not under test)."""
    later = utcnow() + timedelta(days=14)
    with store.write() as session:
        change = RegistrantChange(
            reference=reference,
            contact_id=who.registrant.id,
            account_id=who.account.id,
            state="pending",
            changes={"name": {"before": "Rita", "after": "Rolf"}},
            prior_email=who.registrant.email,
            new_email=f"rolf.{reference.lower()}@example.org",
            prior_token_hash=f"p{reference}",
            new_token_hash=f"n{reference}",
            requested_by=who.actor,
            expires_at=later,
        )
        tag = who.registrant.email.split("@")[0].split(".")[-1]
        verification = EmailVerification(
            contact_id=who.registrant.id,
            new_email=f"new.{tag}@example.org",
            token_hash=f"v{reference}",
            requested_by=who.actor,
            expires_at=later,
        )
        session.add_all([change, verification])
        session.flush()
        for template, ref, subject in (
            ("registrant_change_done", reference, f"Change of registrant {reference}"),
            ("email_verify", f"{VERIFICATION_REF}{verification.id}", "Verify"),
        ):
            session.add(
                Notice(
                    category="essential",
                    template=template,
                    recipient="new_email",
                    subject_ref=ref,
                    status="sent",
                    subject=subject,
                    sent_at=utcnow(),
                )
            )


def test_actor_words_name_no_member_of_staff() -> None:
    assert actor_words("customer:A-1001", "a-1001") == "you"
    assert actor_words("customer:A-1002", "A-1001") == "system"
    assert actor_words("staff:ann", "A-1001") == "Interlink staff"
    assert actor_words("system:sync", "A-1001") == "system"
    assert actor_words("customer:portal", "A-1001") == "system"


# -- a large account in a large store ----------------------------------------------------------


@pytest.mark.slow
def test_the_overview_of_a_thousand_domains_is_quick_in_a_large_store(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'big.db'}", data_dir=tmp_path / "d")
    store = Store.open(settings=settings)
    seed_staff(store)
    try:
        number = fill(store)
        panel = customer_panel(store)
        overview = panel.overview(number)  # warm: the first read maps the file
        assert len(overview.domains) == BIG_ACCOUNT_DOMAINS
        assert len(overview.contacts) == BIG_ACCOUNT_DOMAINS
        assert all(set(d.roles) == {"registrant", "tech"} for d in overview.domains)
        public = {c.public for c in overview.contacts}
        assert any(p and "E-mail person" in p for p in public)  # consented: shown
        # As many queries for 1,000 domains as for an account of 4: none per domain (the
        # speed target, p99 under 100 ms beside a bare query, is benchmarks/panel_latency.py's).
        small = f"A-{int(number.removeprefix('A-')) + 1}"
        assert len(panel.overview(small).domains) == 4
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        queries = {}
        for account in (number, small):
            statements.clear()
            event.listen(store.engine, "before_cursor_execute", count)
            try:
                panel.overview(account)
            finally:
                event.remove(store.engine, "before_cursor_execute", count)
            queries[account] = statements[:]
        assert 0 < len(queries[number]) == len(queries[small]), queries
    finally:
        store.close()
