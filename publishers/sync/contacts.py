"""The store's contacts as EPP sends them, and what the registry's answers say about them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from domains.ascii_postal import LINE_LIMIT, PC_LIMIT
from domains.ascii_postal import transliterate as _ascii
from domains.models import Contact
from publishers.epp.model import (
    Address,
    ContactData,
    ContactInfo,
    Disclose,
    DomainInfo,
    PostalInfo,
    PostalType,
)
from publishers.passwords import DEFAULT_RULE, PasswordRule

ALL_PUBLIC = Disclose(name=True, org=True, addr=True, voice=True, fax=True, email=True)
NO_ASCII = "-"
"""The ASCII form of a required item that has none (characters no transliteration knows)."""


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def ascii_form(info: PostalInfo, given: Mapping[str, Any] | None = None) -> PostalInfo:
    """The "int" postalInfo of postal items given with non-ASCII characters (RFC 5733 §2.3
    allows only 7-bit ASCII there): each item of the stored ASCII form `given` (checked by
    domains.ascii_postal) where it has one, else transliterated."""
    given = given or {}
    addr = info.addr

    def item(key: str, value: str | None, limit: int = LINE_LIMIT) -> str | None:
        stored = given.get(key)
        return stored if isinstance(stored, str) and stored else _ascii(value, limit)

    if given.get("street"):
        street = tuple(line for line in given["street"] if line)[:3]
    else:
        street = tuple(line for line in (_ascii(line) for line in addr.street) if line)
    return PostalInfo(
        type="int",
        name=item("name", info.name) or NO_ASCII,
        org=item("org", info.org),
        addr=Address(
            street=street,
            city=item("city", addr.city) or NO_ASCII,
            sp=item("state", addr.sp),
            pc=item("postal_code", addr.pc, PC_LIMIT),
            cc=addr.cc,
        ),
    )


def contact_data(
    contact: Contact, auth_info: str | None = None, *, rule: PasswordRule = DEFAULT_RULE
) -> ContactData:
    """The store's contact as EPP sends it: postalInfo "int" when every postal item is ASCII,
    else "loc" with its ASCII form as "int" beside it (the stored one where staff or the
    customer gave it, transliterated otherwise); a new authInfo made to `rule` unless
    auth_info is given."""
    street = tuple(line.strip() for line in (contact.street or ()) if line and line.strip())[:3]
    postal = [contact.name, contact.org, *street, contact.city, contact.state, contact.postal_code]
    postal_type: PostalType = "int" if all(v is None or v.isascii() for v in postal) else "loc"
    data = ContactData(
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
        auth_info=auth_info or new_auth_info(rule),
        postal_type=postal_type,
    )
    if postal_type == "int":
        return data
    form = ascii_form(data.postal_info, contact.ascii_postal)
    return dataclasses.replace(data, ascii_form=form)


def new_auth_info(rule: PasswordRule = DEFAULT_RULE) -> str:
    """A fresh authInfo password for a contact we create, made to the registry's rule (we never
    need it back)."""
    return rule.generate()


def wanted_forms(data: ContactData, info: ContactInfo | None) -> dict[PostalType, PostalInfo]:
    """The postalInfo of each type the registry should hold: ours, and for a "loc" one that the
    registry holds and we no longer send (the data became ASCII), the data itself: EPP cannot
    remove a postalInfo, so it is kept in step."""
    forms: dict[PostalType, PostalInfo] = {form.type: form for form in data.postal_infos}
    if info is not None and info.postal("loc") is not None and "loc" not in forms:
        given = data.postal_info
        forms["loc"] = PostalInfo(type="loc", name=given.name, org=given.org, addr=given.addr)
    return forms


def same_postal(have: PostalInfo | None, want: PostalInfo) -> bool:
    """True when the registry's postalInfo holds want's items."""
    if have is None:
        return False
    return (
        have.name == want.name
        and (have.org or None) == (want.org or None)
        and same_address(have.addr, want.addr)
    )


def same_address(have: Address, want: Address) -> bool:
    """True when the registry's address holds want's items."""
    return (
        tuple(have.street) == tuple(want.street)
        and have.city == want.city
        and (have.sp or None) == (want.sp or None)
        and (have.pc or None) == (want.pc or None)
        and have.cc.upper() == want.cc.upper()
    )


def techs_of(info: DomainInfo) -> tuple[str, ...]:
    """The tech contact handles of a domain:info answer."""
    return tuple(handle for kind, handle in info.contacts if kind == "tech")


__all__ = [
    "ALL_PUBLIC",
    "ascii_form",
    "contact_data",
    "new_auth_info",
    "same_address",
    "same_postal",
    "techs_of",
    "wanted_forms",
]
