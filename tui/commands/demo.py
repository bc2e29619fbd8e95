"""`interlink demo`: a fresh demo store, the local services around it, and the staff app."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import typer

from domains.errors import InterlinkError
from domains.exchange import import_records
from domains.settings import Settings, get_settings
from domains.store import Store
from tui.app import create_app
from tui.commands.common import console, user_errors
from tui.context import AppContext, PublicWhois
from tui.demo_lock import DemoLock
from tui.demo_services import CONFIG_NAME, DemoServices, config_toml, free_port
from tui.demo_staff import add_the_operator, demo_member, demo_staff_views, seed_demo_staff

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
    # No relay: mail goes to DIR/outbox/ as .eml files, whatever the user's own settings say.
    base["mail"] = {**base["mail"], "smtp_host": None, "outbox_dir": directory / "outbox"}
    return Settings(**base)


def demo_store(directory: Path, settings: Settings) -> Store:
    """A new store in `directory` holding the demo staff and data set (an old demo is
    replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in [*directory.glob("demo.db*"), *directory.glob("sandbox.db*")]:
        if stale.is_file():
            stale.unlink()
    (directory / CONFIG_NAME).write_text(config_toml(settings), encoding="utf-8")
    store = Store.open(settings=settings)
    seed_demo_staff(store)
    add_the_operator(store)  # a second terminal's `interlink` acts as them
    report = import_records(store, FIXTURES / "demo.json", actor="system:demo")
    if report.problems:
        store.close()
        raise InterlinkError(
            f"the demo data set has {len(report.problems)} bad record(s), e.g. "
            f"{report.problems[0]}; nothing was imported"
        )
    put_demo_ds(store, FIXTURES / "demo_ds.json")
    return store


def put_demo_ds(store: Store, path: Path) -> int:
    """Put on file the DS records of the demo's signed domains (fixtures/demo_ds.json: the data
    set is a version 1 exchange file, which carries only the flag), as the registry holds them
    already; how many."""
    records = json.loads(path.read_text(encoding="utf-8"))
    for name, texts in records.items():
        store.import_ds("system:demo", name, texts)
    return len(records)


def demo_command(
    directory: Path = typer.Option(
        None, "--dir", help="Where the demo lives (default: the data directory's demo/)."
    ),
    user: str = typer.Option(
        None, "--user", help="Which demo staff member to act as (default: ann, a supervisor)."
    ),
    headless: bool = typer.Option(
        False, "--headless", help="Run the services without the staff app, until Ctrl-C."
    ),
    whois_port: int = typer.Option(4343, "--whois-port", help="Preferred WHOIS port."),
    http_port: int = typer.Option(8080, "--http-port", help="Preferred HTTP port."),
) -> None:
    """Make a fresh demo store, start the sandbox registry, WHOIS, RDAP and the portal, open
    the staff app; everything stops when you quit."""
    with user_errors():
        login = demo_member(user).login  # an unknown name is refused before anything starts
        directory = (directory or get_settings().data_dir / "demo").resolve()
        # The lock comes first: a second demo here is refused before it touches anything.
        with DemoLock.hold(directory) as lock:
            http = free_port(http_port)
            settings = demo_settings(directory, http)
            store = demo_store(directory, settings)
            services = DemoServices(store, settings, free_port(whois_port), http)
            try:
                if headless:
                    _run_headless(services, lock)
                else:
                    staff = demo_staff_views(store)
                    context = AppContext(
                        store=store,
                        staff=next(m for m in staff if m.login == login),
                        demo_staff=staff,
                        whois=PublicWhois("127.0.0.1", services.whois_port),
                        banner=services.banner(),
                        on_ready=lambda app: services.start(
                            _recording(
                                lock,
                                services,
                                lambda text: app.call_from_thread(app.set_banner, text),
                            )
                        ),
                    )
                    create_app(context).run()
            finally:
                services.stop()
                store.close()
    console.print("demo stopped: sandbox registry, WHOIS, RDAP, portal and sync are down")


def _recording(
    lock: DemoLock, services: DemoServices, show: Callable[[str], None]
) -> Callable[[str], None]:
    """`show` for banner changes, after writing the ports known so far to the lock file."""

    def on_change(text: str) -> None:
        lock.record(**services.ports())
        show(text)

    return on_change


def _print_line(text: str) -> None:
    """One whole line on stdout, never folded (the shell line is for copying), no markup."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _run_headless(services: DemoServices, lock: DemoLock) -> None:
    """Services only, until SIGINT or SIGTERM (used by tests and for a look with curl)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    for line in services.where():
        _print_line(line)
    services.start(_recording(lock, services, lambda _text: _print_line(services.status())))
    services.settled.wait(60)
    _print_line("ready; Ctrl-C stops the demo")
    # Wake now and then: the kernel may hand the signal to another thread, and Python runs its
    # handler only once the main thread wakes (a bare wait() could sleep through Ctrl-C).
    while not stop.wait(0.2):
        pass
