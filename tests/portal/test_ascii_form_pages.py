"""The control panel's ASCII form page over TestClient: shown only for a non-ASCII address, each
item's suggestion labelled, errors beside their fields, the form saved, cleared, CSRF-protected."""

from __future__ import annotations

import html as markup
import re

from domains.store import Store
from tests.support.ascii_form import ascii_trail, contact_updates, zurich_holder
from tests.support.factories import account_data, contact_data
from tests.support.panel import sign_in
from tests.support.portal import Portal, csrf_of, main_of


def ascii_url(handle: str) -> str:
    return f"/account/contacts/{handle}/ascii"


def text_of(page: str) -> str:
    """The words of the page's main part, without its tags."""
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", main_of(page))).split())


def test_the_page_shows_what_registries_get_each_suggestion_labelled(
    portal: Portal, store: Store
) -> None:
    holder = zurich_holder(store)
    handle = holder.contact.handle
    sign_in(portal, holder.number)
    edit = portal.client.get(f"/account/contacts/{handle}/edit")
    assert f'href="{ascii_url(handle)}"' in edit.text  # the edit page leads to it
    shown = portal.client.get(ascii_url(handle))
    assert shown.status_code == 200
    text = text_of(shown.text)
    assert (
        "As written: Müllerstraße 5. Registries get now: Mullerstrasse 5 "
        "(transliterated automatically: a suggestion to keep or improve)." in text
    )
    assert "As written: Zürich. Registries get now: Zurich (transliterated" in text
    html = main_of(shown.text)
    for name in ("ascii_name", "ascii_street", "ascii_city", "ascii_postal_code"):
        assert f'name="{name}"' in html
    assert 'name="ascii_org"' not in html and 'name="ascii_state"' not in html  # none to give
    assert 'value="Zurich"' not in html  # a suggestion is not a value typed for the customer
    assert "Clear the ASCII form" not in html  # none stored
    assert f'name="version" value="{holder.contact.version}"' in html


def test_a_bad_item_is_named_beside_its_field_then_the_form_is_saved(
    portal: Portal, store: Store
) -> None:
    holder = zurich_holder(store)
    handle, version = holder.contact.handle, holder.contact.version
    sign_in(portal, holder.number)
    csrf = csrf_of(portal.client.get(ascii_url(handle)).text)
    typed = {"csrf_token": csrf, "version": str(version), "ascii_street": "Muellerstrasse 5"}
    bad = portal.client.post(ascii_url(handle), data={**typed, "ascii_city": "Zürich"})
    assert bad.status_code == 422
    html = main_of(bad.text)
    assert 'id="error-ascii_city"' in html and 'href="#f-ascii_city"' in html
    assert "ASCII city must be printable ASCII" in markup.unescape(html)
    assert 'value="Zürich"' in html and "Muellerstrasse 5</textarea>" in html  # kept
    assert store.get_contact(handle).version == version

    good = portal.client.post(ascii_url(handle), data={**typed, "ascii_city": " Zurich "})
    assert good.status_code == 200, good.text
    text = text_of(good.text)
    assert "Made now: the ASCII form for registries." in text
    assert "Muellerstrasse 5 (the ASCII form you gave)" in text
    assert "Jurg Muller (transliterated automatically" in text
    saved = store.get_contact(handle)
    assert saved.ascii_postal == {"street": ["Muellerstrasse 5"], "city": "Zurich"}
    assert ascii_trail(store, handle) == [
        (f"customer:{holder.number}", {"before": None, "after": saved.ascii_postal})
    ]
    assert contact_updates(store, handle) == [["ascii_postal"]]

    # The page now holds the stored form, and can clear it.
    again = portal.client.get(ascii_url(handle))
    assert 'value="Zurich"' in again.text and "Clear the ASCII form" in again.text
    cleared = portal.client.post(
        ascii_url(handle),
        data={"csrf_token": csrf, "version": str(saved.version), "clear": "yes"},
    )
    assert cleared.status_code == 200 and store.get_contact(handle).ascii_postal is None


def test_a_stale_form_keeps_what_was_typed_and_carries_the_newer_version(
    portal: Portal, store: Store
) -> None:
    holder = zurich_holder(store)
    handle, version = holder.contact.handle, holder.contact.version
    sign_in(portal, holder.number)
    csrf = csrf_of(portal.client.get(ascii_url(handle)).text)
    store.update_contact("staff:test", handle, version, {"ascii_postal": {"name": "J. Mueller"}})
    form = {"csrf_token": csrf, "version": str(version), "ascii_city": "Zuerich"}
    stale = portal.client.post(ascii_url(handle), data=form)
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text and 'value="Zuerich"' in stale.text
    assert f'name="version" value="{version + 1}"' in stale.text
    again = portal.client.post(ascii_url(handle), data={**form, "version": str(version + 1)})
    assert again.status_code == 200
    assert store.get_contact(handle).ascii_postal == {"city": "Zuerich"}


def test_an_ascii_address_needs_no_form_and_others_contacts_are_not_found(
    portal: Portal, store: Store
) -> None:
    account = store.create_account("staff:test", account_data())
    plain = store.create_contact("staff:test", contact_data(), account_number=account.number)
    theirs = zurich_holder(store)
    sign_in(portal, account.number)
    shown = portal.client.get(ascii_url(plain.handle))
    assert "is all in ASCII" in text_of(shown.text) and "<form" not in main_of(shown.text)
    edit = portal.client.get(f"/account/contacts/{plain.handle}/edit")
    assert ascii_url(plain.handle) not in edit.text
    csrf = csrf_of(edit.text)
    refused = portal.client.post(
        ascii_url(plain.handle),
        data={"csrf_token": csrf, "version": str(plain.version), "ascii_city": "Berlin"},
    )
    assert refused.status_code == 422
    assert "The ASCII form is only for postal data with non-ASCII characters" in text_of(
        refused.text
    )
    assert store.get_contact(plain.handle).version == plain.version
    assert portal.client.get(ascii_url(theirs.contact.handle)).status_code == 404
    foreign = portal.client.post(
        ascii_url(theirs.contact.handle),
        data={"csrf_token": csrf, "version": "1", "ascii_city": "Zurich"},
    )
    assert foreign.status_code == 404
    missing = portal.client.post(
        ascii_url(theirs.contact.handle), data={"version": "1", "ascii_city": "Zurich"}
    )
    assert missing.status_code == 403
    assert store.get_contact(theirs.contact.handle).ascii_postal is None


def test_an_address_correction_on_the_edit_page_drops_the_stale_item(
    portal: Portal, store: Store
) -> None:
    holder = zurich_holder(store)
    contact = holder.contact
    sign_in(portal, holder.number)
    given = {"street": ["Muellerstrasse 5"], "city": "Zurich"}
    moved = store.update_contact(
        "staff:test", contact.handle, contact.version, {"ascii_postal": given}
    )
    edit = portal.client.get(f"/account/contacts/{contact.handle}/edit")
    form = {
        "csrf_token": csrf_of(edit.text),
        "version": str(moved.version),
        "name": contact.name,
        "org": "",
        "street": "Müllerstraße 5",
        "city": "Winterthur",
        "state": "",
        "postal_code": "8400",
        "country": "CH",
        "voice": contact.voice or "",
        "voice_ext": "",
        "fax": "",
        "fax_ext": "",
        "email": contact.email,
    }
    saved = portal.client.post(f"/account/contacts/{contact.handle}/edit", data=form)
    assert saved.status_code == 200, saved.text
    assert f'href="{ascii_url(contact.handle)}"' in saved.text  # check its ASCII form
    assert store.get_contact(contact.handle).ascii_postal == {"street": ["Muellerstrasse 5"]}
