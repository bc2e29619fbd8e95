"""The pages of contact corrections over TestClient: the edit form, the verification link and the
change-of-registrant links; a GET never changes anything, every POST needs its CSRF token.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from sqlalchemy import select
from sqlmodel import col

from domains.contact_corrections import ContactCorrections, CorrectionOutcome, deliver
from domains.customer_models import TransferLock
from domains.mailer import FolderMailer
from domains.models import AuditEvent, Contact
from domains.store import Store
from portal.links import PortalLinks
from tests.support.factories import account_data, contact_data
from tests.support.panel import sign_in
from tests.support.portal import BASE_URL, Portal, csrf_of, main_of

LINK = re.compile(re.escape(BASE_URL) + r"(/(?:verify-email|registrant-change)/[A-Za-z0-9_-]+)")


def customer(store: Store, *tlds: str) -> tuple[str, Contact]:
    """An account with a contact, registrant of one domain per TLD."""
    account = store.create_account("staff:test", account_data())
    contact = store.create_contact("staff:test", contact_data(), account_number=account.number)
    for n, tld in enumerate(tlds):
        store.create_domain(
            "staff:test",
            {"name": f"{contact.handle.lower()}-{n}.{tld}"},
            account_number=account.number,
            contacts={"registrant": contact.handle},
        )
    return account.number, contact


def corrected(portal: Portal, number: str, contact: Contact, **changes: str) -> CorrectionOutcome:
    """A correction made through the domain API, its mail sent to the portal's outbox."""
    links = PortalLinks(portal.store.settings)
    outcome = ContactCorrections(portal.store, links).edit(
        number, contact.handle, contact.version, changes
    )
    mailer = FolderMailer(portal.outbox)
    deliver(portal.store, outcome.notice_ids, outcome.contexts, mailer=mailer, links=links)
    return outcome


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, "the mail carries no link"
    return found.group(1)


def mails_to(portal: Portal, address: str) -> list[EmailMessage]:
    return [m for m in portal.mails() if address in str(m["To"])]


def form_of(contact: Contact, csrf: str, **typed: str) -> dict[str, str]:
    """The edit form as the page fills it, with what the customer typed over it."""
    data = {
        "csrf_token": csrf,
        "version": str(contact.version),
        "name": contact.name,
        "org": contact.org or "",
        "street": "\n".join(contact.street),
        "city": contact.city,
        "state": contact.state or "",
        "postal_code": contact.postal_code or "",
        "country": contact.country,
        "voice": contact.voice or "",
        "voice_ext": contact.voice_ext or "",
        "fax": contact.fax or "",
        "fax_ext": contact.fax_ext or "",
        "email": contact.email,
    }
    data.update(typed)
    return data


def edit_url(contact: Contact) -> str:
    return f"/account/contacts/{contact.handle}/edit"


# -- the edit page ------------------------------------------------------------------------------


def test_the_edit_form_shows_every_field_with_its_label_and_limit(
    portal: Portal, store: Store
) -> None:
    number, contact = customer(store, "com")
    assert portal.client.get(edit_url(contact), follow_redirects=False).status_code == 303
    sign_in(portal, number)
    shown = portal.client.get(edit_url(contact))
    assert shown.status_code == 200
    html = main_of(shown.text)
    for name in ("name", "org", "street", "city", "state", "postal_code", "country", "voice"):
        assert f'<label for="f-{name}">' in html and f'name="{name}"' in html
    for name in ("voice_ext", "fax", "fax_ext", "email"):
        assert f'name="{name}"' in html
    assert 'maxlength="16"' in html and "Up to 16 characters." in html  # the postal code
    assert f'name="version" value="{contact.version}"' in html
    assert f'value="{contact.email}"' in html
    assert "change of registrant" in html  # it is the registrant of a .com domain


def test_an_error_is_shown_beside_its_field_then_the_correction_applies(
    portal: Portal, store: Store
) -> None:
    number, contact = customer(store, "de")
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get(edit_url(contact)).text)
    bad = portal.client.post(
        edit_url(contact), data=form_of(contact, csrf, city="Potsdam", voice="call me")
    )
    assert bad.status_code == 422
    html = main_of(bad.text)
    assert 'id="error-voice"' in html and 'href="#f-voice"' in html
    assert 'value="call me"' in html and 'value="Potsdam"' in html  # what was typed is kept
    assert store.get_contact(contact.handle).version == contact.version

    good = portal.client.post(
        edit_url(contact),
        data=form_of(contact, csrf, city="Potsdam", email="moved@example.com"),
    )
    assert good.status_code == 200, good.text
    html = " ".join(main_of(good.text).split())
    assert "Made now: City." in html
    assert "Waiting for e-mail verification" in html and "moved@example.com" in html
    after = store.get_contact(contact.handle)
    assert (after.city, after.email) == ("Potsdam", contact.email)
    with store.read() as session:
        actors = set(
            session.execute(
                select(col(AuditEvent.actor)).where(col(AuditEvent.entity_id) == contact.handle)
            ).scalars()
        )
    assert f"customer:{number}" in actors
    (mail,) = mails_to(portal, "moved@example.com")
    assert link_in(mail).startswith("/verify-email/")


def test_a_stale_edit_shows_the_newer_values_and_keeps_the_typed_ones(
    portal: Portal, store: Store
) -> None:
    number, contact = customer(store, "de")
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get(edit_url(contact)).text)
    store.update_contact("staff:test", contact.handle, contact.version, {"city": "Hamburg"})
    stale = portal.client.post(edit_url(contact), data=form_of(contact, csrf, city="Leipzig"))
    assert stale.status_code == 409
    html = main_of(stale.text)
    assert "changed by someone else" in html
    assert "<dd>Hamburg</dd>" in html  # the newer value
    assert 'value="Leipzig"' in html  # the typed one, kept
    assert f'name="version" value="{contact.version + 1}"' in html
    assert store.get_contact(contact.handle).city == "Hamburg"
    again = portal.client.post(
        edit_url(contact),
        data={**form_of(contact, csrf, city="Leipzig"), "version": str(contact.version + 1)},
    )
    assert again.status_code == 200 and store.get_contact(contact.handle).city == "Leipzig"


def test_another_accounts_contact_and_a_post_without_csrf_are_refused(
    portal: Portal, store: Store
) -> None:
    number, mine = customer(store)
    _other, theirs = customer(store)
    sign_in(portal, number)
    assert portal.client.get(edit_url(theirs)).status_code == 404
    csrf = csrf_of(portal.client.get(edit_url(mine)).text)
    foreign = portal.client.post(edit_url(theirs), data=form_of(theirs, csrf, city="Potsdam"))
    assert foreign.status_code == 404
    missing = portal.client.post(edit_url(mine), data=form_of(mine, "", city="Potsdam"))
    assert missing.status_code == 403
    assert store.get_contact(mine.handle).city == store.get_contact(theirs.handle).city == "Berlin"


def test_a_registrant_change_waits_for_both_and_markup_is_escaped(
    portal: Portal, store: Store
) -> None:
    number, contact = customer(store, "com")
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get(edit_url(contact)).text)
    saved = portal.client.post(
        edit_url(contact), data=form_of(contact, csrf, org="<script>alert(1)</script> GmbH")
    )
    assert saved.status_code == 200, saved.text
    html = " ".join(main_of(saved.text).split())
    assert "Waiting for the change-of-registrant confirmations" in html
    assert "Made now" not in html
    assert store.get_contact(contact.handle).org is None
    assert len(mails_to(portal, contact.email)) == 2  # one link for each party
    shown = portal.client.get(edit_url(contact))
    assert "waits for both registrants" in " ".join(shown.text.split())
    page = portal.client.get(link_in(mails_to(portal, contact.email)[0]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; GmbH" in page.text
    assert "<script>" not in page.text


# -- the verification link ------------------------------------------------------------------


def test_the_verify_link_shows_the_address_and_only_a_post_uses_it(
    portal: Portal, store: Store
) -> None:
    number, contact = customer(store)
    corrected(portal, number, contact, email="fresh@example.net")
    link = link_in(mails_to(portal, "fresh@example.net")[0])

    shown = portal.client.get(link)
    assert shown.status_code == 200
    assert "fresh@example.net" in main_of(shown.text) and contact.handle in shown.text
    assert portal.client.get(link).status_code == 200  # a mail scanner may fetch it twice
    assert store.get_contact(contact.handle).email == contact.email

    refused = portal.client.post(link, data={})
    assert refused.status_code == 403
    assert store.get_contact(contact.handle).email == contact.email

    done = portal.client.post(link, data={"csrf_token": csrf_of(shown.text)})
    assert done.status_code == 200, done.text
    assert "E-mail address confirmed" in done.text
    assert store.get_contact(contact.handle).email == "fresh@example.net"

    again = portal.client.post(link, data={"csrf_token": csrf_of(shown.text)})
    assert again.status_code == 410 and "already been used" in again.text
    assert portal.client.get(link).status_code == 410


def test_a_link_that_is_not_one_is_refused_plainly(portal: Portal) -> None:
    assert portal.client.get("/verify-email/short").status_code == 400
    unknown = portal.client.get("/verify-email/" + "A" * 43)
    assert unknown.status_code == 400 and "not valid" in unknown.text
    assert portal.client.get("/registrant-change/" + "A" * 43).status_code == 400
    assert "Traceback" not in unknown.text


# -- the change-of-registrant links -------------------------------------------------------------


def start_change(portal: Portal, store: Store) -> tuple[Contact, str, str]:
    number, contact = customer(store, "com")
    corrected(portal, number, contact, name="<b>Erika</b> Neu", email="erika@example.net")
    prior = link_in(mails_to(portal, contact.email)[0])
    new = link_in(mails_to(portal, "erika@example.net")[0])
    return contact, prior, new


def test_both_parties_confirm_on_their_pages_and_only_the_new_one_may_opt_out(
    portal: Portal, store: Store
) -> None:
    contact, prior, new = start_change(portal, store)
    prior_page = portal.client.get(prior)
    assert prior_page.status_code == 200
    html = main_of(prior_page.text)
    assert "current registrant" in html and "lock_opt_out" not in html
    assert "&lt;b&gt;Erika&lt;/b&gt; Neu" in html and "<b>Erika" not in html  # escaped
    assert "Refuse the change" in html
    new_page = portal.client.get(new)
    assert 'name="lock_opt_out"' in new_page.text and "new registrant" in new_page.text
    assert store.get_contact(contact.handle).name == contact.name

    csrf = csrf_of(prior_page.text)
    forged = portal.client.post(prior, data={"csrf_token": csrf, "lock_opt_out": "yes"})
    assert forged.status_code == 422
    first = portal.client.post(prior, data={"csrf_token": csrf})
    assert first.status_code == 200 and "Waiting for the other registrant" in first.text
    assert "You have confirmed" in portal.client.get(prior).text

    done = portal.client.post(new, data={"csrf_token": csrf, "lock_opt_out": "yes"})
    assert done.status_code == 200, done.text
    assert "the change has been made" in done.text
    assert "chose not to have the 60-day" in " ".join(done.text.split())
    assert store.get_contact(contact.handle).name == "<b>Erika</b> Neu"
    with store.read() as session:
        assert session.execute(select(TransferLock)).first() is None
    made = [m for m in portal.mails() if "made" in str(m["Subject"])]
    assert len(made) == 2  # both parties are told
    assert portal.client.get(new).status_code == 410


def test_a_refusal_ends_the_change_and_a_post_needs_its_token(portal: Portal, store: Store) -> None:
    contact, prior, new = start_change(portal, store)
    page = portal.client.get(new)
    assert portal.client.post(new + "/refuse", data={}).status_code == 403
    refused = portal.client.post(new + "/refuse", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 200
    assert "The change was refused. Nothing was changed." in refused.text
    assert store.get_contact(contact.handle).name == contact.name
    assert len([m for m in portal.mails() if "refused" in str(m["Subject"])]) == 2
    late = portal.client.post(prior, data={"csrf_token": csrf_of(page.text)})
    assert late.status_code == 410 and "refused" in late.text


def test_a_form_posted_from_another_site_is_refused(portal: Portal, store: Store) -> None:
    number, contact = customer(store)
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get(edit_url(contact)).text)
    hostile = {"Origin": "https://evil.example.org", "Sec-Fetch-Site": "cross-site"}
    edit = portal.client.post(
        edit_url(contact), data=form_of(contact, csrf, city="Potsdam"), headers=hostile
    )
    assert edit.status_code == 403
    corrected(portal, number, contact, email="fresh@example.net")
    link = link_in(mails_to(portal, "fresh@example.net")[0])
    verify = portal.client.post(link, data={"csrf_token": csrf}, headers=hostile)
    assert verify.status_code == 403
    after = store.get_contact(contact.handle)
    assert (after.city, after.email) == ("Berlin", contact.email)
