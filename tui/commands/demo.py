"""`interlink demo`: a fresh demo store, the local services around it, and the staff app."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from domains.errors import InterlinkError
from domains.settings import Settings, get_settings
from domains.store import Store
from domains.transfer import import_records
from tui.app import create_app
from tui.commands.common import console, staff_actor, user_errors
from tui.context import AppContext, PublicWhois
from tui.demo_services import DemoServices, free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def demo_settings(directory: Path, http_port: int) -> Settings:
    """Settings for a demo in `directory`: its own store, outbox folder and portal address."""
    base = get_settings().model_dump()
    base.update(
        database_url=f"sqlite:///{directory / 'demo.db'}",
        data_dir=directory,
        portal_base_url=f"http://127.0.0.1:{http_port}",
        registries_file=directory / "registries.toml",
    )
    base["mail"] = {**base["mail"], "smtp_host": None}  # mail goes to DIR/outbox as .eml files
    return Settings(**base)


def demo_store(directory: Path, settings: Settings) -> Store:
    """A new store in `directory` holding the demo data set (an old demo is replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in [*directory.glob("demo.db*"), *directory.glob("sandbox.db*")]:
        if stale.is_file():
            stale.unlink()
    store = Store.open(settings=settings)
    report = import_records(store, FIXTURES / "demo.json", actor="system:demo")
    if report.problems:
        store.close()
        raise InterlinkError(
            f"the demo data set has {len(report.problems)} bad record(s), e.g. "
            f"{report.problems[0]}; nothing was imported"
        )
    return store


def demo_command(
    directory: Path = typer.Option(
        None, "--dir", help="Where the demo lives (default: the data directory's demo/)."
    ),
    user: str = typer.Option(None, "--user", help="Staff name for the audit trail."),
    headless: bool = typer.Option(
        False, "--headless", help="Run the services without the staff app, until Ctrl-C."
    ),
    whois_port: int = typer.Option(4343, "--whois-port", help="Preferred WHOIS port."),
    http_port: int = typer.Option(8080, "--http-port", help="Preferred HTTP port."),
) -> None:
    """Make a fresh demo store, start the sandbox registry, WHOIS, RDAP and the portal, open
    the staff app; everything stops when you quit."""
    with user_errors():
        directory = (directory or get_settings().data_dir / "demo").resolve()
        http = free_port(http_port)
        settings = demo_settings(directory, http)
        store = demo_store(directory, settings)
        services = DemoServices(store, settings, free_port(whois_port), http)
        try:
            if headless:
                _run_headless(services)
            else:
                context = AppContext(
                    store=store,
                    actor=staff_actor(user),
                    whois=PublicWhois("127.0.0.1", services.whois_port),
                    banner="Demo: starting services...",
                    on_ready=lambda app: services.start(
                        lambda text: app.call_from_thread(app.set_banner, text)
                    ),
                )
                create_app(context).run()
        finally:
            services.stop()
            store.close()
    console.print("demo stopped: sandbox registry, WHOIS, RDAP, portal and sync are down")


def _run_headless(services: DemoServices) -> None:
    """Services only, until SIGINT or SIGTERM (used by tests and for a look with curl)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = threading.Event()

    def changed(text: str) -> None:
        console.print(text, highlight=False)
        if "sync on" in text or "failed" in text:
            started.set()

    services.start(changed)
    started.wait(60)
    console.print("ready; Ctrl-C stops the demo", highlight=False)
    stop.wait()
