"""Unsubscribe links: one-click POST without cookies (RFC 8058), a GET that changes nothing."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlmodel import col

from domains import notices
from domains.mailer import SmtpMailer
from domains.models import Account, AuditEvent
from domains.notice_delivery import deliver
from domains.store import Store
from domains.unsubscribe import Unsubscribes
from portal.links import PortalLinks
from tests.support.factories import account_data
from tests.support.mail import SmtpSink
from tests.support.portal import BASE_URL, Portal, csrf_of

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
LIST_URL = re.compile(r"<(https://[^>]+)>, *<mailto:([^?>]+)\?subject=unsubscribe%20([\w-]+)>")


def customer(store: Store, **overrides: Any) -> Account:
    return store.create_account("staff:test", account_data(**overrides))


def choice_of(store: Store, number: str) -> tuple[Any, ...]:
    """The account's marketing choice, its version and its audit events."""
    with store.read() as session:
        account = session.execute(select(Account).where(col(Account.number) == number)).scalar_one()
        events = session.execute(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.entity_id) == number)
        ).scalar_one()
    return (
        account.marketing_opt_out_at,
        account.marketing_opt_out_via,
        account.marketing_opt_out_by,
        account.version,
        events,
    )


def path_of(store: Store, account: Account) -> str:
    assert account.id is not None
    return f"/unsubscribe/{Unsubscribes(store).token_for(account.id)}"


def send(
    store: Store,
    mailer: SmtpMailer,
    template: str,
    category: str,
    account: Account,
    **context: str,
) -> notices.Notice:
    with store.write() as session:
        notice_id = notices.queue(
            session,
            template=template,
            category=category,
            subject_ref=None,
            recipient="account",
            account_id=account.id,
        ).id
    [done] = deliver(
        store, [notice_id], mailer=mailer, links=PortalLinks(store.settings), context=context
    )
    return done


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def test_a_one_click_post_without_cookies_opts_out_at_once_and_again_changes_nothing(
    portal: Portal, store: Store
) -> None:
    account = customer(store)
    path = path_of(store, account)
    portal.client.cookies.clear()

    answer = portal.client.post(path, data=ONE_CLICK)
    assert answer.status_code == 200, answer.text
    assert "cookie" not in {k.lower() for k in answer.request.headers}
    assert answer.headers["content-type"].startswith("text/plain")
    assert "Unsubscribed" in answer.text
    first = choice_of(store, account.number)
    assert first[0] is not None
    assert first[1:3] == ("one-click unsubscribe", f"customer:{account.number}")

    again = portal.client.post(path, data=ONE_CLICK)
    assert again.status_code == 200 and again.text == answer.text
    assert choice_of(store, account.number) == first


def test_a_one_click_post_as_multipart_form_data_works_too(portal: Portal, store: Store) -> None:
    # RFC 8058 section 3.1: a mail client SHOULD send multipart/form-data.
    account = customer(store)
    boundary = "----interlink-test-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    portal.client.cookies.clear()
    answer = portal.client.post(
        path_of(store, account),
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 200, answer.text
    assert choice_of(store, account.number)[0] is not None


def test_the_page_changes_nothing_until_its_button_is_pressed(portal: Portal, store: Store) -> None:
    account = customer(store)
    path = path_of(store, account)
    before = choice_of(store, account.number)

    shown = portal.client.get(path)
    assert shown.status_code == 200
    assert "marketing mail" in shown.text and "Messages about your domains" in shown.text
    assert shown.text.count("<button") == 1 and f'action="{path}"' in shown.text
    portal.client.head(path)
    assert choice_of(store, account.number) == before

    # A post of the page's form without its token (another site's form) is refused.
    forged = portal.client.post(path, data={"csrf_token": "x"})
    assert forged.status_code == 403
    assert choice_of(store, account.number) == before

    pressed = portal.client.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert pressed.status_code == 200
    assert "You are unsubscribed" in pressed.text
    assert choice_of(store, account.number)[1] == "one-click unsubscribe"
    assert "already unsubscribed" in portal.client.get(path).text


def test_a_forged_or_truncated_token_is_a_400_and_changes_nothing(
    portal: Portal, store: Store
) -> None:
    account = customer(store)
    path = path_of(store, account)
    before = choice_of(store, account.number)
    forged = path[:-1] + ("A" if path[-1] != "A" else "B")
    for bad in (forged, path[:-4], "/unsubscribe/" + "A" * 43, "/unsubscribe/nothing"):
        for answer in (portal.client.get(bad), portal.client.post(bad, data=ONE_CLICK)):
            assert answer.status_code == 400, (bad, answer.status_code)
            assert "This unsubscribe link cannot be used" in answer.text
            assert "Nothing was changed" in answer.text
    assert choice_of(store, account.number) == before


def test_marketing_mail_carries_the_headers_and_the_link_and_essential_mail_neither(
    portal: Portal, store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    account = customer(store, email="newsletter.reader@example.com")
    other = customer(store, email="someone.else@example.org")

    assert send(store, mailer, "newsletter", "marketing", account).status == "sent"
    [marketing] = [m.message for m in sink.messages]
    listed = LIST_URL.fullmatch(" ".join(str(marketing["List-Unsubscribe"]).split()))
    assert listed, marketing["List-Unsubscribe"]
    url, mailbox, token = listed.groups()
    assert url == f"{BASE_URL}/unsubscribe/{token}"
    assert mailbox == "unsubscribe@interlink.example.net"
    assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in text_of(marketing)
    assert account.email not in url and account.number not in url

    signin = send(
        store,
        mailer,
        "signin_link",
        "essential",
        account,
        signin_url=f"{BASE_URL}/signin/token",
    )
    assert signin.status == "sent"
    essential = sink.messages[-1].message
    assert essential["List-Unsubscribe"] is None and essential["List-Unsubscribe-Post"] is None
    assert "/unsubscribe/" not in essential.as_string()

    # The mail client's one-click POST to the header's URL, as it sends it: no cookie.
    portal.client.cookies.clear()
    assert portal.client.post(urlsplit(url).path, data=ONE_CLICK).status_code == 200

    # The next marketing mail to that account is suppressed; others' still go out, and
    # essential mail to the account still reaches it.
    assert send(store, mailer, "newsletter", "marketing", account).status == "suppressed"
    assert send(store, mailer, "newsletter", "marketing", other).status == "sent"
    assert sink.messages[-1].rcpt_tos == ["someone.else@example.org"]
    again = send(
        store, mailer, "signin_link", "essential", account, signin_url=f"{BASE_URL}/signin/x"
    )
    assert again.status == "sent"
    assert sink.messages[-1].rcpt_tos == ["newsletter.reader@example.com"]


def test_after_a_one_click_post_the_next_announcement_skips_that_account(
    portal: Portal, store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    """The whole way: an announcement, a mail client's one-click POST from its headers, and a
    second announcement that no longer reaches that account."""
    from collections import Counter

    from domains.announcements import Announcements
    from tests.support.announce import bulk_accounts
    from tests.support.staff import SUPERVISOR

    mailer, sink = smtp
    boss = f"staff:{SUPERVISOR}"
    customers = bulk_accounts(store, 30, opt_out_every=10)
    links = PortalLinks(store.settings)
    announcements = Announcements(store)
    first = announcements.start(boss, "new_control_panel")
    announcements.send(boss, first.reference, mailer=mailer, links=links)
    assert len(sink.messages) == len(customers.wanted) == 27
    for received in sink.messages:
        assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "mailto:" in received.message["List-Unsubscribe"]
    leaving = sink.messages[0]
    [address] = leaving.rcpt_tos
    https = re.search(r"<(https?://[^>]+)>", str(leaving.message["List-Unsubscribe"]))
    assert https, "no https link in List-Unsubscribe"
    portal.client.cookies.clear()
    clicked = portal.client.post(
        urlsplit(https.group(1)).path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status_code == 200

    sink.messages.clear()
    second = announcements.start(boss, "new_control_panel")
    announcements.send(boss, second.reference, mailer=mailer, links=links)
    reached = Counter(r for m in sink.messages for r in m.rcpt_tos)
    assert address not in reached and len(reached) == 26
    assert set(reached.values()) == {1}
