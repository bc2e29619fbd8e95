"""EPP codec for host objects (RFC 5732), secDNS-1.1 (RFC 5910) and a domain's name servers as
host attributes: every frame validates against the shipped IETF schemas and parses back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from publishers.epp import schema as schema_module
from publishers.epp.client.commands import (
    domain_update,
    host_check,
    host_create,
    host_delete,
    host_info,
    host_update,
)
from publishers.epp.client.commands import login as login_frame
from publishers.epp.client.responses import parse_response
from publishers.epp.model import (
    SECDNS_NS,
    CheckItem,
    DomainInfo,
    DomainUpdate,
    DsData,
    HostAttr,
    HostCreate,
    HostCreated,
    HostInfo,
    HostUpdate,
)
from publishers.epp.server.commands import parse_command
from publishers.epp.server.responses import (
    build_response,
    domain_info_data,
    host_check_data,
    host_create_data,
    host_info_data,
    secdns_info_data,
)
from publishers.epp.xmlsafe import EppParseError

SCHEMAS = Path(schema_module.__file__).resolve().parent / "schemas"
EPP = "urn:ietf:params:xml:ns:epp-1.0"
DOMAIN = "urn:ietf:params:xml:ns:domain-1.0"
HOST = "urn:ietf:params:xml:ns:host-1.0"
NS = {"e": EPP, "d": DOMAIN, "h": HOST, "s": SECDNS_NS}
T0 = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
DS1 = DsData(12345, 13, 2, "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234")
DS2 = DsData(54321, 8, 1, "0123456789abcdef0123456789abcdef01234567")


@pytest.fixture(scope="module")
def ietf_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "index.xsd")))


def valid(schema: etree.XMLSchema, frame: bytes) -> etree._Element:
    root = etree.fromstring(frame)
    if not schema.validate(root):
        pytest.fail(f"frame is not schema-valid: {schema.error_log}\n{frame.decode()}")
    return root


def names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


# ---------------------------------------------------------------- model


def test_ds_data_is_normalised_and_checked() -> None:
    assert DS2.digest == "0123456789ABCDEF0123456789ABCDEF01234567"
    for bad in (
        dict(key_tag=70000, alg=8, digest_type=2, digest="AB"),
        dict(key_tag=1, alg=256, digest_type=2, digest="AB"),
        dict(key_tag=1, alg=8, digest_type=-1, digest="AB"),
        dict(key_tag=1, alg=8, digest_type=2, digest="ABC"),
        dict(key_tag=1, alg=8, digest_type=2, digest="XY"),
        dict(key_tag=1, alg=8, digest_type=2, digest=""),
    ):
        with pytest.raises(ValueError, match="DS"):
            DsData(**bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- host commands


def test_host_check_create_info(ietf_schema: etree.XMLSchema) -> None:
    frame = host_check(["ns1.example.com", "ns2.example.net"], cltrid="HC-1")
    root = valid(ietf_schema, frame)
    assert [n.text for n in root.findall(".//h:check/h:name", NS)] == [
        "ns1.example.com",
        "ns2.example.net",
    ]
    command = parse_command(frame)
    assert (command.name, command.obj) == ("check", "host")
    assert command.payload == ("ns1.example.com", "ns2.example.net")

    create = HostCreate(name="ns1.example.com", addrs=("192.0.2.1", "2001:db8::53"))
    frame = host_create(create, cltrid="HC-2")
    root = valid(ietf_schema, frame)
    addrs = root.findall(".//h:create/h:addr", NS)
    assert [(a.get("ip"), a.text) for a in addrs] == [("v4", "192.0.2.1"), ("v6", "2001:db8::53")]
    assert parse_command(frame).payload == create
    bare = HostCreate(name="ns.provider.net")
    assert parse_command(valid_frame(ietf_schema, host_create(bare, cltrid="HC-3"))).payload == bare

    frame = host_info("ns1.example.com", cltrid="HC-4")
    valid(ietf_schema, frame)
    assert parse_command(frame).payload == "ns1.example.com"


def valid_frame(schema: etree.XMLSchema, frame: bytes) -> bytes:
    valid(schema, frame)
    return frame


def test_host_addresses_must_be_ip_addresses() -> None:
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        host_create(HostCreate(name="ns1.example.com", addrs=("192.0.2.300",)), cltrid="HC-9")
    with pytest.raises(ValueError, match="at least one"):
        host_check([], cltrid="HC-8")


def test_host_answers_round_trip(ietf_schema: etree.XMLSchema) -> None:
    items = [CheckItem("ns1.example.com", False, "In use"), CheckItem("ns9.example.com", True)]
    frame = build_response(1000, None, "C-1", "S-1", host_check_data(items))
    valid(ietf_schema, frame)
    assert parse_response(frame).res_data["host_check"] == {item.id: item for item in items}

    frame = build_response(1000, None, "C-2", "S-2", host_create_data("ns1.example.com", T0))
    valid(ietf_schema, frame)
    assert parse_response(frame).res_data["host_create"] == HostCreated(
        name="ns1.example.com", cr_date=T0
    )

    info = HostInfo(
        name="ns1.example.com",
        roid="H1-SBX",
        statuses=("linked",),
        addrs=("192.0.2.1", "2001:db8::53"),
        cl_id="interlink",
        cr_id="interlink",
        cr_date=T0,
        up_id="interlink",
        up_date=T0,
    )
    frame = build_response(1000, None, "C-3", "S-3", host_info_data(info))
    root = valid(ietf_schema, frame)
    assert [a.get("ip") for a in root.findall(".//h:infData/h:addr", NS)] == ["v4", "v6"]
    assert parse_response(frame, validate=True).res_data["host_info"] == info


# ---------------------------------------------------------------- domain update


def test_domain_update_with_secdns_add_and_rem(ietf_schema: etree.XMLSchema) -> None:
    update = DomainUpdate(
        name="example.com",
        add_statuses=("clientTransferProhibited",),
        add_ds=(DS1,),
        rem_ds=(DS2,),
    )
    frame = domain_update(update, cltrid="DS-1")
    root = valid(ietf_schema, frame)
    command = root.find("e:command", NS)
    assert names(command) == ["update", "extension", "clTRID"]
    secdns = command.find("e:extension/s:update", NS)
    assert names(secdns) == ["rem", "add"]  # RFC 5910: rem before add
    added = secdns.find("s:add/s:dsData", NS)
    assert names(added) == ["keyTag", "alg", "digestType", "digest"]
    assert added.findtext("s:keyTag", namespaces=NS) == "12345"
    parsed = parse_command(frame)
    assert parsed.payload == update and parsed.ext_uris == (SECDNS_NS,)


def test_domain_update_with_only_ds_has_an_empty_domain_update(
    ietf_schema: etree.XMLSchema,
) -> None:
    update = DomainUpdate(name="example.com", add_ds=(DS1, DS2))
    root = valid(ietf_schema, domain_update(update, cltrid="DS-2"))
    assert names(root.find(".//d:update", NS)) == ["name"]
    assert len(root.findall(".//s:add/s:dsData", NS)) == 2
    assert parse_command(domain_update(update, cltrid="DS-2")).payload == update


def test_domain_update_registrant_change(ietf_schema: etree.XMLSchema) -> None:
    update = DomainUpdate(name="example.com", registrant="IL-0000042")
    frame = domain_update(update, cltrid="REG-1")
    root = valid(ietf_schema, frame)
    assert names(root.find(".//d:update", NS)) == ["name", "chg"]
    assert root.findtext(".//d:chg/d:registrant", namespaces=NS) == "IL-0000042"
    assert parse_command(frame).payload == update


def test_domain_update_with_host_attributes_and_glue(ietf_schema: etree.XMLSchema) -> None:
    update = DomainUpdate(
        name="example.com",
        add_host_attrs=(
            HostAttr("ns1.example.com", ("192.0.2.1", "2001:db8::1")),
            HostAttr("ns.provider.net"),
        ),
        rem_host_attrs=(HostAttr("ns0.example.com"),),
    )
    frame = domain_update(update, cltrid="ATTR-1")
    root = valid(ietf_schema, frame)
    attrs = root.findall(".//d:add/d:ns/d:hostAttr", NS)
    assert names(attrs[0]) == ["hostName", "hostAddr", "hostAddr"]
    assert [a.get("ip") for a in attrs[0].findall("d:hostAddr", NS)] == ["v4", "v6"]
    assert parse_command(frame).payload == update
    assert update.all_add_ns() == ("ns1.example.com", "ns.provider.net")
    with pytest.raises(ValueError, match="not both"):
        domain_update(
            DomainUpdate(
                name="example.com",
                add_ns=("ns2.example.net",),
                add_host_attrs=update.add_host_attrs,
            ),
            cltrid="ATTR-2",
        )


def test_secdns_remove_all_round_trips_and_chg_is_not_taken(
    ietf_schema: etree.XMLSchema,
) -> None:
    frame = domain_update(DomainUpdate(name="example.com", rem_all_ds=True), cltrid="DS-3")
    root = valid(ietf_schema, frame)
    assert root.xpath("//s:update/s:rem/s:all/text()", namespaces=NS) == ["true"]
    assert root.xpath("//s:dsData", namespaces=NS) == []
    parsed = parse_command(frame).payload
    assert parsed.rem_all_ds and parsed.rem_ds == () and parsed.has_ds
    with pytest.raises(ValueError, match="all or dsData"):
        domain_update(DomainUpdate(name="example.com", rem_ds=(DS1,), rem_all_ds=True), cltrid="X")
    start = frame.index(b"<secDNS:rem>")
    end = frame.index(b"</secDNS:rem>") + len(b"</secDNS:rem>")
    change = frame[:start] + b"<secDNS:chg><secDNS:maxSigLife>604800</secDNS:maxSigLife>"
    change += b"</secDNS:chg>" + frame[end:]
    valid(ietf_schema, change)
    with pytest.raises(EppParseError, match="only secDNS dsData add and rem"):
        parse_command(change)


def test_host_update_and_delete(ietf_schema: etree.XMLSchema) -> None:
    update = HostUpdate(
        name="ns1.example.com",
        add_addrs=("192.0.2.20", "2001:db8::20"),
        rem_addrs=("192.0.2.1",),
        new_name="ns2.example.com",
    )
    frame = host_update(update, cltrid="HU-1")
    root = valid(ietf_schema, frame)
    assert root.xpath("//h:add/h:addr/@ip", namespaces=NS) == ["v4", "v6"]
    assert root.xpath("//h:rem/h:addr/text()", namespaces=NS) == ["192.0.2.1"]
    assert root.xpath("//h:chg/h:name/text()", namespaces=NS) == ["ns2.example.com"]
    assert parse_command(frame).payload == update
    only_rem = HostUpdate(name="ns1.example.com", rem_addrs=("2001:db8::1",))
    valid(ietf_schema, host_update(only_rem, cltrid="HU-2"))
    assert parse_command(host_update(only_rem, cltrid="HU-2")).payload == only_rem
    with pytest.raises(ValueError, match="at least one of add, rem or chg"):
        host_update(HostUpdate(name="ns1.example.com"), cltrid="HU-3")
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        host_update(HostUpdate(name="ns1.example.com", add_addrs=("192.0.2",)), cltrid="HU-4")
    deleted = host_delete("ns1.example.com", cltrid="HD-1")
    valid(ietf_schema, deleted)
    command = parse_command(deleted)
    assert (command.name, command.obj, command.payload) == ("delete", "host", "ns1.example.com")


def test_login_names_secdns_when_asked(ietf_schema: etree.XMLSchema) -> None:
    frame = login_frame(
        "interlink", "s3cret-pw", cltrid="L-1", obj_uris=[DOMAIN, HOST], ext_uris=[SECDNS_NS]
    )
    valid(ietf_schema, frame)
    assert parse_command(frame).payload.ext_uris == (SECDNS_NS,)


# ---------------------------------------------------------------- domain info


def test_domain_info_with_secdns_infdata_round_trips(ietf_schema: etree.XMLSchema) -> None:
    info = DomainInfo(
        name="example.com",
        roid="D1-SBX",
        statuses=("clientTransferProhibited",),
        registrant="IL-1",
        ns=("ns1.example.com",),
        hosts=("ns1.example.com",),
        cl_id="interlink",
        cr_date=T0,
    )
    frame = build_response(
        1000, None, "I-1", "S-1", domain_info_data(info), extension=secdns_info_data([DS1, DS2])
    )
    root = valid(ietf_schema, frame)
    response = root.find("e:response", NS)
    assert names(response) == ["result", "resData", "extension", "trID"]
    parsed = parse_response(frame, validate=True).res_data["domain_info"]
    assert parsed.ds == (DS1, DS2)
    assert parsed == DomainInfo(**{**info.__dict__, "ds": (DS1, DS2)})
    assert secdns_info_data([]) is None


def test_domain_info_with_host_attributes(ietf_schema: etree.XMLSchema) -> None:
    info = DomainInfo(
        name="example.com",
        roid="D1-SBX",
        statuses=("ok",),
        ns=("ns1.example.com", "ns.provider.net"),
        host_addrs=(HostAttr("ns1.example.com", ("192.0.2.1",)),),
        cl_id="interlink",
    )
    frame = build_response(1000, None, "I-2", "S-2", domain_info_data(info, host_attrs=True))
    root = valid(ietf_schema, frame)
    assert len(root.findall(".//d:ns/d:hostAttr", NS)) == 2
    assert parse_response(frame).res_data["domain_info"] == info
