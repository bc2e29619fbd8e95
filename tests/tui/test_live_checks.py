"""The Domain screen's live checks (`l`): the DNS (dnslib on loopback) and the public WHOIS (a
server on loopback, asked with Debian's whois client and parsed by python-whois).

What those answer is anyone's text: it is shown as it is, never read as markup.
"""

from __future__ import annotations

import shutil
import socketserver
import threading
from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Static

from domains.settings import DnsSettings
from tests.support.dns import ZONES
from tests.support.environment import REQUIRE_ALL
from tests.support.pilot import SIZE, column, make_app, settle, text_of, wait_for
from tui.context import PublicWhois
from tui.screens.domain import DomainScreen

NAME = "thistlequill.com"
ODD_REGISTRAR = "[/b]Odd [blink]Registrar"
RECORD = (
    f"Domain Name: {NAME.upper()}\r\n"
    f"Registrar: {ODD_REGISTRAR}\r\n"
    "Creation Date: 2019-04-01T10:00:00Z\r\n"
    "Registry Expiry Date: 2031-04-01T10:00:00Z\r\n"
    "Name Server: NS1.ELSEWHERE.EXAMPLE.NET\r\n"
    "Registrant Name: [red]Mallory[/red]\r\n"
)

pytestmark = pytest.mark.skipif(
    shutil.which("whois") is None and not REQUIRE_ALL, reason="Debian's whois is not installed"
)


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline(512)
        self.wfile.write(RECORD.encode())


@pytest.fixture
def public_whois() -> Iterator[PublicWhois]:
    """A WHOIS server on loopback that answers every query with RECORD."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Answer) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield PublicWhois(host="127.0.0.1", port=server.server_address[1], timeout=10)
        finally:
            server.shutdown()


async def test_l_shows_the_live_ns_and_whois_beside_the_stored_record(
    demo_store,
    public_whois,
    dns_server,
    monkeypatch,
):
    monkeypatch.setitem(ZONES, f"{NAME}.", ["ns1.elsewhere.example.net."])
    dns = DnsSettings(resolvers=["127.0.0.1"], port=dns_server.port, timeout=5)
    settings = demo_store.settings.model_copy(update={"dns": dns})
    monkeypatch.setattr(demo_store, "settings", settings)
    app = make_app(demo_store, whois=public_whois)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*NAME)
        await wait_for(
            pilot,
            lambda: column(app.screen.query_one("#domains", DataTable)) == [NAME],
            what="the domain in the search results",
        )
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and app.screen.details)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        live_ns = text_of(screen.query_one("#live-ns", Static))
        assert "ns1.elsewhere.example.net" in live_ns
        assert "Live NS" in live_ns
        live_whois = text_of(screen.query_one("#live-whois", Static))
        assert f"registrar: {ODD_REGISTRAR}" in live_whois
        assert "registrant name: [red]Mallory[/red]" in live_whois
        assert (NAME, "udp") in {(q.rstrip("."), proto) for q, proto in dns_server.zones.seen}
