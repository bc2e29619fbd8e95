"""The demo's banner in the staff app: the shell line for another terminal and the outbox folder."""

from __future__ import annotations

import shlex

from domains.store import Store
from tests.support.pilot import make_app, text_of, wait_for
from tui.commands.demo import demo_settings
from tui.demo_services import DemoServices
from tui.widgets.banner import Banner


async def test_the_banner_says_how_another_terminal_reaches_the_store_and_where_mail_goes(
    demo_store: Store, tmp_path
):
    directory = tmp_path / "[b]demo"  # a folder name that reads like markup is shown as it is
    settings = demo_settings(directory, 8080)
    services = DemoServices(demo_store, settings, 4343, 8080)
    app = make_app(demo_store, banner=services.banner())
    async with app.run_test(size=(80, 24)) as pilot:
        banner = await wait_for(pilot, lambda: app.screen.query_one(Banner), what="the banner")
        text = text_of(banner)
        lines = text.splitlines()
        assert lines[0] == "Demo: starting services..."
        config = shlex.quote(str(directory / "interlink.toml"))
        assert lines[1] == f"another terminal: export INTERLINK_CONFIG={config}"
        assert lines[2] == f"mail: {directory}/outbox/ (.eml files)"
        assert settings.outbox_dir() == directory / "outbox"
        assert banner.size.width <= 80 and banner.size.height >= 3

        services.lines.extend(["WHOIS 127.0.0.1:4343", "sync on"])
        app.set_banner(services.banner())
        await pilot.pause()
        assert text_of(banner).splitlines()[0] == "Demo: WHOIS 127.0.0.1:4343 · sync on"
        assert "INTERLINK_CONFIG=" in text_of(banner)
