"""RDAP: the RFC 9083 domain object, jCard entities, notices, and RFC 9537 paths that hold."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonpath
import pytest

from domains.models import Contact
from publishers.policy import PublicationView, build_view, contact_form_url
from publishers.profiles import EMPTY, ICANN_GTLD, check_profile
from publishers.rdap import REGISTERED_NAMES, rdap_json, render_rdap
from tests.support.rdap_schema import check_rdap, rdap_answer
from tests.support.records import REGISTRAR, house_contact, make_contact, make_record, view_of


def rdap_of(contacts: dict[str, Contact], profile: str = "icann-gtld", **domain: Any) -> dict:
    """The RDAP object of a domain, through its JSON text (what a client parses), checked
    against our schema of RDAP answers."""
    return rdap_answer(rdap_json(view_of(make_record(contacts, **domain), profile)))


def entity(body: dict, role: str) -> dict:
    """The one entity with this role."""
    (found,) = [e for e in body["entities"] if e["roles"] == [role]]
    return found


def members(card_entity: dict, name: str) -> list[list]:
    """The jCard members of one name."""
    return [m for m in card_entity["vcardArray"][1] if m[0] == name]


def is_empty(value: Any) -> bool:
    """An emptied value: "" or a list of emptied values."""
    return value == "" or (isinstance(value, list) and all(is_empty(v) for v in value))


@pytest.fixture
def body() -> dict:
    return rdap_of({"registrant": make_contact(), "tech": make_contact(handle="ILC43")})


def test_domain_object(body: dict) -> None:
    assert body["objectClassName"] == "domain"
    assert body["handle"] == "D9137-COM"
    assert body["ldhName"] == "kite-makers.com"
    assert "unicodeName" not in body
    assert body["status"] == ["client transfer prohibited", "client delete prohibited"]
    assert body["events"] == [
        {"eventAction": "registration", "eventDate": "2021-03-04T05:06:07Z"},
        {"eventAction": "expiration", "eventDate": "2027-03-04T05:06:07Z"},
        {"eventAction": "last changed", "eventDate": "2026-02-01T09:30:00Z"},
        {"eventAction": "last update of RDAP database", "eventDate": "2026-11-27T12:00:00Z"},
    ]
    assert body["nameservers"] == [
        {"objectClassName": "nameserver", "ldhName": "ns1.interlink.example.net"},
        {"objectClassName": "nameserver", "ldhName": "ns2.interlink.example.net"},
    ]
    assert body["secureDNS"] == {"delegationSigned": False}
    for conformance in (
        "rdap_level_0",
        "redacted",
        "icann_rdap_response_profile_1",
        "icann_rdap_technical_implementation_guide_1",
    ):
        assert conformance in body["rdapConformance"]
    self_url = f"{REGISTRAR.rdap_base_url}/domain/kite-makers.com"
    assert {
        "value": self_url,
        "rel": "self",
        "href": self_url,
        "type": "application/rdap+json",
    } in (body["links"])
    assert {link["rel"] for link in body["links"]} == {"self", "related"}


def test_idn_has_unicode_name() -> None:
    body = rdap_of(
        {"registrant": make_contact()},
        name="xn--bcher-kva.com",
        unicode_name="bücher.com",
        statuses=[],
    )
    assert body["ldhName"] == "xn--bcher-kva.com"
    assert body["unicodeName"] == "bücher.com"
    assert body["status"] == ["active"]


def test_notices_of_the_icann_profile(body: dict) -> None:
    notices = {notice["title"]: notice for notice in body["notices"]}
    assert set(notices) == {"Terms of Service", "Status Codes", "RDDS Inaccuracy Complaint Form"}
    assert notices["Terms of Service"]["links"][0]["href"] == REGISTRAR.terms_url
    assert notices["Status Codes"]["links"][0]["href"] == "https://icann.org/epp"
    assert notices["RDDS Inaccuracy Complaint Form"]["links"][0]["href"] == "https://icann.org/wicf"


def test_registrar_entity(body: dict) -> None:
    registrar = entity(body, "registrar")
    assert registrar["publicIds"] == [
        {"type": "IANA Registrar ID", "identifier": REGISTRAR.iana_id}
    ]
    assert members(registrar, "fn")[0][3] == REGISTRAR.name
    abuse = registrar["entities"][0]
    assert abuse["roles"] == ["abuse"]
    assert members(abuse, "email")[0][3] == REGISTRAR.abuse_email
    assert members(abuse, "tel")[0][3] == f"tel:{REGISTRAR.abuse_phone}"


def test_redacted_registrant_jcard(body: dict) -> None:
    registrant = entity(body, "registrant")
    assert "handle" not in registrant
    assert members(registrant, "fn") == [["fn", {}, "text", ""]]
    assert members(registrant, "org") == [["org", {}, "text", "Farthingale Kites"]]
    (adr,) = members(registrant, "adr")
    assert adr[1] == {"cc": "GB"}
    assert adr[3] == ["", "", "", "", "Wiltshire", "", ""]
    assert members(registrant, "tel") == []
    assert members(registrant, "email") == []
    form = contact_form_url(REGISTRAR, "kite-makers.com", "registrant")
    assert members(registrant, "contact-uri") == [["contact-uri", {}, "uri", form]]
    assert [e["roles"] for e in body["entities"]] == [["registrant"], ["technical"], ["registrar"]]


def test_published_house_tech_jcard_is_name_phone_and_email() -> None:
    """ICANN's Registration Data Policy: the technical contact is a name, a phone and an e-mail
    address; the house contact shows them as they are, and no handle, org or address."""
    body = rdap_of({"registrant": make_contact(), "tech": house_contact()})
    tech = entity(body, "technical")
    assert "handle" not in tech
    assert [member[0] for member in tech["vcardArray"][1]] == ["version", "fn", "tel", "email"]
    assert members(tech, "fn")[0][3] == "Interlink Hostmaster"
    assert members(tech, "tel") == [["tel", {"type": "voice"}, "uri", "tel:+44.1179000000"]]
    assert members(tech, "email")[0][3] == "hostmaster@interlink.example.net"
    assert not [r for r in body["redacted"] if "Tech" in json.dumps(r["name"])]


def test_redacted_tech_jcard_has_no_address_org_or_fax(body: dict) -> None:
    tech = entity(body, "technical")
    assert "handle" not in tech
    assert [member[0] for member in tech["vcardArray"][1]] == ["version", "fn", "contact-uri"]
    assert members(tech, "fn") == [["fn", {}, "text", ""]]


def test_the_classic_tech_block_of_a_cctld_profile() -> None:
    body = rdap_of(
        {"registrant": make_contact(), "tech": make_contact(handle="ILC43")},
        "cctld-legal-persons",
    )
    tech = entity(body, "technical")
    assert [m[0] for m in tech["vcardArray"][1]] == ["version", "fn", "adr", "contact-uri"]
    assert "Tech Street" in _redactions(body)
    check_rfc9537(body)


def test_published_phone_carries_its_extension_and_street_lines() -> None:
    contact = make_contact(consent_fields=["voice", "street"], consent_method="portal")
    registrant = entity(rdap_of({"registrant": contact}), "registrant")
    assert ["tel", {"type": "voice"}, "uri", "tel:+44.1672555012;ext=771"] in registrant[
        "vcardArray"
    ][1]
    assert members(registrant, "adr")[0][3][2] == ["7 Quillon Row", "Upper Flat"]


def test_admin_and_billing_are_absent() -> None:
    contact = make_contact()
    body = rdap_of({"registrant": contact, "admin": contact, "billing": contact})
    roles = [e["roles"][0] for e in body["entities"]]
    assert "administrative" not in roles and "billing" not in roles


def _redactions(body: dict) -> dict[str, dict]:
    return {r["name"].get("type") or r["name"]["description"]: r for r in body["redacted"]}


def test_redacted_names_methods_and_paths(body: dict) -> None:
    got = _redactions(body)
    assert {name: r["method"] for name, r in got.items() if "Registrant" in name} == {
        "Registry Registrant ID": "removal",
        "Registrant Name": "emptyValue",
        "Registrant Street": "emptyValue",
        "Registrant City": "emptyValue",
        "Registrant Postal Code": "emptyValue",
        "Registrant Phone": "removal",
        "Registrant Phone Ext": "removal",
        "Registrant Fax": "removal",
        "Registrant Fax Ext": "removal",
        "Registrant Email": "replacementValue",
    }
    assert {name: r["method"] for name, r in got.items() if "Tech" in name} == {
        "Tech Name": "emptyValue",
        "Tech Phone": "removal",
        "Tech Phone Ext": "removal",
        "Tech Email": "replacementValue",
    }
    for name in ("Tech Name", "Tech Phone", "Tech Phone Ext", "Tech Email"):
        assert got[name]["name"] == {"type": name}
    assert got["Registrant Name"]["postPath"] == (
        "$.entities[?(@.roles[0]=='registrant')].vcardArray[1][?(@[0]=='fn')][3]"
    )
    for entry in body["redacted"]:
        assert entry["pathLang"] == "jsonpath"
        assert entry["reason"] == {"description": "Server policy"}
        registered = "type" in entry["name"]
        assert registered == (entry["name"].get("type") in REGISTERED_NAMES)


def test_state_and_country_are_never_redacted(body: dict) -> None:
    names = " ".join(json.dumps(r["name"]) for r in body["redacted"])
    assert "State" not in names and "Country" not in names
    assert "Registrant Organization" not in names  # published if given


def check_rfc9537(body: dict) -> int:
    """Evaluate every redacted entry's paths on the response; returns how many were checked."""
    for entry in body["redacted"]:
        method = entry["method"]
        if method == "removal":
            assert "postPath" not in entry
            assert jsonpath.findall(entry["prePath"], body) == [], entry
        elif method == "emptyValue":
            found = jsonpath.findall(entry["postPath"], body)
            assert found and all(is_empty(value) for value in found), entry
        elif method == "replacementValue":
            assert jsonpath.findall(entry["prePath"], body) == [], entry
            replaced = jsonpath.findall(entry["replacementPath"], body)
            assert len(replaced) == 1 and replaced[0][0] == "contact-uri", entry
            assert replaced[0][3].startswith(REGISTRAR.contact_form_url)
        else:  # pragma: no cover - a method we never use
            pytest.fail(f"unexpected method {method}")
    return len(body["redacted"])


def test_every_redacted_path_holds_on_the_response(body: dict) -> None:
    # registrant: all but org, state and country; tech: name, phone, extension and e-mail
    assert check_rfc9537(body) == 10 + 4


def test_paths_hold_with_an_empty_org_under_emptyvalue() -> None:
    rules = {r: dict(cells) for r, cells in ICANN_GTLD.rules.items()}
    rules["registrant"]["org"] = EMPTY
    profile = check_profile(dataclasses.replace(ICANN_GTLD, name="t", rules=rules))
    record = make_record({"registrant": make_contact()})
    view: PublicationView = build_view(record, profile=profile, registrar=REGISTRAR)
    body = check_rdap(render_rdap(view))
    assert members(entity(body, "registrant"), "org") == [["org", {}, "text", ""]]
    check_rfc9537(body)


def test_nothing_redacted_when_everything_is_public() -> None:
    body = rdap_of({"registrant": house_contact(), "tech": house_contact()})
    assert body["redacted"] == []


def test_rdap_json_is_the_dict_serialised() -> None:
    view = view_of(make_record({"registrant": make_contact()}))
    assert json.loads(rdap_json(view)) == render_rdap(view)
    assert "ü" in rdap_json(view_of(make_record({"registrant": make_contact(org="Bücher")})))
