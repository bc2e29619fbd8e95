"""The client side of EPP: server frames (greeting, response) parsed into typed values."""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DOMAIN_NS,
    EPP_NS,
    HOST_NS,
    SECDNS_NS,
    CheckItem,
    ContactCreated,
    ContactInfo,
    Dcp,
    DcpStatement,
    DomainCreated,
    DomainInfo,
    DomainTransfer,
    Greeting,
    HostCreated,
    HostInfo,
    MsgQ,
    Response,
    Result,
)
from publishers.epp.xmlread import (
    children,
    epp_body,
    find,
    local_name,
    optional_datetime,
    parse_bool,
    parse_datetime,
    read_auth_info,
    read_disclose,
    read_domain_contacts,
    read_ds_data,
    read_host_attrs,
    read_ns,
    read_phone,
    read_postal_info,
    require,
    require_token,
    statuses,
    text,
    token,
    tokens,
)
from publishers.epp.xmlsafe import DEFAULT_MAX_BYTES, EppParseError

# ---------------------------------------------------------------- greeting


def parse_greeting(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, validate: bool = False
) -> Greeting:
    """Parse a server <greeting>."""
    _, greeting = epp_body(data, "greeting", max_bytes=max_bytes, validate=validate)
    menu = require(greeting, EPP_NS, "svcMenu")
    extension = find(menu, EPP_NS, "svcExtension")
    return Greeting(
        sv_id=text(require(greeting, EPP_NS, "svID")) or "",
        sv_date=parse_datetime(require(greeting, EPP_NS, "svDate").text or ""),
        versions=tokens(menu, EPP_NS, "version"),
        langs=tokens(menu, EPP_NS, "lang"),
        obj_uris=tokens(menu, EPP_NS, "objURI"),
        ext_uris=() if extension is None else tokens(extension, EPP_NS, "extURI"),
        dcp=_read_dcp(require(greeting, EPP_NS, "dcp")),
    )


def _first_child_name(element: etree._Element) -> str:
    for child in element:
        if isinstance(child.tag, str):
            return local_name(child)
    raise EppParseError(f"<{local_name(element)}> is empty (line {element.sourceline})")


def _child_names(element: etree._Element) -> tuple[str, ...]:
    # recDesc of <ours> is descriptive text that no decision of ours depends on.
    return tuple(local_name(child) for child in element if isinstance(child.tag, str))


def _read_dcp(dcp: etree._Element) -> Dcp:
    statements = tuple(
        DcpStatement(
            purposes=_child_names(require(statement, EPP_NS, "purpose")),
            recipients=_child_names(require(statement, EPP_NS, "recipient")),
            retention=_first_child_name(require(statement, EPP_NS, "retention")),
        )
        for statement in children(dcp, EPP_NS, "statement")
    )
    expiry = find(dcp, EPP_NS, "expiry")
    absolute = None if expiry is None else find(expiry, EPP_NS, "absolute")
    relative = None if expiry is None else find(expiry, EPP_NS, "relative")
    return Dcp(
        access=_first_child_name(require(dcp, EPP_NS, "access")),
        statements=statements,
        expiry_absolute=optional_datetime(absolute),
        expiry_relative=token(relative),
    )


# ---------------------------------------------------------------- response


def parse_response(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, validate: bool = False
) -> Response:
    """Parse a server <response>: results, msgQ, resData and the transaction ids."""
    _, response = epp_body(data, "response", max_bytes=max_bytes, validate=validate)
    results = tuple(_read_result(result) for result in children(response, EPP_NS, "result"))
    if not results:
        raise EppParseError("<response> has no <result>")
    tr_id = require(response, EPP_NS, "trID")
    res_data = find(response, EPP_NS, "resData")
    parsed = {} if res_data is None else _read_res_data(res_data)
    extension = find(response, EPP_NS, "extension")
    if extension is not None:
        _read_extension(extension, parsed)
    return Response(
        code=results[0].code,
        message=results[0].message,
        cltrid=token(find(tr_id, EPP_NS, "clTRID")),
        svtrid=require_token(tr_id, EPP_NS, "svTRID"),
        res_data=parsed,
        msgq=_read_msgq(find(response, EPP_NS, "msgQ")),
        results=results,
    )


def _read_result(result: etree._Element) -> Result:
    try:
        code = int(result.get("code") or "")
    except ValueError:
        raise EppParseError(f"result code {result.get('code')!r} is not a number") from None
    reasons = tuple(
        text(reason) or ""
        for ext_value in children(result, EPP_NS, "extValue")
        for reason in children(ext_value, EPP_NS, "reason")
    )
    return Result(code=code, message=text(require(result, EPP_NS, "msg")) or "", reasons=reasons)


def _read_msgq(msgq: etree._Element | None) -> MsgQ | None:
    if msgq is None:
        return None
    try:
        count = int(msgq.get("count") or "")
    except ValueError:
        raise EppParseError(f"msgQ count {msgq.get('count')!r} is not a number") from None
    message = find(msgq, EPP_NS, "msg")
    return MsgQ(
        count=count,
        id=(msgq.get("id") or "").strip(),
        q_date=optional_datetime(find(msgq, EPP_NS, "qDate")),
        message=None if message is None else "".join(message.itertext()),
    )


def _read_check(chk_data: etree._Element, ns: str, key: str) -> dict[str, CheckItem]:
    items = {}
    for cd in children(chk_data, ns, "cd"):
        subject = require(cd, ns, key)
        identifier = token(subject) or ""
        items[identifier] = CheckItem(
            id=identifier,
            avail=parse_bool(subject.get("avail")),
            reason=text(find(cd, ns, "reason")),
        )
    return items


def read_contact_info(inf: etree._Element) -> ContactInfo:
    """A <contact:infData>."""
    voice, voice_ext = read_phone(inf, "voice")
    fax, fax_ext = read_phone(inf, "fax")
    return ContactInfo(
        handle=require_token(inf, CONTACT_NS, "id"),
        roid=require_token(inf, CONTACT_NS, "roid"),
        statuses=statuses(inf, CONTACT_NS),
        postal_info=tuple(
            read_postal_info(info) for info in children(inf, CONTACT_NS, "postalInfo")
        ),
        voice=voice or None,
        voice_ext=voice_ext,
        fax=fax or None,
        fax_ext=fax_ext,
        email=require_token(inf, CONTACT_NS, "email"),
        cl_id=require_token(inf, CONTACT_NS, "clID"),
        cr_id=require_token(inf, CONTACT_NS, "crID"),
        cr_date=parse_datetime(require(inf, CONTACT_NS, "crDate").text or ""),
        up_id=token(find(inf, CONTACT_NS, "upID")),
        up_date=optional_datetime(find(inf, CONTACT_NS, "upDate")),
        tr_date=optional_datetime(find(inf, CONTACT_NS, "trDate")),
        auth_info=read_auth_info(inf, CONTACT_NS),
        disclose=read_disclose(inf),
    )


def read_host_info(inf: etree._Element) -> HostInfo:
    """A <host:infData>."""
    return HostInfo(
        name=require_token(inf, HOST_NS, "name"),
        roid=require_token(inf, HOST_NS, "roid"),
        statuses=statuses(inf, HOST_NS),
        addrs=tokens(inf, HOST_NS, "addr"),
        cl_id=require_token(inf, HOST_NS, "clID"),
        cr_id=require_token(inf, HOST_NS, "crID"),
        cr_date=parse_datetime(require(inf, HOST_NS, "crDate").text or ""),
        up_id=token(find(inf, HOST_NS, "upID")),
        up_date=optional_datetime(find(inf, HOST_NS, "upDate")),
        tr_date=optional_datetime(find(inf, HOST_NS, "trDate")),
    )


def read_domain_info(inf: etree._Element) -> DomainInfo:
    """A <domain:infData>."""
    return DomainInfo(
        name=require_token(inf, DOMAIN_NS, "name"),
        roid=require_token(inf, DOMAIN_NS, "roid"),
        statuses=statuses(inf, DOMAIN_NS),
        registrant=token(find(inf, DOMAIN_NS, "registrant")),
        contacts=read_domain_contacts(inf),
        ns=read_ns(inf),
        hosts=tokens(inf, DOMAIN_NS, "host"),
        host_addrs=tuple(attr for attr in read_host_attrs(inf) if attr.addrs),
        cl_id=require_token(inf, DOMAIN_NS, "clID"),
        cr_id=token(find(inf, DOMAIN_NS, "crID")),
        cr_date=optional_datetime(find(inf, DOMAIN_NS, "crDate")),
        up_id=token(find(inf, DOMAIN_NS, "upID")),
        up_date=optional_datetime(find(inf, DOMAIN_NS, "upDate")),
        ex_date=optional_datetime(find(inf, DOMAIN_NS, "exDate")),
        tr_date=optional_datetime(find(inf, DOMAIN_NS, "trDate")),
        auth_info=read_auth_info(inf, DOMAIN_NS),
    )


def read_domain_transfer(trn: etree._Element) -> DomainTransfer:
    """A <domain:trnData>."""
    return DomainTransfer(
        name=require_token(trn, DOMAIN_NS, "name"),
        status=require_token(trn, DOMAIN_NS, "trStatus"),
        re_id=require_token(trn, DOMAIN_NS, "reID"),
        re_date=parse_datetime(require(trn, DOMAIN_NS, "reDate").text or ""),
        ac_id=require_token(trn, DOMAIN_NS, "acID"),
        ac_date=parse_datetime(require(trn, DOMAIN_NS, "acDate").text or ""),
        ex_date=optional_datetime(find(trn, DOMAIN_NS, "exDate")),
    )


def _read_res_data(res_data: etree._Element) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for element in res_data:
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        match qname.namespace, qname.localname:
            case (ns, "chkData") if ns in {CONTACT_NS, DOMAIN_NS, HOST_NS}:
                is_contact = ns == CONTACT_NS
                key = f"{OBJECT_KEYS[ns]}_check"
                parsed[key] = _read_check(element, ns, "id" if is_contact else "name")
            case (ns, "creData") if ns == CONTACT_NS:
                parsed["contact_create"] = ContactCreated(
                    handle=require_token(element, ns, "id"),
                    cr_date=parse_datetime(require(element, ns, "crDate").text or ""),
                )
            case (ns, "creData") if ns == DOMAIN_NS:
                parsed["domain_create"] = DomainCreated(
                    name=require_token(element, ns, "name"),
                    cr_date=parse_datetime(require(element, ns, "crDate").text or ""),
                    ex_date=optional_datetime(find(element, ns, "exDate")),
                )
            case (ns, "creData") if ns == HOST_NS:
                parsed["host_create"] = HostCreated(
                    name=require_token(element, ns, "name"),
                    cr_date=parse_datetime(require(element, ns, "crDate").text or ""),
                )
            case (ns, "infData") if ns == HOST_NS:
                parsed["host_info"] = read_host_info(element)
            case (ns, "infData") if ns == CONTACT_NS:
                parsed["contact_info"] = read_contact_info(element)
            case (ns, "infData") if ns == DOMAIN_NS:
                parsed["domain_info"] = read_domain_info(element)
            case (ns, "trnData") if ns == DOMAIN_NS:
                parsed["domain_transfer"] = read_domain_transfer(element)
            case _:
                # Other objects (transfer, pending action) are not ours to interpret; they are
                # left out rather than failing the whole response.
                pass
    return parsed


OBJECT_KEYS = {CONTACT_NS: "contact", DOMAIN_NS: "domain", HOST_NS: "host"}


def _read_extension(extension: etree._Element, parsed: dict[str, Any]) -> None:
    """The response extensions we speak: secDNS-1.1 infData goes into the domain's info."""
    for element in extension:
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        if qname.namespace == SECDNS_NS and qname.localname == "infData":
            ds = read_ds_data(element)
            info = parsed.get("domain_info")
            if info is not None:
                parsed["domain_info"] = dataclasses.replace(info, ds=ds)
