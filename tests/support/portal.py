"""The customer portal under test: the app, its client and mail, the change form, uvicorn."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from domains.mailer import FolderMailer
from domains.models import AuditEvent, ChangeRequest, Contact, Domain, Notice, OutboxEntry
from domains.settings import PortalSettings
from domains.store import Store
from portal.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")  # starlette wants httpx2
    from fastapi.testclient import TestClient

from datetime import timedelta

import httpx

from domains.changes import Workflow
from domains.models import utcnow
from portal.render import PROBLEM_JSON

BASE_URL = "https://portal.test"


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


MASK_RE = r"[^\s<>@]\*\*\*@[a-z0-9]\*\*\*\.[a-z]{2,}"


#: A valid new technical contact as the form sends it.
FORM = {
    "org": "Northwind Hosting GmbH",
    "name": "Greta Nord",
    "email": "noc@northwind.example.net",
    "voice": "+49 40 609040",
    "street": "Speicherstadt 1",
    "city": "Hamburg",
    "postal_code": "20457",
    "state": "",
    "country": "DE",
}


@dataclass
class Portal:
    """A running portal app under test, its client and its outbox folder."""

    store: Store
    client: TestClient
    outbox: Path

    def mails(self) -> list[EmailMessage]:
        """Every message the portal sent, oldest first."""
        files = sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []
        return [
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for f in files
        ]


def make_portal(store: Store, outbox: Path, **limits: Any) -> Portal:
    """An app over `store` with the given PortalSettings values; mail goes to `outbox`."""
    config = PortalSettings(secret="test-secret-of-the-portal", **limits)
    app = create_app(store, mailer=FolderMailer(outbox), config=config)
    client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
    return Portal(store, client, outbox)


def csrf_of(html: str) -> str:
    """The CSRF field value on a page."""
    found = CSRF_RE.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def form_data(domain: str, csrf: str, **overrides: Any) -> dict[str, Any]:
    """The change form filled in for `domain`."""
    data: dict[str, Any] = {"csrf_token": csrf, "domain": domain, **FORM}
    data.update(overrides)
    return data


def submit_form(portal: Portal, domain: str, **overrides: Any):
    """GET the form (for its cookie and token), then POST it."""
    page = portal.client.get("/change")
    assert page.status_code == 200
    return portal.client.post("/change", data=form_data(domain, csrf_of(page.text), **overrides))


def main_of(html: str) -> str:
    """The <main> element of a page (what differs between pages)."""
    start, end = html.index("<main"), html.index("</main>")
    return html[start:end]


def snapshot(store: Store) -> tuple[Any, ...]:
    """Row counts of every table a request touches, and every request's state and version."""
    with store.read() as session:
        counts = tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ChangeRequest, Contact, Domain, AuditEvent, OutboxEntry, Notice)
        )
        states = tuple(
            session.execute(
                select(
                    ChangeRequest.reference, ChangeRequest.state, ChangeRequest.version
                ).order_by(ChangeRequest.id)
            ).all()
        )
    return counts, states


def requests_of(store: Store) -> list[ChangeRequest]:
    """Every change request, oldest first."""
    with store.read() as session:
        return list(session.execute(select(ChangeRequest).order_by(ChangeRequest.id)).scalars())


def confirm_link(message: EmailMessage, base_url: str = BASE_URL) -> str:
    """The path of the confirmation link in a mail."""
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(re.escape(base_url) + r"(/confirm/[A-Za-z0-9_-]+)", body.get_content())
    assert found, "the mail has no confirmation link"
    return found.group(1)


@contextmanager
def serve(build: Callable[[str], FastAPI], timeout: float = 10.0) -> Iterator[str]:
    """Serve the app that `build(base_url)` makes with uvicorn on 127.0.0.1; yield its URL.

    The port is bound first (port 0: the system picks a free one) and handed to uvicorn, so
    the app knows its own address before it starts and no other process can take the port.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(build(base_url), log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout)
        listener.close()


API = "/api/v1"


CONTACT = {
    "org": "Northwind Hosting GmbH",
    "name": "Greta Nord",
    "email": "noc@northwind.example.net",
    "voice": "+49 40 609040",
    "street": ["Speicherstadt 1"],
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
    "consent": ["org", "email"],
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert "Traceback" not in response.text
    return problem


def token_of(store: Store, domain: str, days_ago: int = 0) -> str:
    outcome = Workflow(store).submit(
        actor="customer:portal",
        domain_name=domain,
        proposal={k: v for k, v in CONTACT.items() if k != "consent"},
        channel="portal",
        now=utcnow() - timedelta(days=days_ago),
    )
    assert outcome.token
    return outcome.token


def schema_of(portal: Portal) -> dict[str, Any]:
    response = portal.client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()
