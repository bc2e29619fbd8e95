"""The tables of the store (DESIGN section 3). Every time is timezone-aware UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from domains.contact_fields import FIELDS_BY_NAME
from domains.vocabulary import (
    AccountStatus,
    ContactKind,
    NoticeStatus,
    OutboxStatus,
    RequestState,
    RequestTarget,
)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        """Refuse naive times; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: every time in the store is aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        """Give back aware UTC times whatever the database returned."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator):
    """An optional JSON object kept as text: NULL when there is none. (The exchange format reads
    every JSON column as a list that is always there; this is neither.)"""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: object) -> str | None:
        """The object as compact JSON text; None stays NULL."""
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: object) -> dict[str, Any] | None:
        """The object back from its text."""
        return None if value is None else json.loads(value)


def _when(nullable: bool = False, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _max_len(field: str) -> int:
    """A contact field's column size: its limit in the table of contact fields."""
    return FIELDS_BY_NAME[field].max_len


def _key() -> String:
    """A search key column: byte order on PostgreSQL, so prefix ranges use the index."""
    return String().with_variant(String(collation="C"), "postgresql")


class Account(SQLModel, table=True):
    """A customer of Interlink. No payment card data is ever stored here."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True, max_length=20)
    name: str = Field(max_length=255)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=17)
    street: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=16)
    country: str = Field(max_length=2)
    status: str = Field(default=AccountStatus.ACTIVE, max_length=16)
    marketing_opt_out_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    marketing_opt_out_via: str | None = Field(default=None, max_length=255)
    #: Who recorded the choice: the customer (customer:<number>) or a member of staff.
    marketing_opt_out_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    version: int = Field(default=1)


class Contact(SQLModel, table=True):
    """A person or organisation that holds a role on domains."""

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, index=True, max_length=16)
    kind: str = Field(default=ContactKind.PERSON, max_length=16)
    name: str = Field(max_length=_max_len("name"))
    org: str | None = Field(default=None, max_length=_max_len("org"))
    street: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    city: str = Field(max_length=_max_len("city"))
    state: str | None = Field(default=None, max_length=_max_len("state"))
    postal_code: str | None = Field(default=None, max_length=_max_len("postal_code"))
    country: str = Field(max_length=_max_len("country"))
    voice: str | None = Field(default=None, max_length=_max_len("voice"))
    voice_ext: str | None = Field(default=None, max_length=_max_len("voice_ext"))
    fax: str | None = Field(default=None, max_length=_max_len("fax"))
    fax_ext: str | None = Field(default=None, max_length=_max_len("fax_ext"))
    email: str = Field(max_length=_max_len("email"))
    # The ASCII form of the postal items staff or the customer gave (domains.ascii_postal.KEYS),
    # sent as the registries' "int" postalInfo when the data is not ASCII; None: transliterated.
    ascii_postal: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONText(), nullable=True)
    )
    consent_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    consent_method: str | None = Field(default=None, max_length=16)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    is_house: bool = Field(default=False, index=True)
    # Lower-cased copies for prefix search; kept by the store, never shown.
    name_key: str = Field(sa_column=Column(_key(), nullable=False, index=True))
    email_key: str = Field(sa_column=Column(_key(), nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    version: int = Field(default=1)


class email_domain(FunctionElement):  # lower case: used like an SQL function
    """The part of an e-mail search key after its @, e.g. `example.com` of `ann@example.com`.

    Contacts are searched by it through an index on this very expression (migration 0006), so
    no writer has to keep another column: SQLite spells it with instr, PostgreSQL with strpos,
    and a query must use this element for the database to find the index.
    """

    type = String()
    name = "email_domain"
    inherit_cache = True


@compiles(email_domain)
def _email_domain_sqlite(element: email_domain, compiler: object, **kw: object) -> str:
    key = compiler.process(element.clauses, **kw)  # type: ignore[attr-defined]
    return f"substr({key}, instr({key}, '@') + 1)"


@compiles(email_domain, "postgresql")
def _email_domain_postgresql(element: email_domain, compiler: object, **kw: object) -> str:
    key = compiler.process(element.clauses, **kw)  # type: ignore[attr-defined]
    return f"substr({key}, strpos({key}, '@') + 1)"


#: Contacts by the domain of their e-mail, then address and id: the order of an e-mail-domain
#: search, so a page is read from the index in order, never sorted from every match.
Index(
    "ix_contact_email_domain",
    email_domain(Contact.__table__.c.email_key),  # type: ignore[attr-defined]
    Contact.__table__.c.email_key,  # type: ignore[attr-defined]
    Contact.__table__.c.id,  # type: ignore[attr-defined]
)


class Domain(SQLModel, table=True):
    """A registered domain name: A-label stored, U-label kept for people."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(_key(), nullable=False, unique=True))
    unicode_name: str = Field(sa_column=Column(_key(), nullable=False, index=True))
    tld: str = Field(max_length=63, index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    roid: str | None = Field(default=None, max_length=89)
    statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    nameservers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dnssec: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True, index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    version: int = Field(default=1)
    #: When the domain left Interlink (transferred to another registrar, as the registry's
    #: poll message said): kept for the record, and out of the public answers from then on.
    gone_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class DomainContact(SQLModel, table=True):
    """Which contact holds which role on a domain; one contact per role."""

    __tablename__ = "domain_contact"
    __table_args__ = (Index("ix_domain_contact_contact", "contact_id", "domain_id"),)

    domain_id: int = Field(foreign_key="domain.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=16)
    contact_id: int = Field(foreign_key="contact.id")


class DsRecord(SQLModel, table=True):
    """A DS record of a domain (DNSSEC as data); `Domain.dnssec` is kept in step by the store."""

    __tablename__ = "ds_record"
    __table_args__ = (
        UniqueConstraint(
            "domain_id", "key_tag", "algorithm", "digest_type", "digest", name="uq_ds_record"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(foreign_key="domain.id", index=True)
    key_tag: int
    algorithm: int
    digest_type: int
    #: Upper-case hexadecimal (at most SHA-384's 96 digits).
    digest: str = Field(max_length=128)


class PublishedAnswer(SQLModel, table=True):
    """A domain's public answers (WHOIS and RDAP) rendered ahead, compressed, by render key.

    Rows are written by the publisher (publishers/published.py) from the policy's view and
    removed by database triggers (migration 0004) in the same transaction as any change to the
    domain, its role assignments or a contact it uses, so a row present is never stale.
    """

    __tablename__ = "published_answer"
    # One B-tree keyed by the name on SQLite: a lookup is a single search.
    __table_args__ = {"sqlite_with_rowid": False}

    name: str = Field(sa_column=Column(_key(), primary_key=True))
    render_key: str = Field(max_length=32, index=True)
    whois: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    rdap: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    published_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class AuditEvent(SQLModel, table=True):
    """An append-only record of a change: who, when, what, before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_when(index=True))
    actor: str = Field(max_length=255, index=True)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_ref: str | None = Field(default=None, max_length=64)
    cltrid: str | None = Field(default=None, max_length=64)
    svtrid: str | None = Field(default=None, max_length=64)


class StaffMember(SQLModel, table=True):
    """A member of staff: the system account or database login they act as, and their roles."""

    __tablename__ = "staff_member"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=63, unique=True)
    display_name: str = Field(max_length=100)
    roles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    created_by: str = Field(max_length=255)
    disabled_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    disabled_by: str | None = Field(default=None, max_length=255)
    version: int = Field(default=1)


class AccessEvent(SQLModel, table=True):
    """An append-only record of a look at private data: who, when, which contact, why.

    `contact_handle` is None when the look took every contact at once (an export)."""

    __tablename__ = "access_event"
    __table_args__ = (Index("ix_access_contact", "contact_handle", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_when(index=True))
    actor: str = Field(max_length=255, index=True)
    contact_handle: str | None = Field(default=None, max_length=64)
    purpose: str = Field(max_length=64)
    domain: str | None = Field(default=None, max_length=255)


class OutboxEntry(SQLModel, table=True):
    """A change the registry must learn, written in the same transaction as the change."""

    __tablename__ = "outbox_entry"
    __table_args__ = (Index("ix_outbox_claim", "status", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    kind: str = Field(max_length=32)
    tld: str = Field(max_length=63)
    domain_id: int | None = Field(default=None, foreign_key="domain.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_error: str | None = Field(default=None)
    cltrid: str | None = Field(default=None, max_length=64)
    svtrid: str | None = Field(default=None, max_length=64)
    completed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    version: int = Field(default=1)


class Notice(SQLModel, table=True):
    """An e-mail sent or queued. Holds ids only: the address is looked up when sending."""

    __table_args__ = (Index("ix_notice_due", "status", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    category: str = Field(max_length=16)
    template: str = Field(max_length=64)
    # Who receives it: "contact" (contact_id), "account" (account_id) or "proposed_tech"
    # (the new technical contact named in change request subject_ref, before it exists).
    recipient: str = Field(default="contact", max_length=16)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    subject_ref: str | None = Field(default=None, max_length=64)
    status: str = Field(default=NoticeStatus.QUEUED, max_length=16)
    attempts: int = Field(default=0)
    # When a deliverer claimed it ("sending"): a claim older than the lease was abandoned.
    claimed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # Which delivery pass holds the claim (process id and a random token): only it records the
    # outcome of a send it did not finish, so a claim that lapsed is never released twice.
    claimed_by: str | None = Field(default=None, max_length=64)
    # When a queued notice is due for the next pass: a while after it was queued (its own
    # deliverer sends it at once), or after the back-off that followed a transient error.
    next_attempt_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # The first of an unbroken run of transient errors: after `mail.notice_give_up_hours` of
    # them the notice is failed.
    first_error_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # The subject line it went out with: what the customer's download of their data lists.
    subject: str | None = Field(default=None, max_length=255)
    # Why it failed, was suppressed, or (queued) why the last attempt did not go through.
    error: str | None = Field(default=None)
    version: int = Field(default=1)


class ChangeRequest(SQLModel, table=True):
    """A request to move a domain's technical contact (DESIGN section 5)."""

    __tablename__ = "change_request"
    __table_args__ = (Index("ix_change_request_state", "state", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    domain_id: int = Field(foreign_key="domain.id", index=True)
    state: str = Field(default=RequestState.SUBMITTED, max_length=16)
    channel: str = Field(max_length=16)
    entered_by: str = Field(max_length=255)
    # "new": proposed holds the validated new contact; "house": back to Interlink.
    target: str = Field(default=RequestTarget.NEW, max_length=8)
    proposed: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    old_tech_id: int | None = Field(default=None, foreign_key="contact.id")
    new_tech_id: int | None = Field(default=None, foreign_key="contact.id")
    token_hash: str | None = Field(default=None, max_length=64, index=True)
    token_expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    token_used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    expires_at: datetime = Field(sa_column=_when())
    confirmed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    decided_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    reason: str | None = Field(default=None, max_length=1000)
    applied_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    outbox_id: int | None = Field(default=None, foreign_key="outbox_entry.id")
    sync_error: str | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    version: int = Field(default=1)


# The control panel's tables live in their own module; importing the models registers them too.
from domains import (  # noqa: E402, F401
    customer_models,
    disclosure_models,
    drift_models,
    notice_models,
)
