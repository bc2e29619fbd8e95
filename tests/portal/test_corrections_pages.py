"""The pages of contact corrections over TestClient: the edit form, the verification link and the
change-of-registrant links; a GET never changes anything, every POST needs its CSRF token.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from sqlalchemy import select

from domains.contact_corrections import ContactCorrections, CorrectionOutcome, deliver
from domains.customer_models import TransferLock
from domains.mailer import FolderMailer
from domains.models import Contact
from domains.store import Store
from portal.links import PortalLinks
from tests.support.factories import account_data, contact_data
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
