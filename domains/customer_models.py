"""The tables of the customer's control panel: sign-in, sessions, API tokens, passkeys, changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from domains.models import _when, utcnow


class SigninToken(SQLModel, table=True):
    """A mailed sign-in link: only the hash of its token is kept; single use, short-lived."""

    __tablename__ = "signin_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class CustomerSession(SQLModel, table=True):
    """A signed-in browser: the hash of its cookie, its idle and absolute deadlines."""

    __tablename__ = "customer_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    session_hash: str = Field(max_length=64, unique=True)
    via: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    ended_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class ApiToken(SQLModel, table=True):
    """A bearer token a customer made for the JSON API; the hash only, revocable."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(max_length=100)
    hint: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    last_used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class EmailVerification(SQLModel, table=True):
    """A contact's new e-mail address, waiting for the link sent to it before it is used."""

    __tablename__ = "email_verification"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    new_email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    requested_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(index=True))
    expires_at: datetime = Field(sa_column=_when())
    verified_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class RegistrantChange(SQLModel, table=True):
    """A Change of Registrant (ICANN Transfer Policy part II): both parties confirm by link."""

    __tablename__ = "registrant_change"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    state: str = Field(max_length=16)
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prior_email: str = Field(max_length=254)
    new_email: str = Field(max_length=254)
    prior_token_hash: str = Field(max_length=64, unique=True)
    new_token_hash: str = Field(max_length=64, unique=True)
    prior_confirmed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    new_confirmed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    lock_opt_out: bool = Field(default=False)
    refused_by: str | None = Field(default=None, max_length=16)
    requested_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    decided_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class TransferLock(SQLModel, table=True):
    """A domain may not move to another registrar until `until` (after a Change of Registrant)."""

    __tablename__ = "transfer_lock"

    domain_id: int = Field(foreign_key="domain.id", primary_key=True)
    until: datetime = Field(sa_column=_when())
    reason: str = Field(max_length=64)
    change_ref: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Passkey(SQLModel, table=True):
    """A WebAuthn credential a customer registered to sign in with instead of a mailed link."""

    __tablename__ = "passkey"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    credential_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sign_count: int = Field(default=0)
    label: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    last_used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class PasskeyChallenge(SQLModel, table=True):
    """A WebAuthn challenge handed to a browser: kept hashed, single use, for a few minutes."""

    __tablename__ = "passkey_challenge"

    id: int | None = Field(default=None, primary_key=True)
    challenge_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=16)
    #: The account registering a passkey; none for a sign-in (the passkey says whose it is).
    account_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
