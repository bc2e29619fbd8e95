"""The server side of EPP: greeting, response and resData frames (the sandbox uses them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DOMAIN_NS,
    EPP_NS,
    HOST_NS,
    CheckItem,
    ContactInfo,
    Dcp,
    DomainInfo,
    DomainTransfer,
    DsData,
    Greeting,
    HostInfo,
    MsgQ,
)
from publishers.epp.xmlwrite import (
    auth_info_element,
    disclose_element,
    ds_data_element,
    epp_root,
    format_datetime,
    host_address_element,
    object_element,
    phone_element,
    postal_info_element,
    secdns_element,
    serialize,
    sub,
)

# RFC 5730 section 3: the codes the schema allows, with their standard texts.
RESULT_MESSAGES = {
    1000: "Command completed successfully",
    1001: "Command completed successfully; action pending",
    1300: "Command completed successfully; no messages",
    1301: "Command completed successfully; ack to dequeue",
    1500: "Command completed successfully; ending session",
    2000: "Unknown command",
    2001: "Command syntax error",
    2002: "Command use error",
    2003: "Required parameter missing",
    2004: "Parameter value range error",
    2005: "Parameter value syntax error",
    2100: "Unimplemented protocol version",
    2101: "Unimplemented command",
    2102: "Unimplemented option",
    2103: "Unimplemented extension",
    2104: "Billing failure",
    2105: "Object is not eligible for renewal",
    2106: "Object is not eligible for transfer",
    2200: "Authentication error",
    2201: "Authorization error",
    2202: "Invalid authorization information",
    2300: "Object pending transfer",
    2301: "Object not pending transfer",
    2302: "Object exists",
    2303: "Object does not exist",
    2304: "Object status prohibits operation",
    2305: "Object association prohibits operation",
    2306: "Parameter value policy error",
    2307: "Unimplemented object service",
    2308: "Data management policy violation",
    2400: "Command failed",
    2500: "Command failed; server closing connection",
    2501: "Authentication error; server closing connection",
    2502: "Session limit exceeded; server closing connection",
}

# The DCP children are xs:sequence members, so they must be written in schema order.
_PURPOSES = ("admin", "contact", "other", "prov")
_RECIPIENTS = ("other", "ours", "public", "same", "unrelated")


def _in_schema_order(values: Iterable[str], order: tuple[str, ...], what: str) -> list[str]:
    values = list(values)
    unknown = set(values) - set(order)
    if unknown:
        raise ValueError(f"unknown DCP {what}: {', '.join(sorted(unknown))}")
    return sorted(values, key=order.index)


def _dcp_element(parent: etree._Element, dcp: Dcp) -> None:
    element = sub(parent, EPP_NS, "dcp")
    sub(sub(element, EPP_NS, "access"), EPP_NS, dcp.access)
    if not dcp.statements:
        raise ValueError("a DCP needs at least one statement")
    for statement in dcp.statements:
        node = sub(element, EPP_NS, "statement")
        purpose = sub(node, EPP_NS, "purpose")
        for name in _in_schema_order(statement.purposes, _PURPOSES, "purpose"):
            sub(purpose, EPP_NS, name)
        recipient = sub(node, EPP_NS, "recipient")
        for name in _in_schema_order(statement.recipients, _RECIPIENTS, "recipient"):
            sub(recipient, EPP_NS, name)
        sub(sub(node, EPP_NS, "retention"), EPP_NS, statement.retention)
    if dcp.expiry_absolute is not None:
        expiry = sub(element, EPP_NS, "expiry")
        sub(expiry, EPP_NS, "absolute", format_datetime(dcp.expiry_absolute))
    elif dcp.expiry_relative is not None:
        sub(sub(element, EPP_NS, "expiry"), EPP_NS, "relative", dcp.expiry_relative)


def build_greeting(greeting: Greeting) -> bytes:
    """A <greeting> frame: server id and date, service menu and data collection policy."""
    root = epp_root()
    element = sub(root, EPP_NS, "greeting")
    sub(element, EPP_NS, "svID", greeting.sv_id)
    sub(element, EPP_NS, "svDate", format_datetime(greeting.sv_date))
    menu = sub(element, EPP_NS, "svcMenu")
    for tag, values in (
        ("version", greeting.versions),
        ("lang", greeting.langs),
        ("objURI", greeting.obj_uris),
    ):
        for value in values:
            sub(menu, EPP_NS, tag, value)
    if greeting.ext_uris:
        extension = sub(menu, EPP_NS, "svcExtension")
        for uri in greeting.ext_uris:
            sub(extension, EPP_NS, "extURI", uri)
    _dcp_element(element, greeting.dcp)
    return serialize(root)


def build_response(
    code: int,
    msg: str | None,
    cltrid: str | None,
    svtrid: str,
    res_data_element: etree._Element | None = None,
    *,
    msgq: MsgQ | None = None,
    extension: etree._Element | None = None,
) -> bytes:
    """A <response> frame with one result (msg None: the RFC 5730 text), msgQ, resData,
    extension, trID."""
    if code not in RESULT_MESSAGES:
        raise ValueError(f"{code} is not an EPP result code (RFC 5730 section 3)")
    root = epp_root()
    response = sub(root, EPP_NS, "response")
    result = sub(response, EPP_NS, "result", code=str(code))
    sub(result, EPP_NS, "msg", RESULT_MESSAGES[code] if msg is None else msg)
    if msgq is not None:
        queue = sub(response, EPP_NS, "msgQ", count=str(msgq.count), id=msgq.id)
        if msgq.q_date is not None:
            sub(queue, EPP_NS, "qDate", format_datetime(msgq.q_date))
        if msgq.message is not None:
            sub(queue, EPP_NS, "msg", msgq.message)
    if res_data_element is not None:
        sub(response, EPP_NS, "resData").append(res_data_element)
    if extension is not None:
        sub(response, EPP_NS, "extension").append(extension)
    tr_id = sub(response, EPP_NS, "trID")
    if cltrid is not None:
        sub(tr_id, EPP_NS, "clTRID", cltrid)
    sub(tr_id, EPP_NS, "svTRID", svtrid)
    return serialize(root)


def _check_data(ns: str, key: str, items: Iterable[CheckItem]) -> etree._Element:
    element = object_element(None, ns, "chkData")
    for item in items:
        cd = sub(element, ns, "cd")
        sub(cd, ns, key, item.id, avail="1" if item.avail else "0")
        if item.reason is not None:
            sub(cd, ns, "reason", item.reason)
    if len(element) == 0:
        raise ValueError("a check answer needs at least one item")
    return element


def contact_check_data(items: Iterable[CheckItem]) -> etree._Element:
    """<contact:chkData> for a contact check answer."""
    return _check_data(CONTACT_NS, "id", items)


def domain_check_data(items: Iterable[CheckItem]) -> etree._Element:
    """<domain:chkData> for a domain check answer."""
    return _check_data(DOMAIN_NS, "name", items)


def host_check_data(items: Iterable[CheckItem]) -> etree._Element:
    """<host:chkData> for a host check answer."""
    return _check_data(HOST_NS, "name", items)


def contact_create_data(handle: str, cr_date: datetime) -> etree._Element:
    """<contact:creData> for a contact create answer."""
    element = object_element(None, CONTACT_NS, "creData")
    sub(element, CONTACT_NS, "id", handle)
    sub(element, CONTACT_NS, "crDate", format_datetime(cr_date))
    return element


def domain_create_data(
    name: str, cr_date: datetime, ex_date: datetime | None = None
) -> etree._Element:
    """<domain:creData> for a domain create answer."""
    element = object_element(None, DOMAIN_NS, "creData")
    sub(element, DOMAIN_NS, "name", name)
    sub(element, DOMAIN_NS, "crDate", format_datetime(cr_date))
    if ex_date is not None:
        sub(element, DOMAIN_NS, "exDate", format_datetime(ex_date))
    return element


def host_create_data(name: str, cr_date: datetime) -> etree._Element:
    """<host:creData> for a host create answer."""
    element = object_element(None, HOST_NS, "creData")
    sub(element, HOST_NS, "name", name)
    sub(element, HOST_NS, "crDate", format_datetime(cr_date))
    return element


def _optional(parent: etree._Element, ns: str, tag: str, value: str | datetime | None) -> None:
    if isinstance(value, datetime):
        sub(parent, ns, tag, format_datetime(value))
    elif value:
        sub(parent, ns, tag, value)


def contact_info_data(info: ContactInfo) -> etree._Element:
    """<contact:infData> for a contact info answer (disclose stated in full when present)."""
    if not info.statuses or not info.postal_info:
        raise ValueError("contact info needs at least one status and one postalInfo")
    element = object_element(None, CONTACT_NS, "infData")
    sub(element, CONTACT_NS, "id", info.handle)
    sub(element, CONTACT_NS, "roid", info.roid)
    for status in info.statuses:
        sub(element, CONTACT_NS, "status", s=status)
    for postal in info.postal_info:
        postal_info_element(element, postal)
    if info.voice:
        phone_element(element, "voice", info.voice, info.voice_ext)
    if info.fax:
        phone_element(element, "fax", info.fax, info.fax_ext)
    sub(element, CONTACT_NS, "email", info.email)
    sub(element, CONTACT_NS, "clID", info.cl_id)
    sub(element, CONTACT_NS, "crID", info.cr_id)
    sub(element, CONTACT_NS, "crDate", format_datetime(info.cr_date))
    _optional(element, CONTACT_NS, "upID", info.up_id)
    _optional(element, CONTACT_NS, "upDate", info.up_date)
    _optional(element, CONTACT_NS, "trDate", info.tr_date)
    if info.auth_info is not None:
        auth_info_element(element, CONTACT_NS, info.auth_info)
    if info.disclose is not None:
        types = [postal.type for postal in info.postal_info]
        disclose_element(element, info.disclose, types, explicit=True)
    return element


def domain_info_data(info: DomainInfo, *, host_attrs: bool = False) -> etree._Element:
    """<domain:infData> for a domain info answer; ns written as host objects, or as host
    attributes (with the glue of info.host_addrs) when host_attrs."""
    element = object_element(None, DOMAIN_NS, "infData")
    sub(element, DOMAIN_NS, "name", info.name)
    sub(element, DOMAIN_NS, "roid", info.roid)
    for status in info.statuses:
        sub(element, DOMAIN_NS, "status", s=status)
    _optional(element, DOMAIN_NS, "registrant", info.registrant)
    for role, handle in info.contacts:
        sub(element, DOMAIN_NS, "contact", handle, type=role)
    if info.ns and host_attrs:
        ns = sub(element, DOMAIN_NS, "ns")
        glue = {attr.name: attr.addrs for attr in info.host_addrs}
        for host in info.ns:
            attr = sub(ns, DOMAIN_NS, "hostAttr")
            sub(attr, DOMAIN_NS, "hostName", host)
            for address in glue.get(host, ()):
                host_address_element(attr, DOMAIN_NS, "hostAddr", address)
    elif info.ns:
        ns = sub(element, DOMAIN_NS, "ns")
        for host in info.ns:
            sub(ns, DOMAIN_NS, "hostObj", host)
    for host in info.hosts:
        sub(element, DOMAIN_NS, "host", host)
    sub(element, DOMAIN_NS, "clID", info.cl_id)
    _optional(element, DOMAIN_NS, "crID", info.cr_id)
    _optional(element, DOMAIN_NS, "crDate", info.cr_date)
    _optional(element, DOMAIN_NS, "upID", info.up_id)
    _optional(element, DOMAIN_NS, "upDate", info.up_date)
    _optional(element, DOMAIN_NS, "exDate", info.ex_date)
    _optional(element, DOMAIN_NS, "trDate", info.tr_date)
    if info.auth_info is not None:
        auth_info_element(element, DOMAIN_NS, info.auth_info)
    return element


def domain_transfer_data(transfer: DomainTransfer) -> etree._Element:
    """<domain:trnData> for a transfer answer or a poll message."""
    element = object_element(None, DOMAIN_NS, "trnData")
    sub(element, DOMAIN_NS, "name", transfer.name)
    sub(element, DOMAIN_NS, "trStatus", transfer.status)
    sub(element, DOMAIN_NS, "reID", transfer.re_id)
    sub(element, DOMAIN_NS, "reDate", format_datetime(transfer.re_date))
    sub(element, DOMAIN_NS, "acID", transfer.ac_id)
    sub(element, DOMAIN_NS, "acDate", format_datetime(transfer.ac_date))
    _optional(element, DOMAIN_NS, "exDate", transfer.ex_date)
    return element


def host_info_data(info: HostInfo) -> etree._Element:
    """<host:infData> for a host info answer."""
    if not info.statuses:
        raise ValueError("host info needs at least one status")
    element = object_element(None, HOST_NS, "infData")
    sub(element, HOST_NS, "name", info.name)
    sub(element, HOST_NS, "roid", info.roid)
    for status in info.statuses:
        sub(element, HOST_NS, "status", s=status)
    for address in info.addrs:
        host_address_element(element, HOST_NS, "addr", address)
    sub(element, HOST_NS, "clID", info.cl_id)
    sub(element, HOST_NS, "crID", info.cr_id)
    sub(element, HOST_NS, "crDate", format_datetime(info.cr_date))
    _optional(element, HOST_NS, "upID", info.up_id)
    _optional(element, HOST_NS, "upDate", info.up_date)
    _optional(element, HOST_NS, "trDate", info.tr_date)
    return element


def secdns_info_data(records: Iterable[DsData]) -> etree._Element | None:
    """<secDNS:infData> with the domain's DS records for a domain info answer's extension
    (RFC 5910 section 5.1.2); None when the domain has none."""
    records = list(records)
    if not records:
        return None
    element = secdns_element(None, "infData")
    for record in records:
        ds_data_element(element, record)
    return element
