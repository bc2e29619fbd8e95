"""The tables of announcements, essential reminders and failing addresses (mail to customers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from domains.models import _when, utcnow


class Announcement(SQLModel, table=True):
    """A run of a marketing announcement: each recipient is a notice with its reference."""

    __tablename__ = "announcement"

    id: int | None = Field(default=None, primary_key=True)
    #: The notices of the run carry it as their subject_ref.
    reference: str = Field(max_length=32, unique=True)
    template: str = Field(max_length=64)
    subject: str = Field(max_length=255)
    started_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    #: How many notices the run queued (the accounts not opted out when it started).
    queued: int = Field(default=0)
    finished_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class ReminderSent(SQLModel, table=True):
    """An essential reminder queued for a domain and period, kept so none is sent twice."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("domain_id", "kind", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(foreign_key="domain.id", index=True)
    #: What it reminds of (a StrEnum of the reminders).
    kind: str = Field(max_length=32)
    #: Which one of its kind: the year of an annual reminder, the expiry date and step of another.
    period: str = Field(max_length=32)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class AddressFailure(SQLModel, table=True):
    """An e-mail address the relay refused for good (5xx), or that a delivery report bounced."""

    __tablename__ = "address_failure"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=254, index=True)
    #: Where it was learnt: the relay's answer or a delivery status notification.
    source: str = Field(max_length=16)
    #: The relay's code and words, or the report's status (no message text).
    reason: str = Field(max_length=255)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    #: When staff (or a later successful delivery) said the address works again.
    cleared_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
