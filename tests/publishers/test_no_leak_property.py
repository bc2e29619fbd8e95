"""The promise no benchmark replaces: no value of a redacted field in any public output.

Random contacts (Unicode with astral characters, lengths up to the 255 limit, 0..3 street lines,
every consent combination, persons and organisations, the house contact, shared contacts, every
profile and registry policy) go through the policy, on domains of a gTLD, of a ccTLD the
registries file gives any profile or whose RDDS only its registry runs, and of a ccTLD it does
not list; the WHOIS text and the serialised RDAP JSON must hold no value the view does not
publish (none at all when the registry runs the RDDS), must hold every value it does, and the
EPP disclose flags must say exactly what the view publishes.
"""

from __future__ import annotations

import json
import re
import unicodedata

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.contact_fields import CONSENTABLE as CONSENTABLE_FIELDS
from domains.models import Contact
from domains.settings import Settings
from domains.store import DomainRecord, Store
from domains.vocabulary import ContactRole as ROLES
from publishers.disclose import disclose_for
from publishers.policy import PublicationView, build_view, field_label
from publishers.profiles import (
    ADDRESS_FIELDS,
    FIELDS,
    PROFILES,
    Publications,
    RegistryRdds,
    TldPublication,
)
from publishers.published import SENTINEL, SENTINEL_TEXT, count_answers
from publishers.rdap import rdap_bytes, rdap_json
from publishers.rdap_app import rdap_lookup
from publishers.whois import render_whois, whois_bytes
from tests.support.factories import account_data
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import ask, poll, rdds_settings
from tests.support.records import REGISTRAR, make_record
from tui.commands.serve import Services

#: The generation time of a served answer (WHOIS's last line, RDAP's event).
STAMP = re.compile(
    rb"(?:WHOIS database: |RDAP database\",\"eventDate\":\")(\d{4}-\d\d-\d\dT[\d:]+Z)"
)
HOUSE_CANDIDATE = "ILC9001"
"""The tech contact's handle; that contact is sometimes the house contact."""
_EXCLUDED = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
_CHARS = st.characters(exclude_categories=_EXCLUDED)


def _normal(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _clean(value: str) -> bool:
    """What domains.validation.text would store unchanged: trimmed, NFC."""
    return value == value.strip() and unicodedata.is_normalized("NFC", value)


def texts(max_len: int = 255) -> st.SearchStrategy[str]:
    """Single-line text of 4..max_len characters, often at the edges of the range."""
    lengths = st.one_of(st.sampled_from([4, 5, max_len - 1, max_len]), st.integers(4, max_len))
    raw = lengths.flatmap(lambda n: st.text(_CHARS, min_size=n, max_size=n))
    return raw.map(_normal).filter(lambda value: 4 <= len(value) <= max_len and _clean(value))


phones = st.from_regex(r"\+[1-9][0-9]{0,2}\.[0-9]{6,14}", fullmatch=True)
extensions = st.from_regex(r"[0-9]{4,10}", fullmatch=True)
emails = st.builds(
    "{}@{}.example".format,
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=40),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=30),
)


@st.composite
def contacts(draw: st.DrawFn, handle: str) -> Contact:
    """A valid contact model object with random values, kind and consent."""
    kind = draw(st.sampled_from(["person", "organization"]))
    voice = draw(st.none() | phones)
    fax = draw(st.none() | phones)
    name = draw(texts())
    email = draw(emails)
    return Contact(
        handle=handle,
        kind=kind,
        name=name,
        org=draw(texts()) if kind == "organization" else draw(st.none() | texts()),
        street=draw(st.lists(texts(), max_size=3)),
        city=draw(texts()),
        state=draw(st.none() | texts()),
        postal_code=draw(st.none() | texts(16)),
        country=draw(st.sampled_from(["GB", "DE", "JP", "US", "FR"])),
        voice=voice,
        voice_ext=draw(st.none() | extensions) if voice else None,
        fax=fax,
        fax_ext=draw(st.none() | extensions) if fax else None,
        email=email,
        consent_fields=sorted(draw(st.sets(st.sampled_from(CONSENTABLE_FIELDS)))),
        consent_method="portal",
        is_house=draw(st.booleans()) if handle == HOUSE_CANDIDATE else False,
        name_key=name.casefold(),
        email_key=email,
    )


#: The TLDs of the generated domains: a gTLD, the ccTLD the registries file names (.se), and a
#: ccTLD it does not list (.nl: the default profile).
TLDS = ("com", "se", "nl")
REGISTRY_RDDS = RegistryRdds("whois.registry.example", "https://rdap.registry.example/")


@st.composite
def publications(draw: st.DrawFn) -> Publications:
    """A registries file's choices: .se under any profile, with the registrar's RDDS or only the
    registry's (with or without RDAP); any default profile for the ccTLDs it does not list."""
    rdds = draw(st.sampled_from([None, REGISTRY_RDDS, RegistryRdds("whois.registry.example")]))
    entry = TldPublication("se", draw(st.sampled_from(sorted(PROFILES))), rdds)
    return Publications({"se": entry}, draw(st.sampled_from(sorted(PROFILES))))


@st.composite
def records(draw: st.DrawFn) -> DomainRecord:
    """A domain with a registrant and any of tech, admin, billing; sometimes one shared contact."""
    registrant = draw(contacts("ILC1000"))
    holders: dict[str, Contact] = {"registrant": registrant}
    for index, role in enumerate(("admin", "tech", "billing"), start=1):
        choice = draw(st.sampled_from(["none", "own", "registrant"]))
        if choice == "own":
            handle = HOUSE_CANDIDATE if role == "tech" else f"ILC{2000 + index}"
            holders[role] = draw(contacts(handle))
        elif choice == "registrant":
            holders[role] = registrant
    name = f"kite-makers.{draw(st.sampled_from(TLDS))}"
    return make_record(holders, name=name, unicode_name=name, tld=name.rsplit(".", 1)[1])


registry_policies = st.fixed_dictionaries(
    {role: st.sampled_from(["required", "optional", "prohibited"]) for role in ROLES}
)


def neutral() -> Contact:
    """A stand-in holding no generated value, to render the boilerplate alone."""
    return Contact(
        handle="Z",
        kind="person",
        name="¤",
        org=None,
        street=["¤"],
        city="¤",
        state=None,
        postal_code="¤",
        country="ZZ",
        voice="+0.0",
        voice_ext="0",
        fax="+0.0",
        fax_ext="0",
        email="¤@¤",
        consent_fields=[],
        name_key="",
        email_key="",
    )


def stored_values(contact: Contact, field: str) -> list[str]:
    """The private values of one field of a contact (street: each line)."""
    value = contact.street if field == "street" else getattr(contact, field)
    if isinstance(value, list):
        return [line for line in value if line]
    return [value] if value else []


def public_values(view: PublicationView, shown: frozenset[str]) -> list[str]:
    """Every value the view publishes in a role the profile shows."""
    out: list[str] = []
    for role in (view.role(name) for name in shown):
        for field in role.fields:
            if field.published:
                out += list(field.lines) or ([field.value] if field.value else [])
    return out


def in_json(value: str, text: str) -> bool:
    """True when the value appears in JSON text, raw or escaped."""
    return value in text or json.dumps(value, ensure_ascii=False)[1:-1] in text


def check(
    record: DomainRecord, profile: str | Publications, registry_policy: dict[str, str]
) -> int:
    """Render and check one record under a profile, or under its TLD's publication; returns how
    many private values were checked."""
    chosen = (
        profile.for_tld(record.domain.tld)
        if isinstance(profile, Publications)
        else TldPublication(record.domain.tld, profile)
    )
    view = build_view(record, profile=profile, registrar=REGISTRAR, registry_policy=registry_policy)
    assert (view.profile, view.registry_rdds) == (chosen.profile, chosen.registry_rdds)
    if isinstance(profile, Publications) and record.domain.tld == "com":
        assert view.profile == "icann-gtld"  # a gTLD's, whatever the default
    whois_text = render_whois(view)
    rdap_text = rdap_json(view)
    rdap_answer(rdap_text)  # a domain object, or the referral (an error object) to the registry
    stand_ins = {role: neutral() for role in record.contacts}
    base_view = build_view(
        DomainRecord(record.domain, record.account, stand_ins),
        profile=profile,
        registrar=REGISTRAR,
        now=view.generated_at,
    )
    baseline = render_whois(base_view) + rdap_json(base_view) + repr(base_view)
    # From the profile's data, not from the view; nothing when only the registry runs the RDDS.
    assert chosen.profile is not None
    shown = PROFILES[chosen.profile].shown_roles if chosen.registry_rdds is None else frozenset()
    public = public_values(view, shown)
    in_view = [
        v
        for role in view.roles
        for f in role.fields
        if f.published
        for v in f.lines or [f.value]
        if v
    ]

    # Every published stored value appears (in WHOIS as its own `Label: value` line); no other
    # stored value appears anywhere, nor in the view itself.
    whois_lines = set(whois_text.split("\r\n"))
    checked = 0
    for role_name, contact in record.contacts.items():
        role = view.role(role_name)
        for name in FIELDS:
            label = field_label(role_name, name)
            if role_name in shown and role.field(name).published:
                for value in stored_values(contact, name):
                    assert f"{label}: {value}" in whois_lines, (label, value)
                    assert in_json(value, rdap_text), (label, value)
                continue
            for secret in stored_values(contact, name):
                if secret in baseline or any(secret in value for value in public):
                    continue  # the same text is public for another reason: not a leak
                checked += 1
                assert secret not in whois_text, (role_name, name)
                assert not in_json(secret, rdap_text), (role_name, name)
                if not any(secret in value for value in in_view):  # e.g. hidden roles' fields
                    assert secret not in repr(view), (role_name, name)

    # The EPP disclose flags say exactly what the view publishes (for the registry's roles).
    for role in view.roles:
        sharing = [role.role] + [
            r for r in role.shares_contact_with if view.role(r).sent_to_registry
        ]
        public_in_all = set(FIELDS)
        for other in sharing:
            public_in_all &= {f.field for f in view.role(other).fields if f.published}
        flags = disclose_for(view, role.role)
        assert flags.name == ("name" in public_in_all)
        assert flags.org == ("org" in public_in_all)
        assert flags.email == ("email" in public_in_all)
        assert flags.voice == ({"voice", "voice_ext"} <= public_in_all)
        assert flags.fax == ({"fax", "fax_ext"} <= public_in_all)
        assert flags.addr == (set(ADDRESS_FIELDS) <= public_in_all)
    return checked


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records(), profile=st.sampled_from(sorted(PROFILES)), policy=registry_policies)
def test_no_redacted_value_in_any_public_output(
    record: DomainRecord, profile: str, policy: dict[str, str]
) -> None:
    check(record, profile, policy)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records(), chosen=publications(), policy=registry_policies)
def test_no_redacted_value_in_any_public_output_for_any_tld_choice(
    record: DomainRecord, chosen: Publications, policy: dict[str, str]
) -> None:
    check(record, chosen, policy)


def test_the_property_checks_something() -> None:
    """A fixed all-private example: the check must look at every private value."""
    contact = Contact(
        handle="ILC1000",
        kind="person",
        name="Åsa 𝔊rünwald",
        org=None,
        street=["Rue des 𝒜rbres 9", "Bâtiment C"],
        city="Château-Gontier",
        state="Mayenne",
        postal_code="53200",
        country="FR",
        voice="+33.243000000",
        voice_ext="4321",
        fax="+33.243000001",
        fax_ext="8765",
        email="asa.grunwald@courrier.example",
        consent_fields=[],
        name_key="",
        email_key="",
    )
    record = make_record({"registrant": contact, "admin": contact})
    # 11 per role: name, 2 street lines, city, postal code, voice, ext, fax, ext, email, handle
    # (admin is hidden, but its state and country are public as the registrant's)
    assert check(record, "icann-gtld", {}) == 2 * 11
    # Only the registry runs .se's RDDS: its state and country are no more public than the rest.
    registry = Publications({"se": TldPublication("se", None, REGISTRY_RDDS)})
    in_se = make_record(dict(record.contacts), name="kite-makers.se", tld="se")
    assert check(in_se, registry, {}) == 2 * 13


def test_no_leak_through_the_real_store(store: Store) -> None:
    """The same checks on records written to and read back from the store."""
    record = store.domain_record(nightingale(store))
    for profile in PROFILES:
        for policy in ({}, {"tech": "prohibited"}):
            assert check(record, profile, policy) > 0


def unstamped(answer: bytes) -> bytes:
    """A served answer with its generation time replaced by the renderers' sentinel."""
    found = STAMP.search(answer)
    assert found is not None, answer[:300]
    # Only there: a record's own times may fall in the same second.
    return answer[: found.start(1)] + SENTINEL_TEXT + answer[found.end(1) :]


def test_the_servers_serve_exactly_the_checked_answers(store: Store, settings: Settings) -> None:
    """On both backends, WHOIS and RDAP serve the bytes of the policy's view, the view the
    property checks: built at once, read from the answers rendered ahead, and from memory."""
    name = nightingale(store)
    live = rdds_settings(settings, publish_interval=0.05)
    with Services(store, live, whois_port=0, http_port=0, portal=False) as running:
        lookup = rdap_lookup(store, live)
        try:
            assert check(store.domain_record(name), lookup.publications, {}) > 0
            view = lookup.view(name, now=SENTINEL)
        finally:
            lookup.close()
        assert view is not None
        expected = {"whois": whois_bytes(view), "rdap": rdap_bytes(view)}
        with httpx.Client(base_url=running.rdap_url, timeout=10) as client:
            for round_ in range(4):
                served = {
                    "whois": ask(running.whois_port, f"{name}\r\n".encode()),
                    "rdap": client.get(f"domain/{name}").content,
                }
                for service, body in served.items():
                    assert unstamped(body) == expected[service], (service, round_)
                if round_ == 0:
                    poll(
                        lambda: count_answers(store, running.publication) == (1, 1),
                        timeout=30,
                        what="publishing",
                    )


def nightingale(store: Store) -> str:
    """Two contacts with non-ASCII data on a domain of the store; the domain's name."""
    account = store.create_account("staff:test", account_data())
    people = [
        {
            "kind": "person",
            "name": "Zoë 𝔑ightingale",
            "street": ["Ølstykke Vej 3"],
            "city": "Ærøskøbing",
            "postal_code": "5970",
            "country": "DK",
            "voice": "+45 32 12 34 56",
            "email": "zoe.nightingale@post.example",
        },
        {
            "kind": "organization",
            "name": "Håkon Brekke",
            "org": "Fjordkraft Værksted AS",
            "street": ["Strandgata 1", "Postboks 77", "Inngang B"],
            "city": "Trondheim",
            "state": "Trøndelag",
            "postal_code": "7011",
            "country": "NO",
            "voice": "+47 73 00 00 00",
            "voice_ext": "123",
            "fax": "+47 73 00 00 01",
            "email": "post@fjordkraft.example",
            "consent_fields": ["email"],
            "consent_method": "portal",
        },
    ]
    handles = [
        store.create_contact("staff:test", data, account_number=account.number).handle
        for data in people
    ]
    store.create_domain(
        "staff:test",
        {"name": "nightingale-test.com", "nameservers": ["ns1.example.net"]},
        account_number=account.number,
        contacts={"registrant": handles[0], "tech": handles[1], "admin": handles[0]},
    )
    return "nightingale-test.com"
