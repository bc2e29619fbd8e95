"""WHOIS text: the ICANN registrar layout, CRLF, UTC times, redaction, and python-whois reads it.

The technical contact is the Registration Data Policy's: Tech Name, Tech Phone (and its Ext) and
Tech Email only; a domain without name servers has one empty `Name Server:` line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from whois.parser import WhoisEntry

from publishers.policy import REDACTED_TEXT, contact_form_url
from publishers.whois import render_whois
from tests.support.records import REGISTRAR, house_contact, make_contact, make_record, view_of

CONTACT_LABELS = [
    "Registry {r} ID",
    "{r} Name",
    "{r} Organization",
    "{r} Street",
    "{r} City",
    "{r} State/Province",
    "{r} Postal Code",
    "{r} Country",
    "{r} Phone",
    "{r} Phone Ext",
    "{r} Fax",
    "{r} Fax Ext",
    "{r} Email",
]
#: ICANN's Registration Data Policy: the technical contact is a name, a phone and an e-mail.
TECH_LABELS = ["{r} Name", "{r} Phone", "{r} Phone Ext", "{r} Email"]
EXPECTED_LABELS = [
    "Domain Name",
    "Registry Domain ID",
    "Registrar WHOIS Server",
    "Registrar URL",
    "Updated Date",
    "Creation Date",
    "Registrar Registration Expiration Date",
    "Registrar",
    "Registrar IANA ID",
    "Registrar Abuse Contact Email",
    "Registrar Abuse Contact Phone",
    "Reseller",
    "Domain Status",
    "Domain Status",
    *[label.format(r="Registrant") for label in CONTACT_LABELS],
    *[label.format(r="Tech") for label in TECH_LABELS],
    "Name Server",
    "Name Server",
    "DNSSEC",
    "URL of the ICANN Whois Inaccuracy Complaint Form",
]


def whois_text(**domain: object) -> str:
    """The WHOIS answer of a domain with a redacted person registrant and the house tech."""
    record = make_record({"registrant": make_contact(), "tech": house_contact()}, **domain)
    return render_whois(view_of(record))


def fields(text: str) -> dict[str, list[str]]:
    """label -> values, for the `Label: value` lines before the last-update line."""
    out: dict[str, list[str]] = {}
    for line in text.split("\r\n"):
        if line.startswith(">>>"):
            break
        label, _, value = line.partition(": ")
        out.setdefault(label.rstrip(":"), []).append(value)
    return out


def test_layout_is_the_icann_order() -> None:
    text = whois_text()
    head = text.split("\r\n>>>")[0].split("\r\n")
    assert [line.split(":")[0] for line in head] == EXPECTED_LABELS
    tail = text.split("\r\n")[len(head) :]
    assert tail[0] == ">>> Last update of WHOIS database: 2026-11-27T12:00:00Z <<<"
    assert tail[1] == ""
    assert (
        tail[2] == "For more information on Whois status codes, please visit https://icann.org/epp"
    )
    assert tail[3] == ""
    assert tail[4].startswith("TERMS OF USE:")
    assert REGISTRAR.terms_url in text


def test_crlf_line_ends_only() -> None:
    text = whois_text()
    assert text.endswith("\r\n")
    assert text.count("\n") == text.count("\r\n") == text.count("\r")


def test_domain_and_registrar_lines() -> None:
    got = fields(whois_text())
    assert got["Domain Name"] == ["KITE-MAKERS.COM"]
    assert got["Registry Domain ID"] == ["D9137-COM"]
    assert got["Registrar WHOIS Server"] == [REGISTRAR.whois_server]
    assert got["Registrar URL"] == [REGISTRAR.url]
    assert got["Updated Date"] == ["2026-02-01T09:30:00Z"]
    assert got["Creation Date"] == ["2021-03-04T05:06:07Z"]
    assert got["Registrar Registration Expiration Date"] == ["2027-03-04T05:06:07Z"]
    assert got["Registrar"] == [REGISTRAR.name]
    assert got["Registrar IANA ID"] == [REGISTRAR.iana_id]
    assert got["Registrar Abuse Contact Email"] == [REGISTRAR.abuse_email]
    assert got["Registrar Abuse Contact Phone"] == [REGISTRAR.abuse_phone]
    assert got["Reseller"] == [""]
    assert got["Domain Status"] == [
        "clientTransferProhibited https://icann.org/epp#clientTransferProhibited",
        "clientDeleteProhibited https://icann.org/epp#clientDeleteProhibited",
    ]
    assert got["Name Server"] == ["NS1.INTERLINK.EXAMPLE.NET", "NS2.INTERLINK.EXAMPLE.NET"]
    assert got["DNSSEC"] == ["unsigned"]
    assert got["URL of the ICANN Whois Inaccuracy Complaint Form"] == [
        "https://www.icann.org/wicf/"
    ]


def test_times_are_utc_with_z_whatever_the_stored_offset() -> None:
    cet = timezone(timedelta(hours=1))
    got = fields(whois_text(created_at=datetime(2021, 3, 4, 6, 6, 7, 123456, tzinfo=cet)))
    assert got["Creation Date"] == ["2021-03-04T05:06:07Z"]


def test_dnssec_signed_and_status_ok() -> None:
    got = fields(whois_text(dnssec=True, statuses=[]))
    assert got["DNSSEC"] == ["signedDelegation"]
    assert got["Domain Status"] == ["ok https://icann.org/epp#ok"]


def test_redacted_registrant_and_published_tech() -> None:
    got = fields(whois_text())
    for label in (
        "Registry Registrant ID",
        "Registrant Name",
        "Registrant Street",
        "Registrant City",
        "Registrant Postal Code",
        "Registrant Phone",
        "Registrant Phone Ext",
        "Registrant Fax",
        "Registrant Fax Ext",
    ):
        assert got[label] == [REDACTED_TEXT], label
    assert got["Registrant Organization"] == ["Farthingale Kites"]
    assert got["Registrant State/Province"] == ["Wiltshire"]
    assert got["Registrant Country"] == ["GB"]
    assert got["Registrant Email"] == [contact_form_url(REGISTRAR, "kite-makers.com", "registrant")]
    assert got["Tech Name"] == ["Interlink Hostmaster"]
    assert got["Tech Phone"] == ["+44.1179000000"]
    assert got["Tech Phone Ext"] == [""]
    assert got["Tech Email"] == ["hostmaster@interlink.example.net"]
    for label in ("Registry Tech ID", "Tech Organization", "Tech Street", "Tech Fax"):
        assert label not in got  # not part of the RDP's technical contact, even the house's


def test_the_tech_block_is_name_phone_and_email_each_redacted() -> None:
    tech_contact = make_contact(
        handle="ILC9",
        kind="organization",
        org="Spindle Hosting Ltd",
        street=["9 Spindle Lane"],
        city="Ottery",
        state="Devon",
        postal_code="EX11 1AA",
        fax="+44.1404555999",
    )
    record = make_record({"registrant": make_contact(), "tech": tech_contact})
    text = render_whois(view_of(record))
    tech = [line for line in text.split("\r\n") if line.startswith(("Tech ", "Registry Tech"))]
    form = f"{REGISTRAR.contact_form_url}?domain=kite-makers.com&role=tech"
    assert tech == [
        f"Tech Name: {REDACTED_TEXT}",
        f"Tech Phone: {REDACTED_TEXT}",
        f"Tech Phone Ext: {REDACTED_TEXT}",
        f"Tech Email: {form}",
    ]
    # No organisation, address (not even the state) or fax of the tech, nor its handle.
    for private in ("Spindle", "Ottery", "Devon", "EX11 1AA", "555999", "ILC9"):
        assert private not in text


def test_a_consenting_tech_shows_its_name_and_phone_and_still_no_address() -> None:
    tech = make_contact(
        handle="ILC9", consent_fields=["name", "voice", "street", "org"], consent_method="portal"
    )
    got = fields(render_whois(view_of(make_record({"registrant": make_contact(), "tech": tech}))))
    assert got["Tech Name"] == ["Imogen Farthingale"]
    assert got["Tech Phone"] == ["+44.1672555012"]
    assert got["Tech Phone Ext"] == ["771"]
    assert "Tech Street" not in got and "Tech Organization" not in got


def test_the_classic_tech_block_of_a_cctld_profile() -> None:
    record = make_record({"registrant": make_contact(), "tech": make_contact(handle="ILC9")})
    text = render_whois(view_of(record, "cctld-legal-persons"))
    labels = [line.split(":")[0] for line in text.split("\r\n") if line.startswith("Tech ")]
    assert labels == [label.format(r="Tech") for label in CONTACT_LABELS[1:]]


def test_a_domain_without_name_servers_has_one_empty_name_server_line() -> None:
    text = whois_text(nameservers=[])
    assert text.count("\r\nName Server:") == 1
    assert "\r\nName Server:\r\nDNSSEC: unsigned\r\n" in text
    assert fields(text)["Name Server"] == [""]
    parsed = WhoisEntry.load("kite-makers.com", text)
    assert parsed["domain_name"].lower() == "kite-makers.com"
    assert not [ns for ns in (parsed["name_servers"] or []) if ns.strip()]


def test_redacted_tech_email_is_the_form_for_tech() -> None:
    record = make_record({"registrant": make_contact(), "tech": make_contact(handle="ILC9")})
    got = fields(render_whois(view_of(record)))
    assert got["Tech Email"] == [f"{REGISTRAR.contact_form_url}?domain=kite-makers.com&role=tech"]
    assert got["Tech Name"] == [REDACTED_TEXT]


def test_street_lines_one_per_line_when_published() -> None:
    contact = make_contact(consent_fields=["street"], consent_method="portal")
    got = fields(render_whois(view_of(make_record({"registrant": contact}))))
    assert got["Registrant Street"] == ["7 Quillon Row", "Upper Flat"]


def test_a_line_break_in_a_value_cannot_forge_a_line() -> None:
    contact = make_contact(org="Evil Ltd\r\nRegistrant Name: Forged")
    text = render_whois(view_of(make_record({"registrant": contact})))
    assert "\r\nRegistrant Name: Forged" not in text
    assert fields(text)["Registrant Name"] == [REDACTED_TEXT]


def test_idn_shows_the_upper_case_a_label() -> None:
    record = make_record(
        {"registrant": make_contact()},
        name="xn--bcher-kva.com",
        unicode_name="bücher.com",
    )
    got = fields(render_whois(view_of(record)))
    assert got["Domain Name"] == ["XN--BCHER-KVA.COM"]


def test_python_whois_reads_our_answer() -> None:
    parsed = WhoisEntry.load("kite-makers.com", whois_text())
    assert parsed["domain_name"].lower() == "kite-makers.com"
    assert parsed["registrar"] == REGISTRAR.name
    assert parsed["registrar_url"] == REGISTRAR.url
    assert parsed["whois_server"] == REGISTRAR.whois_server
    assert parsed["creation_date"] == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert parsed["expiration_date"] == datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert parsed["updated_date"] == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert [s.split()[0] for s in parsed["status"]] == [
        "clientTransferProhibited",
        "clientDeleteProhibited",
    ]
    assert [ns.lower() for ns in parsed["name_servers"]] == [
        "ns1.interlink.example.net",
        "ns2.interlink.example.net",
    ]
    assert parsed["state"] == "Wiltshire"
    assert parsed["country"] == "GB"
    assert parsed["name"] == REDACTED_TEXT
    assert parsed["org"] == "Farthingale Kites"
    assert parsed["tech_name"] == "Interlink Hostmaster"
    assert "imogen@farthingale.example" not in (parsed["emails"] or [])
