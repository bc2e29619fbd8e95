"""A contact (stored or proposed) as a few lines of text, for side-by-side comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from domains.models import Contact


def _getter(contact: Contact | Mapping[str, Any]):
    if isinstance(contact, Mapping):
        return contact.get
    return lambda k, d=None: getattr(contact, k, d)


def contact_summary(contact: Contact | Mapping[str, Any] | None) -> str:
    """One line, plain text (not markup): organisation, name, and the handle if it has one."""
    if contact is None:
        return "none"
    get = _getter(contact)
    parts = [p for p in (get("org"), get("name")) if p]
    handle = get("handle")
    parts.append(f"handle {handle}" if handle else "a new handle when applied")
    return ", ".join(parts)


def contact_lines(title: str, contact: Contact | Mapping[str, Any] | None) -> str:
    """Markup for a contact card: organisation, name, e-mail, phone, address, consent."""
    if contact is None:
        return f"[b]{title}[/]\n-"
    get = _getter(contact)
    street = ", ".join(get("street") or [])
    place = " ".join(p for p in (get("postal_code"), get("city")) if p)
    lines = [
        f"[b]{escape(title)}[/]",
        escape(get("org") or "-"),
        escape(get("name") or "-"),
        escape(get("email") or "-"),
        escape(get("voice") or "-"),
        escape(", ".join(p for p in (street, place, get("state"), get("country")) if p) or "-"),
        "consent: " + escape(", ".join(get("consent_fields") or []) or "none"),
    ]
    handle = get("handle")
    if handle:
        lines.insert(1, f"handle {escape(handle)}")
    return "\n".join(lines)
