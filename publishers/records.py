"""Domain records for the public services, read with one Core query instead of the ORM.

The public services and the publisher need a domain with the contact in each role, fast, and
nothing of the account (architecture §7: they see no private field they could leak), so the record
carries a stub account holding only its id. Its instances are made by `domains.speedups.loaded`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from domains.dnssec import DsView
from domains.models import Account, Contact, Domain, DomainContact, DsRecord
from domains.speedups import loaded
from domains.store import DomainRecord

DOMAIN = Domain.__table__  # type: ignore[attr-defined]
DOMAIN_CONTACT = DomainContact.__table__  # type: ignore[attr-defined]
CONTACT = Contact.__table__  # type: ignore[attr-defined]
DS = DsRecord.__table__  # type: ignore[attr-defined]
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


def ds_query() -> Select[Any]:
    """The DS records of domains (with the domain's name), in a fixed order; add the WHERE
    clause. Only a signed domain's are read: an unsigned one has none (domains/domain_edits.py)."""
    return (
        select(DOMAIN.c.name, DS.c.key_tag, DS.c.algorithm, DS.c.digest_type, DS.c.digest)
        .select_from(DS.join(DOMAIN, DOMAIN.c.id == DS.c.domain_id))
        .order_by(DOMAIN.c.name, DS.c.key_tag, DS.c.algorithm, DS.c.digest_type, DS.c.digest)
    )


def ds_views(rows: Iterable[Any]) -> tuple[DsView, ...]:
    """The DS views of rows of `ds_query` (mappings or dicts), sorted."""
    return tuple(
        sorted(
            DsView(row["key_tag"], row["algorithm"], row["digest_type"], row["digest"])
            for row in rows
        )
    )


def record_from_rows(rows: list[Any], ds: Iterable[Any] = ()) -> DomainRecord:
    """A DomainRecord from the rows of `record_query` for one domain (mappings or dicts) and
    those of `ds_query` for it."""
    first = rows[0]
    domain = loaded(Domain, {key: first[key] for key in _DOMAIN_KEYS})
    account = loaded(Account, {"id": first["account_id"]})
    contacts: dict[str, Contact] = {}
    for row in rows:
        if row["role"] is not None and row["c_id"] is not None:
            contacts[row["role"]] = loaded(Contact, {attr: row[key] for key, attr in _CONTACT_KEYS})
    return DomainRecord(domain=domain, account=account, contacts=contacts, ds=ds_views(ds))
