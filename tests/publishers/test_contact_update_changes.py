"""A contact edit sends the registry only the elements it changed (the outbox payload's fields),
after a contact:info that may only narrow them; never an empty fax unless it is removed."""

from __future__ import annotations

import pytest
from lxml import etree

from publishers.epp.model import CONTACT_NS
from publishers.epp.xmlsafe import parse_frame
from publishers.sandbox.faults import FaultPlan
from tests.support.sandbox import assert_frames_valid
from tests.support.sync import (
    ACTOR,
    assert_sandbox_equals_store,
    contact_matches_store,
    entries,
    expected_disclose,
    registered,
    registries,
    statuses,
    sync_once,
    write_registries,
)

pytestmark = pytest.mark.usefixtures("sandbox_password")
C = {"c": CONTACT_NS}


async def sync(store, regs) -> None:
    await sync_once(store, regs)


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def updates(sandbox) -> list[etree._Element]:
    """The <contact:chg> of every contact:update the sandbox received, in order."""
    found = []
    for frame in sandbox.received:
        chg = parse_frame(frame).find(".//c:update/c:chg", C)
        if chg is not None:
            found.append(chg)
    return found


def shape(chg: etree._Element) -> list[tuple[str, ...]]:
    """The chg's elements: postalInfo as (postalInfo, type, its children...), others by name,
    an empty voice or fax marked."""
    out: list[tuple[str, ...]] = []
    for child in chg:
        name = local(child)
        if name == "postalInfo":
            out.append((name, child.get("type") or "", *(local(c) for c in child)))
        elif name in {"voice", "fax"} and not (child.text or "").strip():
            out.append((name, "empty"))
        else:
            out.append((name,))
    return out


@pytest.fixture
async def world(store, recording_sandbox, tmp_path):
    """A registered domain whose registrant the sandbox holds exactly as the sync sends it."""
    regs = registries(write_registries(tmp_path / "r.toml", recording_sandbox), tmp_path)
    name = registered(store, recording_sandbox, regs, "edits.com")
    registrant = store.domain_record(name).contact("registrant")
    return store, recording_sandbox, regs, name, registrant.handle


def edit(store, handle: str, **changes) -> None:
    contact = store.get_contact(handle)
    store.update_contact(ACTOR, handle, contact.version, changes)


def held(store, sandbox, regs, name: str, handle: str) -> None:
    """The sandbox's copy of the contact is the store's, disclose flags included."""
    disclose = expected_disclose(store, regs, name, "registrant")
    assert contact_matches_store(sandbox.snapshot(), store.get_contact(handle), disclose) == []


async def test_a_city_edit_sends_the_address_only(world) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, city="Potsdam")
    await sync(store, regs)
    assert statuses(store) == {"done": 1}
    (chg,) = updates(sandbox)
    assert shape(chg) == [("postalInfo", "int", "addr")]
    assert chg.findtext("c:postalInfo/c:addr/c:city", namespaces=C) == "Potsdam"
    held(store, sandbox, regs, name, handle)
    assert [c.name for c in sandbox.commands("info", "contact")] == ["info"]
    assert_frames_valid(sandbox.received)


async def test_an_email_edit_sends_no_name_org_or_fax(world) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, email="new-address@example.org")
    await sync(store, regs)
    (chg,) = updates(sandbox)
    assert shape(chg) == [("email",)]
    held(store, sandbox, regs, name, handle)
    assert_frames_valid(sandbox.received)


async def test_a_name_edit_sends_the_name_alone(world) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, name="Renamed Person")
    await sync(store, regs)
    (chg,) = updates(sandbox)
    assert shape(chg) == [("postalInfo", "int", "name")]
    held(store, sandbox, regs, name, handle)
    assert_frames_valid(sandbox.received)


async def test_fax_goes_empty_only_when_it_is_removed(world) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, voice="+49 30 901821")
    await sync(store, regs)
    edit(store, handle, fax="+49 30 901829")
    await sync(store, regs)
    edit(store, handle, fax=None)
    await sync(store, regs)
    assert statuses(store) == {"done": 3}
    voice, fax_added, fax_removed = updates(sandbox)
    assert shape(voice) == [("voice",)]
    assert shape(fax_added) == [("fax",)]
    assert fax_added.findtext("c:fax", namespaces=C) == "+49.30901829"
    assert shape(fax_removed) == [("fax", "empty")]
    assert sandbox.snapshot().contacts[handle].fax is None
    held(store, sandbox, regs, name, handle)
    assert_frames_valid(sandbox.received)


async def test_a_consent_change_sends_the_disclose_flags_alone(world) -> None:
    store, sandbox, regs, name, handle = world
    before = sandbox.snapshot().contacts[handle].disclose
    edit(store, handle, consent_fields=["name", "email"], consent_method="phone")
    await sync(store, regs)
    (chg,) = updates(sandbox)
    assert shape(chg) == [("disclose",)]
    after = sandbox.snapshot().contacts[handle].disclose
    assert after != before and after.name and after.email
    held(store, sandbox, regs, name, handle)
    assert_frames_valid(sandbox.received)


async def test_an_edit_undone_before_the_sync_sends_nothing(world) -> None:
    store, sandbox, regs, name, handle = world
    original = store.get_contact(handle).name
    edit(store, handle, name="Somebody Else")
    edit(store, handle, name=original)
    await sync(store, regs)
    await sync(store, regs)  # one entry of a contact at a time
    assert statuses(store) == {"done": 2}
    assert updates(sandbox) == []  # no name in a chg: no change of holder for nothing
    assert {e.last_error for e in entries(store)} == {None}
    held(store, sandbox, regs, name, handle)


async def test_data_becoming_non_ascii_adds_the_loc_form_whole_and_keeps_it_in_step(
    world,
) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, city="Köln")
    await sync(store, regs)
    (chg,) = updates(sandbox)
    # The int form gets the ASCII address; the loc form, new, goes whole (its name too).
    assert shape(chg) == [("postalInfo", "int", "addr"), ("postalInfo", "loc", "name", "addr")]
    assert chg.findtext("c:postalInfo[@type='int']/c:addr/c:city", namespaces=C) == "Koln"
    assert chg.findtext("c:postalInfo[@type='loc']/c:addr/c:city", namespaces=C) == "Köln"
    kept = sandbox.snapshot().contacts[handle]
    assert kept.postal_type == "loc" and kept.city == "Köln"
    assert kept.ascii_form is not None and kept.ascii_form.addr.city == "Koln"
    held(store, sandbox, regs, name, handle)

    # Back to ASCII: EPP cannot remove the loc form, so it follows the int one.
    edit(store, handle, city="Bonn")
    await sync(store, regs)
    chg = updates(sandbox)[-1]
    assert shape(chg) == [("postalInfo", "int", "addr"), ("postalInfo", "loc", "addr")]
    kept = sandbox.snapshot().contacts[handle]
    assert kept.city == "Bonn" and kept.ascii_form.addr.city == "Bonn"
    # And a later edit keeps both in step without sending the name.
    edit(store, handle, postal_code="53111")
    await sync(store, regs)
    chg = updates(sandbox)[-1]
    assert shape(chg) == [("postalInfo", "int", "addr"), ("postalInfo", "loc", "addr")]
    assert statuses(store) == {"done": 3}
    assert_sandbox_equals_store(store, sandbox, regs, [name])
    assert_frames_valid(sandbox.received)


async def test_a_lost_answer_is_not_sent_again(world) -> None:
    store, sandbox, regs, name, handle = world
    edit(store, handle, city="Leipzig", email="moved@example.org")
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0, seed=3)
    await sync(store, regs)
    assert statuses(store) == {"done": 1}
    assert len(updates(sandbox)) == 1
    assert [c.name for c in sandbox.commands("info", "contact")] == ["info", "info"]
    held(store, sandbox, regs, name, handle)
    assert_frames_valid(sandbox.received)
