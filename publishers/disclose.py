"""EPP <contact:disclose> flags, derived from the PublicationView only (architecture §4)."""

from __future__ import annotations

from publishers.epp.model import Disclose
from publishers.policy import PublicationView
from publishers.profiles import ADDRESS_FIELDS


def _public_fields(view: PublicationView, role: str) -> set[str]:
    return {field.field for field in view.role(role).fields if field.published}


def disclose_for(view: PublicationView, role: str) -> Disclose:
    """What the registry may publish of the contact in `role`: only what the view publishes.

    EPP discloses an address only as a whole, so `addr` is public only when every address field
    (street, city, state/province, postal code, country) is; a phone is public only with its
    extension, since <contact:voice x="..."> carries both. One EPP contact object serves every
    role its contact holds at the registry, so an item is public only if it is in all of them.
    """
    public = _public_fields(view, role)
    for other in view.role(role).shares_contact_with:
        if view.role(other).sent_to_registry:
            public &= _public_fields(view, other)
    return Disclose(
        name="name" in public,
        org="org" in public,
        addr=all(name in public for name in ADDRESS_FIELDS),
        voice={"voice", "voice_ext"} <= public,
        fax={"fax", "fax_ext"} <= public,
        email="email" in public,
    )
