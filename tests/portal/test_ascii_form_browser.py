"""A customer gives the ASCII form of their Zürich address in Chromium (headless, Playwright);
the stored value and the next registry update's "int" postalInfo use it.

The portal runs under uvicorn on loopback over a SQLite store. Without /usr/bin/chromium the test
skips, unless INTERLINK_REQUIRE_ALL=1 (as in CI), where it fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from domains.mailer import FolderMailer
from domains.settings import PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from publishers.epp.client.commands import contact_create
from publishers.epp.model import CONTACT_NS, Disclose
from publishers.epp.xmlsafe import parse_frame
from publishers.sync.contacts import contact_data
from tests.support.ascii_form import contact_updates, zurich_holder
from tests.support.panel import sign_in_browser
from tests.support.portal import serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow
C = {"c": CONTACT_NS}


@dataclass
class Site:
    base_url: str
    store: Store


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The portal under uvicorn on loopback, its mail written to a folder."""
    stores: list[Store] = []

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'ascii.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        mailer = FolderMailer(tmp_path / "mail")
        return create_app(stores[0], mailer=mailer, config=PortalSettings(secret="ascii"))

    try:
        with serve(build) as base_url:
            yield Site(base_url, stores[0])
    finally:
        for store in stores:
            store.close()


def box(page: Any, label: str) -> Any:
    return page.get_by_role("textbox", name=re.compile("^" + re.escape(label) + "$"))


def test_the_customer_gives_the_ascii_form_of_a_zurich_address_in_chromium(
    site: Site, browser: Any
) -> None:
    store = site.store
    holder = zurich_holder(store)
    handle = holder.contact.handle
    context = browser.new_context(viewport={"width": 360, "height": 740})
    sign_in_browser(context, site.base_url, store, holder.number)
    page = context.new_page()
    errors: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 422"

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{site.base_url}/account/contacts/{handle}/edit")
        page.get_by_role("link", name="check or give its ASCII form").click()
        page.get_by_role("heading", name=f"ASCII form of contact {handle}").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        street = box(page, "ASCII street")
        assert street.input_value() == ""  # nothing stored: the suggestion is beside it
        assert "Registries get now: Mullerstrasse 5 (transliterated automatically" in (
            page.locator("#help-ascii_street").inner_text()
        )

        street.fill("Muellerstraße 5")
        box(page, "ASCII city").fill("Zurich")
        page.get_by_role("button", name="Save the ASCII form").click()
        page.get_by_role("heading", name="Please correct 1 field").wait_for()
        assert "line 1 must be printable ASCII (the registries' int form); 'ß' at position 12" in (
            page.locator("#error-ascii_street").inner_text()
        )
        assert box(page, "ASCII city").input_value() == "Zurich"  # what was typed is kept
        assert store.get_contact(handle).ascii_postal is None

        box(page, "ASCII street").fill("Muellerstrasse 5")
        page.get_by_role("button", name="Save the ASCII form").click()
        page.get_by_role("heading", name=f"ASCII form of contact {handle} saved").wait_for()
        page.get_by_text("Muellerstrasse 5 (the ASCII form you gave)").wait_for()
    finally:
        context.close()
    assert not errors, f"the browser reported errors (CSP?): {errors}"

    saved = store.get_contact(handle)
    assert saved.ascii_postal == {"street": ["Muellerstrasse 5"], "city": "Zurich"}
    assert contact_updates(store, handle) == [["ascii_postal"]]
    # What the next sync sends: the data as "loc", the customer's ASCII form as "int".
    data = contact_data(saved)
    assert data.postal_type == "loc" and data.ascii_form is not None
    frame = parse_frame(contact_create(data, Disclose(), cltrid="ASCII-1"))
    (int_form,) = frame.iterfind(".//c:postalInfo[@type='int']", C)
    (loc_form,) = frame.iterfind(".//c:postalInfo[@type='loc']", C)
    assert int_form.findtext("c:addr/c:street", namespaces=C) == "Muellerstrasse 5"
    assert int_form.findtext("c:addr/c:city", namespaces=C) == "Zurich"
    assert int_form.findtext("c:name", namespaces=C) == "Jurg Muller"  # not given: transliterated
    assert loc_form.findtext("c:addr/c:city", namespaces=C) == "Zürich"
