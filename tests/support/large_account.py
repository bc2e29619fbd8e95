"""One account with a thousand domains in a large store, written straight with SQLAlchemy Core."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from domains.models import Account, Contact, Domain, DomainContact
from domains.store import Store

BIG_ACCOUNT_DOMAINS = 1_000
OTHER_DOMAINS = 60_000
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def fill(store: Store) -> str:
    """One account with 1,000 domains (a registrant each, the house as tech) among 60,000 other
    domains of 15,000 accounts, written straight with SQLAlchemy Core; the big account's number."""
    house = store.house_contact().id
    accounts = OTHER_DOMAINS // 4 + 1
    account_rows, contact_rows, domain_rows, role_rows = [], [], [], []
    with store.engine.begin() as conn:
        first_account = (conn.execute(select(func.max(Account.id))).scalar() or 0) + 1
        first_contact = (conn.execute(select(func.max(Contact.id))).scalar() or 0) + 1
        first_domain = (conn.execute(select(func.max(Domain.id))).scalar() or 0) + 1
    for a in range(accounts):
        account_rows.append(
            {
                "id": first_account + a,
                "number": f"A-{500000 + a}",
                "name": f"Holder {a}",
                "email": f"holder{a}@example.com",
                "street": ["1 High Street"],
                "country": "GB",
                "status": "active",
                "created_at": EPOCH,
                "updated_at": EPOCH,
                "version": 1,
            }
        )
    total = BIG_ACCOUNT_DOMAINS + OTHER_DOMAINS
    for i in range(total):
        owner = first_account + (0 if i < BIG_ACCOUNT_DOMAINS else 1 + (i // 4) % (accounts - 1))
        contact_id, domain_id = first_contact + i, first_domain + i
        contact_rows.append(
            {
                "id": contact_id,
                "handle": f"ILB{contact_id}",
                "kind": "person",
                "name": f"Person {i}",
                "street": ["5 Main Road"],
                "city": "Leeds",
                "country": "GB",
                "email": f"person{i}@example.org",
                "consent_fields": ["email"] if i % 3 == 0 else [],
                "consent_method": "portal" if i % 3 == 0 else None,
                "account_id": owner,
                "is_house": False,
                "name_key": f"person {i}",
                "email_key": f"person{i}@example.org",
                "created_at": EPOCH,
                "updated_at": EPOCH,
                "version": 1,
            }
        )
        domain_rows.append(
            {
                "id": domain_id,
                "name": f"bulk{i}.com",
                "unicode_name": f"bulk{i}.com",
                "tld": "com",
                "account_id": owner,
                "statuses": ["ok"],
                "nameservers": [],
                "dnssec": False,
                "created_at": EPOCH,
                "updated_at": EPOCH,
                "version": 1,
            }
        )
        role_rows.append({"domain_id": domain_id, "role": "registrant", "contact_id": contact_id})
        role_rows.append({"domain_id": domain_id, "role": "tech", "contact_id": house})
    with store.engine.begin() as conn:
        for model, rows in (
            (Account, account_rows),
            (Contact, contact_rows),
            (Domain, domain_rows),
            (DomainContact, role_rows),
        ):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(model.__table__), rows[start : start + 20_000])  # type: ignore[attr-defined]
    return f"A-{500000}"
