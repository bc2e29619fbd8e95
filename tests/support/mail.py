"""An SMTP sink (aiosmtpd handler) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.smtp import LoginPassword


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps what it receives; `rcpt_reply` can refuse recipients."""

    messages: list[Received] = field(default_factory=list)
    rcpt_calls: int = 0
    rcpt_reply: Callable[[int, str], str | None] = lambda _n, _address: None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.rcpt_calls += 1
        refusal = self.rcpt_reply(self.rcpt_calls, address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        auth = session.auth_data if session.authenticated else None
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, bool(session.ssl), login)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        """The messages whose envelope went to `address`."""
        return [m for m in self.messages if address in m.rcpt_tos]


@dataclass
class SignallingSink(SmtpSink):
    """An SMTP sink that wakes a waiting test as each message arrives."""

    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        with self.arrived:
            self.arrived.notify_all()
        return answer

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first `count` messages to `address`, once they are there."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.to(address)) >= count, timeout=timeout)
        assert ok, f"fewer than {count} mails to {address} within {timeout} s"
        return self.to(address)[:count]
