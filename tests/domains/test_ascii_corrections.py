"""The ASCII form of non-ASCII postal data: given by the customer through the correction rules,
and a stored form that no longer corresponds dropped when the address changes (customer or staff).

Real parts: the store (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import pytest

from domains import ascii_postal
from domains.ascii_corrections import AsciiFormCorrections
from domains.contact_corrections import ContactCorrections
from domains.errors import ConflictError, NotFound, RuleViolation, ValidationFailed
from domains.vocabulary import AsciiSource
from portal.links import PortalLinks
from publishers.sync.contacts import contact_data
from tests.support.ascii_form import ascii_trail, contact_updates, zurich_holder
from tests.support.factories import account_data
from tests.support.factories import contact_data as person_data

FORM = {"street": ["Muellerstrasse 5"], "city": "Zurich"}


def corrections(store) -> AsciiFormCorrections:
    return AsciiFormCorrections(store, PortalLinks(store.settings))


# -- the customer gives, changes and clears it --------------------------------------------------


def test_the_view_shows_each_item_as_stored_or_transliterated(store) -> None:
    holder = zurich_holder(store)
    view = corrections(store).ascii_form(holder.number, holder.contact.handle)
    assert view.needed and not view.has_stored and view.version == holder.contact.version
    assert [(i.key, i.value, i.sent, i.source) for i in view.items] == [
        ("name", "Jürg Müller", "Jurg Muller", AsciiSource.TRANSLITERATED),
        ("street", "Müllerstraße 5", "Mullerstrasse 5", AsciiSource.TRANSLITERATED),
        ("city", "Zürich", "Zurich", AsciiSource.TRANSLITERATED),
        ("postal_code", "8001", "8001", AsciiSource.TRANSLITERATED),
    ]
    # What the view calls sent is what the registries get.
    sent = contact_data(store.get_contact(holder.contact.handle)).ascii_form
    assert sent is not None
    assert (sent.name, sent.addr.street, sent.addr.city) == (
        "Jurg Muller",
        ("Mullerstrasse 5",),
        "Zurich",
    )


def test_the_customer_gives_changes_and_clears_the_form(store) -> None:
    holder = zurich_holder(store)
    handle, actor = holder.contact.handle, f"customer:{holder.number}"
    done = corrections(store).set_ascii_form(
        holder.number, handle, holder.contact.version, {**FORM, "city": " Zurich "}
    )
    assert done.result.applied == ("ascii_postal",) and done.notice_ids == ()
    stored = store.get_contact(handle)
    assert stored.ascii_postal == FORM and stored.version == done.result.version
    view = corrections(store).ascii_form(holder.number, handle)
    assert {i.key: (i.stored, i.sent, i.source) for i in view.items if i.stored} == {
        "street": ("Muellerstrasse 5", "Muellerstrasse 5", AsciiSource.GIVEN),
        "city": ("Zurich", "Zurich", AsciiSource.GIVEN),
    }
    sent = contact_data(stored).ascii_form
    assert sent is not None
    assert (sent.name, sent.addr.street, sent.addr.city) == (
        "Jurg Muller",  # not given: transliterated
        ("Muellerstrasse 5",),
        "Zurich",
    )

    changed = corrections(store).set_ascii_form(
        holder.number, handle, stored.version, {"name": "Juerg Mueller"}
    )
    assert store.get_contact(handle).ascii_postal == {"name": "Juerg Mueller"}
    same = corrections(store).set_ascii_form(
        holder.number, handle, changed.result.version, {"name": "Juerg Mueller"}
    )
    assert same.result.applied == () and same.result.version == changed.result.version
    cleared = corrections(store).set_ascii_form(holder.number, handle, same.result.version, None)
    assert cleared.result.applied == ("ascii_postal",)
    assert store.get_contact(handle).ascii_postal is None

    # Each change: the customer's audit event, and one contact.update for the registries.
    assert ascii_trail(store, handle) == [
        (actor, {"before": None, "after": FORM}),
        (actor, {"before": FORM, "after": {"name": "Juerg Mueller"}}),
        (actor, {"before": {"name": "Juerg Mueller"}, "after": None}),
    ]
    assert contact_updates(store, handle) == [["ascii_postal"]] * 3


@pytest.mark.parametrize(
    ("form", "field", "why"),
    [
        ({"city": "Zürich"}, "ascii.city", "must be printable ASCII"),
        ({"street": ["Müllerstrasse 5"]}, "ascii.street[1]", "'ü' at position 2 is not"),
        ({"postal_code": "8" * 17}, "ascii.postal_code", "16"),
        ({"org": "Mueller AG"}, "ascii.org", "the contact has no organisation"),
        ({"town": "Zurich"}, "ascii", "has no item town"),
    ],
)
def test_a_bad_form_is_refused_naming_the_item_and_nothing_written(store, form, field, why) -> None:
    holder = zurich_holder(store)
    with pytest.raises(ValidationFailed) as raised:
        corrections(store).set_ascii_form(
            holder.number, holder.contact.handle, holder.contact.version, form
        )
    message = raised.value.for_field(field)
    assert message is not None and why in message, raised.value.errors
    kept = store.get_contact(holder.contact.handle)
    assert (kept.version, kept.ascii_postal) == (holder.contact.version, None)
    assert contact_updates(store, holder.contact.handle) == []


def test_ascii_data_takes_no_form_but_a_stored_one_can_be_cleared(store) -> None:
    holder = zurich_holder(store, street=["Muellerstrasse 5"], city="Zurich", name="Juerg M")
    handle = holder.contact.handle
    assert not corrections(store).ascii_form(holder.number, handle).needed
    with pytest.raises(ValidationFailed) as raised:
        corrections(store).set_ascii_form(
            holder.number, handle, holder.contact.version, {"city": "Zuerich"}
        )
    assert "all ASCII" in (raised.value.for_field("ascii") or "")
    staff = store.update_contact(
        "staff:ann", handle, holder.contact.version, {"ascii_postal": {"city": "Zuerich"}}
    )
    assert corrections(store).ascii_form(holder.number, handle).has_stored
    corrections(store).set_ascii_form(holder.number, handle, staff.version, {})
    assert store.get_contact(handle).ascii_postal is None


def test_only_the_accounts_own_contact_and_only_the_version_read(store) -> None:
    holder = zurich_holder(store)
    other = store.create_account("staff:test", account_data())
    with pytest.raises(NotFound):
        corrections(store).ascii_form(other.number, holder.contact.handle)
    with pytest.raises(NotFound):
        corrections(store).set_ascii_form(
            other.number, holder.contact.handle, holder.contact.version, FORM
        )
    moved = store.update_contact(
        "staff:ann", holder.contact.handle, holder.contact.version, {"voice_ext": "12"}
    )
    with pytest.raises(ConflictError) as raised:
        corrections(store).set_ascii_form(
            holder.number, holder.contact.handle, holder.contact.version, FORM
        )
    assert raised.value.current == moved.version
    assert store.get_contact(holder.contact.handle).ascii_postal is None


def test_no_form_while_a_change_of_registrant_waits(store) -> None:
    holder = zurich_holder(store, tld="com")
    handle = holder.contact.handle
    links = PortalLinks(store.settings)
    ContactCorrections(store, links).edit(
        holder.number, handle, holder.contact.version, {"name": "Jürg Müller-Meier"}
    )
    with pytest.raises(RuleViolation) as raised:
        corrections(store).set_ascii_form(holder.number, handle, holder.contact.version, FORM)
    assert "change of registrant" in str(raised.value)
    assert corrections(store).ascii_form(holder.number, handle).registrant_change is not None
    assert store.get_contact(handle).ascii_postal is None


# -- an address change drops the stored items that no longer correspond -----------------------


def test_a_customer_correction_of_the_address_drops_its_stale_ascii_items(store) -> None:
    holder = zurich_holder(store)
    handle = holder.contact.handle
    given = {"name": "Juerg Mueller", **FORM}
    set_ = corrections(store).set_ascii_form(holder.number, handle, holder.contact.version, given)
    edit = ContactCorrections(store, PortalLinks(store.settings)).edit(
        holder.number, handle, set_.result.version, {"city": "Genève", "postal_code": "1201"}
    )
    assert edit.result.applied == ("city", "postal_code")
    after = store.get_contact(handle)
    # The city's ASCII form was Zürich's: gone; the name and street still correspond.
    assert after.ascii_postal == {"name": "Juerg Mueller", "street": ["Muellerstrasse 5"]}
    sent = contact_data(after).ascii_form
    assert sent is not None
    assert (sent.name, sent.addr.street, sent.addr.city) == (
        "Juerg Mueller",
        ("Muellerstrasse 5",),
        "Geneve",  # transliterated from the new city
    )
    actor = f"customer:{holder.number}"
    assert ascii_trail(store, handle)[-1] == (
        actor,
        {"before": given, "after": {"name": "Juerg Mueller", "street": ["Muellerstrasse 5"]}},
    )
    # The same contact.update tells the registries of the address and of its ASCII form.
    assert contact_updates(store, handle)[-1] == ["ascii_postal", "city", "postal_code"]


def test_a_staff_edit_of_the_address_drops_stale_items_unless_it_gives_a_form(store) -> None:
    contact = store.create_contact(
        "staff:ann",
        person_data(
            name="Jürg Müller",
            street=["Müllerstraße 5"],
            city="Zürich",
            country="CH",
            ascii_postal={"name": "Juerg Mueller", **FORM},
        ),
    )
    moved = store.update_contact(
        "staff:ann", contact.handle, contact.version, {"street": ["Bahnhofstraße 1"]}
    )
    assert moved.ascii_postal == {"name": "Juerg Mueller", "city": "Zurich"}
    # An edit that gives the form in the same change sets it as given.
    given = {"street": ["Bahnhofstrasse 1"], "city": "Zurich"}
    both = store.update_contact(
        "staff:ann",
        contact.handle,
        moved.version,
        {"city": "Zürich-Oerlikon", "ascii_postal": given},
    )
    assert both.ascii_postal == given
    # A change the checks normalise away changes nothing; a new name drops only the name's.
    same = store.update_contact(
        "staff:ann", contact.handle, both.version, {"city": "Zürich-Oerlikon "}
    )
    assert same.version == both.version
    renamed = store.update_contact("staff:ann", contact.handle, same.version, {"city": "Zürich"})
    assert renamed.ascii_postal == {"street": ["Bahnhofstrasse 1"]}
    last = store.update_contact(
        "staff:ann", contact.handle, renamed.version, {"street": ["Seefeldstrasse 9"]}
    )
    assert last.ascii_postal is None  # nothing left: all transliterated
    assert ascii_trail(store, contact.handle)[-1] == (
        "staff:ann",
        {"before": {"street": ["Bahnhofstrasse 1"]}, "after": None},
    )


def test_without_stale_keeps_only_the_items_of_unchanged_data() -> None:
    stored = {"name": "Juerg", "street": ["Muellerstrasse 5"], "city": "Zurich"}
    before = {"name": "Jürg", "street": ["Müllerstraße 5", ""], "city": "Zürich"}
    assert ascii_postal.without_stale(stored, before, {**before, "street": ["Müllerstraße 5"]}) == (
        stored
    )
    after = {**before, "street": ["Müllerstraße 5", "Hinterhaus"], "city": "Zürich"}
    assert ascii_postal.without_stale(stored, before, after) == {"name": "Juerg", "city": "Zurich"}
    assert ascii_postal.without_stale(None, before, after) is None
    assert ascii_postal.without_stale({"city": "Zurich"}, before, {"city": "Bern"}) is None
