"""Builders for the tests of disclosure requests: forms, attachments, a store with domains."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from domains.disclosure_input import Attachment, RequestForm
from domains.settings import DisclosureSettings, Settings
from domains.store import Store
from domains.vocabulary import DisclosureGround, RequestorKind
from tests.support.factories import account_data, contact_data

#: A Wednesday before the German Christmas holidays (25 and 26 December 2026: Friday, Saturday).
WEDNESDAY = datetime(2026, 12, 23, 10, 0, tzinfo=UTC)
#: German calendar: national holidays only, business days in Berlin's time.
GERMAN = DisclosureSettings(
    holiday_country="DE", holiday_subdivision=None, time_zone="Europe/Berlin"
)
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def german(settings: Settings) -> Settings:
    """The settings with the German business-day calendar."""
    return settings.model_copy(update={"disclosures": GERMAN})


def form(domains: tuple[str, ...], **overrides: Any) -> RequestForm:
    """A valid request from a law-enforcement officer for the registrant's name and e-mail."""
    base = RequestForm(
        requestor_name="Inspector Mara Voss",
        requestor_email="m.voss@police.example",
        requestor_kind=RequestorKind.LAW_ENFORCEMENT,
        jurisdiction="DE",
        ground=DisclosureGround.LEGAL_PROCESS,
        legal_basis="Production order under the Code of Criminal Procedure",
        domains=domains,
        wanted_fields=("registrant name", "registrant email"),
        requestor_organisation="Landeskriminalamt",
        legal_reference="AZ 12 Js 345/26",
        attachments=(Attachment("order.pdf", PDF),),
    )
    return replace(base, **overrides)


def customer_domain(store: Store, name: str) -> dict[str, Any]:
    """A domain with a registrant and a different admin contact; their stored data."""
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact("staff:test", contact_data(), account_number=account.number)
    admin = store.create_contact("staff:test", contact_data(), account_number=account.number)
    store.create_domain(
        "staff:test",
        {"name": name},
        account_number=account.number,
        contacts={"registrant": registrant.handle, "admin": admin.handle},
    )
    return {"registrant": registrant, "admin": admin}
