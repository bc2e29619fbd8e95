"""Many customer accounts written at once (Core inserts), some opted out of marketing mail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlmodel import col

from domains.models import Account, utcnow
from domains.store_sessions import StoreSessions


@dataclass(frozen=True)
class Customers:
    """The accounts written: numbers, and the addresses of those who did not opt out."""

    numbers: list[str]
    wanted: dict[str, str]  # address -> account number, for the accounts not opted out
    opted_out: set[str]  # their addresses


def bulk_accounts(store: StoreSessions, count: int, *, opt_out_every: int = 0) -> Customers:
    """`count` accounts named TA-0000001...; every `opt_out_every`-th one opted out."""
    now = utcnow()
    rows, wanted, opted_out = [], {}, set()
    for n in range(1, count + 1):
        number, address = f"TA-{n:07d}", f"customer{n}@example.com"
        out = bool(opt_out_every) and n % opt_out_every == 0
        rows.append(
            {
                "number": number,
                "name": f"Customer {n}",
                "email": address,
                "street": ["1 Example Street"],
                "city": "Berlin",
                "country": "DE",
                "status": "active",
                "marketing_opt_out_at": now if out else None,
                "marketing_opt_out_via": "tests" if out else None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        if out:
            opted_out.add(address)
        else:
            wanted[address] = number
    with store.write() as session:
        session.execute(insert(Account), rows)
        numbers = list(session.execute(select(col(Account.number))).scalars())
    return Customers(numbers, wanted, opted_out)
