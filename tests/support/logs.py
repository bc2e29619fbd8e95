"""Every log record of a run, at DEBUG everywhere, and the contacts' private values to look for."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from domains.models import Contact
from tui.commands.common import LOG_FORMAT, TypesOnlyFormatter

#: The libraries that log, and the product's own loggers, each set to DEBUG explicitly (a level
#: set on a logger wins over the root's, so setting only the root would not be enough).
LOGGERS = (
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "alembic",
    "httpx",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "fastapi",
    "starlette",
    "multipart",
    "python_multipart",
    "aiosmtpd",
    "mail.log",
    "asyncio",
    "psycopg",
    "tenacity",
    "domains",
    "publishers",
    "portal",
    "tui",
    "interlink",
    "interlink.portal",
)

#: Contact items a person may keep private (consent publishes them, see `private_values`).
PERSONAL = ("name", "org", "email", "voice", "fax", "street", "city", "postal_code")
#: Mailbox names that name a role, not a person (and are too common to look for).
ROLE_MAILBOXES = {"noc", "info", "admin", "hostmaster", "abuse", "support", "office", "contact"}


@dataclass
class Line:
    """One captured record: its logger, the line the product's formatter makes, and its raw text
    (the message with its arguments, and the exception with its full traceback)."""

    logger: str
    formatted: str
    raw: str


class Capture(logging.Handler):
    """A handler on the root logger keeping every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(TypesOnlyFormatter(LOG_FORMAT))
        self.plain = logging.Formatter()
        self.lines: list[Line] = []

    def emit(self, record: logging.LogRecord) -> None:
        raw = record.getMessage()
        if record.exc_info:
            raw += "\n" + self.plain.formatException(record.exc_info)
        if record.stack_info:
            raw += "\n" + record.stack_info
        self.lines.append(Line(record.name, self.format(record), raw))

    def loggers(self) -> set[str]:
        return {line.logger for line in self.lines}

    @staticmethod
    def at_debug() -> None:
        """Set the root and every logger of `LOGGERS` to DEBUG, enabled and passing records up
        to the root (again: a library may have changed them meanwhile, as uvicorn's logging
        config does when any server in the process is configured: `uvicorn` stops propagating)."""
        for name in (None, *LOGGERS):
            logger = logging.getLogger(name)
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            logger.propagate = True


@contextmanager
def everything_at_debug() -> Iterator[Capture]:
    """Root and every library logger at DEBUG, a `Capture` on the root; restored afterwards."""
    capture = Capture()
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in LOGGERS]
    before = [
        (logger, logger.level, logger.disabled, logger.propagate) for logger in [root, *named]
    ]
    capture.at_debug()
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for logger, level, disabled, propagate in before:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.propagate = propagate


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def private_values(contacts: Iterable[Contact | dict]) -> dict[str, str]:
    """The private values of these contacts, each with a label saying whose and which item.

    Every personal item counts unless the contact consented to publishing it (organisation,
    e-mail...); the house contact (the registrar's own, published in full) is left out. An
    e-mail address counts with its mailbox name too, a phone number in its digits too.
    """
    found: dict[str, str] = {}
    for contact in contacts:
        data = contact.model_dump() if isinstance(contact, Contact) else dict(contact)
        if data.get("is_house") or data.get("house"):
            continue
        who = data.get("handle") or "the proposed contact"
        consented = set(data.get("consent_fields") or ())
        for item in PERSONAL:
            if item in consented:
                continue
            value = data.get(item)
            for one in value if isinstance(value, list) else [value]:
                if not one or len(str(one)) < 4:
                    continue
                one = str(one)
                found[one] = f"{who} {item}"
                if item == "email":
                    mailbox = one.split("@", 1)[0]
                    if len(mailbox) >= 5 and mailbox.lower() not in ROLE_MAILBOXES:
                        found[mailbox] = f"{who} e-mail mailbox name"
                elif item in ("voice", "fax") and len(_digits(one)) >= 6:
                    found[_digits(one)] = f"{who} {item} digits"
    return found


def leaks(lines: Iterable[Line], values: dict[str, str]) -> list[str]:
    """Which logger wrote which private value, and in how many lines (the lines not shown)."""
    patterns = {
        value: re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)
        for value in values
    }
    found: dict[tuple[str, str], int] = {}
    for line in lines:
        for value, pattern in patterns.items():
            for text, how in ((line.formatted, "formatted"), (line.raw, "raw")):
                if pattern.search(text):
                    key = (line.logger, f"{values[value]} {value!r} ({how})")
                    found[key] = found.get(key, 0) + 1
    return [f"{logger}: {what} in {n} line(s)" for (logger, what), n in sorted(found.items())]
