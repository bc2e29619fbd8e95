"""The store's contacts as EPP sends them, and what the registry's answers say about them."""

from __future__ import annotations

import secrets
from typing import Literal

from domains.models import Contact
from publishers.epp.model import ContactData, ContactInfo, Disclose, DomainInfo

ALL_PUBLIC = Disclose(name=True, org=True, addr=True, voice=True, fax=True, email=True)


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def contact_data(contact: Contact, auth_info: str | None = None) -> ContactData:
    """The store's contact as EPP sends it (postal type loc when any postal item is not ASCII)."""
    street = tuple(line.strip() for line in (contact.street or ()) if line and line.strip())[:3]
    postal = [contact.name, contact.org, *street, contact.city, contact.state, contact.postal_code]
    postal_type: Literal["int", "loc"] = (
        "int" if all(v is None or v.isascii() for v in postal) else "loc"
    )
    return ContactData(
        handle=contact.handle,
        name=contact.name,
        org=_strip(contact.org),
        street=street,
        city=contact.city,
        sp=_strip(contact.state),
        pc=_strip(contact.postal_code),
        cc=contact.country.upper(),
        voice=_strip(contact.voice),
        voice_ext=_strip(contact.voice_ext) if _strip(contact.voice) else None,
        fax=_strip(contact.fax),
        fax_ext=_strip(contact.fax_ext) if _strip(contact.fax) else None,
        email=contact.email,
        auth_info=auth_info or new_auth_info(),
        postal_type=postal_type,
    )


def new_auth_info() -> str:
    """A fresh authInfo password for a contact we create (we never need it back)."""
    return secrets.token_urlsafe(12)


def matches(info: ContactInfo, data: ContactData, disclose: Disclose | None) -> bool:
    """True when the registry's contact holds every item of data and the disclose flags."""
    if not info.postal_info:
        return False
    postal = info.postal_info[0]
    want = data.postal_info.addr
    have = postal.addr
    same = (
        postal.name == data.name
        and (postal.org or None) == (data.org or None)
        and tuple(have.street) == tuple(want.street)
        and have.city == want.city
        and (have.sp or None) == (want.sp or None)
        and (have.pc or None) == (want.pc or None)
        and have.cc.upper() == want.cc.upper()
        and (info.voice or None) == (data.voice or None)
        and (info.voice_ext or None) == (data.voice_ext or None)
        and (info.fax or None) == (data.fax or None)
        and (info.fax_ext or None) == (data.fax_ext or None)
        and info.email == data.email
    )
    if not same or disclose is None:
        return same
    return (info.disclose or ALL_PUBLIC) == disclose


def techs_of(info: DomainInfo) -> tuple[str, ...]:
    """The tech contact handles of a domain:info answer."""
    return tuple(handle for kind, handle in info.contacts if kind == "tech")


__all__ = ["ALL_PUBLIC", "contact_data", "matches", "new_auth_info", "techs_of"]
