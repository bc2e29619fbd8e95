"""A contact (stored or proposed) as a few lines of text, for side-by-side comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from domains.models import Contact


def contact_lines(title: str, contact: Contact | Mapping[str, Any] | None) -> str:
    """Markup for a contact card: organisation, name, e-mail, phone, address, consent."""
    if contact is None:
        return f"[b]{title}[/]\n-"
    get = contact.get if isinstance(contact, Mapping) else lambda k, d=None: getattr(contact, k, d)
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
