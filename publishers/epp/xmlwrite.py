"""Element writers shared by both sides of EPP: client commands and server responses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeGuard

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    EPP_NS,
    SECDNS_NS,
    Address,
    Disclose,
    DsData,
    PostalInfo,
    address_version,
)

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'

_E164 = re.compile(r"\+[0-9]{1,3}\.[0-9]{1,14}")


def sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    """Append <ns:tag> with optional text and attributes to parent."""
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text:
        element.text = text
    return element


def epp_root() -> etree._Element:
    """An empty <epp> element with the EPP namespace as default."""
    return etree.Element(f"{{{EPP_NS}}}epp", nsmap={None: EPP_NS})


def serialize(root: etree._Element) -> bytes:
    """The frame as UTF-8 bytes with the XML declaration RFC 5730 shows."""
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def object_element(parent: etree._Element | None, ns: str, tag: str) -> etree._Element:
    """An object-namespace element declaring its prefix (contact:, domain:), under parent if any."""
    nsmap = {ns.rsplit(":", 1)[1].split("-", 1)[0]: ns}
    if parent is None:
        return etree.Element(f"{{{ns}}}{tag}", nsmap=nsmap)
    return etree.SubElement(parent, f"{{{ns}}}{tag}", nsmap=nsmap)


def format_datetime(value: datetime) -> str:
    """An aware datetime as an xs:dateTime in UTC with a Z suffix."""
    if value.tzinfo is None:
        raise ValueError("EPP dates must be timezone-aware")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def present(value: str | None) -> TypeGuard[str]:
    """True for a value to write: neither None nor empty."""
    return value is not None and value != ""


def require_ascii(
    postal_type: str, name: str | None, org: str | None, addr: Address | None
) -> None:
    """Refuse non-ASCII values in an "int" postalInfo (RFC 5733 section 2.3: 7-bit US-ASCII)."""
    if postal_type != "int":
        return
    values = [name, org]
    if addr is not None:
        values += [*addr.street, addr.city, addr.sp, addr.pc, addr.cc]
    # The messages name the rule, never the value: errors end up in logs, which hold no
    # personal data.
    if any(value and not value.isascii() for value in values):
        raise ValueError(
            'postalInfo type "int" allows only 7-bit ASCII (RFC 5733 section 2.3); '
            'use postal_type="loc"'
        )


def address_element(parent: etree._Element, addr: Address) -> None:
    """Append <contact:addr>, leaving out empty street lines, sp and pc."""
    streets = [line for line in addr.street if line]
    if len(streets) > 3:
        raise ValueError(f"at most 3 street lines, got {len(streets)}")
    element = sub(parent, CONTACT_NS, "addr")
    for line in streets:
        sub(element, CONTACT_NS, "street", line)
    sub(element, CONTACT_NS, "city", addr.city)
    if present(addr.sp):
        sub(element, CONTACT_NS, "sp", addr.sp)
    if present(addr.pc):
        sub(element, CONTACT_NS, "pc", addr.pc)
    sub(element, CONTACT_NS, "cc", addr.cc)


def postal_info_element(parent: etree._Element, info: PostalInfo) -> None:
    """Append a complete <contact:postalInfo> (org left out when empty)."""
    require_ascii(info.type, info.name, info.org, info.addr)
    element = sub(parent, CONTACT_NS, "postalInfo", type=info.type)
    sub(element, CONTACT_NS, "name", info.name)
    if present(info.org):
        sub(element, CONTACT_NS, "org", info.org)
    address_element(element, info.addr)


def phone_element(
    parent: etree._Element, tag: str, number: str, ext: str | None, *, allow_empty: bool = False
) -> None:
    """Append <contact:voice> or <contact:fax> as +CC.NNNN with the extension in x."""
    if number == "" and allow_empty:
        # An empty e164 value is how <contact:chg> removes a number.
        sub(parent, CONTACT_NS, tag)
        return
    # The schema caps the whole value at 17 characters, tighter than its pattern's 1+3+1+14.
    if not _E164.fullmatch(number) or len(number) > 17:
        raise ValueError(f"{tag} is not in EPP form +CC.NNNN of at most 17 characters")
    attrib = {"x": ext} if ext else {}
    sub(parent, CONTACT_NS, tag, number, **attrib)


def auth_info_element(parent: etree._Element, ns: str, password: str) -> None:
    """Append <ns:authInfo><ns:pw>password</ns:pw></ns:authInfo>."""
    sub(sub(parent, ns, "authInfo"), ns, "pw", password)


def disclose_element(
    parent: etree._Element, disclose: Disclose, postal_types: Sequence[str], *, explicit: bool
) -> None:
    """Append the <contact:disclose> that keeps disclose's private items from publication.

    ICANN's Registration Data Policy has registries redact by default, so what a registry needs
    from us is the list of what must stay private: one flag="0" element with every private item.
    Public items are not listed, leaving them to the server's data collection policy (from the
    greeting); the schema allows one disclose element only, so we cannot say flag="1" for them
    in the same command anyway. With nothing private a create sends no disclose at all; with
    explicit (an update, an info answer) it sends flag="1" with every item instead, because
    leaving disclose out of <contact:chg> would keep a restriction made earlier. Name, org and
    addr are listed once per postalInfo type the contact has, so that a private name stays
    private in its "loc" form as in its "int" form.
    """
    private = disclose.private_items()
    if private:
        flag, items = "0", private
    elif explicit:
        flag, items = "1", disclose.public_items()
    else:
        return
    element = sub(parent, CONTACT_NS, "disclose", flag=flag)
    types = list(dict.fromkeys(postal_types)) or ["int"]
    for item in items:
        if item in {"name", "org", "addr"}:
            for postal_type in types:
                sub(element, CONTACT_NS, item, type=postal_type)
        else:
            sub(element, CONTACT_NS, item)


def host_address_element(parent: etree._Element, ns: str, tag: str, address: str) -> None:
    """Append <host:addr> or <domain:hostAddr> with its ip attribute (v4 or v6)."""
    try:
        version = address_version(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IPv4 or IPv6 address") from None
    sub(parent, ns, tag, address.strip(), ip=version)


def secdns_element(parent: etree._Element | None, tag: str) -> etree._Element:
    """A secDNS-1.1 element declaring its prefix (RFC 5910), under parent if any."""
    nsmap = {"secDNS": SECDNS_NS}
    if parent is None:
        return etree.Element(f"{{{SECDNS_NS}}}{tag}", nsmap=nsmap)
    return etree.SubElement(parent, f"{{{SECDNS_NS}}}{tag}", nsmap=nsmap)


def ds_data_element(parent: etree._Element, ds: DsData) -> None:
    """Append a <secDNS:dsData>: keyTag, alg, digestType, digest."""
    element = sub(parent, SECDNS_NS, "dsData")
    sub(element, SECDNS_NS, "keyTag", str(ds.key_tag))
    sub(element, SECDNS_NS, "alg", str(ds.alg))
    sub(element, SECDNS_NS, "digestType", str(ds.digest_type))
    sub(element, SECDNS_NS, "digest", ds.digest)
