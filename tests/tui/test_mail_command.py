"""`interlink mail unsubscribe-inbox`: unsubscribe mail in an mbox or a Maildir opts out."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains.models import Account
from domains.settings import get_settings
from domains.store import Store
from domains.unsubscribe import HANDLED_FOLDER, Unsubscribes
from domains.vocabulary import StaffRole
from tests.support.cli import on, one_error
from tests.support.factories import account_data
from tests.support.staff import add_me


@pytest.fixture(autouse=True)
def same_secret(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command reads the server secret from the test store's data directory."""
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(store.settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def mail(sender: str, subject: str, body: str = "Please stop the newsletter.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "unsubscribe@interlink.example.net"
    message["Subject"] = subject
    message.set_content(body)
    return message


def choice(store: Store, number: str) -> tuple[object, str | None, str | None]:
    with store.read() as session:
        row = session.execute(select(Account).where(col(Account.number) == number)).scalar_one()
    return row.marketing_opt_out_at, row.marketing_opt_out_via, row.marketing_opt_out_by


def inbox_mails(store: Store) -> tuple[list[EmailMessage], list[Account]]:
    """Four unsubscribe mails: by token (sent from another address), by From address, from an
    unknown address, and from an address two accounts share; and the accounts."""
    by_token = store.create_account("staff:test", account_data(email="token.reader@example.com"))
    by_sender = store.create_account("staff:test", account_data(email="Sender.Reader@example.org"))
    shared = [
        store.create_account("staff:test", account_data(email="family@example.net"))
        for _ in range(2)
    ]
    assert by_token.id is not None
    token = Unsubscribes(store).token_for(by_token.id)
    mails = [
        mail("Forwarding Service <forwarder@example.net>", f"unsubscribe {token}"),
        mail("Sender Reader <sender.reader@EXAMPLE.org>", "Unsubscribe"),
        mail("stranger@example.com", "unsubscribe"),
        mail("family@example.net", "unsubscribe"),
    ]
    return mails, [by_token, by_sender, *shared]


def assert_opted_out_by_mail(store: Store, accounts: list[Account]) -> None:
    by_token, by_sender, *shared = accounts
    for account in (by_token, by_sender):
        at, via, by = choice(store, account.number)
        assert at is not None and via == "unsubscribe e-mail"
        assert by == f"customer:{account.number}"
    assert all(choice(store, account.number)[0] is None for account in shared)


def test_an_mbox_opts_out_by_token_and_by_sender_and_says_only_counts(
    store: Store, tmp_path: Path
) -> None:
    add_me(store, StaffRole.SUPERVISOR)
    mails, accounts = inbox_mails(store)
    path = tmp_path / "unsubscribe.mbox"
    box = mailbox.mbox(path)
    for message in mails:
        box.add(message)
    box.flush()
    box.close()

    result = on(store, "mail", "unsubscribe-inbox", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "opted out 2, already out 0, unmatched 2"
    assert "@" not in result.output
    assert_opted_out_by_mail(store, accounts)

    again = on(store, "mail", "unsubscribe-inbox", str(path))
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "opted out 0, already out 2, unmatched 2"


def test_a_maildir_is_handled_once_and_handled_mail_is_kept_aside(
    store: Store, tmp_path: Path
) -> None:
    add_me(store, StaffRole.SUPERVISOR)
    mails, accounts = inbox_mails(store)
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path)
    for message in mails:
        box.add(message)
    box.close()

    result = on(store, "mail", "unsubscribe-inbox", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "opted out 2, already out 0, unmatched 2"
    assert_opted_out_by_mail(store, accounts)

    box = mailbox.Maildir(path, create=False)
    assert len(box) == 2  # the unmatched two stay for the postmaster
    assert len(box.get_folder(HANDLED_FOLDER)) == 2
    again = on(store, "mail", "unsubscribe-inbox", str(path))
    assert again.stdout.strip() == "opted out 0, already out 0, unmatched 2"


def test_a_path_that_is_no_mailbox_is_one_clear_error(store: Store, tmp_path: Path) -> None:
    add_me(store, StaffRole.SUPERVISOR)
    text = tmp_path / "notes.txt"
    text.write_text("Subject: not a mailbox\n\nhello\n", encoding="utf-8")
    assert "is not an mbox" in one_error(on(store, "mail", "unsubscribe-inbox", str(text)))
    folder = tmp_path / "folder"
    folder.mkdir()
    assert "not a Maildir" in one_error(on(store, "mail", "unsubscribe-inbox", str(folder)))
    missing = tmp_path / "missing.mbox"
    assert "does not exist" in one_error(on(store, "mail", "unsubscribe-inbox", str(missing)))


def test_handling_unsubscribe_mail_needs_the_supervisor_role(store: Store, tmp_path: Path) -> None:
    add_me(store, StaffRole.SUPPORT)
    mails, accounts = inbox_mails(store)
    path = tmp_path / "unsubscribe.mbox"
    box = mailbox.mbox(path)
    box.add(mails[1])
    box.close()
    refused = one_error(on(store, "mail", "unsubscribe-inbox", str(path)))
    assert "handle returned mail" in refused and "supervisor" in refused
    assert choice(store, accounts[1].number) == (None, None, None)
