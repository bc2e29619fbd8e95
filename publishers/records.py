"""Domain records for the public services, read with one Core query instead of the ORM.

The public services and the publisher need a domain with the contact in each role, fast, and
nothing of the account (architecture §7: they see no private field they could leak), so the record
carries a stub account holding only its id. Its instances are made by `domains.speedups.loaded`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from domains.models import Account, Contact, Domain, DomainContact
from domains.speedups import loaded
from domains.store import DomainRecord

DOMAIN = Domain.__table__  # type: ignore[attr-defined]
DOMAIN_CONTACT = DomainContact.__table__  # type: ignore[attr-defined]
CONTACT = Contact.__table__  # type: ignore[attr-defined]
#: Search keys are the store's own business; everything else of a contact is fetched.
_CONTACT_COLUMNS = tuple(c for c in CONTACT.c if c.name not in ("name_key", "email_key"))
_DOMAIN_KEYS = tuple(c.name for c in DOMAIN.c)
_CONTACT_KEYS = tuple((f"c_{c.name}", c.name) for c in _CONTACT_COLUMNS)


def record_query(*, outer: bool = True) -> Select[Any]:
    """Domains with one row per role (contact columns prefixed c_); add the WHERE clause.

    `outer` keeps a domain without roles (one row, role None); the publisher asks for inner
    joins because PostgreSQL locks FOR SHARE only rows that are not on a nullable side.
    """
    columns = (
        *DOMAIN.c,
        DOMAIN_CONTACT.c.role,
        *(c.label(f"c_{c.name}") for c in _CONTACT_COLUMNS),
    )
    joined = DOMAIN.join(
        DOMAIN_CONTACT, DOMAIN_CONTACT.c.domain_id == DOMAIN.c.id, isouter=outer
    ).join(CONTACT, CONTACT.c.id == DOMAIN_CONTACT.c.contact_id, isouter=outer)
    return select(*columns).select_from(joined)


def record_from_rows(rows: list[Any]) -> DomainRecord:
    """A DomainRecord from the rows of `record_query` for one domain (mappings or dicts)."""
    first = rows[0]
    domain = loaded(Domain, {key: first[key] for key in _DOMAIN_KEYS})
    account = loaded(Account, {"id": first["account_id"]})
    contacts: dict[str, Contact] = {}
    for row in rows:
        if row["role"] is not None and row["c_id"] is not None:
            contacts[row["role"]] = loaded(Contact, {attr: row[key] for key, attr in _CONTACT_KEYS})
    return DomainRecord(domain=domain, account=account, contacts=contacts)
