"""The tables of the register of disclosure requests: requests, decisions, download links.

The register keeps what was asked, who decided what and which fields of which domains were
disclosed (field names and the document's SHA-256), never a copy of the disclosed data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from domains.models import _when, utcnow
from domains.vocabulary import DisclosureState


class DisclosureRequest(SQLModel, table=True):
    """A request for customers' non-public data, its requestor, ground and deadlines."""

    __tablename__ = "disclosure_request"
    __table_args__ = (Index("ix_disclosure_request_state", "state", "answer_due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    state: str = Field(default=DisclosureState.RECEIVED, max_length=16)
    channel: str = Field(max_length=16)
    #: Who entered it: a member of staff (staff:LOGIN), or the requestor on the web form.
    entered_by: str = Field(max_length=255)
    requestor_name: str = Field(max_length=255)
    requestor_organisation: str | None = Field(default=None, max_length=255)
    requestor_email: str | None = Field(default=None, max_length=254)
    requestor_phone: str | None = Field(default=None, max_length=32)
    requestor_kind: str = Field(max_length=32)
    jurisdiction: str = Field(max_length=100)
    ground: str = Field(max_length=64)
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    legal_reference: str | None = Field(default=None, max_length=255)
    #: None for a regular request; the urgency category of an urgent one.
    urgency: str | None = Field(default=None, max_length=32)
    #: The fields wanted of every domain, as "role field" pairs (e.g. "registrant email").
    wanted_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: A web request's e-mail check: the hash of the mailed token, its expiry, when used.
    verify_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    verify_expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    verified_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    #: When the request counts as received (a web request: when its e-mail was verified); the
    #: deadlines run from here.
    received_at: datetime | None = Field(default=None, sa_column=_when(nullable=True, index=True))
    acknowledge_due_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    answer_due_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    review_started_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    version: int = Field(default=1)


class DisclosureDomain(SQLModel, table=True):
    """A domain a request asks about: its name as given (A-label), and ours if we hold it."""

    __tablename__ = "disclosure_domain"

    request_id: int = Field(foreign_key="disclosure_request.id", primary_key=True)
    name: str = Field(max_length=255, primary_key=True)
    domain_id: int | None = Field(default=None, foreign_key="domain.id", index=True)


class DisclosureAttachment(SQLModel, table=True):
    """A document sent with a request (a PDF or image of the order), checked by its content."""

    __tablename__ = "disclosure_attachment"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    added_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class DisclosureDecision(SQLModel, table=True):
    """The decision on a request: outcome, reason, which fields of which domains, and the
    customer notice (held back while the law forbids it)."""

    __tablename__ = "disclosure_decision"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", unique=True)
    outcome: str = Field(max_length=32)
    denial_reason: str | None = Field(default=None, max_length=100)
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    #: What is disclosed, as "domain role field" triples (field names only, never values).
    approved_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_by: str = Field(max_length=255)
    decided_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    gag_reason: str | None = Field(default=None, max_length=100)
    #: With a gag reason: the date after which the customer is told (None: not until lifted).
    notify_after: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    customers_notified_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    #: The SHA-256 of the signed document the requestor downloaded (made at the download).
    document_sha256: str | None = Field(default=None, max_length=64)


class DisclosureDownloadToken(SQLModel, table=True):
    """A single-use, expiring link to the disclosed document: only the token's hash is kept."""

    __tablename__ = "disclosure_download_token"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="disclosure_decision.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class DisclosureDownload(SQLModel, table=True):
    """A download of a disclosed document: when, by which link, and the document's SHA-256."""

    __tablename__ = "disclosure_download"

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="disclosure_download_token.id", unique=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())
    document_sha256: str = Field(max_length=64)
