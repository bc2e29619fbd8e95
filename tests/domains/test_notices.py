"""Notices end to end: queued in a transaction, rendered, sent to a real SMTP server on loopback.

The Notice rows must never hold an address, a name or a body; the confirmation link goes to the
registrant alone; marketing opt-out never stops an essential notice.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from domains import address_failures, notice_delivery, notices
from domains.mail_compose import NoticeError
from domains.mailer import FolderMailer, SmtpMailer
from domains.masking import mask_email, mask_name
from domains.models import Account, Contact, Notice, utcnow
from domains.notice_rows import AccountFacts, claim_lease
from domains.notice_rows import claim as claim_notice
from domains.settings import MailSettings, Settings
from domains.store import Store
from domains.vocabulary import FailureSource
from portal.links import PortalLinks
from tests.support.factories import account_data, contact_data, make_domain
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.notices import PROPOSED_TECH, essential, make_request, queue_many

CONFIRM_URL = "http://127.0.0.1:8080/confirm/TOKEN-abc123def456"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings with quick retries (overrides the shared fixture for this module)."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        mail=MailSettings(retries=2, retry_wait=0.01, retry_wait_max=0.05),
        portal_base_url="https://portal.test",
    )


def notice_rows(store: Store) -> list[Notice]:
    with store.read() as session:
        return list(session.execute(select(Notice).order_by(Notice.id)).scalars())


def assert_no_personal_data(store: Store, *secrets: str) -> None:
    """No column of any Notice row carries one of these strings."""
    for row in notice_rows(store):
        for key, value in row.model_dump().items():
            for secret in secrets:
                assert secret.lower() not in str(value).lower(), (key, row.id)


def flat(text: str) -> str:
    """The text with every run of white space (line breaks too) as one space."""
    return " ".join(text.split())


# -- queue ------------------------------------------------------------------------------


def test_queue_refuses_what_it_cannot_send(store: Store) -> None:
    with store.write() as session:
        with pytest.raises(ValueError, match="unknown notice template"):
            notices.queue(session, template="nope", category="essential", subject_ref="X")
        with pytest.raises(ValueError, match="category"):
            notices.queue(session, template="newsletter", category="spam", subject_ref=None)
        with pytest.raises(ValueError, match="contact_id"):
            notices.queue(session, template="newsletter", category="marketing", subject_ref=None)
        with pytest.raises(ValueError, match="account_id"):
            notices.queue(
                session,
                template="newsletter",
                category="marketing",
                subject_ref=None,
                recipient="account",
            )
        with pytest.raises(ValueError, match="subject_ref"):
            notices.queue(
                session,
                template="request_confirmed",
                category="essential",
                subject_ref=None,
                contact_id=1,
            )
    assert notice_rows(store) == []


def test_queue_joins_the_callers_transaction(store: Store) -> None:
    domain, registrant = make_domain(store)
    make_request(store, domain)
    with pytest.raises(RuntimeError), store.write() as session:
        notices.queue(session, **essential("request_confirmed"), contact_id=registrant.id)
        raise RuntimeError("the change failed")
    assert notice_rows(store) == [], "a rolled-back change leaves no notice"


# -- delivery over SMTP -----------------------------------------------------------------


def test_received_mail_goes_to_the_registrant_with_the_link(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store, "bücher-beispiel.de")
    house = store.house_contact()
    make_request(store, domain, channel="phone")
    ids = queue_many(
        store,
        essential("request_received", contact_id=registrant.id),
        essential("request_received", recipient="proposed_tech"),
        essential("request_received", contact_id=house.id),
    )

    done = notice_delivery.deliver(
        store,
        ids,
        mailer=mailer,
        links=PortalLinks(store.settings),
        context={"confirm_url": CONFIRM_URL},
    )

    assert [n.status for n in done] == ["sent", "sent", "sent"]
    assert all(n.attempts == 1 and n.error is None and n.sent_at for n in done)
    [mail] = sink.to(registrant.email)
    message = mail.message
    to = message["To"].addresses[0]
    assert (to.display_name, to.addr_spec) == (registrant.name, registrant.email)
    assert str(message["Subject"]) == "Please confirm: new technical contact for bücher-beispiel.de"
    assert message["From"].addresses[0].addr_spec == "domains@interlink.example.net"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] and message["Date"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert CONFIRM_URL in text
    assert f'href="{CONFIRM_URL}"' in html
    assert 'press the "Confirm" button' in flat(text), "the link opens a page; a press confirms"
    assert "<strong>Confirm</strong>" in html
    assert "only you can confirm" in flat(text)
    assert "E*** H*** G***" in text and "Example Hosting" not in text, "new company masked"
    assert "Example Hosting" not in html
    assert "nothing will change" in flat(text)
    assert "14 March 2031" in flat(text), "the expiry date"
    assert "made by telephone" in flat(text), "how the request reached us"
    assert "TC-7Q2K9" in text

    # The others are told, but never get the link.
    [proposed] = sink.to(PROPOSED_TECH["email"])
    assert proposed.message["To"].addresses[0].display_name == "Jane Doe"
    [old] = sink.to(house.email)
    assert "https://portal.test/status/TC-7Q2K9" in old.message.get_body(("plain",)).get_content()
    for other in (proposed, old):
        body = other.message.get_body(("plain",)).get_content()
        assert "TOKEN" not in other.message.as_string()
        assert "Request to change the technical contact" in str(other.message["Subject"])
        assert mask_email(registrant.email) in body
        assert registrant.email not in body

    assert_no_personal_data(
        store, registrant.email, registrant.name, PROPOSED_TECH["email"], house.email, "TOKEN"
    )


def test_the_confirmation_mail_is_not_sent_without_its_link(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    make_request(store, domain)
    [notice_id] = queue_many(store, essential("request_received", contact_id=registrant.id))
    [notice] = notice_delivery.deliver(
        store, [notice_id], mailer=mailer, links=PortalLinks(store.settings)
    )
    assert notice.status == "failed"
    assert "confirm_url" in notice.error
    assert sink.messages == []


def test_a_notice_is_sent_once(store: Store, smtp: tuple[SmtpMailer, SmtpSink]) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    make_request(store, domain)
    ids = queue_many(store, essential("request_confirmed", contact_id=registrant.id))
    notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    [again] = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert again.status == "sent" and again.attempts == 1
    assert len(sink.messages) == 1
    assert (
        notice_delivery.deliver(store, [987654], mailer=mailer, links=PortalLinks(store.settings))
        == []
    )


def approved_with_two_notices(store: Store) -> tuple[Contact, list[int]]:
    """An approved request whose two notices (registrant, proposed tech) are queued."""
    domain, registrant = make_domain(store)
    make_request(store, domain, state="approved", confirmed_at=utcnow())
    ids = queue_many(
        store,
        essential("request_approved", contact_id=registrant.id),
        essential("request_approved", recipient="proposed_tech"),
    )
    return registrant, ids


def test_deliver_pending_sends_what_nobody_sent(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    approved_with_two_notices(store)
    # Just queued: left to the deliverer that queued them (it claims them at once).
    assert (
        notice_delivery.deliver_pending(store, mailer=mailer, links=PortalLinks(store.settings))
        == []
    )
    later = utcnow() + notices.PENDING_GRACE + timedelta(seconds=1)
    done = notice_delivery.deliver_pending(
        store, mailer=mailer, links=PortalLinks(store.settings), now=later
    )
    assert [n.status for n in done] == ["sent", "sent"]
    assert len(sink.messages) == 2
    assert (
        notice_delivery.deliver_pending(
            store, mailer=mailer, links=PortalLinks(store.settings), now=later
        )
        == []
    )


def test_a_notice_abandoned_while_sending_is_sent_once_its_claim_lapses(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    registrant, (abandoned, busy) = approved_with_two_notices(store)
    lease = claim_lease(store.settings.mail)
    now = utcnow() + timedelta(hours=1)
    with store.write() as session:  # two deliverers claimed them; one died long ago
        for notice_id, claimed in ((abandoned, now - lease - timedelta(seconds=1)), (busy, now)):
            row = session.get(Notice, notice_id)
            row.status, row.claimed_at = "sending", claimed
    done = notice_delivery.deliver_pending(
        store, mailer=mailer, links=PortalLinks(store.settings), now=now
    )
    assert [(n.id, n.status) for n in done] == [(abandoned, "sent")]
    assert [m.rcpt_tos for m in sink.messages] == [[registrant.email]]
    rows = {n.id: n for n in notice_rows(store)}
    assert rows[busy].status == "sending"  # its deliverer may still be at it
    assert rows[abandoned].claimed_at is not None and rows[abandoned].sent_at is not None


def test_the_claim_lease_outlasts_every_retry() -> None:
    slow = MailSettings(retries=9, timeout=60, retry_wait_max=120)
    attempts = slow.retries + 1
    worst = attempts * (10 * slow.timeout + slow.retry_wait_max)
    assert claim_lease(slow).total_seconds() > worst
    assert claim_lease(MailSettings()) >= timedelta(minutes=30)


def test_the_notice_sender_sends_what_it_is_given_and_waits_for_a_relay(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink], monkeypatch: pytest.MonkeyPatch
) -> None:
    mailer, sink = smtp
    _registrant, (first, second) = approved_with_two_notices(store)
    # A relay that needs a password the environment does not hold: nothing sent, nothing lost.
    relay = store.settings.mail.model_copy(update={"smtp_host": "127.0.0.1", "username": "u"})
    monkeypatch.delenv(relay.password_env, raising=False)
    unconfigured = store.settings.model_copy(update={"mail": relay})
    stuck = notice_delivery.NoticeSender(
        Store(store.engine, unconfigured), PortalLinks(unconfigured)
    )
    stuck.add([first])
    assert stuck.send() == 0
    assert {n.status for n in notice_rows(store)} == {"queued"}
    sender = notice_delivery.NoticeSender(store, PortalLinks(store.settings), mailer)
    sender.add([first, second])
    assert sender.waiting
    assert sender.send() == 2 and not sender.waiting and sender.sent == 2
    assert len(sink.messages) == 2


def test_a_5xx_refusal_fails_at_once_without_addresses(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = lambda _n, address: f"550 5.1.1 <{address}>: Recipient address rejected"
    domain, registrant = make_domain(store)
    make_request(store, domain)
    ids = queue_many(store, essential("request_cancelled", contact_id=registrant.id))
    [notice] = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert notice.status == "failed"
    # Never again at a refused address: once at each address on file (the registrant's, then
    # the account's; domains.address_failures), every one of them refused here.
    assert notice.attempts == 2, "a permanent refusal is not retried"
    assert sink.rcpt_calls == 2
    assert "550" in notice.error and "<address>" in notice.error
    assert_no_personal_data(store, registrant.email, registrant.name)


def test_a_4xx_refusal_is_retried_until_it_goes_through(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = lambda n, _address: "451 4.3.0 Greylisted, try again" if n <= 2 else None
    domain, registrant = make_domain(store)
    make_request(store, domain)
    ids = queue_many(store, essential("request_expired", contact_id=registrant.id))
    [notice] = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert (notice.status, notice.attempts, notice.error) == ("sent", 3, None)
    assert len(sink.messages) == 1


def test_a_closed_port_is_retried_then_left_for_a_later_pass(store: Store) -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=5)
    domain, registrant = make_domain(store)
    make_request(store, domain)
    ids = queue_many(store, essential("request_cancelled", contact_id=registrant.id))
    before = utcnow()
    [notice] = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert notice.status == "queued", "a relay that is down fails nothing"
    assert notice.attempts == 3, "the first attempt and settings.mail.retries (2) more"
    assert notice.error.startswith("ConnectionRefusedError")
    assert notice.next_attempt_at > before + timedelta(seconds=40), "after the back-off"
    assert "@" not in notice.error
    assert_no_personal_data(store, registrant.email, registrant.name)


# -- marketing --------------------------------------------------------------------------


def test_marketing_opt_out_suppresses_marketing_but_never_essential(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    account_number = store.domain_record(domain.name).account.number
    account = store.update_account(
        "staff:test",
        account_number,
        None,
        {"marketing_opt_out_at": utcnow(), "marketing_opt_out_via": "portal"},
    )
    make_request(store, domain, state="confirmed", confirmed_at=utcnow())
    ids = queue_many(
        store,
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "recipient": "account", "account_id": account.id},
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "contact_id": registrant.id},
        essential("request_confirmed", contact_id=registrant.id),
        essential("request_confirmed", recipient="account", account_id=account.id),
    )  # fmt: skip

    done = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))

    assert [n.status for n in done] == ["suppressed", "suppressed", "sent", "sent"]
    assert done[0].error == "the account opted out of marketing"
    assert done[0].attempts == 0 and done[0].sent_at is None
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([registrant.email, account.email])
    assert all("Confirmed:" in str(m.message["Subject"]) for m in sink.messages)


def test_marketing_goes_to_customers_who_did_not_opt_out(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    account = store.create_account("staff:test", account_data())
    outsider = store.create_contact("staff:test", contact_data())  # no account: not a customer
    ids = queue_many(
        store,
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "recipient": "account", "account_id": account.id},
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "contact_id": outsider.id},
    )  # fmt: skip
    done = notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert [n.status for n in done] == ["sent", "suppressed"]
    assert done[1].error == "not a customer: no marketing mail"
    [mail] = sink.messages
    assert mail.rcpt_tos == [account.email]
    assert mail.message["Precedence"] == "bulk"
    assert "To stop it" in flat(mail.message.get_content())


@pytest.mark.parametrize("case", ["customer", "opted out", "failing", "gone"])
def test_an_announcement_prepared_from_its_claim_is_what_prepare_makes(
    store: Store, case: str
) -> None:
    """The delivery's short way for marketing mail to an account (the account read with the
    claim, no session of its own) gives the same message, or the same reason, as `prepare`."""
    account = store.create_account("staff:test", account_data())
    [notice_id] = queue_many(
        store,
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "recipient": "account", "account_id": account.id},
    )  # fmt: skip
    if case == "opted out":
        store.update_account(
            "staff:test",
            account.number,
            None,
            {"marketing_opt_out_at": utcnow(), "marketing_opt_out_via": "portal"},
        )
    if case == "failing":
        address_failures.record_failure(
            store, account.email, FailureSource.SMTP, "550 no such user"
        )
    links = PortalLinks(store.settings)
    claim = claim_notice(store, notice_id, "holder", None)
    assert claim is not None and claim.facts is not None
    facts = claim.facts
    if case == "gone":
        facts = AccountFacts(None, failing=False)

    def short_way() -> EmailMessage | str:
        return notices.prepare_for_account(
            store.settings, links, claim.notice, facts.account, facts.failing, {}
        )

    if case == "gone":
        with pytest.raises(NoticeError, match=f"account {account.id} does not exist"):
            short_way()
        return
    with store.read() as session:
        expected = notices.prepare(session, store.settings, links, claim.notice, {})
    made = short_way()
    if isinstance(expected, str):
        assert made == expected
        return
    assert isinstance(made, EmailMessage)
    headers = [(k, str(v)) for k, v in expected.items() if k != "Date"]
    assert [(k, str(v)) for k, v in made.items() if k != "Date"] == headers
    assert "List-Unsubscribe-Post" in dict(headers)
    assert [p.get_content() for p in made.iter_parts()] == [
        p.get_content() for p in expected.iter_parts()
    ]


def test_only_marketing_notices_to_an_account_carry_facts_with_their_claim(
    store: Store,
) -> None:
    account = store.create_account("staff:test", account_data())
    ids = queue_many(
        store,
        {"template": "newsletter", "category": "marketing", "subject_ref": None,
         "recipient": "account", "account_id": account.id},
        essential("request_confirmed", recipient="account", account_id=account.id),
    )  # fmt: skip
    claims = [claim_notice(store, notice_id, "holder", None) for notice_id in ids]
    assert [c is not None and c.facts is not None for c in claims] == [True, False]
    with pytest.raises(ValueError, match="not a marketing notice to an account"):
        assert claims[1] is not None
        notices.prepare_for_account(
            store.settings, PortalLinks(store.settings), claims[1].notice, None, False, {}
        )


# -- rendering --------------------------------------------------------------------------


@pytest.mark.parametrize("template", [t for t in notices.TEMPLATES if t.startswith("request_")])
def test_every_request_template_renders_for_everyone(store: Store, template: str) -> None:
    domain, registrant = make_domain(store)
    account = store.domain_record(domain.name).account
    house = store.house_contact()
    make_request(
        store, domain, state="rejected", confirmed_at=utcnow(), reason="The company is unknown."
    )
    ids = queue_many(
        store,
        essential(template, contact_id=registrant.id),
        essential(template, contact_id=house.id),
        essential(template, recipient="proposed_tech"),
        essential(template, recipient="account", account_id=account.id),
    )
    outbox = store.settings.outbox_dir()
    done = notice_delivery.deliver(
        store,
        ids,
        mailer=FolderMailer(outbox),
        links=PortalLinks(store.settings),
        context={"confirm_url": CONFIRM_URL},
    )
    assert [n.status for n in done] == ["sent"] * 4, [n.error for n in done]
    for path in sorted(outbox.iterdir()):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        assert domain.unicode_name in str(message["Subject"])
        assert text.startswith("Hello ")
        assert "TC-7Q2K9" in text
        assert "Example Hosting GmbH" in text, "a confirmed request names the new company"
        assert all(len(line) <= 80 for line in text.splitlines() if "://" not in line)
        if template == "request_rejected":
            assert "The company is unknown." in text
        if template != "request_received" or message["To"].addresses[0].addr_spec != (
            registrant.email
        ):
            assert CONFIRM_URL not in message.as_string()


def test_moving_back_to_the_house_contact(store: Store, smtp: tuple[SmtpMailer, SmtpSink]) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    outside = store.create_contact("staff:test", contact_data(org="Other Web AG"))
    store.assign_contact("staff:test", domain.name, "tech", outside.handle)
    make_request(store, domain, target="house", proposed={})
    ids = queue_many(
        store,
        essential("request_received", contact_id=registrant.id),
        essential("request_received", recipient="proposed_tech"),
    )
    done = notice_delivery.deliver(
        store,
        ids,
        mailer=mailer,
        links=PortalLinks(store.settings),
        context={"confirm_url": CONFIRM_URL},
    )
    assert [n.status for n in done] == ["sent", "sent"]
    house = store.house_contact()
    text = sink.to(registrant.email)[0].message.get_body(("plain",)).get_content()
    assert "from:              Other Web AG" in text
    assert f"to:                {house.org}" in text, "our own company is not masked"
    assert sink.to(house.email), "the proposed tech of a move home is the house contact"


def test_markup_in_names_is_escaped_in_html(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    with store.write() as session:
        row = session.get(Contact, registrant.id)
        row.name = 'Ann <b onclick="x()">Bold</b>'
    make_request(store, domain)
    ids = queue_many(store, essential("request_received", contact_id=registrant.id))
    notice_delivery.deliver(
        store,
        ids,
        mailer=mailer,
        links=PortalLinks(store.settings),
        context={"confirm_url": CONFIRM_URL},
    )
    [mail] = sink.messages
    html = mail.message.get_body(("html",)).get_content()
    assert "Ann &lt;b onclick=&#34;x()&#34;&gt;Bold&lt;/b&gt;" in html
    assert "<b onclick" not in html
    assert mail.message["To"].addresses[0].display_name == 'Ann <b onclick="x()">Bold</b>'


def test_a_missing_request_fails_clearly(store: Store, tmp_path: Path) -> None:
    _domain, registrant = make_domain(store)
    ids = queue_many(store, essential("request_completed", ref="TC-NONE", contact_id=registrant.id))
    [notice] = notice_delivery.deliver(
        store, ids, mailer=FolderMailer(tmp_path / "out"), links=PortalLinks(store.settings)
    )
    assert (notice.status, notice.error) == ("failed", "change request TC-NONE not found")
    assert not (tmp_path / "out").exists()


def test_deliver_reads_the_address_at_send_time(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, registrant = make_domain(store)
    make_request(store, domain, state="confirmed", confirmed_at=utcnow())
    ids = queue_many(store, essential("request_confirmed", contact_id=registrant.id))
    current = store.get_contact(registrant.handle).version
    store.update_contact("staff:test", registrant.handle, current, {"email": "moved@example.net"})
    notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    assert [m.rcpt_tos for m in sink.messages] == [["moved@example.net"]]


def test_an_account_notice_uses_the_account_address(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    domain, _registrant = make_domain(store)
    with store.read() as session:
        account = session.get(Account, domain.account_id)
    make_request(store, domain)
    ids = queue_many(
        store, essential("request_expired", recipient="account", account_id=account.id)
    )
    notice_delivery.deliver(store, ids, mailer=mailer, links=PortalLinks(store.settings))
    [mail] = sink.messages
    assert mail.rcpt_tos == [account.email]
    assert mail.message["To"].addresses[0].display_name == account.name


# -- masking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane.doe@example.com", "j***@e***.com"),
        ("x@mail.example.co.uk", "x***@m***.uk"),
        ("ab@localhost", "a***@l***"),
        ("not-an-address", "***"),
        ("", "***"),
        (None, "***"),
    ],
)
def test_mask_email(address: str | None, masked: str) -> None:
    assert mask_email(address) == masked


def test_mask_name() -> None:
    assert mask_name("Example Hosting GmbH") == "E*** H*** G***"
    assert mask_name("  ") == "***"
    assert mask_name(None) == "***"


def test_expired_marker_is_in_the_future() -> None:
    """The fixed expiry date used above must stay after 'now' for the templates' wording."""
    assert datetime(2031, 3, 14, tzinfo=UTC) - utcnow() > timedelta(days=0)
