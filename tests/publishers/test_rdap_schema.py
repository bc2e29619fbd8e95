"""Our schema of RDAP answers (tests/support/rdap_schema.json, from RFC 9083) can fail: a valid
signed domain object passes, and each mutation that breaks an RFC rule is refused, by name."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domains.dnssec import DsView
from domains.settings import Settings
from publishers.rdap import rdap_json
from publishers.rdap_app import error_body, help_body
from tests.support.rdap_schema import problems, rdap_answer
from tests.support.records import make_contact, make_record, view_of

DIGEST = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"


@pytest.fixture
def signed() -> dict[str, Any]:
    """A signed domain's answer (DS records on file), checked valid first."""
    record = make_record({"registrant": make_contact(), "tech": make_contact(handle="ILC43")})
    record = dataclasses.replace(record, domain=record.domain.model_copy(update={"dnssec": True}))
    record = dataclasses.replace(record, ds=(DsView(2371, 13, 2, DIGEST),))
    body = rdap_answer(rdap_json(view_of(record)), "domainAnswer")
    assert body["secureDNS"]["dsData"][0]["keyTag"] == 2371
    return body


def refused(body: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> list[str]:
    """What the schema says of a copy of `body` after `change`; fails if it says nothing."""
    changed = copy.deepcopy(body)
    change(changed)
    for kind in ("domainAnswer", "answer"):
        said = problems(changed, kind)
        assert said, f"the schema ({kind}) took {json.dumps(changed)[:200]}"
    return problems(changed, "domainAnswer")


def test_signed_without_ds_data_or_key_data_is_refused(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b["secureDNS"].pop("dsData"))
    assert said == [
        "$.secureDNS: {'delegationSigned': True} is not valid under any of the given schemas"
    ]
    # keyData in their place is what RFC 9083 section 5.3 also allows.
    signed["secureDNS"] = {
        "delegationSigned": True,
        "keyData": [{"flags": 257, "protocol": 3, "algorithm": 13, "publicKey": "AwEAAc3s/Q=="}],
    }
    assert problems(signed, "domainAnswer") == []
    said = refused(signed, lambda b: b["secureDNS"]["keyData"][0].pop("publicKey"))
    assert said == ["$.secureDNS.keyData[0]: 'publicKey' is a required property"]


def test_a_ds_record_out_of_range_is_refused(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b["secureDNS"]["dsData"][0].update(keyTag=65536))
    assert said == ["$.secureDNS.dsData[0].keyTag: 65536 is greater than the maximum of 65535"]
    said = refused(signed, lambda b: b["secureDNS"]["dsData"][0].update(digest="not hex"))
    assert len(said) == 1 and said[0].startswith("$.secureDNS.dsData[0].digest: 'not hex'")


def test_a_status_outside_the_registry_is_refused(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b["status"].append("clientHold"))  # EPP's word, not RDAP's
    assert len(said) == 1 and said[0].startswith("$.status[2]: 'clientHold' is not one of")


def test_a_bad_vcard_array_is_refused(signed: dict[str, Any]) -> None:
    def card(body: dict[str, Any]) -> list[Any]:
        (registrant,) = [e for e in body["entities"] if e["roles"] == ["registrant"]]
        return registrant["vcardArray"]

    said = refused(signed, lambda b: card(b).__setitem__(0, "vCard"))
    assert said == ["$.entities[0].vcardArray[0]: 'vcard' was expected"]
    said = refused(signed, lambda b: card(b)[1].append(["email", "x@example.org"]))
    where = f"$.entities[0].vcardArray[1][{len(card(signed)[1])}]"
    assert said == [  # no parameters object, no type, and so too short
        f"{where}: ['email', 'x@example.org'] is too short",
        f"{where}[1]: 'x@example.org' is not of type 'object'",
    ]
    said = refused(signed, lambda b: card(b)[1].append(["note", [], "text", "params a list"]))
    assert len(said) == 1 and "is not of type 'object'" in said[0]
    said = refused(signed, lambda b: card(b)[1].pop(0))  # no version 4.0
    assert len(said) == 1 and "does not contain items matching" in said[0]
    said = refused(signed, lambda b: next(m for m in card(b)[1] if m[0] == "adr")[3].pop())
    assert len(said) == 1 and "is too short" in said[0]  # an adr has seven components


def test_a_role_outside_the_registry_is_refused(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b["entities"][0].update(roles=["owner"]))
    assert len(said) == 1 and said[0].startswith("$.entities[0].roles[0]: 'owner' is not one of")


def test_a_missing_object_class_name_is_refused(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b.pop("objectClassName"))
    assert said == ["$: 'objectClassName' is a required property"]
    said = refused(signed, lambda b: b["nameservers"][0].pop("objectClassName"))
    assert said == ["$.nameservers[0]: 'objectClassName' is a required property"]
    said = refused(signed, lambda b: b["entities"][0].update(objectClassName="contact"))
    assert said == ["$.entities[0].objectClassName: 'entity' was expected"]


@pytest.mark.parametrize("date", ["2026-11-27", "27/11/2026 12:00", "2026-13-01T00:00:00Z", ""])
def test_a_bad_event_date_is_refused(signed: dict[str, Any], date: str) -> None:
    said = refused(signed, lambda b: b["events"][0].update(eventDate=date))
    assert said == [f"$.events[0].eventDate: {date!r} is not a 'date-time'"]


def test_an_unregistered_event_action_and_a_link_without_href_are_refused(
    signed: dict[str, Any],
) -> None:
    said = refused(signed, lambda b: b["events"][1].update(eventAction="created"))
    assert len(said) == 1 and said[0].startswith("$.events[1].eventAction: 'created' is not one")
    said = refused(signed, lambda b: b["links"][0].pop("href"))
    assert said == ["$.links[0]: 'href' is a required property"]


def test_a_notice_whose_description_is_not_a_list_of_strings_is_refused(
    signed: dict[str, Any],
) -> None:
    said = refused(signed, lambda b: b["notices"][0].update(description="one string"))
    assert said == ["$.notices[0].description: 'one string' is not of type 'array'"]


def test_a_redaction_breaking_rfc_9537_is_refused(signed: dict[str, Any]) -> None:
    emptied = next(i for i, r in enumerate(signed["redacted"]) if r["method"] == "emptyValue")
    said = refused(signed, lambda b: b["redacted"][emptied].pop("postPath"))
    assert said == [f"$.redacted[{emptied}]: 'postPath' is a required property"]
    said = refused(signed, lambda b: b["redacted"][0].update(method="blackout"))
    assert len(said) == 1 and "'blackout' is not one of" in said[0]


def test_the_profile_s_registrar_entity_and_notices_are_required(signed: dict[str, Any]) -> None:
    said = refused(signed, lambda b: b["entities"].pop())  # the registrar, last
    assert len(said) == 1 and said[0].startswith("$.entities: ")
    said = refused(signed, lambda b: b["notices"].pop())  # the complaint form notice
    assert len(said) == 1 and said[0].startswith("$.notices: ")
    # Without the profile's conformance value the profile's rules do not apply.
    signed["rdapConformance"].remove("icann_rdap_response_profile_1")
    signed["notices"].pop()
    assert problems(signed, "domainAnswer") == []


def test_error_and_help_answers_pass_and_can_fail(tmp_path: Path) -> None:
    error = rdap_answer(error_body(404, ["Not ours."]), "errorAnswer")
    assert problems({**error, "errorCode": "404"}) == [
        "$.errorCode: '404' is not of type 'integer'"
    ]
    assert problems({**error, "description": "Not ours."}) == [
        "$.description: 'Not ours.' is not of type 'array'"
    ]
    assert problems({**error, "rdapConformance": ["redacted"]}) == [
        "$.rdapConformance: ['redacted'] does not contain items matching the given schema"
    ]
    help_ = rdap_answer(help_body(Settings(data_dir=tmp_path)), "helpAnswer")
    assert problems({**help_, "ldhName": "kite-makers.com"}, "helpAnswer") == [
        "$: Additional properties are not allowed ('ldhName' was unexpected)"
    ]
    assert problems({"rdapConformance": ["rdap_level_0"]}) == [
        "$: 'notices' is a required property"
    ]
