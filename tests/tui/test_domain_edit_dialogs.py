"""The Domain screen's edits of registry data at 80x24: lock, name servers, DS, registrant; each a
dialog of its own, in the command palette, saved through the store (audited, queued)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col
from textual.widgets import Input, Static, TextArea

from domains.models import OutboxEntry
from domains.store import Store
from tests.support.pilot import make_app, palette_titles, settle, text_of, wait_for
from tui.dialogs.change_registrant import ChangeRegistrantDialog
from tui.dialogs.client_statuses import ClientStatusesDialog
from tui.dialogs.ds_records import DsRecordsDialog
from tui.dialogs.name_servers import NameServersDialog
from tui.screens.domain import DomainScreen

DOMAIN = "riversidedentalstudio.co.uk"
SIZE = (80, 24)
D1 = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"
EDITS = (
    "Domain: Lock, unlock or client statuses",
    "Domain: Edit name servers",
    "Domain: Edit DS records",
    "Domain: Change registrant",
)


def payloads(store: Store) -> list[dict]:
    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry)
            .where(col(OutboxEntry.kind) == "domain.update")
            .order_by(col(OutboxEntry.id))
        ).scalars()
        return [row.payload for row in rows]


async def open_domain(pilot) -> DomainScreen:
    app = pilot.app
    await pilot.press(*"riverside", "enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details, what=DOMAIN
    )
    await settle(pilot)
    return app.screen


async def open_dialog(pilot, key: str, kind: type):
    await pilot.press(key)
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen)


async def back_on(pilot, screen: DomainScreen) -> None:
    await wait_for(pilot, lambda: pilot.app.screen is screen, what="the Domain screen again")
    await settle(pilot)


async def test_every_edit_is_in_the_palette_for_a_supervisor_only_some_for_support(
    app, demo_store: Store
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_domain(pilot)
        titles = palette_titles(app)
        for title in EDITS:
            assert title in titles
    support = make_app(demo_store, "staff:sam")
    async with support.run_test(size=SIZE) as pilot:
        await open_domain(pilot)
        titles = palette_titles(support)
        assert "Domain: Edit DS records" in titles
        assert "Domain: Change registrant" not in titles


async def test_lock_then_unlock_from_the_dialog(app, demo_store: Store) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_domain(pilot)
        await open_dialog(pilot, "k", ClientStatusesDialog)
        await pilot.click("#lock")
        await back_on(pilot, screen)
        statuses = demo_store.get_domain(DOMAIN).statuses
        assert {
            "clientTransferProhibited",
            "clientUpdateProhibited",
            "clientDeleteProhibited",
        } <= set(statuses)
        assert "Locked: clientUpdateProhibited" in text_of(screen.query_one("#summary", Static))
        await open_dialog(pilot, "k", ClientStatusesDialog)
        await pilot.click("#unlock")
        await back_on(pilot, screen)
    assert payloads(demo_store) == [
        {
            "domain": DOMAIN,
            "statuses": {"add": ["clientDeleteProhibited", "clientUpdateProhibited"], "rem": []},
        },
        {
            "domain": DOMAIN,
            "statuses": {
                "add": [],
                "rem": [
                    "clientDeleteProhibited",
                    "clientTransferProhibited",
                    "clientUpdateProhibited",
                ],
            },
        },
    ]


async def test_name_servers_refused_without_glue_then_saved_with_it(app, demo_store: Store) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_domain(pilot)
        dialog = await open_dialog(pilot, "n", NameServersDialog)
        area = dialog.query_one("#f-nameservers", TextArea)
        area.text = f"ns1.{DOMAIN}\nns2.interlink.example.net\n"
        await pilot.press("ctrl+s")
        summary = await wait_for(
            pilot, lambda: "Not saved" in text_of(dialog.query_one("#e-form")) and dialog
        )
        assert f"glue[ns1.{DOMAIN}]" in text_of(summary.query_one("#e-form"))
        assert payloads(demo_store) == []
        area.text = f"ns1.{DOMAIN} 192.0.2.10\nns2.interlink.example.net\n"
        await pilot.press("ctrl+s")
        await back_on(pilot, screen)
    assert payloads(demo_store) == [
        {
            "domain": DOMAIN,
            "ns": {"add": [f"ns1.{DOMAIN}"], "rem": ["ns1.interlink.example.net"]},
            "hosts": {f"ns1.{DOMAIN}": ["192.0.2.10"]},
        }
    ]


async def test_ds_records_bad_then_good_sign_the_domain(app, demo_store: Store) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_domain(pilot)
        dialog = await open_dialog(pilot, "d", DsRecordsDialog)
        area = dialog.query_one("#f-ds", TextArea)
        area.text = f"2371 1 2 {D1}"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "ds[0].algorithm" in text_of(dialog.query_one("#e-form")))
        assert "1 (RSAMD5) must not be used" in text_of(dialog.query_one("#e-form"))
        area.text = f"2371 13 2 {D1.lower()}"
        await pilot.press("ctrl+s")
        await back_on(pilot, screen)
        summary = text_of(screen.query_one("#summary", Static))
        assert "DNSSEC: signed, DS 2371/ECDSAP256SHA256" in " ".join(summary.split())
    assert demo_store.domain_record(DOMAIN).domain.dnssec is True
    assert payloads(demo_store) == [
        {
            "domain": DOMAIN,
            "ds": {
                "add": [{"key_tag": 2371, "alg": 13, "digest_type": 2, "digest": D1}],
                "rem": [],
            },
        }
    ]


async def test_change_registrant_to_the_admin_contact(app, demo_store: Store) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_domain(pilot)
        dialog = await open_dialog(pilot, "r", ChangeRegistrantDialog)
        assert "Now ILC1008" in text_of(dialog.query_one("#help", Static))
        dialog.query_one("#f-registrant", Input).value = "ILC1009"
        await pilot.press("enter")
        await back_on(pilot, screen)
    assert demo_store.domain_record(DOMAIN).contact("registrant").handle == "ILC1009"
    assert payloads(demo_store) == [
        {"domain": DOMAIN, "registrant": {"before": "ILC1008", "after": "ILC1009"}}
    ]
