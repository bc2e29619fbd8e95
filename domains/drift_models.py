"""The tables of the registry drift check (`interlink sync --reconcile`): its last run and the
differences it found between the registries and the store."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from domains.models import _when, utcnow


class DriftRun(SQLModel, table=True):
    """One walk of the domains asking their registries what they hold (the last one is kept)."""

    __tablename__ = "drift_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    finished_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    actor: str = Field(max_length=255)
    #: The TLD the run was limited to (None: every TLD a registry serves).
    tld: str | None = Field(default=None, max_length=63)
    domains_checked: int = Field(default=0)
    domains_differing: int = Field(default=0)
    differences: int = Field(default=0)
    #: Domains the registry could not be asked about (unreachable, refused).
    errors: int = Field(default=0)


class DriftDifference(SQLModel, table=True):
    """One field of one object that differs between a registry and the store.

    The values are kept for the domain object's fields only (sponsor, handles, name servers,
    statuses); a contact's row names the field and leaves out the values, which are personal
    data (`interlink registry show DOMAIN` shows them to support staff, in the access trail).
    """

    __tablename__ = "drift_difference"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="drift_run.id", index=True)
    domain: str = Field(max_length=253)
    #: "domain", "contact HANDLE (roles)", or "registry" for an answer that was an error.
    section: str = Field(max_length=120)
    field: str = Field(max_length=64)
    #: The value the registry holds, and the one the store would send (None: personal, or none).
    at_registry: str | None = Field(default=None, max_length=1000)
    in_store: str | None = Field(default=None, max_length=1000)
