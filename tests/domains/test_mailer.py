"""Mail transports against a real SMTP server (aiosmtpd) on loopback, and the .eml folder."""

from __future__ import annotations

import email
import email.policy
import ssl
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from domains.mailer import (
    NOTICE_HEADER,
    FolderMailer,
    PermanentMailError,
    SmtpMailer,
    TransientMailError,
    mailer_from_settings,
    scrub,
)
from domains.settings import MailSettings, Settings
from tests.support.mail import SmtpSink
from tests.support.net import free_port

USER, PASSWORD = "relay-user", "relay-secret-pw"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Accept only USER / PASSWORD."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, SmtpSink]]:
    """A plain SMTP server on 127.0.0.1 and a random free port."""
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A test certificate authority."""
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[tuple[Controller, SmtpSink]]:
    """An SMTP server that requires STARTTLS (certificate from the test CA) and AUTH."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    sink = SmtpSink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that trusts the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def make_message(to: str = "Jane Doe <jane.doe@example.com>", notice: int = 7) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Interlink Domains <domains@interlink.example.net>"
    message["To"] = to
    message["Subject"] = "Grüße: a test"
    message[NOTICE_HEADER] = str(notice)
    message.set_content("Hello Jane,\n\nthis is a test.\n")
    return message


# -- SMTP -------------------------------------------------------------------------------


def test_plain_smtp_delivers_the_message(smtp_server: tuple[Controller, SmtpSink]) -> None:
    controller, sink = smtp_server
    mailer = SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5)
    mailer.send(make_message())
    [got] = sink.messages
    assert got.rcpt_tos == ["jane.doe@example.com"]
    assert got.mail_from == "domains@interlink.example.net"
    assert str(got.message["Subject"]) == "Grüße: a test"
    assert "this is a test." in got.message.get_content()
    assert got.tls is False


def test_starttls_and_login_with_a_verified_certificate(
    tls_server: tuple[Controller, SmtpSink], client_context: ssl.SSLContext
) -> None:
    controller, sink = tls_server
    mailer = SmtpMailer(
        "127.0.0.1",
        controller.port,
        starttls=True,
        username=USER,
        password=PASSWORD,
        timeout=5,
        ssl_context=client_context,
    )
    mailer.send(make_message())
    [got] = sink.messages
    assert got.tls is True
    assert got.login == USER
    assert got.rcpt_tos == ["jane.doe@example.com"]


def test_a_certificate_we_do_not_trust_fails_permanently(
    tls_server: tuple[Controller, SmtpSink],
) -> None:
    controller, sink = tls_server
    # The default context trusts the system CAs only, not the test CA.
    mailer = SmtpMailer("127.0.0.1", controller.port, username=USER, password=PASSWORD, timeout=5)
    with pytest.raises(PermanentMailError, match="does not verify") as caught:
        mailer.send(make_message())
    assert not caught.value.transient
    assert sink.messages == []


def test_a_wrong_password_fails_permanently(
    tls_server: tuple[Controller, SmtpSink], client_context: ssl.SSLContext
) -> None:
    controller, sink = tls_server
    mailer = SmtpMailer(
        "127.0.0.1",
        controller.port,
        username=USER,
        password="wrong",
        timeout=5,
        ssl_context=client_context,
    )
    with pytest.raises(PermanentMailError, match="535") as caught:
        mailer.send(make_message())
    assert "wrong" not in str(caught.value)
    assert sink.messages == []


def test_a_relay_without_starttls_is_refused_when_starttls_is_configured(
    smtp_server: tuple[Controller, SmtpSink],
) -> None:
    controller, sink = smtp_server
    mailer = SmtpMailer("127.0.0.1", controller.port, starttls=True, timeout=5)
    with pytest.raises(PermanentMailError, match="STARTTLS"):
        mailer.send(make_message())
    assert sink.messages == []


def test_no_password_goes_out_unencrypted_to_a_remote_relay() -> None:
    mailer = SmtpMailer("smtp.example.net", 25, starttls=False, username=USER, password=PASSWORD)
    with pytest.raises(PermanentMailError, match="without STARTTLS"):
        mailer.send(make_message())


def test_a_5xx_refusal_is_permanent_and_names_no_address(
    smtp_server: tuple[Controller, SmtpSink],
) -> None:
    controller, sink = smtp_server
    sink.rcpt_reply = lambda _n, address: f"550 5.1.1 <{address}>: Recipient address rejected"
    mailer = SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5)
    with pytest.raises(PermanentMailError) as caught:
        mailer.send(make_message())
    text = str(caught.value)
    assert "550" in text and "Recipient address rejected" in text
    assert "jane.doe" not in text and "example.com" not in text
    assert "<address>" in text


def test_a_4xx_refusal_is_transient(smtp_server: tuple[Controller, SmtpSink]) -> None:
    controller, sink = smtp_server
    sink.rcpt_reply = lambda _n, _address: "451 4.3.0 Try again later"
    mailer = SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5)
    with pytest.raises(TransientMailError, match="451"):
        mailer.send(make_message())


def test_a_closed_port_is_transient() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=5)
    with pytest.raises(TransientMailError, match="ConnectionRefusedError") as caught:
        mailer.send(make_message())
    assert caught.value.transient


# -- the outbox folder ------------------------------------------------------------------


def test_folder_mailer_writes_parseable_eml_files(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = FolderMailer(outbox)
    mailer.send(make_message(notice=41))
    mailer.send(make_message(to="Jörg Müller <joerg@example.org>", notice=42))
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"], "no temporary file is left behind"
    assert [f.name for f in files] == ["notice-0000000041.eml", "notice-0000000042.eml"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    parsed = email.message_from_bytes(files[1].read_bytes(), policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == "Jörg Müller"
    assert parsed["To"].addresses[0].addr_spec == "joerg@example.org"
    assert str(parsed["Subject"]) == "Grüße: a test"
    assert parsed.get_content() == "Hello Jane,\n\nthis is a test.\n"
    raw = files[1].read_bytes()
    assert raw.isascii(), "non-ASCII headers are RFC 2047 encoded"


def test_folder_mailer_writes_a_notice_once_whatever_it_is_asked(tmp_path: Path) -> None:
    """A notice's file is named by its id and never replaced: a second send (a deliverer that
    died after writing, before recording) writes nothing and is not an error."""
    outbox = tmp_path / "outbox"
    mailer = FolderMailer(outbox)
    mailer.send(make_message(notice=7))
    first = (outbox / "notice-0000000007.eml").read_bytes()
    mailer.send(make_message(to="Someone Else <other@example.org>", notice=7))
    assert sorted(p.name for p in outbox.iterdir()) == ["notice-0000000007.eml"]
    assert (outbox / "notice-0000000007.eml").read_bytes() == first


def test_folder_mailer_names_a_message_without_a_notice_uniquely(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    message = make_message()
    del message[NOTICE_HEADER]
    FolderMailer(outbox).send(message)
    FolderMailer(outbox).send(message)
    files = sorted(p.name for p in outbox.iterdir())
    assert len(files) == 2 and all(name.endswith(".eml") for name in files)


def test_folder_mailer_reports_an_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(TransientMailError, match="outbox folder"):
        FolderMailer(blocker).send(make_message())


# -- configuration ----------------------------------------------------------------------


def test_mailer_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = mailer_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(folder, FolderMailer) and folder.directory == tmp_path / "outbox"

    relay = MailSettings(smtp_host="relay.example.net", username=USER, password_env="TEST_PW_X")
    monkeypatch.delenv("TEST_PW_X", raising=False)
    with pytest.raises(ValueError, match="TEST_PW_X"):
        mailer_from_settings(Settings(data_dir=tmp_path, mail=relay))
    monkeypatch.setenv("TEST_PW_X", PASSWORD)
    smtp = mailer_from_settings(Settings(data_dir=tmp_path, mail=relay))
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.username, smtp.password) == (
        "relay.example.net",
        587,
        True,
        USER,
        PASSWORD,
    )
    assert PASSWORD not in repr(smtp)


def test_mail_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERLINK_MAIL__SMTP_HOST", "relay.example.net")
    monkeypatch.setenv("INTERLINK_MAIL__SMTP_PORT", "2525")
    settings = Settings()
    assert (settings.mail.smtp_host, settings.mail.smtp_port) == ("relay.example.net", 2525)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("550 <jane.doe@example.com>: rejected", "550 <<address>>: rejected"),
        ("{'a.b+c@sub.example.org': (550, b'no')}", "{'<address>': (550, b'no')}"),
        ("Connection refused", "Connection refused"),
    ],
)
def test_scrub_removes_addresses(raw: str, expected: Any) -> None:
    assert scrub(raw) == expected
