"""Requests: approve and apply, reject with a reason, no approving your own, enter one by phone."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from domains.changes import Workflow
from tests.support.factories import confirmed_request
from tests.support.pilot import (
    ACTOR,
    answer_yes,
    focus_by_tab,
    make_app,
    open_domain,
    retype,
    rows,
    settle,
    text_of,
    wait_for,
)
from tui.dialogs.enter_request import EnterRequestDialog
from tui.dialogs.reason import ReasonDialog
from tui.screens.request_detail import RequestDetailScreen
from tui.screens.requests import RequestsScreen

DOMAIN = "harbourside-bikes.com"
PHONED = "whitcombe-illustration.co.uk"  # typed as "whitc"


def summary(app) -> str:
    return text_of(app.screen.query_one("#request-summary", Static))


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


async def open_request(pilot, reference: str) -> RequestDetailScreen:
    """F3, wait for the request in the queue, tab to the table, move to it, enter."""
    app = pilot.app
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, RequestsScreen), what="Requests")
    table = app.screen.query_one("#requests", DataTable)
    await wait_for(
        pilot,
        lambda: any(row[0] == reference for row in rows(table)),
        what=f"{reference} in the queue",
    )
    await focus_by_tab(pilot, "requests")
    for _ in range(table.row_count):
        if str(table.get_row_at(table.cursor_row)[0]) == reference:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, RequestDetailScreen) and app.screen.details is not None,
        what=f"the request {reference}",
    )
    await settle(pilot)  # the live NS look-up too (it fails fast: nothing listens)
    return app.screen


async def test_the_queue_shows_the_confirmed_request(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestsScreen))
        table = app.screen.query_one("#requests", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert rows(table)[0][:5] == [reference, DOMAIN, "confirmed", "portal", "customer:portal"]
        assert text_of(app.screen.query_one("#requests-status", Static)) == "1 request(s)"


async def test_approve_a_confirmed_request_and_see_it_applied(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    old_tech = demo_store.domain_record(DOMAIN).contact("tech")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_request(pilot, reference)
        assert "is confirmed" in summary(app)
        # Current and proposed technical contact side by side.
        assert old_tech.handle in text_of(screen.query_one("#current-tech", Static))
        assert "Northwind Hosting GmbH" in text_of(screen.query_one("#proposed-tech", Static))
        assert "Stored NS:" in text_of(screen.query_one("#request-ns", Static))

        await pilot.press("a")
        await answer_yes(pilot)
        await wait_for(pilot, lambda: "is applied" in summary(app), what="applied on screen")
        assert f"Decided by {ACTOR}" in summary(app)
        assert any("approved and applied" in n for n in notifications(app))

    request = Workflow(demo_store).get(reference)
    assert (request.state, request.decided_by) == ("applied", ACTOR)
    tech = demo_store.domain_record(DOMAIN).contact("tech")
    assert tech.org == "Northwind Hosting GmbH" and tech.handle != old_tech.handle
    assert request.new_tech_id == tech.id and request.outbox_id is not None


async def test_reject_a_request_with_a_reason(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    reason = "the letter was not signed by the registrant"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, reference)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonDialog))
        await pilot.press("enter")  # an empty reason is refused
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert text_of(app.screen.query_one("#reason-error", Static)) == "a reason is required"
        await pilot.press(*reason)
        assert app.screen.query_one("#reason", Input).value == reason
        await pilot.press("enter")
        await wait_for(pilot, lambda: "is rejected" in summary(app), what="rejected on screen")
        assert f"Reason: {reason}" in summary(app)

    request = Workflow(demo_store).get(reference)
    assert (request.state, request.reason, request.decided_by) == ("rejected", reason, ACTOR)
    assert demo_store.domain_record(DOMAIN).contact("tech").handle == "IL-HOUSE"


async def test_escape_in_the_reason_dialog_rejects_nothing(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, reference)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonDialog))
        await pilot.press(*"changed my mind", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestDetailScreen))
        await settle(pilot)
    assert Workflow(demo_store).get(reference).state == "confirmed"


async def test_the_one_who_entered_a_request_cannot_approve_it(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN, actor=ACTOR, channel="phone")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, reference)
        assert f"entered by {ACTOR}" in summary(app)
        await pilot.press("a")
        await answer_yes(pilot)
        await wait_for(
            pilot,
            lambda: any("cannot also approve" in n for n in notifications(app)),
            what="the refusal",
        )
        await settle(pilot)
        assert "is confirmed" in summary(app)

    assert Workflow(demo_store).get(reference).state == "confirmed"


async def test_a_colleague_can_approve_what_ann_entered(demo_store):
    reference = confirmed_request(demo_store, DOMAIN, actor=ACTOR, channel="phone")
    app = make_app(demo_store, actor="staff:bob")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, reference)
        await pilot.press("a")
        await answer_yes(pilot)
        await wait_for(pilot, lambda: "is applied" in summary(app))
    assert Workflow(demo_store).get(reference).decided_by == "staff:bob"


async def test_enter_a_request_for_a_customer_who_phoned(app, demo_store):
    domain_id = demo_store.get_domain(PHONED).id
    async with app.run_test(size=(80, 24)) as pilot:
        await open_domain(pilot, PHONED, typed="whitc")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, EnterRequestDialog))
        dialog = app.screen
        assert dialog.query_one("#f-domain", Input).value == PHONED
        await retype(pilot, "f-org", "Northwind Hosting GmbH")
        await retype(pilot, "f-name", "Greta Nord")
        await retype(pilot, "f-email", "noc@northwind.example.net")
        await retype(pilot, "f-voice", "+49 40 609040")
        await retype(pilot, "f-city", "Hamburg")
        await retype(pilot, "f-country", "DE")
        await focus_by_tab(pilot, "c-org")
        await pilot.press("space")  # the new contact agrees to publish its organisation
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not dialog, what="the dialog to close")
        await wait_for(
            pilot,
            lambda: app.screen.query_one("#domain-requests", DataTable).row_count == 1,
            what="the request on the Domain screen",
        )
        shown = rows(app.screen.query_one("#domain-requests", DataTable))[0]
        assert shown[1:4] == ["submitted", "phone", ACTOR]

    [request] = Workflow(demo_store).list(domain_id=domain_id)
    assert (request.state, request.channel, request.entered_by) == ("submitted", "phone", ACTOR)
    assert request.proposed["org"] == "Northwind Hosting GmbH"
    assert request.proposed["voice"] == "+49.40609040"
    assert request.proposed["consent_fields"] == ["org"]
    assert request.proposed["consent_method"] == "phone"
    assert shown[0] == request.reference


async def test_errors_in_the_request_dialog_are_shown_beside_the_fields(app, demo_store):
    domain_id = demo_store.get_domain(PHONED).id
    async with app.run_test(size=(80, 24)) as pilot:
        await open_domain(pilot, PHONED, typed="whitc")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, EnterRequestDialog))
        dialog = app.screen
        await retype(pilot, "f-org", "Northwind Hosting GmbH")
        await retype(pilot, "f-email", "noc@northwind.example.net")
        await retype(pilot, "f-voice", "[/b]12345")  # quoted back: text, never markup
        await retype(pilot, "f-city", "Hamburg")
        await retype(pilot, "f-country", "DE")
        await pilot.press("ctrl+s")  # no contact name, a bad phone
        await wait_for(pilot, lambda: text_of(dialog.query_one("#e-voice", Static)))
        assert "'[/b]12345' is not a" in text_of(dialog.query_one("#e-voice", Static))
        assert text_of(dialog.query_one("#e-name", Static)) == "is required"
        assert text_of(dialog.query_one("#e-email", Static)) == ""
        assert app.screen is dialog
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog)
    assert Workflow(demo_store).list(domain_id=domain_id) == []
