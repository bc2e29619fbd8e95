"""The client side of EPP: command frames (RFC 5730-5733, RFC 5910), built with lxml as bytes."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DEFAULT_OBJ_URIS,
    DOMAIN_NS,
    EPP_NS,
    HOST_NS,
    SECDNS_NS,
    ContactChange,
    ContactData,
    ContactUpdate,
    Disclose,
    DomainContact,
    DomainCreate,
    DomainUpdate,
    HostAttr,
    HostCreate,
    HostUpdate,
)
from publishers.epp.xmlwrite import (
    address_element,
    auth_info_element,
    disclose_element,
    ds_data_element,
    epp_root,
    host_address_element,
    object_element,
    phone_element,
    postal_info_element,
    present,
    require_ascii,
    secdns_element,
    serialize,
    sub,
)

_CONTACT_TYPES = frozenset({"admin", "billing", "tech"})

_cltrid_lock = threading.Lock()
_cltrid_last = 0


# ---------------------------------------------------------------- transaction ids


def new_cltrid(prefix: str = "IL") -> str:
    """A unique, time-ordered client transaction id: prefix-<ns timestamp hex>-<random hex>."""
    global _cltrid_last
    if prefix and not re.fullmatch(r"[A-Za-z0-9._:-]{1,30}", prefix):
        raise ValueError("clTRID prefix must be 1..30 characters of A-Z a-z 0-9 . _ : -")
    with _cltrid_lock:
        # Strictly increasing within the process even if the clock stalls or steps back.
        _cltrid_last = max(time.time_ns(), _cltrid_last + 1)
        stamp = _cltrid_last
    head = f"{prefix}-" if prefix else ""
    return f"{head}{stamp:016x}-{secrets.token_hex(6)}"


def _check_cltrid(cltrid: str) -> str:
    if not 3 <= len(" ".join(cltrid.split())) <= 64:
        raise ValueError(f"clTRID must be 3..64 characters, got {cltrid!r}")
    return cltrid


def _command(verb: str) -> tuple[etree._Element, etree._Element, etree._Element]:
    root = epp_root()
    command = sub(root, EPP_NS, "command")
    return root, command, sub(command, EPP_NS, verb)


def _finish(root: etree._Element, command: etree._Element, cltrid: str) -> bytes:
    sub(command, EPP_NS, "clTRID", _check_cltrid(cltrid))
    return serialize(root)


def _object_command(verb: str, ns: str) -> tuple[etree._Element, etree._Element, etree._Element]:
    root, command, verb_element = _command(verb)
    return root, command, object_element(verb_element, ns, verb)


def _check_handle(handle: str) -> str:
    if not 3 <= len(" ".join(handle.split())) <= 16:
        raise ValueError(f"contact handle must be 3..16 characters, got {handle!r}")
    return handle


def _nonempty(items: Iterable[str], what: str) -> list[str]:
    values = list(items)
    if not values:
        raise ValueError(f"{what}: at least one is required")
    return values


# ---------------------------------------------------------------- session commands


def hello() -> bytes:
    """<hello/>: asks for a greeting, keeps a session alive."""
    root = epp_root()
    sub(root, EPP_NS, "hello")
    return serialize(root)


def login(
    cl_id: str,
    pw: str,
    *,
    cltrid: str,
    new_pw: str | None = None,
    lang: str = "en",
    obj_uris: Sequence[str] = DEFAULT_OBJ_URIS,
    ext_uris: Sequence[str] = (),
) -> bytes:
    """<login> with EPP version 1.0; no extensions unless ext_uris are given."""
    for label, password in (("pw", pw), ("newPW", new_pw)):
        if password is not None and not 6 <= len(password) <= 16:
            raise ValueError(f"{label} must be 6..16 characters (RFC 5730 pwType)")
    root, command, element = _command("login")
    sub(element, EPP_NS, "clID", cl_id)
    sub(element, EPP_NS, "pw", pw)
    if new_pw is not None:
        sub(element, EPP_NS, "newPW", new_pw)
    options = sub(element, EPP_NS, "options")
    sub(options, EPP_NS, "version", "1.0")
    sub(options, EPP_NS, "lang", lang)
    svcs = sub(element, EPP_NS, "svcs")
    for uri in _nonempty(obj_uris, "objURI"):
        sub(svcs, EPP_NS, "objURI", uri)
    if ext_uris:
        extension = sub(svcs, EPP_NS, "svcExtension")
        for uri in ext_uris:
            sub(extension, EPP_NS, "extURI", uri)
    return _finish(root, command, cltrid)


def logout(*, cltrid: str) -> bytes:
    """<logout>."""
    root, command, _ = _command("logout")
    return _finish(root, command, cltrid)


def poll_request(*, cltrid: str) -> bytes:
    """<poll op="req">: fetch the first queued service message."""
    root, command, element = _command("poll")
    element.set("op", "req")
    return _finish(root, command, cltrid)


def poll_ack(msg_id: str, *, cltrid: str) -> bytes:
    """<poll op="ack" msgID=...>: dequeue a service message."""
    root, command, element = _command("poll")
    element.set("op", "ack")
    element.set("msgID", msg_id)
    return _finish(root, command, cltrid)


# ---------------------------------------------------------------- contact commands


def contact_check(handles: Iterable[str], *, cltrid: str) -> bytes:
    """<contact:check> of one or more handles."""
    root, command, element = _object_command("check", CONTACT_NS)
    for handle in _nonempty(handles, "contact check"):
        sub(element, CONTACT_NS, "id", _check_handle(handle))
    return _finish(root, command, cltrid)


def contact_create(contact: ContactData, disclose: Disclose | None = None, *, cltrid: str) -> bytes:
    """<contact:create>; disclose (after authInfo) comes from the publication policy."""
    root, command, element = _object_command("create", CONTACT_NS)
    sub(element, CONTACT_NS, "id", _check_handle(contact.handle))
    infos = contact.postal_infos
    for info in infos:
        postal_info_element(element, info)
    if present(contact.voice):
        phone_element(element, "voice", contact.voice, contact.voice_ext)
    if present(contact.fax):
        phone_element(element, "fax", contact.fax, contact.fax_ext)
    sub(element, CONTACT_NS, "email", contact.email)
    auth_info_element(element, CONTACT_NS, contact.auth_info)
    if disclose is not None:
        disclose_element(element, disclose, [info.type for info in infos], explicit=False)
    return _finish(root, command, cltrid)


def contact_info(handle: str, *, cltrid: str, auth_info: str | None = None) -> bytes:
    """<contact:info>, with authInfo when querying another sponsor's contact."""
    root, command, element = _object_command("info", CONTACT_NS)
    sub(element, CONTACT_NS, "id", _check_handle(handle))
    if auth_info is not None:
        auth_info_element(element, CONTACT_NS, auth_info)
    return _finish(root, command, cltrid)


def _contact_change_element(parent: etree._Element, change: ContactChange) -> None:
    element = sub(parent, CONTACT_NS, "chg")
    types = [postal.type for postal in change.postal]
    if len(set(types)) != len(types):
        raise ValueError('a contact change holds at most one "int" and one "loc" postalInfo')
    for postal_change in change.postal:
        if postal_change.is_empty():
            continue
        name, org, addr = postal_change.name, postal_change.org, postal_change.addr
        require_ascii(postal_change.type, name, org, addr)
        postal = sub(element, CONTACT_NS, "postalInfo", type=postal_change.type)
        if name is not None:
            sub(postal, CONTACT_NS, "name", name)
        if org is not None:
            sub(postal, CONTACT_NS, "org", org)
        if addr is not None:
            address_element(postal, addr)
    if change.voice is not None:
        phone_element(element, "voice", change.voice, change.voice_ext, allow_empty=True)
    if change.fax is not None:
        phone_element(element, "fax", change.fax, change.fax_ext, allow_empty=True)
    if change.email is not None:
        sub(element, CONTACT_NS, "email", change.email)
    if change.auth_info is not None:
        auth_info_element(element, CONTACT_NS, change.auth_info)
    if change.disclose is not None:
        disclose_element(element, change.disclose, change.disclose_types, explicit=True)


def contact_update(update: ContactUpdate, *, cltrid: str) -> bytes:
    """<contact:update> with add/rem of statuses and a chg (disclose inside chg, last)."""
    change = update.change if update.change is not None and not update.change.is_empty() else None
    if not (update.add_statuses or update.rem_statuses or change):
        raise ValueError("contact update needs at least one of add, rem or chg (RFC 5733)")
    root, command, element = _object_command("update", CONTACT_NS)
    sub(element, CONTACT_NS, "id", _check_handle(update.handle))
    for tag, statuses in (("add", update.add_statuses), ("rem", update.rem_statuses)):
        if statuses:
            group = sub(element, CONTACT_NS, tag)
            for status in statuses:
                sub(group, CONTACT_NS, "status", s=status)
    if change is not None:
        _contact_change_element(element, change)
    return _finish(root, command, cltrid)


def contact_delete(handle: str, *, cltrid: str) -> bytes:
    """<contact:delete>."""
    root, command, element = _object_command("delete", CONTACT_NS)
    sub(element, CONTACT_NS, "id", _check_handle(handle))
    return _finish(root, command, cltrid)


# ---------------------------------------------------------------- domain commands


def _domain_contacts(parent: etree._Element, contacts: Iterable[DomainContact]) -> None:
    for role, handle in contacts:
        if role not in _CONTACT_TYPES:
            raise ValueError(f"domain contact type must be admin, billing or tech, not {role!r}")
        sub(parent, DOMAIN_NS, "contact", _check_handle(handle), type=role)


def _host_objects(parent: etree._Element, hosts: Sequence[str]) -> None:
    if hosts:
        ns = sub(parent, DOMAIN_NS, "ns")
        for host in hosts:
            sub(ns, DOMAIN_NS, "hostObj", host)


def _name_servers(parent: etree._Element, hosts: Sequence[str], attrs: Sequence[HostAttr]) -> None:
    if hosts and attrs:
        raise ValueError("name servers go as host objects or host attributes, not both (RFC 5731)")
    _host_objects(parent, hosts)
    if attrs:
        ns = sub(parent, DOMAIN_NS, "ns")
        for attr in attrs:
            element = sub(ns, DOMAIN_NS, "hostAttr")
            sub(element, DOMAIN_NS, "hostName", attr.name)
            for address in attr.addrs:
                host_address_element(element, DOMAIN_NS, "hostAddr", address)


def domain_check(names: Iterable[str], *, cltrid: str) -> bytes:
    """<domain:check> of one or more names."""
    root, command, element = _object_command("check", DOMAIN_NS)
    for name in _nonempty(names, "domain check"):
        sub(element, DOMAIN_NS, "name", name)
    return _finish(root, command, cltrid)


def domain_create(create: DomainCreate, *, cltrid: str) -> bytes:
    """<domain:create> with period, host objects, registrant, contacts and authInfo."""
    root, command, element = _object_command("create", DOMAIN_NS)
    sub(element, DOMAIN_NS, "name", create.name)
    if create.period is not None:
        if not 1 <= create.period <= 99:
            raise ValueError(f"domain period must be 1..99, got {create.period}")
        sub(element, DOMAIN_NS, "period", str(create.period), unit=create.period_unit)
    _host_objects(element, create.ns)
    if create.registrant is not None:
        sub(element, DOMAIN_NS, "registrant", _check_handle(create.registrant))
    _domain_contacts(element, create.contacts)
    auth_info_element(element, DOMAIN_NS, create.auth_info)
    return _finish(root, command, cltrid)


def domain_info(
    name: str, *, cltrid: str, auth_info: str | None = None, hosts: str = "all"
) -> bytes:
    """<domain:info> (hosts="all" by default), with authInfo for another sponsor's domain."""
    root, command, element = _object_command("info", DOMAIN_NS)
    sub(element, DOMAIN_NS, "name", name, hosts=hosts)
    if auth_info is not None:
        auth_info_element(element, DOMAIN_NS, auth_info)
    return _finish(root, command, cltrid)


def domain_update(update: DomainUpdate, *, cltrid: str) -> bytes:
    """<domain:update>: add and rem (ns, contacts, statuses) and chg registrant in ONE command."""
    if update.is_empty():
        raise ValueError("domain update needs at least one of add, rem or chg (RFC 5731)")
    root, command, element = _object_command("update", DOMAIN_NS)
    sub(element, DOMAIN_NS, "name", update.name)
    for tag, hosts, attrs, contacts, statuses in (
        ("add", update.add_ns, update.add_host_attrs, update.add_contacts, update.add_statuses),
        ("rem", update.rem_ns, update.rem_host_attrs, update.rem_contacts, update.rem_statuses),
    ):
        if hosts or attrs or contacts or statuses:
            group = sub(element, DOMAIN_NS, tag)
            _name_servers(group, hosts, attrs)
            _domain_contacts(group, contacts)
            for status in statuses:
                sub(group, DOMAIN_NS, "status", s=status)
    if update.registrant is not None:
        chg = sub(element, DOMAIN_NS, "chg")
        sub(chg, DOMAIN_NS, "registrant", update.registrant)
    if update.has_ds:
        # RFC 5910 section 5.2.5: <secDNS:update> with rem before add, in <extension>.
        secdns = secdns_element(sub(command, EPP_NS, "extension"), "update")
        if update.rem_all_ds:
            if update.rem_ds:
                raise ValueError("secDNS rem takes all or dsData, not both (RFC 5910)")
            sub(sub(secdns, SECDNS_NS, "rem"), SECDNS_NS, "all", "true")
        for tag, records in (("rem", update.rem_ds), ("add", update.add_ds)):
            if records:
                group = sub(secdns, SECDNS_NS, tag)
                for record in records:
                    ds_data_element(group, record)
    return _finish(root, command, cltrid)


# ---------------------------------------------------------------- host commands (RFC 5732)


def host_check(names: Iterable[str], *, cltrid: str) -> bytes:
    """<host:check> of one or more host names."""
    root, command, element = _object_command("check", HOST_NS)
    for name in _nonempty(names, "host check"):
        sub(element, HOST_NS, "name", name)
    return _finish(root, command, cltrid)


def host_create(create: HostCreate, *, cltrid: str) -> bytes:
    """<host:create> with its addresses (glue: needed for a host under a domain of the registry)."""
    root, command, element = _object_command("create", HOST_NS)
    sub(element, HOST_NS, "name", create.name)
    for address in create.addrs:
        host_address_element(element, HOST_NS, "addr", address)
    return _finish(root, command, cltrid)


def host_info(name: str, *, cltrid: str) -> bytes:
    """<host:info>."""
    root, command, element = _object_command("info", HOST_NS)
    sub(element, HOST_NS, "name", name)
    return _finish(root, command, cltrid)


def host_update(update: HostUpdate, *, cltrid: str) -> bytes:
    """<host:update>: add and rem of addresses (and statuses), chg of the name (RFC 5732)."""
    if update.is_empty():
        raise ValueError("host update needs at least one of add, rem or chg (RFC 5732)")
    root, command, element = _object_command("update", HOST_NS)
    sub(element, HOST_NS, "name", update.name)
    for tag, addrs, statuses in (
        ("add", update.add_addrs, update.add_statuses),
        ("rem", update.rem_addrs, update.rem_statuses),
    ):
        if addrs or statuses:
            group = sub(element, HOST_NS, tag)
            for address in addrs:
                host_address_element(group, HOST_NS, "addr", address)
            for status in statuses:
                sub(group, HOST_NS, "status", s=status)
    if update.new_name is not None:
        sub(sub(element, HOST_NS, "chg"), HOST_NS, "name", update.new_name)
    return _finish(root, command, cltrid)


def host_delete(name: str, *, cltrid: str) -> bytes:
    """<host:delete>."""
    root, command, element = _object_command("delete", HOST_NS)
    sub(element, HOST_NS, "name", name)
    return _finish(root, command, cltrid)
