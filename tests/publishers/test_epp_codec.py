"""EPP codec: frames validate against the IETF schemas, parse back, and hostile input is refused."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from publishers.epp import schema as schema_module
from publishers.epp.client.commands import (
    contact_check,
    contact_create,
    contact_delete,
    contact_info,
    contact_update,
    domain_check,
    domain_create,
    domain_info,
    domain_update,
    hello,
    logout,
    new_cltrid,
    poll_ack,
    poll_request,
)
from publishers.epp.client.commands import login as login_frame
from publishers.epp.client.responses import parse_greeting, parse_response
from publishers.epp.model import (
    Address,
    CheckItem,
    ContactChange,
    ContactCreate,
    ContactCreated,
    ContactData,
    ContactInfo,
    ContactInfoQuery,
    ContactUpdate,
    Dcp,
    DcpStatement,
    Disclose,
    DomainCreate,
    DomainCreated,
    DomainInfo,
    DomainInfoQuery,
    DomainUpdate,
    Greeting,
    Login,
    MsgQ,
    Poll,
    PostalInfo,
)
from publishers.epp.schema import EppSchemaError, epp_schema, validate_frame
from publishers.epp.server.commands import parse_command
from publishers.epp.server.responses import (
    build_greeting,
    build_response,
    contact_check_data,
    contact_create_data,
    contact_info_data,
    domain_check_data,
    domain_create_data,
    domain_info_data,
)
from publishers.epp.xmlsafe import EppParseError, parse_frame

PACKAGE_SCHEMAS = Path(schema_module.__file__).resolve().parent / "schemas"
#: SHA-256 of the IETF schemas as published (RFC 5730-5733, RFC 5910) and of our index.xsd that
#: imports them: a schema edited by hand, even by a byte, fails here.
SCHEMA_SHA256 = {
    "contact-1.0.xsd": "f24c87d7da88b3f5ac0b892f342e8fdd11bbb8c9d5553f05d183bffce64d9007",
    "domain-1.0.xsd": "9f44ad3641562b126f0d784ad3fba58c2e2a1493753470f5bd138aa2e4502ff8",
    "epp-1.0.xsd": "14dd4629b36a2596d0fe84aac05490d61b979025b1d901b9a11959cf5afc0bfb",
    "eppcom-1.0.xsd": "c572bf7c5081d2e9617d6b33202d149a2b6aaafbe79a3ad6cc5e4879c45f5610",
    "host-1.0.xsd": "8483fa2b8d47288cac1ff223510b9a8af1cd4d7fc4fe8c35e3287ffed7a30e2c",
    "index.xsd": "c2a7277075da573e8b58dc1f16e42d8a354ab414f7ae509bf1bb094286426d80",
    "secDNS-1.1.xsd": "7d1e8d9c1c9978af2cee1002f153fffdf8047ee54fe06d9ed1ff0f0881536436",
}

EPP = "urn:ietf:params:xml:ns:epp-1.0"
CONTACT = "urn:ietf:params:xml:ns:contact-1.0"
DOMAIN = "urn:ietf:params:xml:ns:domain-1.0"
NS = {"e": EPP, "c": CONTACT, "d": DOMAIN}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
DISCLOSE_ORDER = ["name", "org", "addr", "voice", "fax", "email"]
T0 = datetime(2024, 5, 17, 8, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture(scope="module")
def ietf_schema() -> etree.XMLSchema:
    """The EPP schema built here from the shipped files, not through the codec's own cache."""
    return etree.XMLSchema(etree.parse(str(PACKAGE_SCHEMAS / "index.xsd")))


def assert_valid(schema: etree.XMLSchema, frame: bytes) -> etree._Element:
    assert frame.startswith(DECLARATION + b"\n")
    root = etree.fromstring(frame)
    if not schema.validate(root):
        pytest.fail(f"frame is not schema-valid: {schema.error_log}\n{frame.decode()}")
    return root


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def sample_contact(**changes: object) -> ContactData:
    values: dict[str, object] = dict(
        handle="IL-000042",
        name="Anna Example",
        org="Example GmbH",
        street=("Hauptstrasse 1", "2. Stock"),
        city="Bern",
        sp="BE",
        pc="3011",
        cc="CH",
        voice="+41.315551234",
        voice_ext="77",
        fax="+41.315551235",
        email="anna@example.ch",
        auth_info="x7!Pq2mZ",
    )
    values.update(changes)
    return ContactData(**values)  # type: ignore[arg-type]


ALL_DISCLOSE = [
    Disclose(**dict(zip(DISCLOSE_ORDER, flags, strict=True)))
    for flags in itertools.product([False, True], repeat=6)
]


# ---------------------------------------------------------------- schema copy


def test_package_schemas_are_the_published_ones_byte_for_byte() -> None:
    assert sorted(p.name for p in PACKAGE_SCHEMAS.glob("*.xsd")) == sorted(SCHEMA_SHA256)
    for name, digest in SCHEMA_SHA256.items():
        assert hashlib.sha256((PACKAGE_SCHEMAS / name).read_bytes()).hexdigest() == digest, name


def test_epp_schema_is_cached_and_validates() -> None:
    assert epp_schema() is epp_schema()
    validate_frame(hello())


def test_validate_frame_names_the_first_error_and_its_line() -> None:
    frame = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">\n'
        b'<command><delete><contact:delete xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">\n'
        b"<contact:id>this-handle-is-too-long</contact:id>\n"
        b"</contact:delete></delete><clTRID>ABC-1</clTRID></command></epp>"
    )
    with pytest.raises(EppSchemaError, match=r"line 4: .*contact-1\.0}id.*maxLength") as caught:
        validate_frame(frame)
    assert caught.value.code == 2001
    assert isinstance(caught.value, EppParseError)


# ---------------------------------------------------------------- session frames


def test_hello(ietf_schema: etree.XMLSchema) -> None:
    root = assert_valid(ietf_schema, hello())
    assert [local(child) for child in root] == ["hello"]
    command = parse_command(hello())
    assert (command.name, command.obj, command.cltrid) == ("hello", None, None)


def test_login_offers_the_objects_we_use_and_no_extensions(ietf_schema: etree.XMLSchema) -> None:
    frame = login_frame("interlink", "s3cret-pw", cltrid="IL-login-1")
    root = assert_valid(ietf_schema, frame)
    login = root.find("e:command/e:login", NS)
    assert login.findtext("e:clID", namespaces=NS) == "interlink"
    assert login.findtext("e:pw", namespaces=NS) == "s3cret-pw"
    assert login.find("e:newPW", NS) is None
    assert login.findtext("e:options/e:version", namespaces=NS) == "1.0"
    assert login.findtext("e:options/e:lang", namespaces=NS) == "en"
    uris = [u.text for u in login.findall("e:svcs/e:objURI", NS)]
    assert CONTACT in uris and DOMAIN in uris
    assert login.find("e:svcs/e:svcExtension", NS) is None
    assert root.findtext("e:command/e:clTRID", namespaces=NS) == "IL-login-1"

    command = parse_command(frame)
    assert (command.name, command.obj, command.cltrid) == ("login", None, "IL-login-1")
    assert command.payload == Login(cl_id="interlink", pw="s3cret-pw", obj_uris=tuple(uris))


def test_login_with_new_password_and_extension(ietf_schema: etree.XMLSchema) -> None:
    ext = "urn:ietf:params:xml:ns:secDNS-1.1"
    frame = login_frame("interlink", "old-pw-1", new_pw="new-pw-22", ext_uris=[ext], cltrid="A-2")
    assert_valid(ietf_schema, frame)
    payload = parse_command(frame).payload
    assert payload.new_pw == "new-pw-22"
    assert payload.ext_uris == (ext,)


@pytest.mark.parametrize("pw", ["short", "x" * 17])
def test_login_refuses_passwords_outside_the_schema(pw: str) -> None:
    with pytest.raises(ValueError, match="6..16"):
        login_frame("interlink", pw, cltrid="ABC-1")


def test_logout_and_poll(ietf_schema: etree.XMLSchema) -> None:
    for frame, name, payload in [
        (logout(cltrid="ABC-9"), "logout", None),
        (poll_request(cltrid="ABC-9"), "poll", Poll("req")),
        (poll_ack("12345", cltrid="ABC-9"), "poll", Poll("ack", "12345")),
    ]:
        assert_valid(ietf_schema, frame)
        command = parse_command(frame)
        assert (command.name, command.obj, command.cltrid, command.payload) == (
            name,
            None,
            "ABC-9",
            payload,
        )


# ---------------------------------------------------------------- clTRID


def test_new_cltrid_is_unique_ordered_and_within_the_schema() -> None:
    ids = [new_cltrid() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(i.startswith("IL-") and 3 <= len(i) <= 64 and " " not in i for i in ids)
    longest = new_cltrid("P" * 30)
    assert longest.startswith("P" * 30) and len(longest) <= 64
    assert 3 <= len(new_cltrid("")) <= 64


@pytest.mark.parametrize("prefix", ["has space", "P" * 31, "é"])
def test_new_cltrid_refuses_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_cltrid(prefix)


@pytest.mark.parametrize("cltrid", ["", "ab", "x" * 65])
def test_builders_refuse_cltrid_outside_3_to_64(cltrid: str) -> None:
    with pytest.raises(ValueError, match="clTRID"):
        logout(cltrid=cltrid)


# ---------------------------------------------------------------- contact frames


def test_contact_check_several_ids(ietf_schema: etree.XMLSchema) -> None:
    frame = contact_check(["IL-1a", "IL-2b", "IL-3c"], cltrid="CHK-1")
    root = assert_valid(ietf_schema, frame)
    assert [i.text for i in root.findall(".//c:check/c:id", NS)] == ["IL-1a", "IL-2b", "IL-3c"]
    command = parse_command(frame)
    assert (command.name, command.obj, command.cltrid) == ("check", "contact", "CHK-1")
    assert command.payload == ("IL-1a", "IL-2b", "IL-3c")
    with pytest.raises(ValueError):
        contact_check([], cltrid="CHK-1")


def test_contact_create_in_schema_order_with_phones(ietf_schema: etree.XMLSchema) -> None:
    contact = sample_contact()
    frame = contact_create(contact, Disclose(org=True), cltrid="CRE-1")
    root = assert_valid(ietf_schema, frame)
    create = root.find("e:command/e:create/c:create", NS)
    assert [local(c) for c in create] == [
        "id",
        "postalInfo",
        "voice",
        "fax",
        "email",
        "authInfo",
        "disclose",
    ]
    voice = create.find("c:voice", NS)
    assert (voice.text, voice.get("x")) == ("+41.315551234", "77")
    fax = create.find("c:fax", NS)
    assert (fax.text, fax.get("x")) == ("+41.315551235", None)
    postal = create.find("c:postalInfo", NS)
    assert postal.get("type") == "int"
    assert [s.text for s in postal.findall("c:addr/c:street", NS)] == [
        "Hauptstrasse 1",
        "2. Stock",
    ]
    assert create.findtext("c:authInfo/c:pw", namespaces=NS) == "x7!Pq2mZ"
    disclose = create.find("c:disclose", NS)
    assert disclose.get("flag") == "0"
    assert [(local(i), i.get("type")) for i in disclose] == [
        ("name", "int"),
        ("addr", "int"),
        ("voice", None),
        ("fax", None),
        ("email", None),
    ]


def test_contact_create_omits_empty_optional_elements(ietf_schema: etree.XMLSchema) -> None:
    contact = sample_contact(
        org="", street=("", "Only line", ""), sp=None, pc="", voice=None, voice_ext="9", fax=""
    )
    root = assert_valid(ietf_schema, contact_create(contact, cltrid="CRE-2"))
    create = root.find(".//c:create", NS)
    assert [local(c) for c in create] == ["id", "postalInfo", "email", "authInfo"]
    assert [local(c) for c in create.find("c:postalInfo", NS)] == ["name", "addr"]
    assert [local(c) for c in create.find("c:postalInfo/c:addr", NS)] == ["street", "city", "cc"]


@pytest.mark.parametrize(
    "disclose", ALL_DISCLOSE, ids=lambda d: "".join("01"[v] for v in vars(d).values())
)
@pytest.mark.parametrize("postal_type", ["int", "loc"])
def test_every_disclose_combination(
    ietf_schema: etree.XMLSchema, disclose: Disclose, postal_type: str
) -> None:
    contact = sample_contact(postal_type=postal_type)
    private = [item for item in DISCLOSE_ORDER if not getattr(disclose, item)]
    typed = {"name", "org", "addr"}

    create_root = assert_valid(ietf_schema, contact_create(contact, disclose, cltrid="D-1"))
    create = create_root.find(".//c:create", NS)
    element = create.find("c:disclose", NS)
    if private:
        assert [local(c) for c in create][-2:] == ["authInfo", "disclose"]
        assert element.get("flag") == "0"
        assert [local(i) for i in element] == private
        assert all(i.get("type") == (postal_type if local(i) in typed else None) for i in element)
    else:
        assert element is None

    change = ContactChange(auth_info="n3w-Auth", disclose=disclose, disclose_types=(postal_type,))
    update = ContactUpdate(handle=contact.handle, change=change)
    update_root = assert_valid(ietf_schema, contact_update(update, cltrid="D-2"))
    chg = update_root.find(".//c:update/c:chg", NS)
    assert [local(c) for c in chg] == ["authInfo", "disclose"]
    element = chg.find("c:disclose", NS)
    listed = [local(i) for i in element]
    if private:
        assert (element.get("flag"), listed) == ("0", private)
    else:
        assert (element.get("flag"), listed) == ("1", DISCLOSE_ORDER)

    parsed = parse_command(contact_create(contact, disclose, cltrid="D-3")).payload
    assert parsed.disclose == (disclose if private else None)
    parsed_update = parse_command(contact_update(update, cltrid="D-4")).payload
    assert parsed_update.change.disclose == disclose


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("voice", "+41 31 555 12 34"),
        ("voice", "0041315551234"),
        ("voice", "+1234.5551234"),
        ("fax", "+41.123456789012345"),
        ("fax", "+123.12345678901234"),
        ("fax", "41.315551234"),
    ],
)
def test_phones_must_be_in_epp_form(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=r"\+CC\.NNNN"):
        contact_create(sample_contact(**{field: value}), cltrid="PH-1")


def test_more_than_three_street_lines_are_refused() -> None:
    with pytest.raises(ValueError, match="3 street lines"):
        contact_create(sample_contact(street=("a", "b", "c", "d")), cltrid="ST-1")


def test_int_postal_info_must_be_ascii() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        contact_create(sample_contact(name="Zoë Müller"), cltrid="AS-1")
    contact_create(sample_contact(name="Zoë Müller", postal_type="loc"), cltrid="AS-2")


@pytest.mark.parametrize("handle", ["ab", "a" * 17, "   "])
def test_contact_handles_must_be_3_to_16(handle: str) -> None:
    with pytest.raises(ValueError, match="handle"):
        contact_info(handle, cltrid="H-1")


def test_contact_info_and_delete(ietf_schema: etree.XMLSchema) -> None:
    plain = contact_info("IL-7", cltrid="INF-1")
    root = assert_valid(ietf_schema, plain)
    assert root.find(".//c:info/c:authInfo", NS) is None
    with_auth = contact_info("IL-7", auth_info="2fooBAR", cltrid="INF-2")
    root = assert_valid(ietf_schema, with_auth)
    assert root.findtext(".//c:info/c:authInfo/c:pw", namespaces=NS) == "2fooBAR"
    command = parse_command(with_auth)
    assert (command.name, command.obj, command.cltrid) == ("info", "contact", "INF-2")
    assert command.payload == ContactInfoQuery(handle="IL-7", auth_info="2fooBAR")
    assert parse_command(plain).payload == ContactInfoQuery(handle="IL-7")

    delete = contact_delete("IL-7", cltrid="DEL-1")
    assert_valid(ietf_schema, delete)
    command = parse_command(delete)
    assert (command.name, command.obj, command.cltrid, command.payload) == (
        "delete",
        "contact",
        "DEL-1",
        "IL-7",
    )


def test_contact_update_add_rem_and_full_change(ietf_schema: etree.XMLSchema) -> None:
    contact = sample_contact(fax=None, org=None)
    update = ContactUpdate(
        handle=contact.handle,
        add_statuses=("clientDeleteProhibited",),
        rem_statuses=("clientUpdateProhibited", "clientTransferProhibited"),
        change=ContactChange.from_contact(contact, Disclose(org=True, addr=True)),
    )
    frame = contact_update(update, cltrid="UPD-1")
    root = assert_valid(ietf_schema, frame)
    element = root.find(".//c:update", NS)
    assert [local(c) for c in element] == ["id", "add", "rem", "chg"]
    assert [s.get("s") for s in element.findall("c:rem/c:status", NS)] == [
        "clientUpdateProhibited",
        "clientTransferProhibited",
    ]
    chg = element.find("c:chg", NS)
    assert [local(c) for c in chg] == [
        "postalInfo",
        "voice",
        "fax",
        "email",
        "authInfo",
        "disclose",
    ]
    # Replacing everything clears what the contact no longer has.
    assert chg.find("c:fax", NS).text is None
    assert chg.find("c:postalInfo/c:org", NS).text is None
    assert [local(i) for i in chg.find("c:disclose", NS)] == ["name", "voice", "fax", "email"]

    command = parse_command(frame)
    assert (command.name, command.obj, command.cltrid) == ("update", "contact", "UPD-1")
    assert command.payload == update


def test_contact_update_partial_change(ietf_schema: etree.XMLSchema) -> None:
    update = ContactUpdate(
        handle="IL-9",
        change=ContactChange(email="new@example.org", voice="+1.2025550100", voice_ext="5"),
    )
    root = assert_valid(ietf_schema, contact_update(update, cltrid="UPD-2"))
    chg = root.find(".//c:update/c:chg", NS)
    assert [local(c) for c in chg] == ["voice", "email"]
    assert parse_command(contact_update(update, cltrid="UPD-3")).payload == update


def test_contact_update_needs_something_to_do() -> None:
    with pytest.raises(ValueError, match="at least one"):
        contact_update(ContactUpdate(handle="IL-9"), cltrid="UPD-4")
    with pytest.raises(ValueError, match="at least one"):
        contact_update(ContactUpdate(handle="IL-9", change=ContactChange()), cltrid="UPD-5")


# ---------------------------------------------------------------- domain frames


def test_domain_check_and_info(ietf_schema: etree.XMLSchema) -> None:
    check = domain_check(["example.ch", "xn--bcher-kva.ch"], cltrid="DC-1")
    assert_valid(ietf_schema, check)
    command = parse_command(check)
    assert (command.name, command.obj, command.payload) == (
        "check",
        "domain",
        ("example.ch", "xn--bcher-kva.ch"),
    )

    info = domain_info("example.ch", cltrid="DI-1")
    root = assert_valid(ietf_schema, info)
    assert root.find(".//d:info/d:name", NS).get("hosts") == "all"
    assert root.find(".//d:info/d:authInfo", NS) is None
    assert parse_command(info).payload == DomainInfoQuery(name="example.ch")

    authed = domain_info("example.ch", auth_info="2fooBAR", cltrid="DI-2")
    root = assert_valid(ietf_schema, authed)
    assert root.findtext(".//d:info/d:authInfo/d:pw", namespaces=NS) == "2fooBAR"
    command = parse_command(authed)
    assert (command.obj, command.cltrid) == ("domain", "DI-2")
    assert command.payload == DomainInfoQuery(name="example.ch", auth_info="2fooBAR")


def test_domain_create(ietf_schema: etree.XMLSchema) -> None:
    create = DomainCreate(
        name="example.ch",
        period=2,
        ns=("ns1.interlink.example", "ns2.interlink.example"),
        registrant="IL-000001",
        contacts=(("admin", "IL-000001"), ("tech", "IL-HOUSE"), ("billing", "IL-000001")),
        auth_info="d0main-Auth",
    )
    frame = domain_create(create, cltrid="DCR-1")
    root = assert_valid(ietf_schema, frame)
    element = root.find(".//d:create", NS)
    assert [local(c) for c in element] == [
        "name",
        "period",
        "ns",
        "registrant",
        "contact",
        "contact",
        "contact",
        "authInfo",
    ]
    assert element.find("d:period", NS).get("unit") == "y"
    assert element.findtext("d:period", namespaces=NS) == "2"
    command = parse_command(frame)
    assert (command.name, command.obj, command.cltrid) == ("create", "domain", "DCR-1")
    assert command.payload == create


def test_domain_create_refuses_unknown_contact_types() -> None:
    bad = DomainCreate(name="example.ch", contacts=(("owner", "IL-1234"),), auth_info="x")
    with pytest.raises(ValueError, match="admin, billing or tech"):
        domain_create(bad, cltrid="DCR-2")


def test_tech_move_is_one_domain_update(ietf_schema: etree.XMLSchema) -> None:
    update = DomainUpdate(
        name="example.ch",
        add_contacts=(("tech", "NEWTECH-1"),),
        rem_contacts=(("tech", "IL-HOUSE"),),
    )
    frame = domain_update(update, cltrid="MOVE-1")
    root = assert_valid(ietf_schema, frame)
    updates = root.findall(".//d:update", NS)
    assert len(updates) == 1
    add = updates[0].find("d:add/d:contact", NS)
    rem = updates[0].find("d:rem/d:contact", NS)
    assert (add.get("type"), add.text) == ("tech", "NEWTECH-1")
    assert (rem.get("type"), rem.text) == ("tech", "IL-HOUSE")
    assert updates[0].find("d:chg", NS) is None
    command = parse_command(frame)
    assert (command.name, command.obj, command.cltrid) == ("update", "domain", "MOVE-1")
    assert command.payload == update


def test_domain_update_statuses_ns_and_registrant(ietf_schema: etree.XMLSchema) -> None:
    update = DomainUpdate(
        name="example.ch",
        add_ns=("ns3.example.net",),
        add_statuses=("clientHold",),
        rem_ns=("ns1.example.net",),
        rem_contacts=(("admin", "IL-OLD-1"),),
        rem_statuses=("clientUpdateProhibited",),
        registrant="IL-NEW-2",
    )
    frame = domain_update(update, cltrid="UPD-D1")
    root = assert_valid(ietf_schema, frame)
    element = root.find(".//d:update", NS)
    assert [local(c) for c in element] == ["name", "add", "rem", "chg"]
    assert [local(c) for c in element.find("d:rem", NS)] == ["ns", "contact", "status"]
    assert element.findtext("d:chg/d:registrant", namespaces=NS) == "IL-NEW-2"
    assert parse_command(frame).payload == update

    with pytest.raises(ValueError, match="at least one"):
        domain_update(DomainUpdate(name="example.ch"), cltrid="UPD-D2")


# ---------------------------------------------------------------- property-based contact frames

ASCII_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("\t\n")
UNICODE_TEXT = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")
) | st.sampled_from("\t\n\r")


def lines(alphabet: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    # Short values most of the time, and the schema's exact maximum length too (a short draw
    # repeated: drawing 255 characters one by one would make each example slow).
    short = st.text(alphabet, min_size=1, max_size=min(max_size, 40))
    return short | short.map(lambda value: (value * max_size)[:max_size])


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.none() | strategy


TOKEN_WORD = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=5)
HANDLES = st.from_regex(r"[A-Za-z0-9-]{3}|[A-Za-z0-9-]{16}|[A-Za-z0-9-]{4,15}", fullmatch=True)
PHONES = st.from_regex(r"\+[0-9]{1,3}\.[0-9]{1,14}", fullmatch=True).filter(lambda p: len(p) <= 17)
EXTS = st.from_regex(r"[0-9]{1,6}", fullmatch=True)
POSTCODES = st.from_regex(r"[0-9A-Z]{1,16}|[0-9A-Z]{1,7} [0-9A-Z]{1,8}", fullmatch=True)
EMAILS = st.from_regex(r"[a-z0-9._+-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True)


@st.composite
def ascii_forms(draw: st.DrawFn) -> PostalInfo:
    """An "int" postalInfo, as sent beside a "loc" one."""
    return PostalInfo(
        type="int",
        name=draw(lines(ASCII_TEXT, 255)),
        org=draw(optional(lines(ASCII_TEXT, 255))),
        addr=Address(
            street=tuple(draw(st.lists(lines(ASCII_TEXT, 255), max_size=3))),
            city=draw(lines(ASCII_TEXT, 255)),
            sp=draw(optional(lines(ASCII_TEXT, 255))),
            pc=draw(optional(POSTCODES)),
            cc=draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        ),
    )


@st.composite
def contacts(draw: st.DrawFn) -> ContactData:
    postal_type = draw(st.sampled_from(["int", "loc"]))
    alphabet = ASCII_TEXT if postal_type == "int" else UNICODE_TEXT
    voice = draw(optional(PHONES))
    fax = draw(optional(PHONES))
    return ContactData(
        handle=draw(HANDLES),
        name=draw(lines(alphabet, 255)),
        org=draw(optional(lines(alphabet, 255))),
        street=tuple(draw(st.lists(lines(alphabet, 255), max_size=3))),
        city=draw(lines(alphabet, 255)),
        sp=draw(optional(lines(alphabet, 255))),
        pc=draw(optional(POSTCODES)),
        cc=draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        voice=voice,
        voice_ext=draw(optional(EXTS)) if voice else None,
        fax=fax,
        fax_ext=draw(optional(EXTS)) if fax else None,
        email=draw(EMAILS),
        auth_info=draw(st.text(alphabet, min_size=1, max_size=32)),
        postal_type=postal_type,
        ascii_form=draw(st.none() | ascii_forms()) if postal_type == "loc" else None,
    )


DISCLOSES = st.builds(
    Disclose,
    name=st.booleans(),
    org=st.booleans(),
    addr=st.booleans(),
    voice=st.booleans(),
    fax=st.booleans(),
    email=st.booleans(),
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(contact=contacts(), disclose=DISCLOSES)
def test_any_contact_create_validates_and_parses_back(
    ietf_schema: etree.XMLSchema, contact: ContactData, disclose: Disclose
) -> None:
    frame = contact_create(contact, disclose, cltrid="PROP-1")
    root = assert_valid(ietf_schema, frame)
    names = [local(c) for c in root.find(".//c:create", NS)]
    private = [item for item in DISCLOSE_ORDER if not getattr(disclose, item)]
    if private:
        assert names[-2:] == ["authInfo", "disclose"]
    else:
        assert names[-1] == "authInfo"
    command = parse_command(frame)
    assert command.cltrid == "PROP-1"
    assert command.payload == ContactCreate(contact=contact, disclose=disclose if private else None)


@PROPERTY_SETTINGS
@given(contact=contacts(), disclose=DISCLOSES)
def test_any_contact_replacement_update_validates_and_parses_back(
    ietf_schema: etree.XMLSchema, contact: ContactData, disclose: Disclose
) -> None:
    update = ContactUpdate(
        handle=contact.handle, change=ContactChange.from_contact(contact, disclose)
    )
    frame = contact_update(update, cltrid="PROP-2")
    root = assert_valid(ietf_schema, frame)
    assert [local(c) for c in root.find(".//c:chg", NS)][-2:] == ["authInfo", "disclose"]
    assert parse_command(frame).payload == update


@PROPERTY_SETTINGS
@given(contact=contacts(), disclose=st.none() | DISCLOSES)
def test_any_contact_info_answer_round_trips(
    ietf_schema: etree.XMLSchema, contact: ContactData, disclose: Disclose | None
) -> None:
    info = ContactInfo(
        handle=contact.handle,
        roid="C42-SANDBOX",
        statuses=("ok", "linked"),
        postal_info=contact.postal_infos,
        voice=contact.voice,
        voice_ext=contact.voice_ext,
        fax=contact.fax,
        fax_ext=contact.fax_ext,
        email=contact.email,
        cl_id="interlink",
        cr_id="interlink",
        cr_date=T0,
        up_id="interlink",
        up_date=T0 + timedelta(days=1),
        auth_info=contact.auth_info,
        disclose=disclose,
    )
    frame = build_response(1000, None, "PROP-3", "SV-PROP-3", contact_info_data(info))
    assert_valid(ietf_schema, frame)
    assert parse_response(frame).res_data == {"contact_info": info}


# ---------------------------------------------------------------- server frames -> client parser


def test_greeting_round_trip(ietf_schema: etree.XMLSchema) -> None:
    greeting = Greeting(
        sv_id="Interlink sandbox registry",
        sv_date=T0,
        langs=("en", "fr"),
        ext_uris=("urn:ietf:params:xml:ns:secDNS-1.1",),
        dcp=Dcp(
            access="personalAndOther",
            statements=(
                DcpStatement(purposes=("admin", "prov"), recipients=("ours",), retention="legal"),
                DcpStatement(
                    purposes=("contact", "other"),
                    recipients=("public", "same"),
                    retention="stated",
                ),
            ),
            expiry_relative="P1Y",
        ),
    )
    frame = build_greeting(greeting)
    root = assert_valid(ietf_schema, frame)
    assert root.findtext("e:greeting/e:svDate", namespaces=NS) == "2024-05-17T08:30:15.250000Z"
    assert parse_greeting(frame) == greeting


def test_default_greeting_round_trip(ietf_schema: etree.XMLSchema) -> None:
    greeting = Greeting(sv_id="sandbox", sv_date=T0)
    frame = build_greeting(greeting)
    assert_valid(ietf_schema, frame)
    parsed = parse_greeting(frame)
    assert parsed == greeting
    assert CONTACT in parsed.obj_uris and DOMAIN in parsed.obj_uris


def test_greeting_with_absolute_expiry(ietf_schema: etree.XMLSchema) -> None:
    greeting = Greeting(sv_id="sandbox", sv_date=T0, dcp=Dcp(expiry_absolute=T0 + timedelta(30)))
    frame = build_greeting(greeting)
    assert_valid(ietf_schema, frame)
    assert parse_greeting(frame) == greeting


@pytest.mark.parametrize(
    ("element", "key", "expected"),
    [
        (
            contact_check_data([CheckItem("IL-1a", True), CheckItem("IL-2b", False, "In use")]),
            "contact_check",
            {"IL-1a": CheckItem("IL-1a", True), "IL-2b": CheckItem("IL-2b", False, "In use")},
        ),
        (
            domain_check_data([CheckItem("example.ch", False, "Registered")]),
            "domain_check",
            {"example.ch": CheckItem("example.ch", False, "Registered")},
        ),
        (
            contact_create_data("IL-1a", T0),
            "contact_create",
            ContactCreated(handle="IL-1a", cr_date=T0),
        ),
        (
            domain_create_data("example.ch", T0, T0 + timedelta(days=365)),
            "domain_create",
            DomainCreated(name="example.ch", cr_date=T0, ex_date=T0 + timedelta(days=365)),
        ),
    ],
    ids=["contact_check", "domain_check", "contact_create", "domain_create"],
)
def test_res_data_round_trip(
    ietf_schema: etree.XMLSchema, element: etree._Element, key: str, expected: object
) -> None:
    frame = build_response(1000, "Command completed successfully", "C-1", "S-1", element)
    assert_valid(ietf_schema, frame)
    response = parse_response(frame)
    assert (response.code, response.cltrid, response.svtrid, response.ok) == (
        1000,
        "C-1",
        "S-1",
        True,
    )
    assert response.res_data == {key: expected}


def test_domain_info_round_trip(ietf_schema: etree.XMLSchema) -> None:
    info = DomainInfo(
        name="example.ch",
        roid="D1234-SANDBOX",
        statuses=("clientTransferProhibited", "clientDeleteProhibited"),
        registrant="IL-000001",
        contacts=(("admin", "IL-000001"), ("tech", "NEWTECH-1")),
        ns=("ns1.example.net", "ns2.example.net"),
        hosts=("ns1.example.ch",),
        cl_id="interlink",
        cr_id="interlink",
        cr_date=T0,
        up_id="interlink",
        up_date=T0 + timedelta(hours=1),
        ex_date=T0 + timedelta(days=365),
        auth_info="2fooBAR",
    )
    frame = build_response(1000, None, "C-2", "S-2", domain_info_data(info))
    assert_valid(ietf_schema, frame)
    assert parse_response(frame).res_data == {"domain_info": info}


def test_response_without_res_data_and_with_msgq(ietf_schema: etree.XMLSchema) -> None:
    frame = build_response(
        1301,
        None,
        None,
        "S-3",
        msgq=MsgQ(count=5, id="12345", q_date=T0, message="Transfer requested."),
    )
    assert_valid(ietf_schema, frame)
    response = parse_response(frame)
    assert response.code == 1301
    assert response.message == "Command completed successfully; ack to dequeue"
    assert response.cltrid is None and response.svtrid == "S-3"
    assert response.msgq == MsgQ(count=5, id="12345", q_date=T0, message="Transfer requested.")
    assert response.res_data == {}


@pytest.mark.parametrize(("code", "ok"), [(1000, True), (1500, True), (2302, False), (2500, False)])
def test_response_ok(ietf_schema: etree.XMLSchema, code: int, ok: bool) -> None:
    frame = build_response(code, None, "C-4", "S-4")
    assert_valid(ietf_schema, frame)
    assert parse_response(frame).ok is ok


def test_build_response_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError, match="result code"):
        build_response(1234, "nope", "C-5", "S-5")


def test_dates_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        contact_create_data("IL-1a", datetime(2024, 1, 1))


def test_dates_are_sent_in_utc(ietf_schema: etree.XMLSchema) -> None:
    zurich = T0.astimezone(timezone(timedelta(hours=2)))
    frame = build_response(1000, None, "C-6", "S-6", contact_create_data("IL-1", zurich))
    root = assert_valid(ietf_schema, frame)
    assert root.findtext(".//c:crDate", namespaces=NS) == "2024-05-17T08:30:15.250000Z"


# ---------------------------------------------------------------- parsing what real servers send

RFC_GREETING = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <greeting>
    <svID>Example EPP server epp.example.com</svID>
    <svDate>2000-06-08T22:00:00.0Z</svDate>
    <svcMenu>
      <version>1.0</version>
      <lang>en</lang>
      <lang>fr</lang>
      <objURI>urn:ietf:params:xml:ns:obj1</objURI>
      <objURI>urn:ietf:params:xml:ns:obj2</objURI>
      <objURI>urn:ietf:params:xml:ns:obj3</objURI>
      <svcExtension>
        <extURI>http://custom/obj1ext-1.0</extURI>
      </svcExtension>
    </svcMenu>
    <dcp>
      <access><all/></access>
      <statement>
        <purpose><admin/><prov/></purpose>
        <recipient><ours/><public/></recipient>
        <retention><stated/></retention>
      </statement>
    </dcp>
  </greeting>
</epp>
"""

RFC_CONTACT_INFO = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <response>
    <result code="1000">
      <msg>Command completed successfully</msg>
    </result>
    <resData>
      <contact:infData
       xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">
        <contact:id>sh8013</contact:id>
        <contact:roid>SH8013-REP</contact:roid>
        <contact:status s="linked"/>
        <contact:status s="clientDeleteProhibited"/>
        <contact:postalInfo type="int">
          <contact:name>John Doe</contact:name>
          <contact:org>Example Inc.</contact:org>
          <contact:addr>
            <contact:street>123 Example Dr.</contact:street>
            <contact:street>Suite 100</contact:street>
            <contact:city>Dulles</contact:city>
            <contact:sp>VA</contact:sp>
            <contact:pc>20166-6503</contact:pc>
            <contact:cc>US</contact:cc>
          </contact:addr>
        </contact:postalInfo>
        <contact:voice x="1234">+1.7035555555</contact:voice>
        <contact:fax>+1.7035555556</contact:fax>
        <contact:email>jdoe@example.com</contact:email>
        <contact:clID>ClientY</contact:clID>
        <contact:crID>ClientX</contact:crID>
        <contact:crDate>1999-04-03T22:00:00.0Z</contact:crDate>
        <contact:upID>ClientX</contact:upID>
        <contact:upDate>1999-12-03T09:00:00.0Z</contact:upDate>
        <contact:trDate>2000-04-08T09:00:00.0Z</contact:trDate>
        <contact:authInfo>
          <contact:pw>2fooBAR</contact:pw>
        </contact:authInfo>
        <contact:disclose flag="0">
          <contact:voice/>
          <contact:email/>
        </contact:disclose>
      </contact:infData>
    </resData>
    <trID>
      <clTRID>ABC-12345</clTRID>
      <svTRID>54322-XYZ</svTRID>
    </trID>
  </response>
</epp>
"""

RFC_DOMAIN_INFO = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <response>
    <result code="1000">
      <msg>Command completed successfully</msg>
    </result>
    <resData>
      <domain:infData
       xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
        <domain:name>example.com</domain:name>
        <domain:roid>EXAMPLE1-REP</domain:roid>
        <domain:status s="ok"/>
        <domain:registrant>jd1234</domain:registrant>
        <domain:contact type="admin">sh8013</domain:contact>
        <domain:contact type="tech">sh8013</domain:contact>
        <domain:ns>
          <domain:hostObj>ns1.example.com</domain:hostObj>
          <domain:hostObj>ns1.example.net</domain:hostObj>
        </domain:ns>
        <domain:host>ns1.example.com</domain:host>
        <domain:host>ns2.example.com</domain:host>
        <domain:clID>ClientX</domain:clID>
        <domain:crID>ClientY</domain:crID>
        <domain:crDate>1999-04-03T22:00:00.0Z</domain:crDate>
        <domain:upID>ClientX</domain:upID>
        <domain:upDate>1999-12-03T09:00:00.0Z</domain:upDate>
        <domain:exDate>2005-04-03T22:00:00.0Z</domain:exDate>
        <domain:trDate>2000-04-08T09:00:00.0Z</domain:trDate>
        <domain:authInfo>
          <domain:pw>2fooBAR</domain:pw>
        </domain:authInfo>
      </domain:infData>
    </resData>
    <trID>
      <clTRID>ABC-12345</clTRID>
      <svTRID>54322-XYZ</svTRID>
    </trID>
  </response>
</epp>
"""

RFC_CONTACT_CHECK = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <response>
    <result code="1000">
      <msg>Command completed successfully</msg>
    </result>
    <resData>
      <contact:chkData
       xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">
        <contact:cd>
          <contact:id avail="1">sh8013</contact:id>
        </contact:cd>
        <contact:cd>
          <contact:id avail="0">sah8013</contact:id>
          <contact:reason>In use</contact:reason>
        </contact:cd>
        <contact:cd>
          <contact:id avail="1">8013sah</contact:id>
        </contact:cd>
      </contact:chkData>
    </resData>
    <trID>
      <clTRID>ABC-12345</clTRID>
      <svTRID>54322-XYZ</svTRID>
    </trID>
  </response>
</epp>
"""

RFC_ERRORS = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <response>
    <result code="2004">
      <msg>Parameter value range error</msg>
      <value xmlns:obj="urn:ietf:params:xml:ns:obj">
        <obj:elem1>2525</obj:elem1>
      </value>
    </result>
    <result code="2005">
      <msg>Parameter value syntax error</msg>
      <value xmlns:obj="urn:ietf:params:xml:ns:obj">
        <obj:elem2>ex(ample</obj:elem2>
      </value>
      <extValue>
        <value xmlns:obj="urn:ietf:params:xml:ns:obj">
          <obj:elem3>abc.ex(ample</obj:elem3>
        </value>
        <reason>Invalid character found.</reason>
      </extValue>
    </result>
    <trID>
      <clTRID>ABC-12345</clTRID>
      <svTRID>54322-XYZ</svTRID>
    </trID>
  </response>
</epp>
"""


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_parse_rfc5730_greeting() -> None:
    greeting = parse_greeting(RFC_GREETING)
    assert greeting.sv_id == "Example EPP server epp.example.com"
    assert greeting.sv_date == utc(2000, 6, 8, 22)
    assert greeting.versions == ("1.0",)
    assert greeting.langs == ("en", "fr")
    assert greeting.obj_uris == tuple(f"urn:ietf:params:xml:ns:obj{i}" for i in (1, 2, 3))
    assert greeting.ext_uris == ("http://custom/obj1ext-1.0",)
    assert greeting.dcp.access == "all"
    assert greeting.dcp.statements == (
        DcpStatement(purposes=("admin", "prov"), recipients=("ours", "public"), retention="stated"),
    )
    assert greeting.dcp.expiry_absolute is None and greeting.dcp.expiry_relative is None


def test_parse_rfc5733_contact_info() -> None:
    response = parse_response(RFC_CONTACT_INFO)
    assert (response.code, response.message) == (1000, "Command completed successfully")
    assert (response.cltrid, response.svtrid) == ("ABC-12345", "54322-XYZ")
    assert response.res_data["contact_info"] == ContactInfo(
        handle="sh8013",
        roid="SH8013-REP",
        statuses=("linked", "clientDeleteProhibited"),
        postal_info=(
            PostalInfo(
                type="int",
                name="John Doe",
                org="Example Inc.",
                addr=Address(
                    street=("123 Example Dr.", "Suite 100"),
                    city="Dulles",
                    sp="VA",
                    pc="20166-6503",
                    cc="US",
                ),
            ),
        ),
        voice="+1.7035555555",
        voice_ext="1234",
        fax="+1.7035555556",
        email="jdoe@example.com",
        cl_id="ClientY",
        cr_id="ClientX",
        cr_date=utc(1999, 4, 3, 22),
        up_id="ClientX",
        up_date=utc(1999, 12, 3, 9),
        tr_date=utc(2000, 4, 8, 9),
        auth_info="2fooBAR",
        disclose=Disclose(name=True, org=True, addr=True, voice=False, fax=True, email=False),
    )


def test_parse_rfc5731_domain_info() -> None:
    response = parse_response(RFC_DOMAIN_INFO)
    assert response.res_data["domain_info"] == DomainInfo(
        name="example.com",
        roid="EXAMPLE1-REP",
        statuses=("ok",),
        registrant="jd1234",
        contacts=(("admin", "sh8013"), ("tech", "sh8013")),
        ns=("ns1.example.com", "ns1.example.net"),
        hosts=("ns1.example.com", "ns2.example.com"),
        cl_id="ClientX",
        cr_id="ClientY",
        cr_date=utc(1999, 4, 3, 22),
        up_id="ClientX",
        up_date=utc(1999, 12, 3, 9),
        ex_date=utc(2005, 4, 3, 22),
        tr_date=utc(2000, 4, 8, 9),
        auth_info="2fooBAR",
    )


def test_parse_rfc5733_contact_check() -> None:
    checks = parse_response(RFC_CONTACT_CHECK).res_data["contact_check"]
    assert checks == {
        "sh8013": CheckItem("sh8013", True),
        "sah8013": CheckItem("sah8013", False, "In use"),
        "8013sah": CheckItem("8013sah", True),
    }


def test_parse_multiple_results_and_reasons() -> None:
    response = parse_response(RFC_ERRORS)
    assert (response.code, response.message, response.ok) == (
        2004,
        "Parameter value range error",
        False,
    )
    assert [(r.code, r.reasons) for r in response.results] == [
        (2004, ()),
        (2005, ("Invalid character found.",)),
    ]


def test_response_with_extension_namespaces_parses_without_validation() -> None:
    frame = RFC_DOMAIN_INFO.replace(
        b"    <trID>",
        b'    <extension><x:ext xmlns:x="urn:example:unknown-1.0"/></extension>\n    <trID>',
    )
    assert parse_response(frame).res_data["domain_info"].name == "example.com"
    with pytest.raises(EppSchemaError):
        parse_response(frame, validate=True)


# ---------------------------------------------------------------- parse_command edge cases


def test_parse_command_reports_unhandled_commands_without_payload() -> None:
    renew = b"""<?xml version="1.0" encoding="UTF-8"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><renew>
<domain:renew xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.ch</domain:name>
<domain:curExpDate>2025-04-03</domain:curExpDate></domain:renew></renew>
<clTRID>ABC-77</clTRID></command></epp>"""
    command = parse_command(renew)
    assert (command.name, command.obj, command.cltrid, command.payload) == (
        "renew",
        "domain",
        "ABC-77",
        None,
    )


def test_parse_command_validates_by_default() -> None:
    frame = contact_delete("IL-7", cltrid="DEL-9").replace(b"IL-7", b"I")
    with pytest.raises(EppSchemaError, match="line"):
        parse_command(frame)
    assert parse_command(frame, validate=False).payload == "I"


def test_parse_command_refuses_responses_and_wrong_roots() -> None:
    with pytest.raises(EppParseError, match="expected <hello> or <command>"):
        parse_command(build_response(1000, None, "C-1", "S-1"), validate=False)
    with pytest.raises(EppParseError, match="root element"):
        parse_command(b"<hello/>")
    with pytest.raises(EppParseError, match="expected <response>, got <greeting>"):
        parse_response(RFC_GREETING)


# ---------------------------------------------------------------- hostile input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE epp [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response><result code="1000"><msg>&lol9;</msg>
</result><trID><svTRID>S-1</svTRID></trID></response></epp>
"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE epp [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response><result code="1000"><msg>&xxe;</msg>
</result><trID><svTRID>S-1</svTRID></trID></response></epp>
"""

EXTERNAL_DTD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE epp SYSTEM "http://attacker.example/epp.dtd">
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>
"""

PARSERS = {
    "parse_response": parse_response,
    "parse_greeting": parse_greeting,
    "parse_command": parse_command,
    "validate_frame": validate_frame,
    "parse_frame": parse_frame,
}


@pytest.mark.parametrize("parse", PARSERS.values(), ids=PARSERS.keys())
@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (BILLION_LAUGHS, "DOCTYPE; DTDs and entities are refused"),
        (XXE, "DOCTYPE; DTDs and entities are refused"),
        (EXTERNAL_DTD, "DOCTYPE; DTDs and entities are refused"),
        (b'<!ENTITY x "y"><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"/>', "ENTITY"),
        (b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello>', "malformed XML"),
        (b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">&foo;</epp>', "malformed XML"),
        (b"<epp>\xe9</epp>", "not valid UTF-8"),
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?>'
            b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>',
            "must be UTF-8",
        ),
        ('<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>'.encode("utf-16"), "UTF-8"),
        (b"", "empty"),
        (b"not xml at all", "malformed XML"),
    ],
    ids=[
        "billion-laughs",
        "xxe",
        "external-dtd",
        "entity",
        "truncated",
        "undefined-entity",
        "latin-1-bytes",
        "declared-latin-1",
        "utf-16",
        "empty",
        "garbage",
    ],
)
def test_hostile_frames_are_refused(parse: object, frame: bytes, reason: str) -> None:
    with pytest.raises(EppParseError, match=re.escape(reason)) as caught:
        parse(frame)  # type: ignore[operator]
    assert caught.value.code == 2001


def test_billion_laughs_is_refused_before_expansion() -> None:
    with pytest.raises(EppParseError, match="DOCTYPE") as caught:
        parse_frame(BILLION_LAUGHS)
    assert "lol" not in str(caught.value)


def test_oversized_frames_are_refused() -> None:
    padding = b" " * (1024 * 1024)
    big = hello().replace(b"<hello/>", b"<hello/>" + padding)
    with pytest.raises(EppParseError, match=r"limit is 1048576 bytes"):
        parse_command(big)
    small = hello()
    assert parse_command(small).name == "hello"
    with pytest.raises(EppParseError, match=r"limit is 64 bytes"):
        parse_command(small, max_bytes=64)
    with pytest.raises(EppParseError, match="limit"):
        validate_frame(small, max_bytes=64)


def test_str_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_frame(hello().decode())  # type: ignore[arg-type]
