"""Non-ASCII postal data goes as "loc" with its ASCII form as "int" beside it (RFC 5733 §2.5);
the sandbox keeps and returns both; our client reads both back without loss."""

from __future__ import annotations

import pytest
from lxml import etree

from domains.ascii_corrections import AsciiFormCorrections
from domains.contact_corrections import ContactCorrections
from portal.links import PortalLinks
from publishers.epp.client.commands import contact_create, contact_info, contact_update
from publishers.epp.client.responses import parse_response
from publishers.epp.model import (
    CONTACT_NS,
    Address,
    ContactChange,
    ContactData,
    ContactUpdate,
    Disclose,
    PostalChange,
    PostalInfo,
)
from publishers.epp.xmlsafe import parse_frame
from publishers.sync.contacts import ascii_form, contact_data
from tests.support.factories import contact_data as person_data
from tests.support.sandbox import assert_frames_valid, endpoint_for, logged_in
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    assert_sandbox_equals_store,
    entries,
    move_tech,
    new_tech,
    registries,
    seed,
    statuses,
    sync_once,
    write_registries,
)

pytestmark = pytest.mark.usefixtures("sandbox_password")
C = {"c": CONTACT_NS}


def test_ascii_data_has_one_int_postal_info(store) -> None:
    contact = store.create_contact("staff:ann", person_data(name="Anna Berg", city="Bern"))
    data = contact_data(contact)
    assert data.postal_type == "int" and data.ascii_form is None
    assert [info.type for info in data.postal_infos] == ["int"]
    root = parse_frame(contact_create(data, Disclose(), cltrid="PF-1"))
    assert [p.get("type") for p in root.iterfind(".//c:postalInfo", C)] == ["int"]


def test_non_ascii_data_has_loc_and_its_ascii_form_as_int(store) -> None:
    contact = store.create_contact(
        "staff:ann",
        person_data(
            kind="organization",
            name="Jürgen Groß",
            org="Bücherstube Müller GmbH",
            street=["Straße des 17. Juni 5", "Hinterhaus"],
            city="Köln",
            state="Nordrhein-Westfalen",
            postal_code="50667",
            country="DE",
        ),
    )
    data = contact_data(contact)
    assert data.postal_type == "loc"
    assert data.postal_info.name == "Jürgen Groß" and data.postal_info.addr.city == "Köln"
    assert data.ascii_form == PostalInfo(
        type="int",
        name="Jurgen Gross",
        org="Bucherstube Muller GmbH",
        addr=Address(
            street=("Strasse des 17. Juni 5", "Hinterhaus"),
            city="Koln",
            sp="Nordrhein-Westfalen",
            pc="50667",
            cc="DE",
        ),
    )
    frame = contact_create(data, Disclose(org=True), cltrid="PF-2")
    root = parse_frame(frame)
    forms = root.findall(".//c:create/c:postalInfo", C)
    assert [p.get("type") for p in forms] == ["int", "loc"]
    assert forms[0].findtext("c:name", namespaces=C) == "Jurgen Gross"
    assert forms[1].findtext("c:name", namespaces=C) == "Jürgen Groß"
    # A private name, address stays private in both forms; the public org is not listed.
    disclose = root.find(".//c:create/c:disclose", C)
    listed = [(etree.QName(i).localname, i.get("type")) for i in disclose]
    assert listed == [
        ("name", "int"),
        ("name", "loc"),
        ("addr", "int"),
        ("addr", "loc"),
        ("voice", None),
        ("fax", None),
        ("email", None),
    ]
    assert_frames_valid([frame])


def test_a_stored_ascii_form_is_the_int_postal_info_the_rest_transliterated(store) -> None:
    stored = {"name": "Juergen Gross", "street": ["Strasse des 17. Juni 5"], "city": "Cologne"}
    contact = store.create_contact(
        "staff:ann",
        person_data(
            kind="organization",
            name="Jürgen Groß",
            org="Bücherstube Müller GmbH",
            street=["Straße des 17. Juni 5", "Hinterhaus"],
            city="Köln",
            country="DE",
            ascii_postal=stored,
        ),
    )
    data = contact_data(contact)
    assert data.ascii_form == PostalInfo(
        type="int",
        name="Juergen Gross",
        org="Bucherstube Muller GmbH",
        addr=Address(
            street=("Strasse des 17. Juni 5",), city="Cologne", sp="Berlin", pc="10115", cc="DE"
        ),
    )
    root = parse_frame(contact_create(data, Disclose(), cltrid="PF-4"))
    int_form = root.find(".//c:create/c:postalInfo[@type='int']", C)
    assert int_form.findtext("c:name", namespaces=C) == "Juergen Gross"
    assert int_form.findtext("c:addr/c:city", namespaces=C) == "Cologne"
    # ASCII data goes as itself: a stored form is only for data that is not ASCII.
    plain = store.create_contact(
        "staff:ann", person_data(name="Anna Berg", city="Bern", ascii_postal={"city": "Berne"})
    )
    assert contact_data(plain).ascii_form is None
    assert contact_data(plain).postal_info.addr.city == "Bern"


def test_the_ascii_form_keeps_to_the_schema_limits() -> None:
    long = PostalInfo(
        type="loc",
        name="北京" * 200,
        addr=Address(street=("", "Ünter den Linden"), city="東京", pc="〒100-0001", cc="JP"),
    )
    form = ascii_form(long)
    assert form.name.isascii() and len(form.name) <= 255
    assert form.addr.street == ("Unter den Linden",)
    assert form.addr.city == "DongJing" and form.addr.pc is not None
    assert form.addr.pc.isascii() and len(form.addr.pc) <= 16
    # Nothing a transliteration can give for a required item: a placeholder, never empty.
    assert ascii_form(PostalInfo(type="loc", name="\u0301", addr=long.addr)).name == "-"


def test_the_client_reads_both_postal_infos_of_an_answer() -> None:
    answer = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response>
<result code="1000"><msg>Command completed successfully</msg></result>
<resData><contact:infData xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">
<contact:id>IL-77</contact:id><contact:roid>C77-REG</contact:roid><contact:status s="ok"/>
<contact:postalInfo type="loc"><contact:name>J\xc3\xbcrgen Gro\xc3\x9f</contact:name>
<contact:addr><contact:city>K\xc3\xb6ln</contact:city><contact:cc>DE</contact:cc></contact:addr>
</contact:postalInfo>
<contact:postalInfo type="int"><contact:name>Jurgen Gross</contact:name>
<contact:addr><contact:city>Koln</contact:city><contact:cc>DE</contact:cc></contact:addr>
</contact:postalInfo>
<contact:email>j@example.org</contact:email><contact:clID>interlink</contact:clID>
<contact:crID>interlink</contact:crID><contact:crDate>2024-01-02T03:04:05Z</contact:crDate>
<contact:disclose flag="0"><contact:name type="int"/><contact:name type="loc"/></contact:disclose>
</contact:infData></resData>
<trID><clTRID>PF-3</clTRID><svTRID>SV-1</svTRID></trID></response></epp>"""
    info = parse_response(answer, validate=True).res_data["contact_info"]
    assert [form.type for form in info.postal_info] == ["loc", "int"]
    assert info.postal("loc").name == "Jürgen Groß" and info.postal("loc").addr.city == "Köln"
    assert info.postal("int").name == "Jurgen Gross" and info.postal("int").addr.city == "Koln"
    assert info.localized == info.postal("loc")
    assert info.disclose is not None and not info.disclose.name and info.disclose.email


async def test_a_non_ascii_tech_reaches_the_sandbox_in_both_forms_and_comes_back(
    store, recording_sandbox, tmp_path
) -> None:
    sandbox = recording_sandbox
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 2)
    move_tech(store, seeded.names[0], new_tech(7, org="Bücherstube Müller GmbH", city="Köln"))
    move_tech(store, seeded.names[1], new_tech(8))
    await sync_once(store, regs)
    assert statuses(store) == {"done": 2}
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    creates = {c.payload.contact.handle: c.payload for c in sandbox.commands("create", "contact")}
    loc_tech = store.domain_record(seeded.names[0]).contact("tech")
    ascii_tech = store.domain_record(seeded.names[1]).contact("tech")
    sent = creates[loc_tech.handle].contact
    assert [form.type for form in sent.postal_infos] == ["int", "loc"]
    assert sent.ascii_form.org == "Bucherstube Muller GmbH"
    assert sent.ascii_form.addr.city == "Koln" and sent.city == "Köln"
    assert [form.type for form in creates[ascii_tech.handle].contact.postal_infos] == ["int"]

    snapshot = sandbox.snapshot()
    kept = snapshot.contacts[loc_tech.handle]
    assert kept.postal_type == "loc" and kept.org == "Bücherstube Müller GmbH"
    assert kept.ascii_form == sent.ascii_form
    assert snapshot.contacts[ascii_tech.handle].ascii_form is None

    # contact:info gives both back, as sent.
    session = await logged_in(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD))
    try:
        answer = await session.command(lambda t: contact_info(loc_tech.handle, cltrid=t))
        info = answer.res_data["contact_info"]
        assert info.postal_info == sent.postal_infos
        answer = await session.command(lambda t: contact_info(ascii_tech.handle, cltrid=t))
        assert [form.type for form in answer.res_data["contact_info"].postal_info] == ["int"]
    finally:
        await session.logout()
    assert_frames_valid(sandbox.received)


async def test_the_sandbox_keeps_both_forms_through_updates(recording_sandbox) -> None:
    sandbox = recording_sandbox
    session = await logged_in(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD))
    address = Address(street=("Hauptstrasse 1",), city="Zurich", pc="8001", cc="CH")
    try:
        created = await session.command(
            lambda t: contact_create(
                contact_data_for("IL-PF1", "Anna Muller", address), Disclose(), cltrid=t
            )
        )
        assert created.code == 1000
        # Adding a "loc" form to an "int"-only contact: the int one stays as it was.
        loc = PostalChange(
            type="loc", name="Anna Müller", addr=Address(city="Zürich", cc="CH", pc="8001")
        )
        change = ContactChange(postal=(loc,))
        answer = await session.command(
            lambda t: contact_update(ContactUpdate(handle="IL-PF1", change=change), cltrid=t)
        )
        assert answer.code == 1000
        info = (await session.command(lambda t: contact_info("IL-PF1", cltrid=t))).res_data[
            "contact_info"
        ]
        assert info.postal("int") == PostalInfo(type="int", name="Anna Muller", addr=address)
        assert info.postal("loc") == PostalInfo(
            type="loc", name="Anna Müller", addr=Address(city="Zürich", cc="CH", pc="8001")
        )
        # A change of the int form's name only leaves the loc form alone.
        change = ContactChange(postal=(PostalChange(type="int", name="Anna Mueller"),))
        await session.command(
            lambda t: contact_update(ContactUpdate(handle="IL-PF1", change=change), cltrid=t)
        )
        info = (await session.command(lambda t: contact_info("IL-PF1", cltrid=t))).res_data[
            "contact_info"
        ]
        assert info.postal("int").name == "Anna Mueller"
        assert info.postal("loc").name == "Anna Müller"
        # An "int" form with non-ASCII text is refused (RFC 5733 §2.3), nothing changed.
        frame = contact_update(
            ContactUpdate(
                handle="IL-PF1",
                change=ContactChange(postal=(PostalChange(type="loc", name="Zoë"),)),
            ),
            cltrid="PF-BAD",
        ).replace(b'type="loc"', b'type="int"')
        refused = await session.command(lambda t: frame, cltrid="PF-BAD")
        assert refused.code == 2005
        info = (await session.command(lambda t: contact_info("IL-PF1", cltrid=t))).res_data[
            "contact_info"
        ]
        assert info.postal("int").name == "Anna Mueller"
    finally:
        await session.logout()
    assert_frames_valid(sandbox.received)


def contact_data_for(handle: str, name: str, address: Address) -> ContactData:
    return ContactData(
        handle=handle,
        name=name,
        street=address.street,
        city=address.city,
        pc=address.pc,
        cc=address.cc,
        email="anna@example.org",
        auth_info="x7!Pq2mZ",
    )


async def test_a_changed_ascii_form_reaches_the_sandbox_as_the_int_postal_info(
    store, recording_sandbox, tmp_path
) -> None:
    sandbox = recording_sandbox
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    move_tech(store, seeded.names[0], new_tech(7, name="Jürgen Groß", city="Köln"))
    await sync_once(store, regs)
    tech = store.domain_record(seeded.names[0]).contact("tech")
    assert sandbox.snapshot().contacts[tech.handle].ascii_form.name == "Jurgen Gross"

    stored = {"name": "Juergen Gross", "city": "Cologne"}
    store.update_contact("staff:ann", tech.handle, tech.version, {"ascii_postal": stored})
    queued = [e for e in entries(store) if e.kind == "contact.update"]
    assert [e.payload["fields"] for e in queued] == [["ascii_postal"]]
    await sync_once(store, regs)
    assert statuses(store)["done"] == len(entries(store))
    (update,) = sandbox.commands("update", "contact")
    # Only the int form changes; the localized one is as it was.
    assert [(p.type, p.name, p.addr.city) for p in update.payload.change.postal] == [
        ("int", "Juergen Gross", "Cologne")
    ]

    session = await logged_in(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD))
    try:
        answer = await session.command(lambda t: contact_info(tech.handle, cltrid=t))
        info = answer.res_data["contact_info"]
    finally:
        await session.logout()
    assert info.postal("int").name == "Juergen Gross" and info.postal("int").addr.city == "Cologne"
    assert info.postal("int").org == "Hosting Company 7 GmbH"
    assert info.postal("loc").name == "Jürgen Groß" and info.postal("loc").addr.city == "Köln"
    assert_frames_valid(sandbox.received)


async def test_the_customers_ascii_form_reaches_the_sandbox_and_a_moved_city_drops_its_own(
    store, recording_sandbox, tmp_path
) -> None:
    sandbox = recording_sandbox
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    (name,) = seed(store, sandbox, 1, tlds=("de",)).names
    record = store.domain_record(name)
    number, registrant = record.account.number, record.contact("registrant")
    assert registrant is not None
    links = PortalLinks(store.settings)
    moved = ContactCorrections(store, links).edit(
        number,
        registrant.handle,
        registrant.version,
        {"street": ["Müllerstraße 5"], "city": "Zürich", "postal_code": "8001", "country": "CH"},
    )
    given = {"street": ["Muellerstrasse 5"], "city": "Zurich"}
    AsciiFormCorrections(store, links).set_ascii_form(
        number, registrant.handle, moved.result.version, given
    )
    for _ in range(2):  # one entry of a contact per run: the address, then its ASCII form
        await sync_once(store, regs)
    assert [e.payload["fields"] for e in entries(store)] == [
        ["city", "country", "postal_code", "street"],
        ["ascii_postal"],
    ]
    assert statuses(store) == {"done": 2}
    held = sandbox.snapshot().contacts[registrant.handle]
    assert held.ascii_form.addr.street == ("Muellerstrasse 5",)
    assert held.ascii_form.addr.city == "Zurich" and held.city == "Zürich"

    # The customer moves to Geneva without an ASCII form: Zurich's is dropped, Genève
    # transliterated; the street's still corresponds and stays.
    now = store.get_contact(registrant.handle)
    ContactCorrections(store, links).edit(
        number, registrant.handle, now.version, {"city": "Genève", "postal_code": "1201"}
    )
    assert store.get_contact(registrant.handle).ascii_postal == {"street": ["Muellerstrasse 5"]}
    await sync_once(store, regs)
    assert statuses(store) == {"done": 3}
    held = sandbox.snapshot().contacts[registrant.handle]
    assert held.ascii_form.addr.city == "Geneve" and held.city == "Genève"
    assert held.ascii_form.addr.street == ("Muellerstrasse 5",)
    assert_frames_valid(sandbox.received)
