"""The stored ASCII form of a contact's postal data: checked, kept, audited, cleared."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from domains import ascii_postal
from domains.errors import ValidationFailed
from domains.models import AuditEvent
from tests.support.factories import contact_data

GERMAN = {
    "kind": "organization",
    "name": "Jürgen Groß",
    "org": "Bücherstube Müller GmbH",
    "street": ["Straße des 17. Juni 5"],
    "city": "Köln",
    "country": "DE",
    "email": "info@buecherstube.example.com",
}


def test_a_form_is_normalised_to_the_items_given() -> None:
    given = {"name": "  Juergen  Gross ", "street": ["Strasse 5", " "], "city": "", "org": None}
    assert ascii_postal.check(given) == {"name": "Juergen  Gross", "street": ["Strasse 5"]}
    assert ascii_postal.check({}) is None and ascii_postal.check(None) is None
    assert ascii_postal.check({"city": " "}) is None


@pytest.mark.parametrize(
    ("given", "field", "why"),
    [
        ({"city": "Köln"}, "ascii.city", "must be printable ASCII"),
        ({"street": ["ok", "Straße"]}, "ascii.street[2]", "'ß' at position 5 is not"),
        ({"postal_code": "1" * 17}, "ascii.postal_code", "16"),
        ({"name": "x" * 256}, "ascii.name", "255"),
        ({"street": ["a", "b", "c", "d"]}, "ascii.street", "at most 3"),
        ({"town": "Cologne"}, "ascii", "has no item town"),
        ("Cologne", "ascii", "must be a set of postal items"),
    ],
)
def test_a_bad_form_is_refused_naming_the_item(given, field, why) -> None:
    with pytest.raises(ValidationFailed) as raised:
        ascii_postal.check(given)
    message = raised.value.for_field(field)
    assert message is not None and why in message, raised.value.errors


def test_every_bad_item_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as raised:
        ascii_postal.check({"name": "Groß", "city": "Köln"})
    assert [e.field for e in raised.value.errors] == ["ascii.name", "ascii.city"]


def test_the_store_keeps_audits_and_clears_the_form(store) -> None:
    form = {"name": "Juergen Gross", "city": "Cologne"}
    contact = store.create_contact("staff:ann", {**GERMAN, "ascii_postal": form})
    assert store.get_contact(contact.handle).ascii_postal == form
    changed = store.update_contact(
        "staff:ann", contact.handle, contact.version, {"ascii_postal": {"city": "Koeln"}}
    )
    assert changed.version == contact.version + 1
    assert store.get_contact(contact.handle).ascii_postal == {"city": "Koeln"}
    cleared = store.update_contact(
        "staff:ann", contact.handle, changed.version, {"ascii_postal": {}}
    )
    assert store.get_contact(contact.handle).ascii_postal is None
    # Saving the same form again changes nothing.
    same = store.update_contact(
        "staff:ann", contact.handle, cleared.version, {"ascii_postal": None}
    )
    assert same.version == cleared.version
    with store.read() as session:
        events = session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.entity_id) == contact.handle)
            .order_by(col(AuditEvent.id))
        ).scalars()
        trail = [(e.action, e.changes.get("ascii_postal")) for e in events]
    assert trail == [
        ("contact.create", {"before": None, "after": form}),
        ("contact.update", {"before": form, "after": {"city": "Koeln"}}),
        ("contact.update", {"before": {"city": "Koeln"}, "after": None}),
    ]


def test_a_bad_form_writes_nothing(store) -> None:
    contact = store.create_contact("staff:ann", contact_data(city="Bern"))
    with pytest.raises(ValidationFailed) as raised:
        store.update_contact(
            "staff:ann",
            contact.handle,
            contact.version,
            {"city": "Zürich", "ascii_postal": {"city": "Zürich"}},
        )
    assert raised.value.for_field("ascii.city") is not None
    kept = store.get_contact(contact.handle)
    assert kept.city == "Bern" and kept.ascii_postal is None and kept.version == contact.version
