"""Element readers shared by both sides of EPP: server responses and client commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DISCLOSABLE,
    DOMAIN_NS,
    EPP_NS,
    SECDNS_NS,
    Address,
    Disclose,
    DomainContact,
    DsData,
    HostAttr,
    PostalInfo,
    PostalType,
)
from publishers.epp.schema import validate_tree
from publishers.epp.xmlsafe import EppParseError, parse_frame


def local_name(element: etree._Element) -> str:
    """The tag without its namespace."""
    return etree.QName(element).localname


def find(parent: etree._Element, ns: str, tag: str) -> etree._Element | None:
    """The first <ns:tag> child of parent, or None."""
    return parent.find(f"{{{ns}}}{tag}")


def require(parent: etree._Element, ns: str, tag: str) -> etree._Element:
    """The first <ns:tag> child of parent; EppParseError when it is missing."""
    element = parent.find(f"{{{ns}}}{tag}")
    if element is None:
        raise EppParseError(f"<{local_name(parent)}> has no <{tag}> (line {parent.sourceline})")
    return element


def children(parent: etree._Element, ns: str, tag: str) -> list[etree._Element]:
    """All <ns:tag> children of parent."""
    return parent.findall(f"{{{ns}}}{tag}")


def text(element: etree._Element | None) -> str | None:
    """The element's text as written ("" when empty), None when the element is absent."""
    if element is None:
        return None
    return element.text or ""


def token(element: etree._Element | None) -> str | None:
    """The element's text with xs:token whitespace collapsing, None when absent."""
    if element is None:
        return None
    return " ".join((element.text or "").split())


def optional(element: etree._Element | None) -> str | None:
    """The element's text, None when it is absent or empty."""
    value = text(element)
    return value or None


def require_token(parent: etree._Element, ns: str, tag: str) -> str:
    """The collapsed text of a required child."""
    return " ".join((require(parent, ns, tag).text or "").split())


def tokens(parent: etree._Element, ns: str, tag: str) -> tuple[str, ...]:
    """The collapsed texts of all <ns:tag> children."""
    return tuple(" ".join((child.text or "").split()) for child in children(parent, ns, tag))


def parse_datetime(value: str) -> datetime:
    """An xs:dateTime as an aware datetime (UTC when the text has no zone)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EppParseError(f"not an xs:dateTime: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def optional_datetime(element: etree._Element | None) -> datetime | None:
    """The element's dateTime, None when absent."""
    return None if element is None else parse_datetime(element.text or "")


def parse_bool(value: str | None) -> bool:
    """An xs:boolean."""
    cleaned = (value or "").strip()
    if cleaned in {"1", "true"}:
        return True
    if cleaned in {"0", "false"}:
        return False
    raise EppParseError(f"not an xs:boolean: {value!r}")


def read_address(element: etree._Element) -> Address:
    """A <contact:addr>."""
    return Address(
        street=tuple(text(line) or "" for line in children(element, CONTACT_NS, "street")),
        city=text(require(element, CONTACT_NS, "city")) or "",
        sp=optional(find(element, CONTACT_NS, "sp")),
        pc=token(find(element, CONTACT_NS, "pc")) or None,
        cc=require_token(element, CONTACT_NS, "cc"),
    )


def read_postal_info(element: etree._Element) -> PostalInfo:
    """A complete <contact:postalInfo> (create, infData)."""
    return PostalInfo(
        type=read_postal_type(element),
        name=text(require(element, CONTACT_NS, "name")) or "",
        org=optional(find(element, CONTACT_NS, "org")),
        addr=read_address(require(element, CONTACT_NS, "addr")),
    )


def read_postal_type(element: etree._Element) -> PostalType:
    """The type attribute of a <contact:postalInfo>."""
    value = (element.get("type") or "").strip()
    if value not in {"int", "loc"}:
        raise EppParseError(f'postalInfo type must be "int" or "loc", not {value!r}')
    return cast(PostalType, value)


def read_phone(parent: etree._Element, tag: str) -> tuple[str | None, str | None]:
    """A <contact:voice> or <contact:fax> as (number, extension); "" for an emptied number."""
    element = find(parent, CONTACT_NS, tag)
    if element is None:
        return None, None
    return token(element), element.get("x") or None


def read_auth_info(parent: etree._Element, ns: str) -> str | None:
    """The password of an <authInfo>, None when absent or not a password."""
    element = find(parent, ns, "authInfo")
    return None if element is None else text(find(element, ns, "pw"))


def read_disclose(parent: etree._Element) -> Disclose | None:
    """A <contact:disclose> as a complete preference: listed items take the flag, others not."""
    element = find(parent, CONTACT_NS, "disclose")
    if element is None:
        return None
    flag = parse_bool(element.get("flag"))
    listed = {local_name(child) for child in element if isinstance(child.tag, str)}
    return Disclose(**{item: (item in listed) == flag for item in DISCLOSABLE})


def read_domain_contacts(parent: etree._Element) -> tuple[DomainContact, ...]:
    """The <domain:contact> children as (type, handle)."""
    return tuple(
        ((contact.get("type") or "").strip(), token(contact) or "")
        for contact in children(parent, DOMAIN_NS, "contact")
    )


def read_ns(parent: etree._Element) -> tuple[str, ...]:
    """Host names of a <domain:ns> child (hostObj, or hostName of hostAttr)."""
    ns = find(parent, DOMAIN_NS, "ns")
    if ns is None:
        return ()
    return tokens(ns, DOMAIN_NS, "hostObj") or tuple(
        require_token(attr, DOMAIN_NS, "hostName") for attr in children(ns, DOMAIN_NS, "hostAttr")
    )


def read_host_attrs(parent: etree._Element) -> tuple[HostAttr, ...]:
    """The <domain:hostAttr> children of a <domain:ns> child, with their addresses."""
    ns = find(parent, DOMAIN_NS, "ns")
    if ns is None:
        return ()
    return tuple(
        HostAttr(
            require_token(attr, DOMAIN_NS, "hostName"),
            tokens(attr, DOMAIN_NS, "hostAddr"),
        )
        for attr in children(ns, DOMAIN_NS, "hostAttr")
    )


def _unsigned(element: etree._Element, tag: str) -> int:
    value = require_token(element, SECDNS_NS, tag)
    if not value.isdigit():
        raise EppParseError(f"secDNS {tag} {value!r} is not a number")
    return int(value)


def read_ds_data(parent: etree._Element) -> tuple[DsData, ...]:
    """The <secDNS:dsData> children of parent (RFC 5910)."""
    found = []
    for element in children(parent, SECDNS_NS, "dsData"):
        try:
            found.append(
                DsData(
                    key_tag=_unsigned(element, "keyTag"),
                    alg=_unsigned(element, "alg"),
                    digest_type=_unsigned(element, "digestType"),
                    digest=require_token(element, SECDNS_NS, "digest"),
                )
            )
        except ValueError as exc:
            raise EppParseError(str(exc)) from None
    return tuple(found)


def statuses(parent: etree._Element, ns: str) -> tuple[str, ...]:
    """The s attributes of the <status> children."""
    return tuple((status.get("s") or "").strip() for status in children(parent, ns, "status"))


def epp_body(
    data: bytes, expected: str, *, max_bytes: int, validate: bool
) -> tuple[etree._Element, etree._Element]:
    """Safely parse data and return (root, the child of <epp>), which must be named expected."""
    root = parse_frame(data, max_bytes=max_bytes)
    if root.tag != f"{{{EPP_NS}}}epp":
        raise EppParseError(f"root element is <{root.tag}>, not <epp> in {EPP_NS}")
    if validate:
        validate_tree(root)
    body = next((child for child in root if isinstance(child.tag, str)), None)
    if body is None or etree.QName(body).namespace != EPP_NS:
        raise EppParseError("<epp> has no greeting, hello, command or response")
    if expected and local_name(body) != expected:
        raise EppParseError(f"expected <{expected}>, got <{local_name(body)}>")
    return root, body
