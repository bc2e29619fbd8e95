"""Small builders of valid records for tests (fictional people, example.* addresses)."""

from __future__ import annotations

from itertools import count
from typing import Any

from domains.changes import Workflow
from domains.models import Account, Contact, Domain
from domains.store import Store

_serial = count(1000)

#: The technical contact a customer proposes: an organisation that consents to publish its
#: organisation and e-mail address.
NEW_TECH = {
    "org": "Northwind Hosting GmbH",
    "name": "Greta Nord",
    "email": "noc@northwind.example.net",
    "voice": "+49 40 609040",
    "city": "Hamburg",
    "country": "DE",
    "consent_fields": ["org", "email"],
    "consent_method": "portal",
}


def account_data(**overrides: Any) -> dict[str, Any]:
    """Valid account fields."""
    n = next(_serial)
    data = {
        "number": f"A-{n}",
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
        "phone": "+44 117 496 0123",
        "street": ["1 Test Street"],
        "city": "Bristol",
        "postal_code": "BS1 1AA",
        "country": "GB",
    }
    data.update(overrides)
    return data


def contact_data(**overrides: Any) -> dict[str, Any]:
    """Valid person contact fields."""
    n = next(_serial)
    data = {
        "kind": "person",
        "name": f"Person {n}",
        "street": ["Hauptstrasse 5"],
        "city": "Berlin",
        "state": "Berlin",
        "postal_code": "10115",
        "country": "DE",
        "voice": "+49 30 901820",
        "email": f"person{n}@example.org",
    }
    data.update(overrides)
    return data


def make_domain(
    store: Store, name: str | None = None, *, actor: str = "staff:test", **domain: Any
) -> tuple[Domain, Contact]:
    """An account, a registrant and a domain (tech: the house contact)."""
    account = store.create_account(actor, account_data())
    registrant = store.create_contact(actor, contact_data(), account_number=account.number)
    created = store.create_domain(
        actor,
        {"name": name or f"domain{next(_serial)}.com", **domain},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return created, registrant


def confirmed_request(
    store: Store, domain: str, *, actor: str = "customer:portal", channel: str = "portal"
) -> str:
    """A request to give `domain` the NEW_TECH contact, confirmed by the registrant."""
    flow = Workflow(store)
    outcome = flow.submit(actor=actor, domain_name=domain, proposal=NEW_TECH, channel=channel)
    flow.confirm(token=outcome.token)
    return outcome.request.reference


def account_with_domain(
    store: Store, name: str, *, registrant_email: str | None = None, actor: str = "staff:test"
) -> tuple[Account, Contact]:
    """An account holding one domain whose registrant is one of its contacts; the registrant's
    e-mail is the account's unless `registrant_email` says otherwise."""
    account = store.create_account(actor, account_data())
    email = registrant_email or account.email
    registrant = store.create_contact(
        actor, contact_data(email=email), account_number=account.number
    )
    store.create_domain(
        actor,
        {"name": name},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return account, registrant
