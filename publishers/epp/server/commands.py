"""The server side of EPP: client command frames parsed into typed values (the sandbox uses it)."""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DOMAIN_NS,
    EPP_NS,
    HOST_NS,
    OBJECT_NAMES,
    SECDNS_NS,
    Command,
    ContactChange,
    ContactCreate,
    ContactData,
    ContactInfoQuery,
    ContactUpdate,
    DomainCreate,
    DomainInfoQuery,
    DomainUpdate,
    HostCreate,
    HostUpdate,
    Login,
    Poll,
    PostalChange,
    PostalInfo,
    PostalType,
)
from publishers.epp.xmlread import (
    children,
    epp_body,
    find,
    local_name,
    read_address,
    read_auth_info,
    read_disclose,
    read_domain_contacts,
    read_ds_data,
    read_host_attrs,
    read_ns,
    read_phone,
    read_postal_info,
    read_postal_type,
    require,
    require_token,
    statuses,
    text,
    token,
    tokens,
)
from publishers.epp.xmlsafe import DEFAULT_MAX_BYTES, EppParseError


def parse_command(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, validate: bool = True
) -> Command:
    """Parse a client frame (<hello> or <command>); schema-checked unless validate is False."""
    _, body = epp_body(data, "", max_bytes=max_bytes, validate=validate)
    name = local_name(body)
    if name == "hello":
        return Command(name="hello", obj=None, cltrid=None)
    if name != "command":
        raise EppParseError(f"expected <hello> or <command>, got <{name}>")
    verb = next((child for child in body if isinstance(child.tag, str)), None)
    if verb is None or etree.QName(verb).namespace != EPP_NS:
        raise EppParseError("<command> has no command element")
    extension = find(body, EPP_NS, "extension")
    ext_uris = () if extension is None else _namespaces(extension)
    cltrid = token(find(body, EPP_NS, "clTRID"))
    verb_name = local_name(verb)
    if verb_name in {"login", "logout", "poll"}:
        payload = _session_payload(verb_name, verb)
        return Command(name=verb_name, obj=None, cltrid=cltrid, payload=payload, ext_uris=ext_uris)
    target = next((child for child in verb if isinstance(child.tag, str)), None)
    if target is None:
        raise EppParseError(f"<{verb_name}> has no object element")
    namespace = etree.QName(target).namespace or ""
    obj = OBJECT_NAMES.get(namespace, namespace)
    parser = _PAYLOADS.get((verb_name, namespace))
    parsed: Any = None if parser is None else parser(target)
    if isinstance(parsed, DomainUpdate) and extension is not None:
        parsed = _secdns_update(parsed, extension)
    return Command(name=verb_name, obj=obj, cltrid=cltrid, payload=parsed, ext_uris=ext_uris)


def _namespaces(extension: etree._Element) -> tuple[str, ...]:
    found = (etree.QName(child).namespace for child in extension if isinstance(child.tag, str))
    return tuple(dict.fromkeys(ns for ns in found if ns))


def _session_payload(verb_name: str, verb: etree._Element) -> Login | Poll | None:
    if verb_name == "poll":
        op = (verb.get("op") or "").strip()
        if op not in {"req", "ack"}:
            raise EppParseError(f'poll op must be "req" or "ack", not {op!r}')
        return Poll("req" if op == "req" else "ack", verb.get("msgID"))
    if verb_name == "logout":
        return None
    options = require(verb, EPP_NS, "options")
    svcs = require(verb, EPP_NS, "svcs")
    extension = find(svcs, EPP_NS, "svcExtension")
    return Login(
        cl_id=require_token(verb, EPP_NS, "clID"),
        pw=require_token(verb, EPP_NS, "pw"),
        new_pw=token(find(verb, EPP_NS, "newPW")),
        version=require_token(options, EPP_NS, "version"),
        lang=require_token(options, EPP_NS, "lang"),
        obj_uris=tokens(svcs, EPP_NS, "objURI"),
        ext_uris=() if extension is None else tokens(extension, EPP_NS, "extURI"),
    )


# ---------------------------------------------------------------- contact


def _postal_forms(element: etree._Element) -> dict[PostalType, PostalInfo]:
    """The postalInfo children by type (RFC 5733: at most one "int" and one "loc")."""
    forms: dict[PostalType, PostalInfo] = {}
    for child in children(element, CONTACT_NS, "postalInfo"):
        info = read_postal_info(child)
        if info.type in forms:
            raise EppParseError(f'two postalInfo elements of type "{info.type}"')
        forms[info.type] = info
    return forms


def _contact_create(element: etree._Element) -> ContactCreate:
    # The "loc" postalInfo holds the items as given and the "int" one their ASCII form; with
    # only one, it is the items as given.
    require(element, CONTACT_NS, "postalInfo")
    forms = _postal_forms(element)
    postal = forms.get("loc") or forms["int"]
    voice, voice_ext = read_phone(element, "voice")
    fax, fax_ext = read_phone(element, "fax")
    contact = ContactData(
        handle=require_token(element, CONTACT_NS, "id"),
        name=postal.name,
        org=postal.org,
        street=postal.addr.street,
        city=postal.addr.city,
        sp=postal.addr.sp,
        pc=postal.addr.pc,
        cc=postal.addr.cc,
        voice=voice or None,
        voice_ext=voice_ext,
        fax=fax or None,
        fax_ext=fax_ext,
        email=require_token(element, CONTACT_NS, "email"),
        auth_info=read_auth_info(element, CONTACT_NS) or "",
        postal_type=postal.type,
        ascii_form=forms.get("int") if postal.type == "loc" else None,
    )
    return ContactCreate(contact=contact, disclose=read_disclose(element))


def _postal_change(postal: etree._Element) -> PostalChange:
    addr = find(postal, CONTACT_NS, "addr")
    return PostalChange(
        type=read_postal_type(postal),
        name=text(find(postal, CONTACT_NS, "name")),
        org=text(find(postal, CONTACT_NS, "org")),
        addr=None if addr is None else read_address(addr),
    )


def _disclose_types(
    chg: etree._Element, postal: tuple[PostalChange, ...]
) -> tuple[PostalType, ...]:
    # The typed items of disclose (name, org, addr) say which postalInfo types they cover;
    # without any, the types changed, else "int".
    disclose = find(chg, CONTACT_NS, "disclose")
    typed = [] if disclose is None else [read_postal_type(i) for i in disclose if i.get("type")]
    default: tuple[PostalType, ...] = ("int",)
    return tuple(dict.fromkeys(typed)) or tuple(p.type for p in postal) or default


def _contact_change(chg: etree._Element) -> ContactChange:
    postal = tuple(_postal_change(p) for p in children(chg, CONTACT_NS, "postalInfo"))
    if len({p.type for p in postal}) != len(postal):
        raise EppParseError("two postalInfo elements of the same type in <chg>")
    voice, voice_ext = read_phone(chg, "voice")
    fax, fax_ext = read_phone(chg, "fax")
    return ContactChange(
        postal=postal,
        voice=voice,
        voice_ext=voice_ext,
        fax=fax,
        fax_ext=fax_ext,
        email=token(find(chg, CONTACT_NS, "email")),
        auth_info=read_auth_info(chg, CONTACT_NS),
        disclose=read_disclose(chg),
        disclose_types=_disclose_types(chg, postal),
    )


def _contact_update(element: etree._Element) -> ContactUpdate:
    add = find(element, CONTACT_NS, "add")
    rem = find(element, CONTACT_NS, "rem")
    chg = find(element, CONTACT_NS, "chg")
    return ContactUpdate(
        handle=require_token(element, CONTACT_NS, "id"),
        add_statuses=() if add is None else statuses(add, CONTACT_NS),
        rem_statuses=() if rem is None else statuses(rem, CONTACT_NS),
        change=None if chg is None else _contact_change(chg),
    )


def _contact_info(element: etree._Element) -> ContactInfoQuery:
    return ContactInfoQuery(
        handle=require_token(element, CONTACT_NS, "id"),
        auth_info=read_auth_info(element, CONTACT_NS),
    )


# ---------------------------------------------------------------- domain


def _domain_create(element: etree._Element) -> DomainCreate:
    period = find(element, DOMAIN_NS, "period")
    period_text = None if period is None else period.text
    try:
        years = None if period is None else int(period_text or "")
    except ValueError:
        raise EppParseError(f"domain period {period_text!r} is not a number") from None
    unit = "y" if period is None else (period.get("unit") or "").strip()
    if unit not in {"y", "m"}:
        raise EppParseError(f'period unit must be "y" or "m", not {unit!r}')
    return DomainCreate(
        name=require_token(element, DOMAIN_NS, "name"),
        period=years,
        period_unit="y" if unit == "y" else "m",
        ns=read_ns(element),
        registrant=token(find(element, DOMAIN_NS, "registrant")),
        contacts=read_domain_contacts(element),
        auth_info=read_auth_info(element, DOMAIN_NS) or "",
    )


def _host_objects(group: etree._Element) -> tuple[str, ...]:
    ns = find(group, DOMAIN_NS, "ns")
    return () if ns is None else tokens(ns, DOMAIN_NS, "hostObj")


def _domain_update(element: etree._Element) -> DomainUpdate:
    add = find(element, DOMAIN_NS, "add")
    rem = find(element, DOMAIN_NS, "rem")
    chg = find(element, DOMAIN_NS, "chg")
    empty = etree.Element("empty")
    add = empty if add is None else add
    rem = empty if rem is None else rem
    return DomainUpdate(
        name=require_token(element, DOMAIN_NS, "name"),
        add_ns=_host_objects(add),
        add_contacts=read_domain_contacts(add),
        add_statuses=statuses(add, DOMAIN_NS),
        rem_ns=_host_objects(rem),
        rem_contacts=read_domain_contacts(rem),
        rem_statuses=statuses(rem, DOMAIN_NS),
        registrant=None if chg is None else token(find(chg, DOMAIN_NS, "registrant")),
        add_host_attrs=read_host_attrs(add),
        rem_host_attrs=read_host_attrs(rem),
    )


def _secdns_update(update: DomainUpdate, extension: etree._Element) -> DomainUpdate:
    """The DS records a <secDNS:update> (RFC 5910) adds and removes, put into update."""
    secdns = find(extension, SECDNS_NS, "update")
    if secdns is None:
        return update
    add, rem = find(secdns, SECDNS_NS, "add"), find(secdns, SECDNS_NS, "rem")
    if find(secdns, SECDNS_NS, "chg") is not None:
        raise EppParseError("only secDNS dsData add and rem (and rem all) are implemented")
    rem_all = None if rem is None else find(rem, SECDNS_NS, "all")
    return dataclasses.replace(
        update,
        add_ds=() if add is None else read_ds_data(add),
        rem_ds=() if rem is None or rem_all is not None else read_ds_data(rem),
        rem_all_ds=rem_all is not None and (rem_all.text or "").strip() in ("true", "1"),
    )


# ---------------------------------------------------------------- host


def _host_create(element: etree._Element) -> HostCreate:
    return HostCreate(
        name=require_token(element, HOST_NS, "name"),
        addrs=tokens(element, HOST_NS, "addr"),
    )


def _host_update(element: etree._Element) -> HostUpdate:
    empty = etree.Element("empty")
    add = find(element, HOST_NS, "add")
    rem = find(element, HOST_NS, "rem")
    chg = find(element, HOST_NS, "chg")
    add = empty if add is None else add
    rem = empty if rem is None else rem
    return HostUpdate(
        name=require_token(element, HOST_NS, "name"),
        add_addrs=tokens(add, HOST_NS, "addr"),
        rem_addrs=tokens(rem, HOST_NS, "addr"),
        add_statuses=statuses(add, HOST_NS),
        rem_statuses=statuses(rem, HOST_NS),
        new_name=None if chg is None else require_token(chg, HOST_NS, "name"),
    )


def _domain_info(element: etree._Element) -> DomainInfoQuery:
    name = require(element, DOMAIN_NS, "name")
    hosts = (name.get("hosts") or "all").strip()
    if hosts not in {"all", "del", "none", "sub"}:
        raise EppParseError(f"domain info hosts must be all, del, none or sub, not {hosts!r}")
    return DomainInfoQuery(
        name=token(name) or "",
        hosts=hosts,  # type: ignore[arg-type]
        auth_info=read_auth_info(element, DOMAIN_NS),
    )


def _ids(ns: str, tag: str) -> Any:
    def parse(element: etree._Element) -> tuple[str, ...]:
        found = tokens(element, ns, tag)
        if not found:
            raise EppParseError(f"<{local_name(element)}> has no <{tag}>")
        return found

    return parse


def _single(ns: str, tag: str) -> Any:
    return lambda element: require_token(element, ns, tag)


_PAYLOADS: dict[tuple[str, str], Any] = {
    ("check", CONTACT_NS): _ids(CONTACT_NS, "id"),
    ("create", CONTACT_NS): _contact_create,
    ("info", CONTACT_NS): _contact_info,
    ("update", CONTACT_NS): _contact_update,
    ("delete", CONTACT_NS): _single(CONTACT_NS, "id"),
    ("check", DOMAIN_NS): _ids(DOMAIN_NS, "name"),
    ("create", DOMAIN_NS): _domain_create,
    ("info", DOMAIN_NS): _domain_info,
    ("update", DOMAIN_NS): _domain_update,
    ("delete", DOMAIN_NS): _single(DOMAIN_NS, "name"),
    ("check", HOST_NS): _ids(HOST_NS, "name"),
    ("create", HOST_NS): _host_create,
    ("info", HOST_NS): _single(HOST_NS, "name"),
    ("update", HOST_NS): _host_update,
    ("delete", HOST_NS): _single(HOST_NS, "name"),
}
"""Payload parsers by (command, object namespace); others (renew, transfer) get None."""
