"""What the domain-layer tests share: a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from domains.mailer import SmtpMailer
from tests.domains.test_mailer import SmtpSink, free_port


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpMailer, SmtpSink]]:
    """A real SMTP server on loopback and a mailer pointed at it."""
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5), sink
    finally:
        controller.stop()
