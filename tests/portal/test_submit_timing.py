"""A submit is answered before the workflow runs, so its time does not tell what happened."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domains.changes import Workflow
from domains.mailer import FolderMailer
from domains.settings import PortalSettings
from domains.store import Store
from portal.app import create_app
from tests.support.factories import make_domain
from tests.support.portal import (
    FORM,
    Portal,
    csrf_of,
    form_data,
    main_of,
    requests_of,
    serve,
    snapshot,
)

CONTACT = {k: v for k, v in FORM.items() if k not in ("street", "postal_code", "state")}
#: How long a test waits for an answer that must not wait for the workflow.
ANSWER_WITHIN = 5.0


class Gate:
    """Holds every Workflow.submit of one portal until opened; counts who got through."""

    def __init__(self, workflow: Workflow) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self.finished = 0
        lock = threading.Lock()
        real = workflow.submit

        def held(**kwargs: Any) -> Any:
            self.entered.set()
            assert self.open.wait(30), "the gate was never opened"
            try:
                return real(**kwargs)
            finally:
                with lock:
                    self.finished += 1

        workflow.submit = held  # type: ignore[method-assign]


@dataclass
class Site:
    base_url: str
    store: Store
    outbox: Path
    gate: Gate


@pytest.fixture
def site(store: Store, tmp_path: Path) -> Iterator[Site]:
    """The portal under uvicorn on loopback (SQLite and PostgreSQL), its workflow gated."""
    apps: list[FastAPI] = []
    outbox = tmp_path / "outbox"

    def build(base_url: str) -> FastAPI:
        settings = store.settings.model_copy(update={"portal_base_url": base_url})
        app = create_app(
            store,
            mailer=FolderMailer(outbox),
            settings=settings,
            config=PortalSettings(secret="timing", submit_burst=100),
        )
        apps.append(app)
        return app

    with serve(build) as base_url:
        gate = Gate(apps[0].state.portal.workflow)
        try:
            yield Site(base_url, store, outbox, gate)
        finally:
            gate.open.set()  # let the server finish what it holds


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def mails(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.exists() else []


def test_the_api_answers_before_the_request_is_opened(site: Site) -> None:
    make_domain(site.store, "timing-api.com")
    with httpx.Client(base_url=site.base_url, timeout=ANSWER_WITHIN) as client:
        answer = client.post(
            "/api/v1/change-requests",
            json={"domain": "timing-api.com", "technical_contact": CONTACT},
        )
    assert answer.status_code == 202, answer.text
    assert answer.json()["message"].startswith("If timing-api.com is registered with Interlink")
    # Answered while the workflow was held: nothing is stored or mailed yet.
    assert requests_of(site.store) == [] and mails(site.outbox) == []
    wait_until(site.gate.entered.is_set, "the workflow to start after the answer")
    site.gate.open.set()
    wait_until(lambda: len(mails(site.outbox)) == 1, "the mail to the registrant")
    (request,) = requests_of(site.store)
    assert request.state == "submitted"


def test_the_form_answers_before_the_request_is_opened(site: Site) -> None:
    make_domain(site.store, "timing-form.com")
    with httpx.Client(base_url=site.base_url, timeout=ANSWER_WITHIN) as client:
        csrf = csrf_of(client.get("/change").text)
        answer = client.post("/change", data=form_data("timing-form.com", csrf))
    assert answer.status_code == 200, answer.text
    assert "Request received" in answer.text
    assert requests_of(site.store) == [] and mails(site.outbox) == []
    site.gate.open.set()
    wait_until(lambda: len(mails(site.outbox)) == 1, "the mail to the registrant")
    assert [r.state for r in requests_of(site.store)] == ["submitted"]


def test_a_known_and_an_unknown_domain_wait_for_nothing_but_the_check(site: Site) -> None:
    """Neither answer waits for the workflow (held throughout), whatever the domain."""
    make_domain(site.store, "timing-ours.com")
    make_domain(site.store, "timing-locked.com", statuses=["clientUpdateProhibited"])
    with httpx.Client(base_url=site.base_url, timeout=ANSWER_WITHIN) as client:
        answers = {
            name: client.post(
                "/api/v1/change-requests", json={"domain": name, "technical_contact": CONTACT}
            )
            for name in ("timing-ours.com", "timing-locked.com", "timing-not-ours.com")
        }
    assert [a.status_code for a in answers.values()] == [202, 202, 422]
    ours, locked = (answers[n].json() for n in ("timing-ours.com", "timing-locked.com"))
    assert ours["message"].replace("timing-ours.com", "D") == locked["message"].replace(
        "timing-locked.com", "D"
    )
    assert site.gate.finished == 0
    site.gate.open.set()
    wait_until(lambda: site.gate.finished == 2, "both jobs")
    assert [r.state for r in requests_of(site.store)] == ["submitted"]  # not the locked one


def test_a_failure_after_the_answer_is_logged_without_personal_data(
    portal: Portal, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    make_domain(store, "timing-fails.com")
    before = snapshot(store)
    workflow = portal.client.app.state.portal.workflow  # type: ignore[attr-defined]

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError(f"database gone while saving {kwargs['proposal']['email']}")

    workflow.submit = broken
    with caplog.at_level(logging.INFO, logger="interlink.portal"):
        csrf = csrf_of(portal.client.get("/change").text)
        page = portal.client.post("/change", data=form_data("timing-fails.com", csrf))
        api = portal.client.post(
            "/api/v1/change-requests",
            json={"domain": "timing-fails.com", "technical_contact": CONTACT},
        )
    assert page.status_code == 200 and "Request received" in main_of(page.text)
    assert api.status_code == 202
    for text in (page.text, api.text):
        assert "RuntimeError" not in text and "database gone" not in text
    said = [r.getMessage() for r in caplog.records if r.name == "interlink.portal"]
    assert said.count("portal submit: request not opened: RuntimeError") == 2
    logged = "\n".join(said)
    assert FORM["email"] not in logged and FORM["name"] not in logged
    assert snapshot(store) == before and portal.mails() == []


def test_a_busy_domain_is_logged_by_kind_only(
    portal: Portal, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    make_domain(store, "timing-busy.com")
    body = {"domain": "timing-busy.com", "technical_contact": CONTACT}
    assert portal.client.post("/api/v1/change-requests", json=body).status_code == 202
    with caplog.at_level(logging.INFO, logger="interlink.portal"):
        again = portal.client.post("/api/v1/change-requests", json=body)
    assert again.status_code == 202
    said = [r.getMessage() for r in caplog.records if r.name == "interlink.portal"]
    assert "portal submit: no request opened (RuleViolation)" in said
    assert len(requests_of(store)) == 1
