"""Mail composition: a notice's template rendered and wrapped in a message, no database."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

import idna
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from domains.mailer import NOTICE_HEADER
from domains.masking import mask_email, mask_name
from domains.models import Account, Notice
from domains.settings import Settings
from domains.vocabulary import NoticeCategory

#: The template of an announcement's notice (domains/announcements.py) is this prefix and the
#: name of its files in the templates' `announcements/` folder.
ANNOUNCEMENT = "announcement:"


class NoticeError(Exception):
    """A notice cannot be rendered or addressed; the text holds no personal data."""


@dataclass(frozen=True)
class Recipient:
    """Where a notice goes, resolved at send time (never stored)."""

    name: str
    address: str
    audience: str  # registrant old_tech new_tech account contact new_email prior_email
    account: Account | None


def compose(
    settings: Settings,
    notice: Notice,
    recipient: Recipient,
    values: Mapping[str, Any],
    headers: Mapping[str, str],
) -> EmailMessage:
    """The notice's mail to the recipient: its template rendered with `values`, with the
    `headers` (a marketing mail's List-Unsubscribe) added."""
    subject, text, html = render(notice.template, values)
    message = _message(settings, notice, recipient, subject, text, html)
    for name, value in headers.items():
        message[name] = value
    return message


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fmt_date(value: datetime) -> str:
    value = aware(value).astimezone(UTC)
    return f"{value.day} {value:%B %Y}"


def _fmt_datetime(value: datetime) -> str:
    value = aware(value).astimezone(UTC)
    return f"{value.day} {value:%B %Y} at {value:%H:%M} UTC"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the mail templates: strict, HTML autoescaped."""
    env = Environment(
        loader=PackageLoader("domains", "templates/mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=_fmt_date, datetime=_fmt_datetime, mask_email=mask_email, mask_name=mask_name
    )
    return env


def render(template: str, values: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(subject, text, html or None) of a template; the subject is set in the .txt template."""
    env = environment()
    if template.startswith(ANNOUNCEMENT):
        template = "announcements/" + template.removeprefix(ANNOUNCEMENT)
    module = env.get_template(f"{template}.txt").make_module(dict(values))
    subject = " ".join(str(getattr(module, "subject", "")).split())
    if not subject:
        raise NoticeError(f"the {template} template sets no subject")
    text = _tidy(str(module))
    try:
        html_template = env.get_template(f"{template}.html")
    except TemplateNotFound:
        return subject, text, None
    html = html_template.render({**values, "subject": subject})
    return subject, text, html


def _tidy(text: str, width: int = 72) -> str:
    """Paragraphs refilled to `width`, indented blocks kept, one blank line between blocks.

    A block of short lines (none over 50 characters, like a sign-off) keeps its line breaks.
    The signature separator '-- ' keeps its trailing space; URLs are never broken.
    """
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line if line == "-- " else line.rstrip()
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    out: list[str] = []
    for block in blocks:
        if not block:
            continue
        if block[0] == "-- ":
            out.append("\n".join([block[0], *_fill(block[1:], width)]))
        elif any(line.startswith(" ") for line in block) or all(len(ln) <= 50 for ln in block):
            out.append("\n".join(block))
        else:
            out.append("\n".join(_fill(block, width)))
    return "\n\n".join(out) + "\n"


def _fill(lines: list[str], width: int) -> list[str]:
    if not lines:
        return []
    joined = " ".join(line.strip() for line in lines)
    return textwrap.wrap(joined, width=width, break_long_words=False, break_on_hyphens=False)


def _address(name: str, address: str) -> Address:
    """A To address; an internationalised domain is sent as its A-label."""
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise NoticeError("the e-mail address on file is not usable")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise NoticeError("the e-mail address on file has an invalid domain") from None
    try:
        return Address(display_name=name, addr_spec=f"{local}@{domain}")
    except (ValueError, IndexError):
        raise NoticeError("the e-mail address on file is not usable") from None


def _message(
    settings: Settings,
    notice: Notice,
    recipient: Recipient,
    subject: str,
    text: str,
    html: str | None,
) -> EmailMessage:
    from_domain = parseaddr(settings.mail.from_address)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = settings.mail.from_address
    message["To"] = _address(recipient.name, recipient.address)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    # The same on every try of one notice, so a receiver can drop a copy sent twice (a
    # deliverer killed between the relay's answer and our record of it); the queueing time
    # keeps it unique across stores that number notices alike.
    queued = aware(notice.created_at).astimezone(UTC)
    message["Message-ID"] = f"<notice-{notice.id}.{queued:%Y%m%d%H%M%S%f}@{from_domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message[NOTICE_HEADER] = str(notice.id)
    if notice.category == NoticeCategory.MARKETING:
        message["Precedence"] = "bulk"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
