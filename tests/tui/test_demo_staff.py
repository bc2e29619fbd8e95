"""The demo's staff: one of each role, --user picks one, the palette switches between them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import Static

from domains.vocabulary import StaffRole
from tests.support.factories import confirmed_request
from tests.support.pilot import (
    footer_actions,
    make_demo_app,
    palette_titles,
    run_from_palette,
    settle,
    text_of,
    wait_for,
)
from tui.demo_staff import DEMO_STAFF, demo_staff_views
from tui.screens.domains import DomainsScreen
from tui.screens.no_access import NoAccessScreen
from tui.screens.request_detail import RequestDetailScreen
from tui.widgets.banner import Banner

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "harbourside-bikes.com"


def test_the_demo_has_one_member_of_each_role_and_ann_supervises(demo_store):
    staff = demo_staff_views(demo_store)
    assert sorted(role for member in staff for role in member.roles) == sorted(StaffRole)
    assert [m.login for m in staff] == [m.login for m in DEMO_STAFF]
    ann = next(m for m in staff if m.login == "ann")
    assert ann.roles == (StaffRole.SUPERVISOR,) and ann.active


async def banner_text(pilot) -> str:
    banner = await wait_for(pilot, lambda: pilot.app.screen.query_one(Banner), what="banner")
    return text_of(banner)


async def show_request(pilot, reference: str) -> RequestDetailScreen:
    screen = RequestDetailScreen(reference)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.details, what=reference)
    await settle(pilot)
    return screen


async def test_switching_demo_staff_from_the_palette_changes_who_acts(demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    app = make_demo_app(demo_store, "ann")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Demo: acting as Ann Keller (ann, supervisor)" in await banner_text(pilot)
        await show_request(pilot, reference)
        assert "approve" in await wait_for(pilot, lambda: footer_actions(app))
        assert app.screen.actor == "staff:ann"

        await run_from_palette(pilot, "act as Sid", "Demo: act as Sid Moreau (support)")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="Domains")
        assert "acting as Sid Moreau (sid, support)" in await banner_text(pilot)
        assert app.context.actor == "staff:sid" and "staff:sid" in app.sub_title
        assert "Demo: act as Sid Moreau (support)" not in palette_titles(app)
        assert "Demo: act as Ann Keller (supervisor)" in palette_titles(app)
        screen = await show_request(pilot, reference)
        shown = await wait_for(pilot, lambda: footer_actions(app), what="the footer")
        assert "approve" not in shown and "cancel_request" in shown
        assert screen.actor == "staff:sid"

        await run_from_palette(pilot, "act as Otto", "Demo: act as Otto Brandvold (admin)")
        await wait_for(pilot, lambda: isinstance(app.screen, NoAccessScreen), what="the notice")
        assert "acting as Otto Brandvold (otto, admin)" in await banner_text(pilot)
        notice = text_of(app.screen.query_one("#no-access", Static))
        assert "staff:otto" in notice and "do not include customer data" in notice
        assert "Requests" not in palette_titles(app)

        await run_from_palette(pilot, "act as Ann", "Demo: act as Ann Keller (supervisor)")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="Domains")
        assert "acting as Ann Keller" in await banner_text(pilot)
        await show_request(pilot, reference)
        assert "approve" in await wait_for(pilot, lambda: footer_actions(app))


async def test_outside_a_demo_there_is_nobody_to_switch_to_and_no_banner(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen))
        assert not [t for t in palette_titles(app) if t.startswith("Demo:")]
        assert not app.screen.query_one(Banner).display


async def test_the_demo_can_start_as_an_admin(demo_store):
    app = make_demo_app(demo_store, "otto")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoAccessScreen), what="the notice")
        assert "acting as Otto Brandvold (otto, admin)" in await banner_text(pilot)
        assert "Demo: act as Ann Keller (supervisor)" in palette_titles(app)


def interlink(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`interlink ARGS` with a clean environment (nothing from the user's own settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERLINK_", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"), INTERLINK_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_user_must_be_one_of_the_demo_staff(tmp_path):
    directory = tmp_path / "demo"
    result = interlink(tmp_path, "demo", "--headless", "--dir", str(directory), "--user", "zed")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: 'zed' is not one of the demo staff; they are otto (admin), ann (supervisor), "
        "sid (support), priya (privacy)\n"
    )
    assert not directory.exists()  # refused before anything was made
