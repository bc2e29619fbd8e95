"""The demo's background services: sandbox registry, WHOIS + RDAP + portal, and the sync worker.

They start in a background thread so the staff app is on screen at once; the banner says where
each one listens as soon as it does. stop() ends them all (and is safe to call twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from domains.settings import Settings
from domains.store import Store

if TYPE_CHECKING:
    from publishers.sandbox.process import SandboxProcess
    from tui.commands.serve import Services

# The servers, the sandbox and the sync worker are imported in the background thread that
# starts them, so the staff app is on screen before FastAPI, uvicorn and lxml have loaded.

log = logging.getLogger(__name__)
SANDBOX_CLIENT = "interlink"
SANDBOX_PASSWORD = "demo-pw-2026"  # the local sandbox's public demo password (6-16 chars)
SANDBOX_PORT = 7000  # the sandbox's usual port: in the registries file until it runs elsewhere


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """The preferred port if nothing listens there, else one the system picks."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


#: The demo's settings file, in its directory: what `interlink` in another terminal reads.
CONFIG_NAME = "interlink.toml"


def config_toml(settings: Settings) -> str:
    """The demo's settings as a TOML file: its store, data folder, outbox, registries, portal."""

    def quoted(value: object) -> str:
        return json.dumps(str(value))  # a JSON string is a TOML basic string

    return (
        "# By `interlink demo`; `export INTERLINK_CONFIG=<this file>` points the CLI here.\n"
        f"database_url = {quoted(settings.database_url)}\n"
        f"data_dir = {quoted(settings.data_dir)}\n"
        f"registries_file = {quoted(settings.registries_file)}\n"
        f"portal_base_url = {quoted(settings.portal_base_url)}\n"
        "\n[mail]\n"
        f"outbox_dir = {quoted(settings.outbox_dir())}\n"
    )


def shell_line(config: Path) -> str:
    """The shell line that points `interlink` in another terminal at the demo's settings file
    (so that `show`, `requests`, `export` and `registry show` read the demo, and mail lands in
    its outbox)."""
    return f"export INTERLINK_CONFIG={shlex.quote(str(config))}"


def registries_toml(port: int, ca_file: str) -> str:
    """A registries file pointing every demo TLD at the running sandbox."""
    return (
        "[registries.sandbox]\n"
        'tlds = ["com", "net", "org", "de", "fr", "nl", "se", "uk", "es", "it"]\n'
        f'host = "127.0.0.1"\nport = {port}\nclient_id = "{SANDBOX_CLIENT}"\n'
        'password_env = "INTERLINK_SANDBOX_PASSWORD"\n'
        f'password_default = "{SANDBOX_PASSWORD}"\n'
        f'ca_file = "{ca_file}"\nsessions = 2\n'
    )


async def seed_sandbox(store: Store, db_path: Path) -> None:
    """Give the sandbox the demo's domains and contacts as the sync would have left them there:
    the same contact data and disclose flags (publishers/registry_compare.py), statuses and NS."""
    from publishers.epp.model import DsData
    from publishers.policy import build_view
    from publishers.registry_compare import store_intent
    from publishers.sandbox.server import SandboxRegistry
    from publishers.tld_publication import load_publications

    settings = store.settings
    publications = load_publications(settings)
    registry = SandboxRegistry(db_path, port=0, clients={SANDBOX_CLIENT: SANDBOX_PASSWORD})
    async with registry:
        seeded: set[str] = set()
        cursor = None
        while True:
            page = store.search("", kind="domain", cursor=cursor, limit=200)
            for hit in page.hits:
                record = store.domain_record(hit.name)
                view = build_view(record, profile=publications, registrar=settings.registrar)
                intent = store_intent(record, view, SANDBOX_CLIENT)
                for handle, expected in intent.contacts.items():
                    if handle not in seeded:
                        registry.seed_contact(
                            expected.data, SANDBOX_CLIENT, disclose=expected.disclose
                        )
                        seeded.add(handle)
                registry.seed_domain(
                    record.domain.name,
                    intent.handles["registrant"],
                    [(r, h) for r, h in intent.handles.items() if r != "registrant" and h],
                    SANDBOX_CLIENT,
                    ns=record.domain.nameservers,
                    statuses=record.domain.statuses,
                    ds=[DsData(d.key_tag, d.algorithm, d.digest_type, d.digest) for d in record.ds],
                )
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


class DemoServices:
    """Everything the demo runs beside the staff app."""

    def __init__(self, store: Store, settings: Settings, whois_port: int, http_port: int) -> None:
        self.store = store
        self.settings = settings
        self.whois_port = whois_port
        self.http_port = http_port
        self.sandbox: SandboxProcess | None = None
        self.services: Services | None = None
        self._sync_loop: asyncio.AbstractEventLoop | None = None
        self._sync_stop: asyncio.Event | None = None
        self._sync_thread: threading.Thread | None = None
        self._starter: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Set once start() has finished, every service up or one of them failed.
        self.settled = threading.Event()
        self.lines: list[str] = []

    def start(self, on_change: Callable[[str], None]) -> None:
        """Start everything in the background; on_change gets the banner text as it grows."""

        def run() -> None:
            try:
                self._start_all(on_change)
            except Exception as exc:  # the app stays usable; the banner says what failed
                log.exception("demo services failed to start")
                self.lines.append(f"demo services failed: {exc}")
                on_change(self.banner())
            finally:
                self.settled.set()

        self._starter = threading.Thread(target=run, name="demo-start", daemon=True)
        self._starter.start()

    def _start_all(self, on_change: Callable[[str], None]) -> None:
        from publishers.sandbox.process import SandboxProcess
        from tui.commands.serve import Services

        data = self.settings.data_dir
        registries = data / "registries.toml"
        # The services and the sandbox's seed read each TLD's publication from it now; the
        # sandbox's port is known only once it runs, and the file is written again then.
        registries.write_text(registries_toml(SANDBOX_PORT, ""))
        self.services = Services(
            self.store, self.settings, whois_port=self.whois_port, http_port=self.http_port
        ).start()
        http = self.services.http_url
        self.lines.extend(
            [
                f"WHOIS 127.0.0.1:{self.services.whois_port}",
                f"RDAP {self.services.rdap_url}",
                f"portal {http}/",
                f"control panel {http}/signin (account A-100044; the link is in the outbox)",
            ]
        )
        on_change(self.banner())
        if self._stopping.is_set():
            return
        sandbox_db = data / "sandbox.db"
        asyncio.run(seed_sandbox(self.store, sandbox_db))
        self.sandbox = SandboxProcess(
            sandbox_db, clients={SANDBOX_CLIENT: SANDBOX_PASSWORD}, port=0
        )
        self.sandbox.start()
        assert self.sandbox.port is not None  # started: it listens
        self.lines.append(f"EPP sandbox :{self.sandbox.port}")
        registries.write_text(registries_toml(self.sandbox.port, self.sandbox.ca_file or ""))
        if self._stopping.is_set():
            return
        self._start_sync(registries)
        self.lines.append("sync on")
        on_change(self.banner())

    def _start_sync(self, registries_file: Path) -> None:
        from portal.links import PortalLinks
        from publishers.registries import load_registries
        from publishers.sync.options import SyncOptions
        from publishers.sync.worker import SyncWorker

        registries = load_registries(registries_file, data_dir=self.settings.data_dir)
        ready = threading.Event()

        def run() -> None:
            loop = self._sync_loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._sync_stop = asyncio.Event()
            worker = SyncWorker(
                self.store,
                registries,
                SyncOptions(poll_interval=1.0),
                links=PortalLinks(self.store.settings),
            )
            ready.set()
            try:
                loop.run_until_complete(worker.follow(self._sync_stop))
            finally:
                loop.run_until_complete(worker.close())
                loop.close()

        self._sync_thread = threading.Thread(target=run, name="demo-sync", daemon=True)
        self._sync_thread.start()
        ready.wait(10)

    def status(self) -> str:
        """One line: what the demo runs and where each service listens."""
        return "Demo: " + " · ".join(self.lines) if self.lines else "Demo: starting services..."

    def where(self) -> list[str]:
        """How another terminal reaches the demo's store, and where the demo's mail goes."""
        return [
            f"another terminal: {shell_line(self.settings.data_dir / CONFIG_NAME)}",
            f"mail: {self.settings.outbox_dir()}{os.sep} (.eml files)",
        ]

    def banner(self) -> str:
        """The staff app's banner: the status line, then where()."""
        return "\n".join([self.status(), *self.where()])

    def ports(self) -> dict[str, int | None]:
        """The ports known so far: WHOIS, HTTP (RDAP and portal) and the EPP sandbox."""
        services, sandbox = self.services, self.sandbox
        return {
            "whois": (services.whois_port or None) if services else None,
            "http": (services.http_port or None) if services else None,
            "epp": sandbox.port if sandbox else None,
        }

    def stop(self) -> None:
        """Stop the sync worker, the servers and the sandbox."""
        self._stopping.set()
        if self._starter is not None:
            self._starter.join(60)
        if self._sync_loop is not None and self._sync_stop is not None:
            with contextlib.suppress(RuntimeError):
                self._sync_loop.call_soon_threadsafe(self._sync_stop.set)
        if self._sync_thread is not None:
            self._sync_thread.join(15)
        if self.services is not None:
            self.services.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
