"""Customer sign-in: mailed one-time links, server-side sessions and API tokens, all kept hashed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import CursorResult, func, select, update
from sqlmodel import Session, col

from domains import notices
from domains.customer_models import ApiToken, CustomerSession, SigninToken
from domains.errors import FieldError, NotFound, ValidationFailed
from domains.models import Account
from domains.store import Store
from domains.vocabulary import NoticeCategory, SessionVia

log = logging.getLogger(__name__)

#: 32 random bytes (256 bits) in every link, cookie and API token.
TOKEN_BYTES = 32
LINK_LIFETIME = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
#: A session's last_seen_at is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(minutes=1)
API_TOKEN_PREFIX = "ilk_"
MAX_TOKEN_LABEL = 100
MAX_ACTIVE_TOKENS = 20


def digest(token: str) -> str:
    """The stored form of a link, cookie or API token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _rows(result: object) -> int:
    """How many rows an UPDATE changed."""
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SignInRefused(Exception):
    """A sign-in link or session that cannot be used; `gone` when it was good once."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(frozen=True)
class SigninLink:
    """A sign-in link made for an account: the raw token lives only here, for the mail."""

    account_number: str
    token: str
    notice_id: int
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """Who a session or an API token belongs to."""

    account_id: int
    account_number: str
    via: str
    session_id: int | None


@dataclass(frozen=True)
class NewSession:
    """A session just started: the raw id for the cookie, and whose it is."""

    cookie: str
    who: SignedIn
    expires_at: datetime


@dataclass(frozen=True)
class ApiTokenView:
    """An API token as the panel lists it: never the token itself, only its last characters."""

    id: int
    label: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiToken:
    """A token just made: shown to the customer once, then only its hash is kept."""

    token: str
    view: ApiTokenView


def _token_view(row: ApiToken) -> ApiTokenView:
    assert row.id is not None
    return ApiTokenView(
        id=row.id,
        label=row.label,
        hint=row.hint,
        created_at=_aware(row.created_at),
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


class CustomerSessions:
    """Sign-in links, sessions and API tokens of customers, over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- sign-in links -----------------------------------------------------------------------

    def accounts_for(self, identifier: str) -> list[str]:
        """The account numbers an identifier names: an account number, or an account's e-mail."""
        key = identifier.strip()
        if not key or len(key) > 254:
            return []
        with self.store.read() as session:
            if "@" in key:
                where = func.lower(col(Account.email)) == key.lower()
            else:
                where = func.upper(col(Account.number)) == key.upper()
            rows = session.execute(
                select(col(Account.number)).where(where).order_by(col(Account.number))
            )
            return list(rows.scalars())

    def request_links(self, identifier: str, *, now: datetime | None = None) -> list[SigninLink]:
        """A sign-in link for each account the identifier names (none for an unknown one).

        Each link is queued as an essential notice to the account's e-mail on file in the same
        transaction as its token; the caller delivers it with the link in the context.
        """
        now = now or self.store.now()
        links = []
        for number in self.accounts_for(identifier):
            token = secrets.token_urlsafe(TOKEN_BYTES)
            with self.store.write() as session:
                account = session.execute(
                    select(Account).where(col(Account.number) == number)
                ).scalar_one()
                assert account.id is not None
                expires = now + LINK_LIFETIME
                session.add(
                    SigninToken(
                        account_id=account.id,
                        token_hash=digest(token),
                        created_at=now,
                        expires_at=expires,
                    )
                )
                notice = notices.queue(
                    session,
                    template="signin_link",
                    category=NoticeCategory.ESSENTIAL,
                    subject_ref=None,
                    recipient="account",
                    account_id=account.id,
                )
                assert notice.id is not None
            links.append(SigninLink(number, token, notice.id, expires))
        return links

    def _link_row(self, session: Session, token: str, now: datetime) -> SigninToken:
        row = session.execute(
            select(SigninToken).where(col(SigninToken.token_hash) == digest(token))
        ).scalar()
        if row is None:
            raise SignInRefused("this sign-in link is not valid")
        if row.used_at is not None:
            raise SignInRefused("this sign-in link was used already", gone=True)
        if _aware(row.expires_at) <= now:
            raise SignInRefused("this sign-in link has expired", gone=True)
        return row

    def inspect_link(self, token: str, *, now: datetime | None = None) -> str:
        """The account number a usable link signs in to; changes nothing (a GET may prefetch)."""
        now = now or self.store.now()
        with self.store.read() as session:
            row = self._link_row(session, token, now)
            account = session.get(Account, row.account_id)
            assert account is not None
            return account.number

    def redeem_link(
        self, token: str, *, replacing: str | None = None, now: datetime | None = None
    ) -> NewSession:
        """Spend the link and start a new session (ending `replacing`, the visitor's old one)."""
        now = now or self.store.now()
        with self.store.write() as session:
            row = self._link_row(session, token, now)
            spent = session.execute(
                update(SigninToken)
                .where(col(SigninToken.id) == row.id, col(SigninToken.used_at).is_(None))
                .values(used_at=now)
            )
            if _rows(spent) != 1:  # another request spent it a moment ago
                raise SignInRefused("this sign-in link was used already", gone=True)
            return self._start(session, row.account_id, SessionVia.LINK, replacing, now)

    # -- sessions ----------------------------------------------------------------------------

    def start(
        self,
        account_number: str,
        via: SessionVia = SessionVia.LINK,
        *,
        replacing: str | None = None,
        now: datetime | None = None,
    ) -> NewSession:
        """A new session for the account (after a link or a passkey proved who it is)."""
        now = now or self.store.now()
        with self.store.write() as session:
            account = session.execute(
                select(Account).where(col(Account.number) == account_number)
            ).scalar()
            if account is None or account.id is None:
                raise NotFound("account", account_number)
            return self._start(session, account.id, via, replacing, now)

    def _start(
        self, session: Session, account_id: int, via: str, replacing: str | None, now: datetime
    ) -> NewSession:
        if replacing:  # a fresh id at sign-in: a planted cookie never becomes a signed-in one
            self._end_hash(session, digest(replacing), now)
        cookie = secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + ABSOLUTE_TIMEOUT
        row = CustomerSession(
            account_id=account_id,
            session_hash=digest(cookie),
            via=via,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
        session.add(row)
        session.flush()
        account = session.get(Account, account_id)
        assert account is not None and row.id is not None
        log.info("customer session %s started (%s)", row.id, via)
        return NewSession(cookie, SignedIn(account_id, account.number, via, row.id), expires)

    def resume(self, cookie: str, *, now: datetime | None = None) -> SignedIn | None:
        """Whose session the cookie holds, if it is still open; keeps it alive while used."""
        if not cookie or len(cookie) > 128:
            return None
        now = now or self.store.now()
        with self.store.read() as session:
            found = session.execute(
                select(CustomerSession, col(Account.number))
                .join(Account, col(Account.id) == col(CustomerSession.account_id))
                .where(col(CustomerSession.session_hash) == digest(cookie))
            ).first()
        if found is None:
            return None
        row, number = found
        if row.ended_at is not None or _aware(row.expires_at) <= now:
            return None
        last_seen = _aware(row.last_seen_at)
        if last_seen + IDLE_TIMEOUT <= now:
            return None
        if now - last_seen >= TOUCH_EVERY:
            with self.store.write() as session:
                session.execute(
                    update(CustomerSession)
                    .where(col(CustomerSession.id) == row.id)
                    .values(last_seen_at=now)
                )
        return SignedIn(row.account_id, number, row.via, row.id)

    @staticmethod
    def _end_hash(session: Session, session_hash: str, now: datetime) -> None:
        session.execute(
            update(CustomerSession)
            .where(
                col(CustomerSession.session_hash) == session_hash,
                col(CustomerSession.ended_at).is_(None),
            )
            .values(ended_at=now)
        )

    def end(self, cookie: str, *, now: datetime | None = None) -> None:
        """Sign this browser out."""
        now = now or self.store.now()
        with self.store.write() as session:
            self._end_hash(session, digest(cookie), now)

    def end_all(self, account_id: int, *, now: datetime | None = None) -> int:
        """Sign the account out everywhere: every open session ends; how many did."""
        now = now or self.store.now()
        with self.store.write() as session:
            ended = session.execute(
                update(CustomerSession)
                .where(
                    col(CustomerSession.account_id) == account_id,
                    col(CustomerSession.ended_at).is_(None),
                )
                .values(ended_at=now)
            )
        count = _rows(ended)
        log.info("customer sessions ended: %d", count)
        return count

    # -- API tokens --------------------------------------------------------------------------

    def create_token(
        self, account_id: int, label: str, *, now: datetime | None = None
    ) -> NewApiToken:
        """A new bearer token for the JSON API; the caller shows `token` once."""
        label = " ".join(label.split())
        if not label:
            raise ValidationFailed([FieldError("label", "is required: name what the token is for")])
        if len(label) > MAX_TOKEN_LABEL:
            raise ValidationFailed(
                [FieldError("label", f"is {len(label)} characters long; at most 100 are allowed")]
            )
        now = now or self.store.now()
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.write() as session:
            active = session.execute(
                select(func.count())
                .select_from(ApiToken)
                .where(col(ApiToken.account_id) == account_id, col(ApiToken.revoked_at).is_(None))
            ).scalar_one()
            if active >= MAX_ACTIVE_TOKENS:
                raise ValidationFailed(
                    [
                        FieldError(
                            "label",
                            f"cannot be added: an account has at most {MAX_ACTIVE_TOKENS} "
                            "tokens; revoke one you no longer use",
                        )
                    ]
                )
            row = ApiToken(
                account_id=account_id,
                token_hash=digest(token),
                label=label,
                hint=token[-4:],
                created_at=now,
            )
            session.add(row)
            session.flush()
            view = _token_view(row)
        return NewApiToken(token, view)

    def tokens(self, account_id: int) -> list[ApiTokenView]:
        """The account's API tokens, newest first (revoked ones too, marked)."""
        with self.store.read() as session:
            rows = session.execute(
                select(ApiToken)
                .where(col(ApiToken.account_id) == account_id)
                .order_by(col(ApiToken.id).desc())
            ).scalars()
            return [_token_view(r) for r in rows]

    def revoke_token(self, account_id: int, token_id: int, *, now: datetime | None = None) -> None:
        """Revoke one of the account's tokens; NotFound for any other id."""
        now = now or self.store.now()
        with self.store.write() as session:
            row = session.get(ApiToken, token_id)
            if row is None or row.account_id != account_id:
                raise NotFound("API token", str(token_id))
            if row.revoked_at is None:
                row.revoked_at = now

    def verify_token(self, token: str, *, now: datetime | None = None) -> SignedIn | None:
        """Whose a bearer token is, if it is one of ours and not revoked."""
        if not token.startswith(API_TOKEN_PREFIX) or len(token) > 128:
            return None
        now = now or self.store.now()
        with self.store.read() as session:
            found = session.execute(
                select(ApiToken, col(Account.number))
                .join(Account, col(Account.id) == col(ApiToken.account_id))
                .where(col(ApiToken.token_hash) == digest(token))
            ).first()
        if found is None or found[0].revoked_at is not None:
            return None
        row, number = found
        last = row.last_used_at
        if last is None or now - _aware(last) >= TOUCH_EVERY:
            with self.store.write() as session:
                session.execute(
                    update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now)
                )
        return SignedIn(row.account_id, number, SessionVia.TOKEN, None)
