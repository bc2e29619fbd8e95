"""A customer giving, changing or clearing the ASCII form of their contact's postal data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domains import ascii_postal, contact_fields
from domains.audit import customer_actor
from domains.contact_corrections import (
    ContactCorrections,
    CorrectionOutcome,
    CorrectionResult,
    PendingRegistrantChange,
)
from domains.errors import FieldError, ValidationFailed
from domains.models import utcnow
from domains.vocabulary import AsciiSource

#: The result's word for what an ASCII form correction applied (CorrectionResult.applied).
APPLIED = "ascii_postal"


@dataclass(frozen=True)
class AsciiItem:
    """One postal item: the contact's value, the stored ASCII form of it, and what the
    registries get (street items hold their lines joined by newlines)."""

    key: str
    label: str
    value: str
    stored: str
    sent: str
    source: AsciiSource

    @property
    def suggestion(self) -> str:
        """The transliteration when nothing is stored, else empty."""
        return self.sent if self.source == AsciiSource.TRANSLITERATED else ""


@dataclass(frozen=True)
class AsciiFormView:
    """A contact's ASCII form as the customer's page shows it (only the items it has)."""

    handle: str
    version: int
    needed: bool
    """True when the postal data has non-ASCII characters: only then is an ASCII form sent."""
    items: tuple[AsciiItem, ...]
    has_stored: bool
    registrant_change: PendingRegistrantChange | None


def _lines(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value if v)
    return "" if value is None else str(value)


def items_of(data: Mapping[str, Any], stored: Mapping[str, Any] | None) -> tuple[AsciiItem, ...]:
    """The postal items the data has, each with its stored ASCII form and what is sent (the
    stored item, else the transliteration, as `publishers.sync.contacts.ascii_form` makes it)."""
    stored = stored or {}
    suggested = ascii_postal.suggested(data)
    out = []
    for key in ascii_postal.KEYS:
        value = _lines(data.get(key))
        if not value.strip():
            continue
        given = _lines(stored.get(key))
        out.append(
            AsciiItem(
                key=key,
                label=contact_fields.field(key).label,
                value=value,
                stored=given,
                sent=given or _lines(suggested.get(key)),
                source=AsciiSource.GIVEN if given else AsciiSource.TRANSLITERATED,
            )
        )
    return tuple(out)


class AsciiFormCorrections(ContactCorrections):
    """The customer's ASCII form of a contact's postal data, over the correction rules: the
    same ownership check, version check, change-of-registrant wait, actor and store write
    (`Store.update_contact`: its audit event and its `contact.update` for the registries)."""

    def ascii_form(self, account_number: str, handle: str) -> AsciiFormView:
        """One of the account's contacts' ASCII form (NotFound if not theirs)."""
        now = utcnow()
        with self.store.read() as session:
            _account, contact = self._own(session, account_number, handle)
            data = {key: getattr(contact, key) for key in ascii_postal.KEYS}
            stored = contact.ascii_postal
            view_handle, version = contact.handle, contact.version
            change = self._pending_change(session, self._open_change(session, contact.id, now))
        return AsciiFormView(
            handle=view_handle,
            version=version,
            needed=not ascii_postal.is_ascii(data),
            items=items_of(data, stored),
            has_stored=bool(stored),
            registrant_change=change,
        )

    def set_ascii_form(
        self,
        account_number: str,
        handle: str,
        expected_version: int,
        form: Mapping[str, Any] | None,
        *,
        now: datetime | None = None,
    ) -> CorrectionOutcome:
        """Give, change or (with None or an empty form) clear the contact's ASCII form.

        Checked as staff's is (`ascii_postal.check`: each bad item named, `ascii.city`, and
        why); an item is refused for a postal item the contact does not have, and a form is
        refused while its postal data is all ASCII (the registries get the data itself then;
        clearing a stored form is always allowed). NotFound for another account's contact,
        ConflictError when it changed since `expected_version`, RuleViolation while a change
        of registrant waits. The items left empty are transliterated when the contact is sent.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError("set_ascii_form: expected_version must be the version that was read")
        clean = ascii_postal.check(form)
        now = now or utcnow()
        with self.store.read() as session:
            _account, contact = self._own(session, account_number, handle)
            self.store._check_version(contact, expected_version, "contact", contact.handle)
            data = {key: getattr(contact, key) for key in ascii_postal.KEYS}
            if clean is not None:
                _refuse_unusable(clean, data)
            changed = (clean or None) != (contact.ascii_postal or None)
            if changed:
                assert contact.id is not None  # a stored row
                self._refuse_while_changing(session, contact.id, now)
            handle = contact.handle
        if not changed:
            return CorrectionOutcome(CorrectionResult(handle, expected_version, (), None, None))
        updated = self.store.update_contact(
            customer_actor(account_number), handle, expected_version, {"ascii_postal": clean}
        )
        return CorrectionOutcome(CorrectionResult(handle, updated.version, (APPLIED,), None, None))


def _refuse_unusable(form: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """Refuse a form for data that is all ASCII, and items for postal items it lacks."""
    if ascii_postal.is_ascii(data):
        raise ValidationFailed(
            FieldError(
                ascii_postal.FIELD,
                "is only for postal data with non-ASCII characters; this contact's is all "
                "ASCII, so the registries get it as it is",
            )
        )
    errors = [
        FieldError(
            f"{ascii_postal.FIELD}.{key}",
            f"is given but the contact has no {contact_fields.field(key).label.lower()} "
            "to give it for",
        )
        for key in form
        if not _lines(data.get(key)).strip()
    ]
    if errors:
        raise ValidationFailed(errors)


__all__ = [
    "APPLIED",
    "AsciiFormCorrections",
    "AsciiFormView",
    "AsciiItem",
    "items_of",
]
