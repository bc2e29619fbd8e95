"""Unsubscribing from marketing mail: signed per-account tokens, one-click opt-out, the drop."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hashlib
import hmac
import logging
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import Policy
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sqlalchemy import func, select
from sqlmodel import col

from domains.audit import customer_actor
from domains.errors import InterlinkError
from domains.models import Account, utcnow
from domains.request_rules import require_staff
from domains.server_secret import derive_key, load_secret
from domains.settings import Settings
from domains.staff import Permission
from domains.vocabulary import OptOutVia

if TYPE_CHECKING:
    from domains.store import Store

log = logging.getLogger(__name__)

#: The purpose the server secret's key for these tokens is derived for.
PURPOSE = "unsubscribe"
#: The first byte of a token: its format. A new format gets a new number; old ones stay readable.
VERSION = 1
_ID_BYTES, _TAG_BYTES = 8, 15
_RAW_BYTES = 1 + _ID_BYTES + _TAG_BYTES
#: A token's length in base64url characters (24 bytes: no padding).
TOKEN_LENGTH = _RAW_BYTES * 4 // 3
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
#: Where a token may stand in an unsubscribe mail's subject or text.
TOKEN_RE = re.compile(rf"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}(?![A-Za-z0-9_-])")
#: The body of a one-click unsubscribe POST (RFC 8058, section 3.1).
ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"
#: How much of an unsubscribe mail's text is searched for a token.
MAX_TEXT = 64 * 1024
#: The Maildir folder an unsubscribe mail moves to once it was handled.
HANDLED_FOLDER = "unsubscribe-handled"


class InvalidUnsubscribeToken(InterlinkError):
    """An unsubscribe link that is damaged, cut short or not made here; nothing was changed."""


class NotAMailbox(InterlinkError):
    """A path that is neither an mbox file nor a Maildir folder."""


class Tokens:
    """Per-account unsubscribe tokens: the account id enciphered (so a token names nobody and
    tokens cannot be counted through), the format's version, and an HMAC tag over both."""

    def __init__(self, key: bytes) -> None:
        self._cipher = hmac.new(key, b"account id", hashlib.sha256).digest()
        self._signer = hmac.new(key, b"tag", hashlib.sha256).digest()

    def token_for(self, account_id: int) -> str:
        """The token of an account: the same every time, usable for as long as the secret is."""
        if not 0 < account_id < 1 << (8 * _ID_BYTES):
            raise ValueError("an account id is a positive 64-bit number")
        body = bytes([VERSION]) + self._permute(account_id.to_bytes(_ID_BYTES, "big"))
        raw = body + self._tag(body)
        return base64.urlsafe_b64encode(raw).decode("ascii")

    def account_of(self, token: object) -> int:
        """The account id a token names; InvalidUnsubscribeToken for anything not made here."""
        if (
            not isinstance(token, str)
            or len(token) != TOKEN_LENGTH
            or not _ALPHABET.fullmatch(token)
        ):
            raise InvalidUnsubscribeToken(
                "this unsubscribe link is incomplete or damaged; open it from the mail again, "
                "or unsubscribe in the control panel"
            )
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError):
            raise InvalidUnsubscribeToken("this unsubscribe link is damaged") from None
        body, tag = raw[: 1 + _ID_BYTES], raw[1 + _ID_BYTES :]
        if body[0] != VERSION:
            raise InvalidUnsubscribeToken("this unsubscribe link is not one of ours")
        if not hmac.compare_digest(self._tag(body), tag):
            raise InvalidUnsubscribeToken("this unsubscribe link is not one of ours")
        return int.from_bytes(self._permute(body[1:], inverse=True), "big")

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._signer, body, hashlib.sha256).digest()[:_TAG_BYTES]

    def _permute(self, block: bytes, *, inverse: bool = False) -> bytes:
        """A keyed permutation of 8 bytes: a four-round Feistel network over HMAC-SHA256."""
        half = len(block) // 2
        left, right = block[:half], block[half:]
        rounds = range(3, -1, -1) if inverse else range(4)
        for number in rounds:
            if inverse:
                left, right = self._xor(right, self._round(number, left)), left
            else:
                left, right = right, self._xor(left, self._round(number, right))
        return left + right

    def _round(self, number: int, half: bytes) -> bytes:
        return hmac.new(self._cipher, bytes([number]) + half, hashlib.sha256).digest()[: len(half)]

    @staticmethod
    def _xor(a: bytes, b: bytes) -> bytes:
        return bytes(x ^ y for x, y in zip(a, b, strict=True))


def tokens(settings: Settings) -> Tokens:
    """The tokens signed with the server secret these settings name."""
    return Tokens(derive_key(load_secret(settings.portal, settings.data_dir), PURPOSE))


def token_for(settings: Settings, account_id: int) -> str:
    """The unsubscribe token of an account."""
    return tokens(settings).token_for(account_id)


class ListHeader(str):
    """A header value folded only between its <URL>s: the usual folding would turn a URL longer
    than a line into RFC 2047 encoded words, which no mail client reads as a URL."""

    name: str

    def __new__(cls, name: str, value: str) -> ListHeader:
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header as it goes on the wire: one URL a line."""
        return f"{self.name}: " + f",{policy.linesep} ".join(self.split(", ")) + policy.linesep


def list_headers(settings: Settings, url: str, token: str) -> dict[str, str]:
    """The List-Unsubscribe headers of a marketing mail (RFC 2369, RFC 8058 section 3.1)."""
    mailto = f"mailto:{settings.mail.unsubscribe_mailbox()}?subject=unsubscribe%20{token}"
    return {
        "List-Unsubscribe": ListHeader("List-Unsubscribe", f"<{url}>, <{mailto}>"),
        "List-Unsubscribe-Post": f"{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}",
    }


@dataclass(frozen=True)
class OptOut:
    """What an unsubscribe did: `changed` is False when the account had already opted out."""

    account_number: str
    changed: bool


@dataclass(frozen=True)
class InboxSummary:
    """What reading the unsubscribe mailbox did, in counts only."""

    opted_out: int = 0
    already_out: int = 0
    unmatched: int = 0


class Unsubscribes:
    """Opting accounts out of marketing mail by their unsubscribe links and mail."""

    def __init__(self, store: Store, token_maker: Tokens | None = None) -> None:
        self.store = store
        self.tokens = token_maker or tokens(store.settings)

    def token_for(self, account_id: int) -> str:
        return self.tokens.token_for(account_id)

    def account_of(self, token: object) -> int:
        return self.tokens.account_of(token)

    def opted_out(self, token: object) -> bool:
        """Whether the token's account has opted out of marketing mail (changes nothing)."""
        return self._account(self.account_of(token)).marketing_opt_out_at is not None

    def opt_out(self, token: object, via: OptOutVia) -> OptOut:
        """Opt the token's account out of marketing mail at once, recorded as the customer's own
        choice (`customer:<number>`) with how it was made; a second time changes nothing."""
        return self._opt_out(self.account_of(token), via)

    def handle_inbox(self, actor: str, path: Path) -> InboxSummary:
        """Opt out the account of every unsubscribe mail in an mbox file or a Maildir folder:
        by the token in its subject or text, else by a From address that is exactly one
        account's. Staff with HANDLE_RETURNED_MAIL only. Handled Maildir messages move to the
        folder HANDLED_FOLDER; an mbox is only read (a second run finds them already out)."""
        with self.store.read() as session:
            require_staff(session, actor, Permission.HANDLE_RETURNED_MAIL)
        box = open_mailbox(path)
        handled = _handled_folder(box) if isinstance(box, mailbox.Maildir) else None
        counts = {"opted_out": 0, "already_out": 0, "unmatched": 0}
        try:
            for key, message in _messages(box):
                account_id = self._account_of_mail(message)
                if account_id is None:
                    counts["unmatched"] += 1
                    continue
                done = self._opt_out(account_id, OptOutVia.UNSUBSCRIBE_MAIL)
                counts["opted_out" if done.changed else "already_out"] += 1
                if handled is not None:
                    handled.add(box.get_message(key))
                    box.remove(key)
        finally:
            box.close()
        summary = InboxSummary(**counts)
        log.info(
            "unsubscribe inbox: %d opted out, %d already out, %d unmatched",
            summary.opted_out,
            summary.already_out,
            summary.unmatched,
        )
        return summary

    # -- helpers -------------------------------------------------------------------------

    def _account(self, account_id: int) -> Account:
        with self.store.read() as session:
            account = session.get(Account, account_id)
        if account is None:
            raise InvalidUnsubscribeToken("this unsubscribe link names no account we hold")
        return account

    def _opt_out(self, account_id: int, via: OptOutVia) -> OptOut:
        account = self._account(account_id)
        if account.marketing_opt_out_at is not None:
            return OptOut(account.number, changed=False)
        actor = customer_actor(account.number)
        # No version check: the customer's choice stands, whatever changed meanwhile.
        self.store.update_account(
            actor,
            account.number,
            None,
            {
                "marketing_opt_out_at": utcnow(),
                "marketing_opt_out_via": str(via),
                "marketing_opt_out_by": actor,
            },
        )
        log.info("account opted out of marketing mail (%s)", via)
        return OptOut(account.number, changed=True)

    def _account_of_mail(self, message: EmailMessage) -> int | None:
        for candidate in TOKEN_RE.findall(_searchable(message)):
            try:
                return self.account_of(candidate)
            except InvalidUnsubscribeToken:
                continue
        address = parseaddr(str(message.get("From", "")))[1].strip()
        if "@" not in address:
            return None
        with self.store.read() as session:
            ids = list(
                session.execute(
                    select(col(Account.id))
                    .where(func.lower(col(Account.email)) == address.lower())
                    .limit(2)
                ).scalars()
            )
        return ids[0] if len(ids) == 1 else None


def open_mailbox(path: Path) -> mailbox.Mailbox:
    """An mbox file or a Maildir folder, read as it is; NotAMailbox for anything else."""
    path = Path(path)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return mailbox.Maildir(path, factory=None, create=False)
        raise NotAMailbox(f"{path} is a folder but not a Maildir (it has no cur/, new/ and tmp/)")
    if not path.exists():
        raise NotAMailbox(f"{path} does not exist; give an mbox file or a Maildir folder")
    with path.open("rb") as handle:
        start = handle.read(5)
    if start not in (b"", b"From "):
        raise NotAMailbox(
            f"{path} is not an mbox (it does not begin with a 'From ' line) nor a Maildir folder"
        )
    return mailbox.mbox(path, factory=None, create=False)


def _handled_folder(box: mailbox.Maildir) -> mailbox.Maildir:
    if HANDLED_FOLDER in box.list_folders():
        return box.get_folder(HANDLED_FOLDER)
    return box.add_folder(HANDLED_FOLDER)


def _messages(box: mailbox.Mailbox) -> Iterator[tuple[str, EmailMessage]]:
    for key in list(box.keys()):
        parsed = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        yield key, parsed


def _searchable(message: EmailMessage) -> str:
    """The subject and the text parts of a mail, percent-decoded (a mailto: subject may arrive
    undecoded), at most MAX_TEXT characters of text."""
    texts = [str(message.get("Subject", ""))]
    size = 0
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            continue
        if isinstance(content, str):
            texts.append(content[: MAX_TEXT - size])
            size += len(texts[-1])
        if size >= MAX_TEXT:
            break
    return unquote("\n".join(texts))
