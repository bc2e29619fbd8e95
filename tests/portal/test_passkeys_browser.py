"""Passkeys in Chromium: registered and used to sign in through its virtual authenticator (CDP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from domains.customer_models import CustomerSession, Passkey
from domains.mailer import FolderMailer
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from tests.support.browser import launch_chromium
from tests.support.factories import account_data
from tests.support.panel import sign_in_browser
from tests.support.portal import serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow
#: WebAuthn refuses an IP address as the relying party: the site is served as localhost.
LOCALHOST = "--host-resolver-rules=MAP localhost 127.0.0.1"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    stores: list[Store] = []

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'passkeys.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url.replace("127.0.0.1", "localhost"),
            mail=MailSettings(retries=0),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        return create_app(
            stores[0], mailer=FolderMailer(tmp_path / "outbox"), config=PortalSettings(secret="pk")
        )

    try:
        with serve(build) as base_url:
            yield base_url.replace("127.0.0.1", "localhost"), stores[0]
    finally:
        for store in stores:
            store.close()


def authenticator(context: Any, page: Any) -> str:
    """A platform authenticator that holds passkeys and says the user is verified."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return made["authenticatorId"]


def test_a_passkey_is_registered_and_then_signs_in(site: tuple[str, Store]) -> None:
    base_url, store = site
    account = store.create_account("staff:test", account_data())
    with launch_chromium(LOCALHOST) as browser:
        context = browser.new_context()
        page = context.new_page()
        authenticator(context, page)
        sign_in_browser(context, base_url, store, account.number)

        page.goto(f"{base_url}/account/passkeys")
        page.fill("#f-label", "Test <laptop>")
        page.click("button:has-text('Add a passkey')")
        page.wait_for_selector("td:has-text('Test <laptop>')")
        with store.read() as session:
            [key] = session.execute(select(Passkey)).scalars().all()
        assert key.account_id == account.id and key.label == "Test <laptop>"

        context.clear_cookies()
        page.goto(f"{base_url}/signin?next=/account/passkeys")
        page.click("button:has-text('Sign in with a passkey')")
        page.wait_for_url(f"{base_url}/account/passkeys")
        assert page.locator("h1").inner_text() == "Passkeys"
        assert "never" not in page.locator("tbody").inner_text()  # last used: just now
        context.close()
    with store.read() as session:
        vias = session.execute(select(CustomerSession.via)).scalars().all()
    assert "passkey" in vias


def test_a_passkey_answer_for_no_challenge_of_ours_is_refused(site: tuple[str, Store]) -> None:
    base_url, _store = site
    with launch_chromium(LOCALHOST) as browser:
        page = browser.new_page()
        page.goto(f"{base_url}/signin")
        csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
        answer = page.evaluate(
            """async (csrf) => {
                const body = new FormData();
                body.append("csrf_token", csrf);
                body.append("credential", JSON.stringify({rawId: "AAAA", response: {
                    clientDataJSON: btoa(JSON.stringify({challenge: "AAAA"}))}}));
                const r = await fetch("/signin/passkey", {method: "POST", body});
                return [r.status, await r.text()];
            }""",
            csrf,
        )
    assert answer[0] == 400 and "no request of ours" in answer[1]
