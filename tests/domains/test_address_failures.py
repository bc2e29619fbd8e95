"""Failing addresses: a relay's 550 or a delivery report marks one; essential mail goes on to
the next address on file, marketing mail to it is suppressed.

Real parts only: aiosmtpd on loopback refusing recipients, RFC 3464 reports built with the
email package in real mbox files and Maildir folders, the `interlink` command.
"""

from __future__ import annotations

import logging
import mailbox
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from sqlalchemy import select

from domains import address_failures, notice_delivery
from domains.account_detail import account_detail
from domains.address_failures import NotAMailbox, clear, failing, read_bounces, record_failure
from domains.mailer import SmtpMailer
from domains.models import Account, AuditEvent, Contact
from domains.notice_models import AddressFailure
from domains.staff import Refused
from domains.store import Store
from domains.vocabulary import StaffRole
from portal.links import PortalLinks
from tests.support.cli import on, one_error
from tests.support.factories import account_data, contact_data
from tests.support.mail import SmtpSink
from tests.support.notices import essential, make_request, queue_many
from tests.support.staff import SUPPORT, add_me

SUE = "staff:sue"  # a supervisor: handles returned mail
ACCOUNT_EMAIL = "holder@example.com"
REGISTRANT_EMAIL = "rita@example.org"
ADMIN_EMAIL = "adam@example.net"


class Holder:
    """An account whose domain has a registrant and an admin contact, each its own address."""

    def __init__(self, store: Store) -> None:
        self.account: Account = store.create_account("staff:ann", account_data(email=ACCOUNT_EMAIL))
        self.registrant: Contact = store.create_contact(
            "staff:ann", contact_data(email=REGISTRANT_EMAIL), account_number=self.account.number
        )
        self.admin: Contact = store.create_contact(
            "staff:ann", contact_data(email=ADMIN_EMAIL), account_number=self.account.number
        )
        self.domain = store.create_domain(
            "staff:ann",
            {"name": "failing-mail.com"},
            account_number=self.account.number,
            contacts={"registrant": self.registrant.handle, "admin": self.admin.handle},
        )


@pytest.fixture
def holder(store: Store) -> Holder:
    held = Holder(store)
    make_request(store, held.domain, state="completed")
    return held


def to_admin(store: Store, holder: Holder) -> list[int]:
    return queue_many(store, essential("request_completed", contact_id=holder.admin.id))


def newsletter(store: Store, holder: Holder) -> list[int]:
    spec = {"template": "newsletter", "category": "marketing", "subject_ref": None}
    return queue_many(store, {**spec, "recipient": "account", "account_id": holder.account.id})


def refusing(*addresses: str):
    refused = set(addresses)
    return lambda _n, address: (
        f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        if address in refused
        else None
    )


def failures(store: Store) -> list[AddressFailure]:
    with store.read() as session:
        return list(session.execute(select(AddressFailure).order_by(AddressFailure.id)).scalars())


# -- delivery reports, as a bounce drop holds them -----------------------------------------------


def dsn(
    recipient: str, *, action: str = "failed", status: str = "5.1.1", notice: int | None = None
) -> MIMEMultipart:
    """A delivery status notification (RFC 3464) about one recipient."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.net"
    report["To"] = "notices@example.com"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("Your message could not be delivered to one or more recipients.\n"))
    status_part = Message()
    status_part.set_type("message/delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.example.net"
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = f"smtp; 550 {status} user unknown"
    status_part.attach(per_message)
    status_part.attach(per_recipient)
    report.attach(status_part)
    returned = f"To: {recipient}\nSubject: Your request\n"
    if notice is not None:
        returned += f"X-Interlink-Notice: {notice}\n"
    headers = MIMEText(returned, "rfc822-headers")
    report.attach(headers)
    return report


def mbox_of(path: Path, *messages: Message) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.flush()
    box.close()
    return path


# -- the relay's refusal ----------------------------------------------------------------------


def test_a_550_marks_the_address_and_the_notice_goes_to_the_account_e_mail(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink], caplog
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = refusing(ADMIN_EMAIL)
    links = PortalLinks(store.settings)
    caplog.set_level(logging.DEBUG, logger="domains")

    [notice] = notice_delivery.deliver(store, to_admin(store, holder), mailer=mailer, links=links)

    assert notice.status == "sent"
    assert [m.rcpt_tos for m in sink.messages] == [[ACCOUNT_EMAIL]]
    assert "550 5.1.1" in notice.error and "@" not in notice.error.replace("<address>", "")
    [failure] = failures(store)
    assert (failure.address, failure.source, failure.notice_id) == (ADMIN_EMAIL, "smtp", notice.id)
    assert "550 5.1.1" in failure.reason and failure.cleared_at is None
    assert failing(store, [ADMIN_EMAIL, ACCOUNT_EMAIL, REGISTRANT_EMAIL]) == {ADMIN_EMAIL}

    # The next essential notice goes to the account's address at once: no try at the failing one.
    calls = sink.rcpt_calls
    [again] = notice_delivery.deliver(store, to_admin(store, holder), mailer=mailer, links=links)
    assert (again.status, again.attempts, again.error) == ("sent", 1, None)
    assert sink.rcpt_calls == calls + 1
    assert sink.messages[-1].rcpt_tos == [ACCOUNT_EMAIL]

    # The account's address refused too: on to the registrant's.
    sink.rcpt_reply = refusing(ADMIN_EMAIL, ACCOUNT_EMAIL)
    [third] = notice_delivery.deliver(store, to_admin(store, holder), mailer=mailer, links=links)
    assert third.status == "sent" and sink.messages[-1].rcpt_tos == [REGISTRANT_EMAIL]
    assert failing(store, [ACCOUNT_EMAIL]) == {ACCOUNT_EMAIL}
    assert len(failures(store)) == 2, "an address already failing is not recorded twice"

    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "@" not in messages, "no address in the log"


def test_with_every_address_refused_the_notice_fails_with_the_refusal(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = refusing(ADMIN_EMAIL, ACCOUNT_EMAIL, REGISTRANT_EMAIL)
    links = PortalLinks(store.settings)
    [notice] = notice_delivery.deliver(store, to_admin(store, holder), mailer=mailer, links=links)
    assert notice.status == "failed" and notice.attempts == 3
    assert sink.rcpt_calls == 3 and sink.messages == []
    assert "550 5.1.1" in notice.error
    assert {f.address for f in failures(store)} == {ADMIN_EMAIL, ACCOUNT_EMAIL, REGISTRANT_EMAIL}

    [later] = notice_delivery.deliver(store, to_admin(store, holder), mailer=mailer, links=links)
    assert later.status == "failed" and "every address on file" in later.error
    assert sink.rcpt_calls == 3, "nothing is sent to an address known to fail"


def test_marketing_mail_is_not_sent_elsewhere_and_then_suppressed(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = refusing(ACCOUNT_EMAIL)
    links = PortalLinks(store.settings)
    [first] = notice_delivery.deliver(store, newsletter(store, holder), mailer=mailer, links=links)
    assert first.status == "failed" and sink.rcpt_calls == 1 and sink.messages == []
    assert failing(store, [ACCOUNT_EMAIL]) == {ACCOUNT_EMAIL}

    [second] = notice_delivery.deliver(store, newsletter(store, holder), mailer=mailer, links=links)
    assert second.status == "suppressed" and "failing" in second.error
    assert sink.rcpt_calls == 1


def test_a_4xx_or_another_permanent_error_marks_nothing(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = lambda _n, _address: "451 4.3.0 Greylisted, try again"
    notice_delivery.deliver(
        store, to_admin(store, holder), mailer=mailer, links=PortalLinks(store.settings)
    )
    assert failures(store) == []
    assert address_failures.refusal("SMTPAuthenticationError: 535 5.7.8 bad credentials") is None
    assert address_failures.refusal("SMTPRecipientsRefused: recipient refused: 550 5.1.1 x") == (
        "550 5.1.1"
    )


# -- delivery reports -----------------------------------------------------------------------------


def test_delivery_reports_in_an_mbox_mark_the_failed_recipients(
    store: Store, holder: Holder, tmp_path: Path
) -> None:
    path = mbox_of(
        tmp_path / "bounces.mbox",
        dsn(REGISTRANT_EMAIL),
        dsn("Rita@Example.ORG"),  # the same address again, as another relay wrote it
        dsn(ACCOUNT_EMAIL, action="delayed", status="4.4.1"),
        MIMEText("Out of office until Monday.\n"),
    )
    reading = read_bounces(store, SUE, path)
    assert (reading.messages, reading.reports, reading.failed, reading.recorded) == (4, 3, 2, 1)
    [failure] = failures(store)
    assert (failure.address, failure.source, failure.reason) == (
        REGISTRANT_EMAIL,
        "dsn",
        "DSN 5.1.1",
    )
    assert failing(store, [ACCOUNT_EMAIL, REGISTRANT_EMAIL]) == {REGISTRANT_EMAIL}

    again = read_bounces(store, SUE, path)
    assert again.recorded == 0 and len(failures(store)) == 1


def test_a_maildir_is_read_too_and_staff_see_the_failing_address(
    store: Store, holder: Holder, tmp_path: Path
) -> None:
    box = mailbox.Maildir(tmp_path / "drop")
    box.add(dsn(ADMIN_EMAIL, status="5.2.1"))
    box.close()
    assert read_bounces(store, SUE, tmp_path / "drop").recorded == 1

    detail = account_detail(store, SUE, holder.account.number)
    [shown] = detail.failing
    assert (shown.address, shown.holders, shown.source) == (
        ADMIN_EMAIL,
        (holder.admin.handle,),
        "dsn",
    )


def test_a_path_that_is_not_a_mailbox_is_one_clear_error(store: Store, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not mail\n", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    for path in (text, folder, tmp_path / "missing"):
        with pytest.raises(NotAMailbox, match="is not a mailbox: give an mbox file or a Maildir"):
            read_bounces(store, SUE, path)


def test_reading_bounces_and_clearing_need_a_supervisor(
    store: Store, holder: Holder, tmp_path: Path
) -> None:
    path = mbox_of(tmp_path / "b.mbox", dsn(ADMIN_EMAIL))
    with pytest.raises(Refused, match="may not handle returned mail"):
        read_bounces(store, f"staff:{SUPPORT}", path)
    assert failures(store) == []

    read_bounces(store, SUE, path)
    with pytest.raises(Refused):
        clear(store, f"staff:{SUPPORT}", ADMIN_EMAIL)
    assert clear(store, SUE, "ADAM@example.net") == 1
    assert failing(store, [ADMIN_EMAIL]) == set()
    with store.read() as session:
        [event] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "address_failure.clear")
        ).scalars()
    assert event.actor == SUE


# -- interlink mail bounces ------------------------------------------------------------------------


def test_the_command_reads_the_drop_and_says_what_it_found(
    store: Store, holder: Holder, tmp_path: Path
) -> None:
    path = mbox_of(tmp_path / "drop.mbox", dsn(ADMIN_EMAIL), dsn(ACCOUNT_EMAIL))
    add_me(store, StaffRole.SUPERVISOR)
    result = on(store, "mail", "bounces", str(path))
    assert result.exit_code == 0, result.output
    assert "2 message(s), 2 delivery report(s), 2 failed recipient(s): 2 address(es) newly" in (
        " ".join(result.stdout.split())
    )
    assert "@" not in result.stdout
    assert failing(store, [ADMIN_EMAIL, ACCOUNT_EMAIL]) == {ADMIN_EMAIL, ACCOUNT_EMAIL}


def test_the_command_refuses_a_non_mailbox_and_a_role_without_the_permission(
    store: Store, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not mail\n", encoding="utf-8")
    add_me(store, StaffRole.SUPERVISOR)
    assert "is not a mailbox: give an mbox file or a Maildir folder" in one_error(
        on(store, "mail", "bounces", str(text))
    )
    add_me(store, StaffRole.SUPPORT)
    assert "may not handle returned mail" in one_error(on(store, "mail", "bounces", str(text)))


def test_a_supervisor_clears_a_failing_address_from_the_shell(store: Store, holder: Holder) -> None:
    record_failure(store, ADMIN_EMAIL, "smtp", "550 5.1.1")
    add_me(store, StaffRole.SUPPORT)
    assert "may not handle returned mail" in one_error(
        on(store, "mail", "clear-failing", ADMIN_EMAIL)
    )
    add_me(store, StaffRole.SUPERVISOR)
    result = on(store, "mail", "clear-failing", ADMIN_EMAIL)
    assert result.exit_code == 0, result.output
    assert "no longer marked failing" in result.stdout and "@" not in result.stdout
    assert failing(store, [ADMIN_EMAIL]) == set()
    again = one_error(on(store, "mail", "clear-failing", ADMIN_EMAIL))
    assert "that address is not marked failing" in again


def test_a_report_that_returns_a_notice_names_it(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink], tmp_path: Path
) -> None:
    mailer, _sink = smtp
    [sent] = notice_delivery.deliver(
        store, to_admin(store, holder), mailer=mailer, links=PortalLinks(store.settings)
    )
    path = mbox_of(
        tmp_path / "drop.mbox",
        dsn(ADMIN_EMAIL, notice=sent.id),
        dsn(ACCOUNT_EMAIL, notice=999_999),  # mail of another store: no such notice here
    )
    assert read_bounces(store, SUE, path).recorded == 2
    assert {(f.address, f.notice_id) for f in failures(store)} == {
        (ADMIN_EMAIL, sent.id),
        (ACCOUNT_EMAIL, None),
    }


def test_a_mail_with_a_link_for_its_own_address_is_never_sent_to_another(
    store: Store, holder: Holder, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    """A sign-in link proves who holds the account's address: it never goes elsewhere."""
    from domains.customer_sessions import CustomerSessions

    mailer, sink = smtp
    sink.rcpt_reply = refusing(ACCOUNT_EMAIL)
    links = PortalLinks(store.settings)
    [link] = CustomerSessions(store).request_links(holder.account.number)
    context = {"signin_url": links.signin(link.token)}
    [notice] = notice_delivery.deliver(
        store, [link.notice_id], mailer=mailer, links=links, context=context
    )
    assert notice.status == "failed"
    assert sink.messages == []  # refused at the account address, and tried nowhere else
    assert failing(store, [ACCOUNT_EMAIL]) == {ACCOUNT_EMAIL}
    # And once the address is known to fail, the next link is not tried anywhere else either.
    [again] = CustomerSessions(store).request_links(holder.account.number)
    [second] = notice_delivery.deliver(
        store,
        [again.notice_id],
        mailer=mailer,
        links=links,
        context={"signin_url": links.signin(again.token)},
    )
    assert second.status == "failed" and "meant for that address only" in (second.error or "")
    assert sink.messages == []
