"""The unsubscribe link of a real newsletter in headless Chromium: nothing changes until pressed."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains import notices
from domains.mailer import FolderMailer
from domains.models import Account
from domains.notice_delivery import deliver
from domains.settings import MailSettings, Settings
from domains.store import Store
from portal.app import create_app
from portal.links import PortalLinks
from tests.support.factories import account_data
from tests.support.portal import serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow


def opted_out(store: Store, number: str) -> tuple[Any, Any]:
    with store.read() as session:
        account = session.execute(select(Account).where(col(Account.number) == number)).scalar_one()
    return account.marketing_opt_out_at, account.marketing_opt_out_via


def test_the_link_in_a_newsletter_opens_a_page_whose_button_unsubscribes(
    browser: Any, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unsubscribe.db'}",
        data_dir=tmp_path / "data",
        mail=MailSettings(retries=1, retry_wait=0.01, retry_wait_max=0.02),
    )
    store = Store.open(settings=settings)
    seed_staff(store)
    outbox = tmp_path / "outbox"
    try:
        account = store.create_account("staff:test", account_data(email="reader@example.net"))

        def build(base_url: str) -> Any:
            settings.portal_base_url = base_url
            return create_app(store, mailer=FolderMailer(outbox), settings=settings)

        with serve(build) as base_url:
            with store.write() as session:
                notice_id = notices.queue(
                    session,
                    template="newsletter",
                    category="marketing",
                    subject_ref=None,
                    recipient="account",
                    account_id=account.id,
                ).id
            deliver(store, [notice_id], mailer=FolderMailer(outbox), links=PortalLinks(settings))
            [eml] = sorted(outbox.glob("*.eml"))
            mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            body = mail.get_body(("plain",))  # type: ignore[attr-defined]
            found = re.search(re.escape(base_url) + r"/unsubscribe/[\w-]+", body.get_content())
            assert found, "the newsletter has no visible unsubscribe link"
            link = found.group(0)
            assert link in str(mail["List-Unsubscribe"])

            context = browser.new_context()
            try:
                tab = context.new_page()
                tab.goto(link)
                heading = tab.get_by_role("heading", level=1)
                assert heading.inner_text() == "Unsubscribe from our newsletter"
                assert "Messages about your domains" in tab.locator("main").inner_text()
                tab.reload()  # a second look (a link scanner's GETs) changes nothing either
                assert opted_out(store, account.number) == (None, None)

                tab.get_by_role("button", name="Unsubscribe").click()
                tab.get_by_role("heading", name="You are unsubscribed").wait_for()
                at, via = opted_out(store, account.number)
                assert at is not None and via == "one-click unsubscribe"

                tab.goto(link)
                assert "already unsubscribed" in tab.locator("main").inner_text()
                assert tab.get_by_role("button", name="Unsubscribe").count() == 0
            finally:
                context.close()
    finally:
        store.close()
