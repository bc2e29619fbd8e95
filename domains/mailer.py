"""Mail transports: an SMTP relay (STARTTLS, login) or a folder of .eml files.

A transport raises `TransientMailError` when trying again later may work (connection refused,
timeouts, 4xx replies) and `PermanentMailError` when it will not (5xx replies, a relay without
STARTTLS, a certificate that does not verify). Their messages never carry e-mail addresses.
"""

from __future__ import annotations

import email.policy
import ipaddress
import logging
import os
import re
import secrets
import smtplib
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, runtime_checkable

from domains.settings import Settings

log = logging.getLogger(__name__)

NOTICE_HEADER = "X-Interlink-Notice"
_ADDRESS_RE = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
MAX_ERROR = 500
#: A kept connection idle longer than this (seconds) is checked with NOOP before it is used.
IDLE_CHECK = 2.0


def scrub(text: str) -> str:
    """The text with anything that looks like an e-mail address replaced by `<address>`."""
    return _ADDRESS_RE.sub("<address>", text)[:MAX_ERROR]


class MailError(Exception):
    """Sending failed; the message is safe to store and log (no addresses)."""

    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))


class TransientMailError(MailError):
    """Sending failed in a way that trying again later may fix."""

    transient = True


class PermanentMailError(MailError):
    """Sending failed in a way that trying again will not fix."""


@runtime_checkable
class Mailer(Protocol):
    """Something that sends a finished message."""

    def send(self, message: EmailMessage) -> None:
        """Send `message` or raise a MailError."""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


class SmtpMailer:
    """Sends through an SMTP relay with smtplib; STARTTLS verifies the relay's certificate."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._local = threading.local()  # kept_open's connection, per thread

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host!r}, {self.port}, starttls={self.starttls})"

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Within it, this thread's sends share one connection to the relay (a delivery pass:
        no new connection, EHLO and login per message); the connection is closed at the end,
        and dropped after any error, so the next send opens a fresh one."""
        if getattr(self._local, "kept", False):
            yield
            return
        self._local.kept, self._local.smtp, self._local.used = True, None, 0.0
        try:
            yield
        finally:
            smtp, self._local.smtp, self._local.kept = self._local.smtp, None, False
            if smtp is not None:
                _quit(smtp)

    def send(self, message: EmailMessage) -> None:
        """Deliver the message to the relay; raise Transient/PermanentMailError on failure.

        The relay's 250 after the message data is the send. A connection lost between that
        reply and the caller's record of it (or a caller killed there) cannot be told from a
        message never accepted, so the message may go out twice: the caller keeps its
        Message-ID the same on every try, which lets receivers drop the copy.
        """
        if self.username and not self.starttls and not _is_loopback(self.host):
            raise PermanentMailError(
                f"refusing to send the SMTP password to {self.host} without STARTTLS; "
                "turn starttls on"
            )
        kept = getattr(self._local, "kept", False)
        smtp: smtplib.SMTP | None = None
        if kept:  # taken out until this send ends well
            smtp, self._local.smtp = self._local.smtp, None
        if smtp is not None and time.monotonic() - self._local.used > IDLE_CHECK:
            smtp = _alive(smtp)  # a relay may drop a connection that waited
        try:
            smtp = smtp or self._connect()
            try:
                smtp.send_message(message)
            except BaseException:
                _close(smtp)
                raise
        except MailError:
            raise
        except Exception as exc:
            raise self._error(exc) from None
        if kept:
            self._local.smtp, self._local.used = smtp, time.monotonic()
        else:
            _quit(smtp)  # the message is accepted: a failing QUIT changes nothing

    def _connect(self) -> smtplib.SMTP:
        """A connection that said EHLO (and STARTTLS and logged in, as configured)."""
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                context = self.ssl_context or ssl.create_default_context()
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def _error(self, exc: Exception) -> MailError:
        """What an smtplib, TLS or socket error means for the notice: try again later or not."""
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PermanentMailError(
                f"the relay {self.host}:{self.port} does not offer what we need: {exc}"
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _reply in exc.recipients.values()]
            text = "; ".join(_reply_text(c, r) for c, r in exc.recipients.values())
            error = f"SMTPRecipientsRefused: recipient refused: {text}"
            if codes and all(400 <= c < 500 for c in codes):
                return TransientMailError(error)
            return PermanentMailError(error)
        if isinstance(exc, smtplib.SMTPResponseException):
            error = f"{type(exc).__name__}: {_reply_text(exc.smtp_code, exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                return TransientMailError(error)
            return PermanentMailError(error)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return PermanentMailError(
                f"SSLCertVerificationError: the certificate of {self.host} does not verify: "
                f"{exc.verify_message}"
            )
        if isinstance(exc, ssl.SSLError):
            return PermanentMailError(f"{type(exc).__name__}: TLS with {self.host} failed: {exc}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return TransientMailError(f"SMTPServerDisconnected: {exc}")
        if isinstance(exc, TimeoutError):
            return TransientMailError(
                f"TimeoutError: no answer from {self.host}:{self.port} within {self.timeout:g} s"
            )
        if isinstance(exc, smtplib.SMTPException):  # (a subclass of OSError, so first)
            return PermanentMailError(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
            return TransientMailError(
                f"{type(exc).__name__}: cannot reach {self.host}:{self.port}: {reason}"
            )
        return PermanentMailError(f"{type(exc).__name__}: {exc}")


def _alive(smtp: smtplib.SMTP) -> smtplib.SMTP | None:
    """The connection if the relay still answers a NOOP; else closed, and None."""
    try:
        if smtp.noop()[0] == 250:
            return smtp
    except (smtplib.SMTPException, OSError):
        pass
    _close(smtp)
    return None


def _quit(smtp: smtplib.SMTP) -> None:
    """Say QUIT and close; a relay that went away meanwhile is no error."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    with suppress(OSError):
        smtp.close()


class FolderMailer:
    """Writes each message as one .eml file (for the demo and for machines without a relay).

    A notice's file is named by its id (`notice-0000000042.eml`, so names sort in the order
    notices were queued) and is never replaced: a notice whose file exists was sent, and sending
    it again, as a deliverer does after a crash between the write and its record, writes nothing.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FolderMailer({str(self.directory)!r})"

    def send(self, message: EmailMessage) -> None:
        """Write the message whole or not at all: a temporary file in the folder, written and
        synced, then linked under its name (never over an existing file), then the folder
        synced."""
        notice = str(message.get(NOTICE_HEADER, "")).strip()
        if notice.isascii() and notice.isdigit():
            name = f"notice-{int(notice):010d}.eml"
        else:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = message.as_bytes(policy=_policy_for(message))
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(tmp, self.directory / name)
                except FileExistsError:
                    log.info("notice %s is in the outbox folder already", notice or "-")
                else:
                    _sync_folder(self.directory)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            raise TransientMailError(
                f"{type(exc).__name__}: cannot write to the outbox folder: {exc.strerror or exc}"
            ) from None


def _sync_folder(directory: Path) -> None:
    """Make a new name in the folder durable (POSIX; elsewhere the file system does it)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _policy_for(message: EmailMessage) -> email.policy.Policy:
    """Local line endings, as in a Maildir; UTF-8 headers only when an address needs them."""
    for name in ("From", "To"):
        for address in getattr(message.get(name), "addresses", ()):
            if not address.addr_spec.isascii():
                return email.policy.default.clone(utf8=True)
    return email.policy.default


def mailer_from_settings(settings: Settings) -> Mailer:
    """The relay from settings, or the outbox folder when no relay is configured."""
    mail = settings.mail
    if not mail.smtp_host:
        return FolderMailer(settings.outbox_dir())
    password = mail.password()
    if mail.username and password is None:
        raise ValueError(
            f"the SMTP relay needs a password for {mail.username}: "
            f"set the environment variable {mail.password_env}"
        )
    return SmtpMailer(
        mail.smtp_host,
        mail.smtp_port,
        starttls=mail.starttls,
        username=mail.username,
        password=password,
        timeout=mail.timeout,
    )
