"""The publication policy: the default table of architecture §4 and every rule on top of it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from domains.contact_fields import CONSENTABLE as CONSENTABLE_FIELDS
from domains.errors import ValidationFailed
from domains.store import Store
from publishers.disclose import disclose_for
from publishers.epp.model import Disclose
from publishers.policy import (
    REDACTED_TEXT,
    PublicationView,
    contact_form_url,
)
from publishers.profiles import (
    CCTLD_LEGAL_PERSONS,
    EMPTY,
    FIELDS,
    ICANN_GTLD,
    OMIT,
    PROFILES,
    PUBLISH,
    REMOVE,
    Profile,
    ProfileError,
    Rule,
    UnknownProfile,
    check_profile,
    get_profile,
)
from tests.support.factories import account_data, contact_data
from tests.support.records import NOW, REGISTRAR, house_contact, make_contact, make_record, view_of


def disposition(view: PublicationView, role: str) -> dict[str, tuple[bool, str | None]]:
    """field -> (published, method) of one role."""
    return {f.field: (f.published, f.method) for f in view.role(role).fields}


# architecture §4, read cell by cell: (published, RFC 9537 method).
DESIGN_REGISTRANT = {
    "name": (False, "emptyValue"),
    "org": (True, None),
    "street": (False, "emptyValue"),
    "city": (False, "emptyValue"),
    "postal_code": (False, "emptyValue"),
    "state": (True, None),
    "country": (True, None),
    "voice": (False, "removal"),
    "voice_ext": (False, "removal"),
    "fax": (False, "removal"),
    "fax_ext": (False, "removal"),
    "email": (False, "replacementValue"),
    "handle": (False, "removal"),
}
DESIGN_TECH = {
    "name": (False, "emptyValue"),
    "voice": (False, "removal"),
    "voice_ext": (False, "removal"),
    "email": (False, "replacementValue"),
}


def test_default_profile_is_the_design_table() -> None:
    record = make_record({"registrant": make_contact(), "tech": make_contact(handle="ILC43")})
    view = view_of(record)
    assert view.profile == "icann-gtld"
    assert disposition(view, "registrant") == DESIGN_REGISTRANT
    tech = disposition(view, "tech")
    assert {name: tech[name] for name in DESIGN_TECH} == DESIGN_TECH
    # ICANN's Registration Data Policy has no other tech field: omitted (no method, not public).
    assert all(tech[name] == (False, None) for name in FIELDS if name not in DESIGN_TECH)
    assert all(view.field("tech", name).omitted for name in FIELDS if name not in DESIGN_TECH)
    assert not [f for f in view.redactions if f.omitted]


def test_whois_text_of_redacted_fields() -> None:
    view = view_of(make_record({"registrant": make_contact()}))
    name = view.field("registrant", "name")
    assert name.whois_text == REDACTED_TEXT and name.value is None
    assert name.rdap_name == "Registrant Name"
    email = view.field("registrant", "email")
    assert (
        email.whois_text
        == email.value
        == contact_form_url(REGISTRAR, "kite-makers.com", "registrant")
    )
    assert view.field("registrant", "handle").rdap_name == "Registry Registrant ID"
    assert view.field("tech", "voice_ext").rdap_name == "Tech Phone Ext"


def test_contact_form_url_names_domain_and_role_only() -> None:
    url = contact_form_url(REGISTRAR, "xn--bcher-kva.com", "tech")
    assert url == f"{REGISTRAR.contact_form_url}?domain=xn--bcher-kva.com&role=tech"


def test_redacted_field_views_hold_no_private_value() -> None:
    contact = make_contact()
    view = view_of(make_record({"registrant": contact, "admin": contact}))
    text = repr(view)
    for private in (contact.name, contact.city, contact.postal_code, contact.email, "Quillon"):
        assert private not in text
    for field in view.role("registrant").fields:
        if not field.published:
            assert field.lines == ()
            assert field.value in (
                None,
                contact_form_url(REGISTRAR, "kite-makers.com", "registrant"),
            )


def test_admin_and_billing_are_not_shown() -> None:
    contact = make_contact()
    view = view_of(make_record({"registrant": contact, "admin": contact, "billing": contact}))
    assert [r.role for r in view.shown_roles] == ["registrant", "tech"]
    assert not view.role("admin").shown and not view.role("billing").shown
    assert view.role("admin").present
    assert all(f.role in ("registrant", "tech") for f in view.redactions)


@pytest.mark.parametrize("consented", CONSENTABLE_FIELDS)
def test_consent_flips_exactly_the_consented_field(consented: str) -> None:
    contact = make_contact(consent_fields=[consented], consent_method="portal")
    view = view_of(make_record({"registrant": contact}))
    covered = {consented} | ({f"{consented}_ext"} if consented in ("voice", "fax") else set())
    for name, (published, method) in disposition(view, "registrant").items():
        if name in covered:
            assert published and method is None, name
            field = view.field("registrant", name)
            assert field.reason == ("consent" if not DESIGN_REGISTRANT[name][0] else "profile")
        else:
            assert (published, method) == DESIGN_REGISTRANT[name], name


def test_consent_to_street_publishes_every_line() -> None:
    contact = make_contact(consent_fields=["street"], consent_method="portal")
    street = view_of(make_record({"registrant": contact})).field("registrant", "street")
    assert street.published and street.lines == ("7 Quillon Row", "Upper Flat")


def test_consent_is_per_contact() -> None:
    consenting = make_contact(consent_fields=["name"], consent_method="portal")
    other = make_contact(handle="ILC77", name="Other Person")
    view = view_of(make_record({"registrant": consenting, "tech": other}))
    assert view.field("registrant", "name").published
    assert not view.field("tech", "name").published


def test_house_tech_shows_its_name_phone_and_email_as_they_are() -> None:
    view = view_of(make_record({"registrant": make_contact(), "tech": house_contact()}))
    shown = {f.field: f.value for f in view.role("tech").fields if not f.omitted}
    assert shown == {
        "name": "Interlink Hostmaster",
        "voice": "+44.1179000000",
        "voice_ext": None,
        "email": "hostmaster@interlink.example.net",
    }
    assert all(f.published for f in view.role("tech").fields if not f.omitted)
    assert disclose_for(view, "tech") == Disclose(name=True, voice=True, email=True)


@pytest.mark.parametrize("profile", ["icann-gtld", "cctld-legal-persons"])
@pytest.mark.parametrize("field", ["street", "org", "fax", "handle"])
def test_neither_consent_nor_house_publishes_an_omitted_field(profile: str, field: str) -> None:
    consenting = make_contact(
        handle="ILC9", consent_fields=list(CONSENTABLE_FIELDS), consent_method="x"
    )
    for tech in (consenting, house_contact()):
        view = view_of(make_record({"registrant": make_contact(), "tech": tech}), profile)
        # Omitted under the RDP's tech block; the classic block of the ccTLD profile shows it.
        assert view.field("tech", field).omitted is (profile == "icann-gtld")


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ({"name": OMIT}, "tech.name: cannot be omitted"),
        ({"street": EMPTY}, "the address is omitted whole"),
        ({"voice_ext": OMIT}, "tech.voice_ext must follow tech.voice"),
        ({"org": Rule("omit", "removal")}, "redact needs a method, publish and omit take none"),
    ],
)
def test_check_profile_refuses_a_bad_omission(cells: dict[str, Rule], words: str) -> None:
    rules = {r: dict(c) for r, c in ICANN_GTLD.rules.items()}
    rules["tech"].update(cells)
    with pytest.raises(ProfileError, match=words):
        check_profile(dataclasses.replace(ICANN_GTLD, name="broken", rules=rules))


@pytest.mark.parametrize("role", ["registrant", "admin"])
def test_house_contact_is_published_in_full(role: str) -> None:
    view = view_of(make_record({"registrant": make_contact(), role: house_contact()}))
    assert all(f.published and f.reason == "house contact" for f in view.role(role).fields)
    assert view.field(role, "name").value == "Interlink Hostmaster"
    assert disclose_for(view, role) == Disclose(
        name=True, org=True, addr=True, voice=True, fax=True, email=True
    )


def test_legal_persons_profile_publishes_organisations_in_full() -> None:
    company = make_contact(kind="organization")
    person = make_contact(handle="ILC43")
    record = make_record({"registrant": company, "tech": person})
    legal = view_of(record, "cctld-legal-persons")
    assert all(f.published and f.reason == "legal person" for f in legal.role("registrant").fields)
    # Its technical contact is the classic block: every field, redacted as the registrant's.
    tech = disposition(legal, "tech")
    assert {name: tech[name] for name in DESIGN_TECH} == DESIGN_TECH
    assert tech["street"] == (False, "emptyValue") and tech["org"] == (False, "removal")
    # The default profile does not: an organisation's contact is redacted like a person's.
    assert disposition(view_of(record), "registrant") == DESIGN_REGISTRANT


def test_legal_persons_profile_redacts_persons_like_the_default() -> None:
    record = make_record({"registrant": make_contact(kind="person")})
    assert disposition(view_of(record, "cctld-legal-persons"), "registrant") == DESIGN_REGISTRANT


def test_prohibited_role_is_not_sent_to_the_registry_but_still_published() -> None:
    record = make_record({"registrant": make_contact(), "tech": house_contact()})
    view = view_of(record, registry_policy={"tech": "prohibited"})
    assert view.registry_roles == ("registrant",)
    assert view.role("tech").registry == "prohibited"
    assert not view.role("tech").sent_to_registry
    # The registrar's own RDDS still shows it exactly as the profile says.
    assert view.role("tech").shown
    assert view.field("tech", "name").value == "Interlink Hostmaster"
    default = view_of(record)
    assert default.registry_roles == ("registrant", "tech")


def test_required_role_without_contact_is_reported() -> None:
    record = make_record({"registrant": make_contact()})
    view = view_of(record, registry_policy={"admin": "required"})
    assert view.registry_missing == ("admin",)
    assert view_of(record).registry_missing == ()


def test_registry_policy_is_validated() -> None:
    record = make_record({"registrant": make_contact()})
    with pytest.raises(ValidationFailed):
        view_of(record, registry_policy={"tech": "sometimes"})
    with pytest.raises(ValidationFailed):
        view_of(record, registry_policy={"owner": "required"})


def test_missing_contact_has_no_values() -> None:
    view = view_of(make_record({"registrant": make_contact()}))
    assert not view.role("billing").present
    assert all(f.published and f.value is None for f in view.role("billing").fields)


def test_dates_are_utc_seconds_even_when_stored_naive() -> None:
    record = make_record(
        {"registrant": make_contact()}, updated_at=datetime(2026, 2, 1, 9, 30, 15, 999)
    )
    view = view_of(record)
    assert view.domain.updated == datetime(2026, 2, 1, 9, 30, 15, tzinfo=UTC)
    assert view.generated_at == NOW


# ---------------------------------------------------------------- profiles are data


def test_profiles_are_registered_and_checked() -> None:
    assert set(PROFILES) == {"icann-gtld", "cctld-legal-persons"}
    assert get_profile("icann-gtld") is ICANN_GTLD
    assert get_profile("cctld-legal-persons") is CCTLD_LEGAL_PERSONS
    with pytest.raises(UnknownProfile, match="icann-gtld"):
        get_profile("nope")


def _with_cell(role: str, field: str, rule: Any) -> Profile:
    rules = {r: dict(cells) for r, cells in ICANN_GTLD.rules.items()}
    rules[role][field] = rule
    return dataclasses.replace(ICANN_GTLD, name="broken", rules=rules)


@pytest.mark.parametrize(
    ("role", "field", "rule"),
    [
        ("registrant", "state", EMPTY),  # never redacted
        ("tech", "country", REMOVE),  # never redacted
        ("registrant", "voice_ext", PUBLISH),  # an extension follows its number
        ("registrant", "name", REMOVE),  # fn must stay: emptyValue only
        ("registrant", "city", REMOVE),  # adr slots: emptyValue only
    ],
)
def test_check_profile_refuses_what_a_renderer_cannot_honour(
    role: str, field: str, rule: Any
) -> None:
    with pytest.raises(ProfileError, match=f"{role}.{field}"):
        check_profile(_with_cell(role, field, rule))


# ---------------------------------------------------------------- EPP disclose flags


def test_disclose_follows_the_view() -> None:
    view = view_of(make_record({"registrant": make_contact()}))
    assert disclose_for(view, "registrant") == Disclose(org=True)
    assert disclose_for(view, "tech") == Disclose(
        name=True, org=True, addr=True, voice=True, fax=True, email=True
    )  # no tech contact: nothing to hide


@pytest.mark.parametrize(
    ("consent", "addr"),
    [
        (["street", "city", "postal_code"], True),  # state and country are public anyway
        (["street", "city"], False),
        (["city", "postal_code"], False),
        (["street"], False),
    ],
)
def test_address_is_disclosed_only_whole(consent: list[str], addr: bool) -> None:
    contact = make_contact(consent_fields=consent, consent_method="portal")
    assert disclose_for(view_of(make_record({"registrant": contact})), "registrant").addr is addr


def test_one_contact_in_two_roles_discloses_what_both_publish() -> None:
    contact = make_contact()
    view = view_of(make_record({"registrant": contact, "tech": contact}))
    assert view.role("registrant").shares_contact_with == ("tech",)
    assert view.field("registrant", "org").published and not view.field("tech", "org").published
    assert disclose_for(view, "registrant").org is False
    prohibited = view_of(
        make_record({"registrant": contact, "tech": contact}),
        registry_policy={"tech": "prohibited"},
    )
    assert disclose_for(prohibited, "registrant").org is True


# ---------------------------------------------------------------- through the real store


def test_view_from_the_store_matches_the_model_view(store: Store) -> None:
    account = store.create_account("staff:test", account_data())
    person = store.create_contact(
        "staff:test",
        contact_data(
            name="Ottilie Grebe",
            consent_fields=["email", "voice"],
            consent_method="portal",
            voice_ext="55",
        ),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {"name": "grebe-test.com", "statuses": ["clientTransferProhibited"]},
        account_number=account.number,
        contacts={"registrant": person.handle},
    )
    record = store.domain_record("grebe-test.com")
    view = view_of(record)
    registrant = disposition(view, "registrant")
    assert registrant["email"] == registrant["voice"] == registrant["voice_ext"] == (True, None)
    assert registrant["name"] == (False, "emptyValue")
    assert view.field("registrant", "email").value == person.email
    assert view.role("tech").basis == "house contact"
    assert view.domain.created is not None and view.domain.created.tzinfo is UTC
