"""Failing e-mail addresses: refused for good by the relay or bounced by a delivery report."""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import mailbox
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

import idna
from sqlalchemy import Connection, bindparam, select, update
from sqlmodel import Session, col

from domains import audit
from domains.errors import RuleViolation
from domains.mailer import NOTICE_HEADER, scrub
from domains.models import Notice, utcnow
from domains.notice_models import AddressFailure
from domains.staff import Permission, require
from domains.vocabulary import FailureSource

if TYPE_CHECKING:
    from domains.store_sessions import StoreSessions

log = logging.getLogger(__name__)

#: A relay's permanent refusal of the recipient (as `domains.mailer` words it): the reply code
#: and enhanced status, e.g. "550 5.1.1"; other permanent errors (TLS, a password, a template)
#: say nothing about the address.
_REFUSAL = re.compile(
    r"^(?:SMTPRecipientsRefused|SMTPDataError):.*?\b(5\d\d(?: 5\.\d{1,3}\.\d{1,3})?)\b"
)
_STATUS = re.compile(r"^5\.\d{1,3}\.\d{1,3}$")


class NotAMailbox(RuleViolation):
    """The path given is neither an mbox file nor a Maildir folder."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} is not a mailbox: give an mbox file or a Maildir folder (cur, new, tmp)"
        )


@dataclass(frozen=True)
class BounceReading:
    """What a read of the bounce drop found: messages, failed recipients, new failures."""

    messages: int
    reports: int
    failed: int
    recorded: int


def normal(address: str) -> str:
    """An address as failures are kept and compared: lower case, the domain as its A-label."""
    local, _, domain = address.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not domain.isascii():
        with contextlib.suppress(idna.IDNAError):
            domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local.lower()}@{domain}" if local else domain


def refusal(error: str) -> str | None:
    """The reply code (and status) of a relay's permanent refusal of the recipient, else None."""
    found = _REFUSAL.search(error)
    return found.group(1) if found else None


def record_failure(
    store: StoreSessions,
    address: str,
    source: FailureSource | str,
    reason: str,
    notice_id: int | None = None,
) -> bool:
    """Record `address` as failing (unless it already is); True when a failure was added."""
    with store.write() as session:
        return _record(session, address, FailureSource(source), reason, notice_id)


def _record(
    session: Session, address: str, source: FailureSource, reason: str, notice_id: int | None
) -> bool:
    key = normal(address)
    if failing_in(session, [key]):
        return False
    if notice_id is not None and session.get(Notice, notice_id) is None:
        notice_id = None  # a report about mail of another store
    session.add(
        AddressFailure(
            address=key,
            source=source.value,
            reason=scrub(reason)[:255],
            notice_id=notice_id,
        )
    )
    log.info("an address is marked failing (%s)", source.value)
    return True


def failing_in(session: Session | Connection, addresses: Iterable[str]) -> set[str]:
    """Those of `addresses` (as given) that are failing and not cleared (read in a session, or
    on a plain connection)."""
    wanted = {normal(a): a for a in addresses if a}
    if not wanted:
        return set()
    found = session.execute(_FAILING, {"addresses": list(wanted)}).scalars()
    return {wanted[key] for key in found}


# Built once: every notice's delivery asks it.
_FAILING = select(col(AddressFailure.address)).where(
    col(AddressFailure.address).in_(bindparam("addresses", expanding=True)),
    col(AddressFailure.cleared_at).is_(None),
)


def failing(store: StoreSessions, addresses: Iterable[str]) -> set[str]:
    """Those of `addresses` (as given) that are failing and not cleared."""
    with store.read() as session:
        return failing_in(session, addresses)


def clear(store: StoreSessions, actor: str, address: str) -> int:
    """Staff say `address` works again (HANDLE_RETURNED_MAIL); how many failures were cleared.
    The clearing is in the audit trail."""
    key = normal(address)
    with store.write() as session:
        require(session, actor, Permission.HANDLE_RETURNED_MAIL)
        result = session.execute(
            update(AddressFailure)
            .where(col(AddressFailure.address) == key, col(AddressFailure.cleared_at).is_(None))
            .values(cleared_at=utcnow())
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            audit.record(
                session,
                actor=actor,
                action="address_failure.clear",
                entity_type="address",
                entity_id=key,
                changes={"failing": {"before": True, "after": False}},
            )
    return count


# -- delivery status notifications (RFC 3464) -----------------------------------------------


def read_bounces(store: StoreSessions, actor: str, path: Path | str) -> BounceReading:
    """Read an mbox file or Maildir folder of delivery reports and record each recipient whose
    delivery failed for good (Action: failed, Status: 5.x.x) as failing (source "dsn").

    Needs HANDLE_RETURNED_MAIL. A message that is no delivery report is counted and skipped;
    the mailbox is only read, never changed.
    """
    with store.read() as session:
        require(session, actor, Permission.HANDLE_RETURNED_MAIL)
    messages = reports = failed = recorded = 0
    for message in _messages(Path(path)):
        messages += 1
        found = list(failed_recipients(message))
        if message.get_content_type() == "multipart/report":
            reports += 1
        notice_id = returned_notice(message)
        for address, status in found:
            failed += 1
            if record_failure(store, address, FailureSource.DSN, f"DSN {status}", notice_id):
                recorded += 1
    log.info(
        "bounces read: %d messages, %d reports, %d failed, %d new",
        messages,
        reports,
        failed,
        recorded,
    )
    return BounceReading(messages, reports, failed, recorded)


def _messages(path: Path) -> Iterator[Message]:
    """Each message of the mbox file or Maildir folder at `path`; NotAMailbox otherwise."""
    box: mailbox.Mailbox
    if path.is_dir():
        if not all((path / part).is_dir() for part in ("cur", "new", "tmp")):
            raise NotAMailbox(path)
        box = mailbox.Maildir(path, create=False)
    elif path.is_file() and _looks_like_mbox(path):
        box = mailbox.mbox(path, create=False)
    else:
        raise NotAMailbox(path)
    try:
        for key in box.iterkeys():
            yield email.message_from_bytes(box.get_bytes(key), policy=email.policy.compat32)
    finally:
        box.close()


def _looks_like_mbox(path: Path) -> bool:
    """An mbox file: empty, or starting with a "From " line."""
    with path.open("rb") as handle:
        start = handle.read(5)
    return start in (b"", b"From ")


def failed_recipients(message: Message) -> Iterator[tuple[str, str]]:
    """(address, status) of each recipient a delivery report says failed permanently."""
    if message.get_content_type() != "multipart/report":
        return
    for part in message.walk():
        if part.get_content_type() not in (
            "message/delivery-status",
            "message/global-delivery-status",
        ):
            continue
        for fields in _status_groups(part):
            action = (fields.get("action") or "").strip().lower()
            status = (fields.get("status") or "").strip().split(" ")[0]
            recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
            kind, _, address = recipient.partition(";")
            if action != "failed" or not _STATUS.match(status):
                continue
            if kind.strip().lower() not in ("rfc822", "utf-8") or "@" not in address:
                continue
            yield address.strip().strip("<>"), status


def returned_notice(message: Message) -> int | None:
    """The notice a delivery report returns, by the X-Interlink-Notice header of the returned
    message (or its headers) the report carries; None when it carries none."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            value = HeaderParser().parsestr(text).get(NOTICE_HEADER)
        elif kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            value = inner.get(NOTICE_HEADER) if isinstance(inner, Message) else None
        else:
            continue
        if value is not None and str(value).strip().isdigit():
            return int(str(value).strip())
    return None


def _status_groups(part: Message) -> Iterator[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parsed the groups as messages
        for group in payload:
            if isinstance(group, Message):
                yield {k.lower(): str(v) for k, v in group.items()}
        return
    text = payload if isinstance(payload, str) else ""
    for block in re.split(r"\r?\n\s*\r?\n", text.strip()):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        if fields:
            yield fields
