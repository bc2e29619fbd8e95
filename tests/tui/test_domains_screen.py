"""Domains screen: find a domain by typing (prefix, U-label, e-mail, account, name), open it."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import DataTable, Input, Static

from domains.departures import mark_gone
from tests.support.pilot import SIZE, column, make_app, rows, settle, text_of, wait_for
from tui.screens.domain import DomainScreen
from tui.screens.domains import DomainsScreen

DEMO_DOMAINS = 75


def domains_table(app) -> DataTable:
    return app.screen.query_one("#domains", DataTable)


def status(app) -> str:
    return text_of(app.screen.query_one("#search-status", Static))


async def search(pilot, text: str, expected: list[str]) -> list[list[str]]:
    """Type `text` into the search box (real key presses) and wait for exactly `expected`."""
    app = pilot.app
    box = app.screen.query_one("#search", Input)
    assert app.focused is box
    await pilot.press(*text)
    assert box.value.endswith(text)
    await wait_for(
        pilot,
        lambda: column(domains_table(app)) == expected and "shown" in status(app),
        what=f"the rows of {text!r}",
    )
    return rows(domains_table(app))


async def test_first_screen_lists_the_domains(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: domains_table(app).row_count == DEMO_DOMAINS)
        assert isinstance(app.screen, DomainsScreen)
        assert status(app) == f"domain search: {DEMO_DOMAINS} shown"
        names = column(domains_table(app))
        assert names[0] == "alpenblick-oberstdorf.com"  # A-label order, from the start


async def test_typing_a_prefix_shows_the_matching_domains(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: domains_table(app).row_count == DEMO_DOMAINS)
        shown = await search(
            pilot,
            "thistle",
            ["thistleandquill.co.uk", "thistleandquill.org", "thistlequill.com"],
        )
        assert all(row[1] == "A-100006" and row[2] == "domain" for row in shown)
        assert status(app) == "domain search: 3 shown"

        # One more letter narrows it; backspace widens it again.
        await search(pilot, "a", ["thistleandquill.co.uk", "thistleandquill.org"])
        await pilot.press("backspace")
        await wait_for(pilot, lambda: domains_table(app).row_count == 3)


async def test_typing_a_u_label_finds_the_idn(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await search(
            pilot,
            "mühlen",
            [
                "mühlenbräu.com (xn--mhlenbru-6za7u.com)",
                "mühlenbräu.de (xn--mhlenbru-6za7u.de)",
            ],
        )
        # The A-label finds the same domains.
        await pilot.press("ctrl+a", "ctrl+k")
        await search(
            pilot,
            "xn--mhlen",
            [
                "mühlenbräu.com (xn--mhlenbru-6za7u.com)",
                "mühlenbräu.de (xn--mhlenbru-6za7u.de)",
            ],
        )


async def test_an_email_prefix_finds_the_domains_of_the_contact(app, demo_store):
    registrant = demo_store.domain_record("thistlequill.com").contact("registrant")
    assert registrant.email == "books@thistlequill.example.org"
    async with app.run_test(size=(80, 24)) as pilot:
        shown = await search(
            pilot,
            "books@thistle",
            ["thistleandquill.co.uk", "thistleandquill.org", "thistlequill.com"],
        )
        assert {row[2] for row in shown} == {"email (registrant)"}
        assert status(app).startswith("email search")


async def test_an_account_number_and_a_name_find_their_domains(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await search(
            pilot,
            "A-100044",
            ["brightline-analytics.com", "brightline-analytics.net", "brightlineanalytics.org"],
        )
        assert status(app).startswith("account search")
        await pilot.press("ctrl+a", "ctrl+k")
        # A bare word that names no domain falls back to people's names.
        shown = await search(
            pilot,
            "alasdair",
            ["thistleandquill.co.uk", "thistleandquill.org", "thistlequill.com"],
        )
        assert {row[2] for row in shown} == {"name (registrant)"}


async def test_no_match_says_so(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"qqqq")
        await wait_for(pilot, lambda: "no matches" in status(app))
        assert domains_table(app).row_count == 0
        await pilot.press("enter", "enter")  # nothing to open
        await pilot.pause()
        assert isinstance(app.screen, DomainsScreen)


async def test_enter_opens_the_domain_with_its_contacts(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await search(pilot, "whitcombe", ["whitcombe-illustration.co.uk"])
        await pilot.press("enter")  # open the highlighted (first) domain
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details)
        await settle(pilot)
        screen = app.screen
        assert screen.domain_name == "whitcombe-illustration.co.uk"
        summary = text_of(screen.query_one("#summary", Static))
        assert "whitcombe-illustration.co.uk" in summary
        assert "Account A-100002 Eleanor Whitcombe" in summary
        contacts = rows(screen.query_one("#contacts", DataTable))
        assert [row[:2] for row in contacts] == [["registrant", "ILC1002"], ["tech", "IL-HOUSE"]]
        assert contacts[0][2] == "Eleanor Whitcombe"

        await pilot.press("escape")  # back to the search, as it was
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen))
        assert column(domains_table(app)) == ["whitcombe-illustration.co.uk"]


async def test_an_idn_opens_by_its_a_label(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "smörg", ["smörgåsbageriet.se (xn--smrgsbageriet-sfb6w.se)"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details)
        assert app.screen.domain_name == "xn--smrgsbageriet-sfb6w.se"
        assert app.screen.title == "smörgåsbageriet.se"


async def test_a_domain_transferred_away_says_so(app, demo_store):
    at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    mark_gone(demo_store, "xn--smrgsbageriet-sfb6w.se", actor="system:test", at=at, gaining="other")
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "smörg", ["smörgåsbageriet.se (xn--smrgsbageriet-sfb6w.se)"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details)
        summary = " ".join(text_of(app.screen.query_one("#summary", Static)).split())
        assert "Gone: transferred to another registrar 2026-11-30 09:15" in summary


async def test_rows_are_fetched_page_by_page_as_the_cursor_moves_down(demo_store):
    app = make_app(demo_store, page_size=25)
    async with app.run_test(size=(80, 24)) as pilot:
        table = domains_table(app)
        await wait_for(pilot, lambda: table.row_count == 25)
        assert status(app) == "domain search: 25 shown (more below)"
        await pilot.press("down")  # to the table
        loaded = [table.row_count]
        for _ in range(10):
            if app.screen.next_cursor is None:
                break
            await pilot.press("ctrl+end")  # to the last loaded row: the next page comes
            await wait_for(pilot, lambda n=loaded[-1]: table.row_count > n)
            loaded.append(table.row_count)
        assert loaded == [25, 50, 75]
        assert status(app) == f"domain search: {DEMO_DOMAINS} shown"
        names = column(table)
        assert len(set(names)) == DEMO_DOMAINS  # no row twice, none missing
        assert names == sorted(names, key=lambda n: n.split(" (")[-1].rstrip(")"))


def shown_lines(table: DataTable) -> list[str]:
    """The lines the table draws on the screen, as plain text."""
    return [
        "".join(segment.text for segment in table.render_line(y)) for y in range(table.size.height)
    ]


async def test_stored_text_that_looks_like_markup_is_shown_as_it_is(app, demo_store):
    # Names are free text: brackets in them are data, never Rich markup (a "[/b]" that no
    # "[b]" opened would otherwise stop the screen with a markup error).
    registrant = demo_store.domain_record("whitcombe-illustration.co.uk").contact("registrant")
    odd = "[/b]Eleanor [b]Whitcombe[/]"
    demo_store.update_contact("staff:ann", registrant.handle, registrant.version, {"name": odd})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"name:[/b]eleanor")
        await wait_for(
            pilot,
            lambda: column(domains_table(app)) == ["whitcombe-illustration.co.uk"],
            what="the domain found by its registrant's odd name",
        )
        await settle(pilot)
        assert any("name (registrant)" in line for line in shown_lines(domains_table(app)))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details)
        await settle(pilot)
        contacts = app.screen.query_one("#contacts", DataTable)
        assert rows(contacts)[0][2] == odd
        assert any(odd in line for line in shown_lines(contacts))
