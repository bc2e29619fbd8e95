"""Domain records and publication views built in memory, for the policy and renderer tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domains.models import Account, Contact, Domain
from domains.settings import Registrar
from domains.store import DomainRecord
from publishers.policy import (
    PublicationView,
    build_view,
)
from publishers.profiles import (
    get_profile,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


REGISTRAR = Registrar()


def make_contact(**overrides: Any) -> Contact:
    """A contact model object with every field filled (no database)."""
    data: dict[str, Any] = {
        "handle": "ILC42",
        "kind": "person",
        "name": "Imogen Farthingale",
        "org": "Farthingale Kites",
        "street": ["7 Quillon Row", "Upper Flat"],
        "city": "Wexcombe",
        "state": "Wiltshire",
        "postal_code": "SN8 3ZZ",
        "country": "GB",
        "voice": "+44.1672555012",
        "voice_ext": "771",
        "fax": "+44.1672555013",
        "fax_ext": "772",
        "email": "imogen@farthingale.example",
        "consent_fields": [],
    }
    data.update(overrides)
    data.setdefault("name_key", data["name"].casefold())
    data.setdefault("email_key", data["email"].casefold())
    return Contact(**data)


def house_contact() -> Contact:
    """Interlink's own contact, as the store creates it from settings."""
    return make_contact(
        handle="IL-HOUSE",
        kind="organization",
        name="Interlink Hostmaster",
        org="Interlink Networks Ltd",
        street=["12 Harbour Road"],
        city="Bristol",
        state="Bristol",
        postal_code="BS1 5TT",
        voice="+44.1179000000",
        voice_ext=None,
        fax=None,
        fax_ext=None,
        email="hostmaster@interlink.example.net",
        is_house=True,
    )


def make_record(contacts: dict[str, Contact], **domain: Any) -> DomainRecord:
    """A DomainRecord of model objects (no database)."""
    fields: dict[str, Any] = {
        "name": "kite-makers.com",
        "unicode_name": "kite-makers.com",
        "tld": "com",
        "account_id": 1,
        "roid": "D9137-COM",
        "statuses": ["clientTransferProhibited", "clientDeleteProhibited"],
        "nameservers": ["ns1.interlink.example.net", "ns2.interlink.example.net"],
        "dnssec": False,
        "created_at": datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
        "expires_at": datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC),
    }
    fields.update(domain)
    account = Account(number="A-1", name="Customer", email="c@example.com", country="GB")
    return DomainRecord(domain=Domain(**fields), account=account, contacts=contacts)


def view_of(record: DomainRecord, profile: str = "icann-gtld", **kwargs: Any) -> PublicationView:
    """The view at a fixed time with the default registrar."""
    return build_view(record, profile=get_profile(profile), registrar=REGISTRAR, now=NOW, **kwargs)
