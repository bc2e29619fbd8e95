"""The disclosure holds exactly the approved fields of the approved domains: a property test
over every decision, on the view and on the signed document (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.disclosure_input import DISCLOSABLE_FIELDS
from domains.store import DomainRecord
from domains.vocabulary import ContactRole
from publishers.disclosure_document import seal, verify_document
from publishers.policy import build_disclosure_view
from tests.support.records import REGISTRAR, make_contact, make_record

DOMAINS = ("kite-makers.com", "rope-walk.org")
ROLES = tuple(ContactRole)
DECIDED = datetime(2026, 12, 23, 16, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def value_of(domain: int, role: str, field: str) -> str:
    """A value found nowhere else: any leak of it is unmistakable."""
    return f"V{domain}{role[:3]}{field.replace('_', '')}Q"


def contact(domain: int, role: str):  # type: ignore[no-untyped-def]
    values = {field: value_of(domain, role, field) for field in DISCLOSABLE_FIELDS}
    values["street"] = [values["street"]]
    return make_contact(**values)


def records(holders: dict[str, frozenset[str]]) -> dict[str, DomainRecord]:
    """Each domain with its own contact in each role drawn (the other roles nobody holds):
    a field of another role is another contact's."""
    out = {}
    for index, name in enumerate(DOMAINS):
        contacts = {role: contact(index, role) for role in holders[name]}
        out[name] = make_record(contacts, name=name, unicode_name=name)
    return out


TRIPLES = [(d, r, f) for d in DOMAINS for r in ROLES for f in DISCLOSABLE_FIELDS]


@settings(max_examples=150, deadline=None)
@given(
    approved=st.lists(st.sampled_from(TRIPLES), unique=True, max_size=40),
    holders=st.fixed_dictionaries(
        {name: st.frozensets(st.sampled_from(ROLES)) for name in DOMAINS}
    ),
)
def test_the_document_holds_exactly_the_approved_fields(
    approved: list[tuple[str, str, str]], holders: dict[str, frozenset[str]]
) -> None:
    recs = records(holders)
    view = build_disclosure_view(
        recs,
        tuple(approved),
        reference="DR-AAAAA-BBBBB",
        outcome="partly disclosed",
        decided_at=DECIDED,
        registrar=REGISTRAR,
        now=DECIDED,
    )
    shown = {(d.name, f.role, f.field): f.value for d in view.domains for f in d.fields}
    assert set(shown) == set(approved)
    for (domain, role, field), value in shown.items():
        index = DOMAINS.index(domain)
        expected = value_of(index, role, field) if role in holders[domain] else None
        assert value == expected
    document = seal(view, KEY)
    text = document.json.decode() + document.text
    for domain, role, field in TRIPLES:
        leaked = value_of(DOMAINS.index(domain), role, field) in text
        assert leaked == ((domain, role, field) in approved and role in holders[domain])
    payload = verify_document(document.json)
    assert {
        (d["name"], f["role"], f["field"]) for d in payload["domains"] for f in d["fields"]
    } == (set(approved))
