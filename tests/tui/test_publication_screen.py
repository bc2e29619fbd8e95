"""Publication: redacted fields marked beside the stored record; WHOIS and RDAP as the public
gets them; and the command palette, which reaches every action of a screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Static, TabbedContent

from domains.store import Store
from publishers.registries import DEFAULT_FILE
from tests.support.pilot import (
    drawn,
    make_app,
    open_domain,
    rows,
    settle,
    shows_whole,
    text_of,
    wait_for,
)
from tests.support.rdap_schema import rdap_answer
from tui.screens.domain import DomainScreen
from tui.screens.publication import PublicationScreen

DOMAIN = "rhiannonpryce.co.uk"  # a person who consented to publish nothing
REGISTRANT = "Rhiannon Pryce"


async def open_publication(pilot) -> PublicationScreen:
    app = pilot.app
    await open_domain(pilot, DOMAIN, typed="rhian")
    await pilot.press("p")
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, PublicationScreen)
            and app.screen.query_one("#stored", DataTable).row_count
        ),
        what="the Publication screen",
    )
    await settle(pilot)
    return app.screen


def stored_rows(screen) -> dict[str, tuple[str, str]]:
    """field -> (public marker, stored value) as the table shows them (markup removed)."""
    from rich.text import Text

    return {
        row[0]: (Text.from_markup(row[1]).plain, Text.from_markup(row[2]).plain)
        for row in rows(screen.query_one("#stored", DataTable))
    }


async def test_a_redacted_field_is_marked_beside_the_stored_value(app, demo_store):
    registrant = demo_store.domain_record(DOMAIN).contact("registrant")
    assert registrant.name == REGISTRANT and registrant.consent_fields == []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_publication(pilot)
        table = stored_rows(screen)
        public, stored = table["registrant.name"]
        assert public.startswith("REDACTED")
        assert stored == REGISTRANT
        assert table["registrant.email"][0].startswith("REDACTED")
        assert table["registrant.email"][1] == registrant.email
        assert table["registrant.country"] == ("public", "GB")  # public anyway
        # The house contact as tech: its name, phone and e-mail; no organisation (the RDP's).
        assert table["tech.org"] == ("omitted", "Interlink Networks Ltd")
        assert table["tech.name"][0] == "public"

        whois = text_of(screen.query_one("#whois-text", Static))
        assert "Registrant Name: REDACTED FOR PRIVACY" in whois
        assert "REDACTED FOR PRIVACY" in whois
        assert REGISTRANT not in whois
        assert registrant.email not in whois
        assert registrant.voice not in whois
        assert "Registrant Country: GB" in whois
        assert screen.sub_title == "profile icann-gtld"


async def test_the_rdap_tab_shows_the_json_without_the_redacted_values(app, demo_store):
    registrant = demo_store.domain_record(DOMAIN).contact("registrant")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_publication(pilot)
        await pilot.press("j")
        await pilot.pause()
        assert screen.query_one("#public-tabs", TabbedContent).active == "rdap"
        rdap = rdap_answer(text_of(screen.query_one("#rdap-text", Static)))
        assert rdap["objectClassName"] == "domain"
        assert rdap["ldhName"].lower() == DOMAIN
        assert rdap.get("redacted"), "RFC 9537 redaction entries"
        text = json.dumps(rdap, ensure_ascii=False)
        assert REGISTRANT not in text and registrant.email not in text
        await pilot.press("w")
        await pilot.pause()
        assert screen.query_one("#public-tabs", TabbedContent).active == "whois"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen))


async def test_consent_makes_the_field_public(app, demo_store):
    registrant = demo_store.domain_record(DOMAIN).contact("registrant")
    demo_store.update_contact(
        "staff:bob",
        registrant.handle,
        registrant.version,
        {"consent_fields": ["name"], "consent_method": "letter"},
    )
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_publication(pilot)
        assert stored_rows(screen)["registrant.name"] == ("public", REGISTRANT)
        whois = text_of(screen.query_one("#whois-text", Static))
        assert f"Registrant Name: {REGISTRANT}" in whois


async def test_at_80x24_no_value_of_the_stored_record_is_lost(app, demo_store):
    email = demo_store.domain_record(DOMAIN).contact("registrant").email
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_publication(pilot)
        table = screen.query_one("#stored", DataTable)
        assert table.virtual_size.width <= table.size.width  # no column off the screen
        table.focus()
        row = next(i for i, r in enumerate(rows(table)) if r[0] == "registrant.email")
        table.move_cursor(row=row)
        await pilot.pause()
        # What its column cuts is shown in full on the line under the table.
        cells = drawn(table)
        line = screen.query_one("#stored-line", Static)
        for value in rows(table)[row]:
            assert value in cells or value in text_of(line), value
        assert email in cells or (email in text_of(line) and shows_whole(line))


def palette_prompts(app) -> list[str]:
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_the_command_palette_lists_the_screens_actions_and_runs_them(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_domain(pilot, DOMAIN, typed="rhian")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Domain:")
        wanted = [
            "Domain: Back",
            "Domain: Edit contact",
            "Domain: Publication",
            "Domain: Change tech",
            "Domain: Live DNS/WHOIS",
            "Domain: Reload",
        ]
        await wait_for(
            pilot,
            lambda: all(any(w in p for p in palette_prompts(app)) for w in wanted),
            what="the Domain screen's actions in the palette",
        )
        # The app's own entries are there too.
        await pilot.press(*("backspace" for _ in "Domain:"), *"Requests")
        await wait_for(pilot, lambda: any("Requests" in p for p in palette_prompts(app)))

        await pilot.press(*("backspace" for _ in "Requests"), *"Publication")
        await wait_for(
            pilot,
            lambda: palette_prompts(app) and "Publication" in palette_prompts(app)[0],
            what="Publication first",
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PublicationScreen)
                and app.screen.query_one("#stored", DataTable).row_count
            ),
            what="the Publication screen from the palette",
        )
        assert app.screen.domain_name == DOMAIN


@pytest.mark.parametrize(
    ("table", "subtitle"),
    [
        ('profile = "cctld-legal-persons"', "profile cctld-legal-persons"),
        (
            'rdds = "registry"\nregistry_whois = "whois.registry-uk.example"',
            "profile icann-gtld · RDDS: the registry's (whois.registry-uk.example)",
        ),
    ],
)
async def test_the_publication_is_the_one_of_the_domains_tld(
    demo_store: Store, tmp_path: Path, table: str, subtitle: str
) -> None:
    """The registries file names .uk's profile, or that only its registry runs WHOIS and RDAP:
    the screen shows that one, at 80x24."""
    registries = tmp_path / "registries.toml"
    registries.write_text(f"{DEFAULT_FILE.read_text()}\n[tlds.uk]\n{table}\n")
    settings = demo_store.settings.model_copy(update={"registries_file": registries})
    store = Store.open(settings=settings)
    try:
        async with make_app(store).run_test(size=(80, 24)) as pilot:
            screen = await open_publication(pilot)
            assert screen.sub_title == subtitle
            whois = text_of(screen.query_one("#whois-text", Static))
            assert REGISTRANT not in whois
            if "registry" in subtitle:
                assert "Registry WHOIS Server: whois.registry-uk.example" in whois
                assert "Registrant" not in whois
                assert stored_rows(screen)["registrant.name"] == ("not shown", REGISTRANT)
            else:
                assert "Registrant Name: REDACTED FOR PRIVACY" in whois
    finally:
        store.close()
