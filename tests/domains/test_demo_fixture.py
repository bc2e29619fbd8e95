"""The demo data set (fixtures/demo.json): big and varied enough for the demo, and all valid."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains import dnssec, validation
from domains.models import OutboxEntry
from domains.settings import HouseContact
from domains.vocabulary import ConsentMethod
from publishers.policy import build_view
from publishers.rdap import render_rdap
from tests.support.rdap_schema import check_rdap
from tui.commands.demo import demo_settings, demo_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEMO = FIXTURES / "demo.json"
ALLOWED_MAIL_DOMAINS = ("example.com", "example.net", "example.org")


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return json.loads(DEMO.read_text(encoding="utf-8"))


def _time(value: str) -> datetime:
    assert isinstance(value, str) and value.endswith("Z"), value
    moment = validation.aware("time", value, required=True)
    assert moment is not None
    return moment


def _mail_domain_allowed(address: str) -> bool:
    domain = address.rsplit("@", 1)[1].lower()
    return any(
        domain == allowed or domain.endswith("." + allowed) for allowed in ALLOWED_MAIL_DOMAINS
    )


def test_header(demo: dict[str, Any]) -> None:
    assert demo["format"] == "interlink-export"
    assert demo["version"] == 1
    _time(demo["exported_at"])


def test_file_is_what_the_script_makes() -> None:
    spec = importlib.util.spec_from_file_location("make_demo", FIXTURES / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render(module.build()) == DEMO.read_text(encoding="utf-8"), (
        "fixtures/demo.json is out of date: run python fixtures/make_demo.py"
    )


def test_accounts_are_valid_and_varied(demo: dict[str, Any]) -> None:
    accounts = demo["accounts"]
    assert len(accounts) >= 40
    numbers = [a["number"] for a in accounts]
    assert len(set(numbers)) == len(numbers)
    for account in accounts:
        clean = validation.account(account, record=account["number"])
        assert clean["number"] == account["number"]
        assert clean["email"] == account["email"]
        assert clean["phone"] == account["phone"]
        _time(account["created_at"])
        if account["marketing_opt_out_at"] is not None:
            _time(account["marketing_opt_out_at"])
            assert account["marketing_opt_out_via"]
    assert sum(a["marketing_opt_out_at"] is not None for a in accounts) >= 2
    assert [a["status"] for a in accounts].count("suspended") >= 1
    assert len({a["country"] for a in accounts}) >= 6


def test_contacts_are_valid(demo: dict[str, Any]) -> None:
    contacts = demo["contacts"]
    handles = [c["handle"] for c in contacts]
    assert len(set(handles)) == len(handles)
    numbers = {a["number"] for a in demo["accounts"]}
    for contact in contacts:
        clean = validation.contact(contact, record=contact["handle"])
        assert 3 <= len(contact["handle"]) <= 16
        for field in ("voice", "fax", "email", "country", "consent_fields"):
            assert clean[field] == contact[field], (contact["handle"], field)
        assert contact["account"] is None or contact["account"] in numbers
        if contact["consent_fields"]:
            _time(contact["consent_at"])
            assert contact["consent_method"] in tuple(ConsentMethod)
        else:
            assert contact["consent_at"] is None and contact["consent_method"] is None
    kinds = {c["kind"] for c in contacts}
    assert kinds == {"person", "organization"}
    assert sum(bool(c["consent_fields"]) for c in contacts) >= 3
    assert len({c["country"] for c in contacts}) >= 6


def test_house_contact_matches_settings(demo: dict[str, Any]) -> None:
    houses = [c for c in demo["contacts"] if c["house"]]
    assert len(houses) == 1
    house = houses[0]
    assert house["kind"] == "organization"
    assert house["account"] is None
    for field, value in HouseContact().model_dump().items():
        assert house[field] == value, field


def test_every_mail_address_is_under_example_domains(demo: dict[str, Any]) -> None:
    addresses = [a["email"] for a in demo["accounts"]] + [c["email"] for c in demo["contacts"]]
    bad = [address for address in addresses if not _mail_domain_allowed(address)]
    assert bad == []


def test_domains_are_valid_and_registrable(demo: dict[str, Any]) -> None:
    domains = demo["domains"]
    assert len(domains) >= 60
    exported = _time(demo["exported_at"])
    alabels = set()
    for domain in domains:
        clean = validation.domain(domain, record=domain["name"])
        alabels.add(clean["name"])
        assert clean["unicode_name"] == domain["name"]
        assert clean["statuses"] == domain["statuses"]
        assert clean["nameservers"] == domain["nameservers"]
        assert validation.roid(domain["roid"]) == domain["roid"]
        created = _time(domain["created_at"])
        expires = _time(domain["expires_at"])
        updated = _time(domain["updated_at"])
        assert created < expires
        assert created <= updated <= exported
    assert len(alabels) == len(domains), "duplicate domain names"
    roids = [d["roid"] for d in domains]
    assert len(set(roids)) == len(roids)


def test_domains_spread_over_tlds_with_idns(demo: dict[str, Any]) -> None:
    labels = [validation.domain_name(d["name"]) for d in demo["domains"]]
    tlds = {tld for _, _, tld in labels}
    assert len(tlds) >= 6, tlds
    idns = [ulabel for alabel, ulabel, _ in labels if alabel != ulabel]
    assert len(idns) >= 5, idns


def test_references_resolve_and_roles_make_sense(demo: dict[str, Any]) -> None:
    contacts = {c["handle"]: c for c in demo["contacts"]}
    numbers = {a["number"] for a in demo["accounts"]}
    house = next(c["handle"] for c in demo["contacts"] if c["house"])
    for domain in demo["domains"]:
        assert domain["account"] in numbers
        roles = domain["contacts"]
        assert set(roles) <= set(validation.ROLES)
        assert "registrant" in roles and "tech" in roles
        for handle in roles.values():
            assert handle in contacts, (domain["name"], handle)
        assert contacts[roles["registrant"]]["account"] == domain["account"]
    with_house_tech = sum(d["contacts"]["tech"] == house for d in demo["domains"])
    assert with_house_tech > len(demo["domains"]) / 2


def test_registrants_are_persons_and_organisations(demo: dict[str, Any]) -> None:
    contacts = {c["handle"]: c for c in demo["contacts"]}
    kinds = [contacts[d["contacts"]["registrant"]]["kind"] for d in demo["domains"]]
    assert kinds.count("person") >= 5
    assert kinds.count("organization") >= 5


def test_some_technical_contacts_are_other_companies(demo: dict[str, Any]) -> None:
    contacts = {c["handle"]: c for c in demo["contacts"]}
    outside = {
        d["contacts"]["tech"]
        for d in demo["domains"]
        if not contacts[d["contacts"]["tech"]]["house"]
    }
    assert len(outside) >= 3
    for handle in outside:
        company = contacts[handle]
        assert company["kind"] == "organization" and company["org"]
        assert company["account"] is None


def test_statuses_admin_and_billing_present(demo: dict[str, Any]) -> None:
    domains = demo["domains"]
    assert sum("clientUpdateProhibited" in d["statuses"] for d in domains) >= 3
    assert any("admin" in d["contacts"] for d in domains)
    assert any("billing" in d["contacts"] for d in domains)
    assert any(d["dnssec"] for d in domains)
    assert all(d["nameservers"] or "inactive" in d["statuses"] for d in domains)


def test_the_store_accepts_it(demo: dict[str, Any], sqlite_store: Any) -> None:
    """Every record goes in through the store API (the house contact is already there)."""
    store = sqlite_store
    for account in demo["accounts"]:
        store.create_account("test", account)
    for contact in demo["contacts"]:
        if not contact["house"]:
            store.create_contact("test", contact, account_number=contact["account"])
    for domain in demo["domains"]:
        store.create_domain(
            "test", domain, account_number=domain["account"], contacts=domain["contacts"]
        )
    assert store.count_domains() == len(demo["domains"])
    assert store.house_contact().handle == "IL-HOUSE"
    record = store.domain_record(demo["domains"][0]["name"])
    assert record.contact("registrant").handle == demo["domains"][0]["contacts"]["registrant"]


DEMO_DS = FIXTURES / "demo_ds.json"


def test_the_ds_file_is_what_the_script_makes_for_the_signed_domains(demo: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("make_demo", FIXTURES / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render(module.demo_ds(demo)) == DEMO_DS.read_text(encoding="utf-8"), (
        "fixtures/demo_ds.json is out of date: run python fixtures/make_demo.py"
    )
    records = json.loads(DEMO_DS.read_text(encoding="utf-8"))
    signed = {validation.domain_name(d["name"])[0] for d in demo["domains"] if d["dnssec"]}
    assert set(records) == signed and len(signed) >= 10
    for name, texts in records.items():
        (ds,) = dnssec.ds_records(texts)
        assert (ds.algorithm, ds.digest_type, len(ds.digest)) == (15, 2, 64), name


def test_the_demo_store_has_the_ds_records_and_rdap_carries_them(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path / "demo", 8080)
    store = demo_store(tmp_path / "demo", settings)
    try:
        records = json.loads(DEMO_DS.read_text(encoding="utf-8"))
        name, texts = next(iter(records.items()))
        record = store.domain_record(name)
        assert record.domain.dnssec and [ds.text for ds in record.ds] == texts
        view = build_view(record, profile="icann-gtld", registrar=settings.registrar)
        (ds_data,) = check_rdap(render_rdap(view))["secureDNS"]["dsData"]
        assert ds_data["keyTag"] == int(texts[0].split()[0])
        with store.read() as session:
            kinds = set(session.execute(select(col(OutboxEntry.kind))).scalars())
        assert "domain.update" not in kinds  # the registry holds them already
    finally:
        store.close()
