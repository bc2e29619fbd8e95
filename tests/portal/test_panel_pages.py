"""The control panel's pages over HTTP: signed in, own records only, every POST defended."""

from __future__ import annotations

import json
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from domains.mailer import FolderMailer
from domains.models import AuditEvent, Contact
from domains.settings import PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from portal.customer_auth import SESSION_COOKIE
from tests.support.factories import account_data, contact_data
from tests.support.large_account import BIG_ACCOUNT_DOMAINS, fill
from tests.support.panel import session_cookie, sign_in
from tests.support.staff import seed_staff

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient
from tests.support.portal import Portal, csrf_of, main_of, make_portal


def holder(store: Store, tag: str, domain: str, **contact: str) -> tuple[str, Contact]:
    """An account with one domain whose registrant is the account's own contact."""
    account = store.create_account(
        "staff:test", account_data(email=f"holder.{tag}@example.com", name=f"Holder {tag}")
    )
    registrant = store.create_contact(
        "staff:test",
        contact_data(email=f"reg.{tag}@example.org", **contact),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {"name": domain},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return account.number, registrant


def audit_count(store: Store) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_the_pages_need_a_signed_in_customer(portal: Portal, store: Store) -> None:
    _, registrant = holder(store, "anon", "anon-panel.com")
    for path in ("/account", "/account/data", f"/account/contacts/{registrant.handle}"):
        answer = portal.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/signin?next={path}"
    before = audit_count(store)
    posted = portal.client.post(
        "/account/marketing", data={"marketing": "out"}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/signin")
    assert audit_count(store) == before


def test_the_account_page_shows_the_account_its_domains_and_contacts(
    portal: Portal, store: Store
) -> None:
    number, registrant = holder(store, "ours", "ours-panel.com", name="Rita Ours")
    holder(store, "theirs", "theirs-panel.net", name="Theo Theirs")
    sign_in(portal, number)

    shown = portal.client.get("/account")

    assert shown.status_code == 200
    main = main_of(shown.text)
    assert f"Your account {number}" in main and "holder.ours@example.com" in main
    assert "ours-panel.com" in main and "theirs-panel" not in main and "Theo" not in main
    assert f'href="/account/contacts/{registrant.handle}">Rita Ours</a>' in main
    assert "Interlink Hostmaster" in main  # the house contact holds the tech role
    assert "Public (registrant): State/province Berlin; Country DE." in main
    assert 'href="/account/data"' in main and "Download my data" in main
    assert 'action="/signout"' in main and 'action="/signout/everywhere"' in main
    assert 'action="/account/marketing"' in main and "Stop marketing mail" in main
    assert "You cannot opt out of the information that is essential for maintaining or " in main
    assert 'href="/account/domains/ours-panel.com/change"' in main
    assert main.count(f'name="csrf_token" value="{csrf_of(main)}"') == 3


def test_a_contact_page_shows_each_field_beside_whois_and_rdap(
    portal: Portal, store: Store
) -> None:
    number, registrant = holder(store, "page", "page-panel.com", name="Petra Page")
    sign_in(portal, number)

    shown = portal.client.get(f"/account/contacts/{registrant.handle}")

    assert shown.status_code == 200
    main = main_of(shown.text)
    row = main[main.index('id="field-name"') : main.index('id="field-org"')]
    assert (
        "Petra Page" in row
        and "REDACTED FOR PRIVACY" in row
        and "empty (listed as redacted)" in row
    )
    country = main[main.index('id="field-country"') : main.index('id="field-voice"')]
    assert country.count("DE") == 3  # stored, WHOIS, RDAP
    assert 'id="public-whois"' in main and "Domain Name: PAGE-PANEL.COM" in main
    assert "Registrant Name: REDACTED FOR PRIVACY" in main
    assert f'href="/account/contacts/{registrant.handle}/edit"' in main
    boxes = [f'value="{name}"' for name in ("name", "org", "street", "city", "postal_code")]
    assert all(box in main for box in boxes)
    assert 'value="country"' not in main and 'value="state"' not in main
    assert 'name="action" value="preview"' in main and 'name="action" value="save"' in main


def test_another_accounts_contact_is_the_404_page_as_one_that_does_not_exist(
    portal: Portal, store: Store
) -> None:
    number, _ = holder(store, "mine", "mine-panel.com")
    _, theirs = holder(store, "other", "other-panel.com")
    sign_in(portal, number)
    house = store.house_contact().handle
    nowhere = portal.client.get("/account/contacts/ILC999999")
    assert nowhere.status_code == 404
    for handle in (theirs.handle, house, "x" * 40, "a<b>c"):
        answer = portal.client.get(f"/account/contacts/{handle}")
        assert answer.status_code == 404, handle
        assert main_of(answer.text) == main_of(nowhere.text)
    csrf = csrf_of(portal.client.get("/account").text)
    before = audit_count(store)
    for action in ("preview", "save"):
        posted = portal.client.post(
            f"/account/contacts/{theirs.handle}/consent",
            data={"csrf_token": csrf, "consent": ["name"], "action": action, "version": "1"},
        )
        assert posted.status_code == 404 and main_of(posted.text) == main_of(nowhere.text)
        # A consent no field takes says nothing either: still the page that does not exist.
        odd = portal.client.post(
            f"/account/contacts/{theirs.handle}/consent",
            data={"csrf_token": csrf, "consent": ["country"], "action": action},
        )
        assert odd.status_code == 404 and main_of(odd.text) == main_of(nowhere.text)
    assert audit_count(store) == before
    assert store.get_contact(theirs.handle).consent_fields == []


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(
    portal: Portal, store: Store
) -> None:
    number, registrant = holder(store, "csrf", "csrf-panel.com")
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get("/account").text)
    before = audit_count(store)
    consent = f"/account/contacts/{registrant.handle}/consent"
    for path, data in (
        ("/account/marketing", {"marketing": "out"}),
        (consent, {"consent": ["name"], "action": "save"}),
    ):
        missing = portal.client.post(path, data=data)
        assert missing.status_code == 403, path
        assert "security check failed" in missing.text
        forged = portal.client.post(path, data={**data, "csrf_token": "forged" * 8})
        assert forged.status_code == 403
        elsewhere = portal.client.post(
            path,
            data={**data, "csrf_token": csrf},
            headers={"Origin": "https://attacker.example.com"},
        )
        assert elsewhere.status_code == 403 and "another site" in elsewhere.text
    assert audit_count(store) == before
    assert store.get_account(number).marketing_opt_out_at is None
    assert store.get_contact(registrant.handle).consent_fields == []


def test_markup_in_stored_values_is_shown_as_text(portal: Portal, store: Store) -> None:
    number, registrant = holder(
        store,
        "markup",
        "markup-panel.com",
        name="<script>alert('name')</script>",
        org="Bold & <b>Co</b>",
        city='"><img src=x onerror=alert(1)>',
    )
    store.update_contact(
        "staff:test",
        registrant.handle,
        registrant.version,
        {"consent_fields": ["name", "org", "city"], "consent_method": "staff"},
    )
    sign_in(portal, number)
    for path in ("/account", f"/account/contacts/{registrant.handle}"):
        html = portal.client.get(path).text
        assert "<script>alert" not in html and "<b>Co</b>" not in html and "<img" not in html
        assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html
        assert "Bold &amp; &lt;b&gt;Co&lt;/b&gt;" in html
    page = portal.client.get(f"/account/contacts/{registrant.handle}").text
    assert "Registrant Name: &lt;script&gt;" in page  # in the public answer too


def test_preview_saves_nothing_and_save_publishes_at_once(portal: Portal, store: Store) -> None:
    number, registrant = holder(store, "save", "save-panel.com", name="Sven Save")
    sign_in(portal, number)
    path = f"/account/contacts/{registrant.handle}"
    csrf = csrf_of(portal.client.get(path).text)
    form = {"csrf_token": csrf, "consent": ["name", "email"], "version": "1"}

    preview = portal.client.post(f"{path}/consent", data={**form, "action": "preview"})

    assert preview.status_code == 200
    main = main_of(preview.text)
    assert "Preview: nothing is saved yet" in main
    after = main[main.index('id="preview-after"') :]
    before = main[main.index('id="preview-before"') : main.index('id="preview-after"')]
    assert "Registrant Name: Sven Save" in after and "Registrant Name: REDACTED" in before
    assert "It would publish: Name, E-mail." in " ".join(main.split())
    assert 'value="name" checked' in main and 'value="email" checked' in main
    assert store.get_contact(registrant.handle).consent_fields == []

    saved = portal.client.post(f"{path}/consent", data={**form, "action": "save"})

    assert saved.status_code == 200 and saved.url.path == path  # after the 303
    assert "Saved. The public WHOIS and RDAP answers show your choice" in saved.text
    contact = store.get_contact(registrant.handle)
    assert contact.consent_fields == ["name", "email"] and contact.consent_method == "portal"
    public = main_of(saved.text)
    public = public[public.index('id="public-whois"') :]
    assert "Registrant Name: Sven Save" in public
    assert "Registrant Email: reg.save@example.org" in public
    with store.read() as session:
        actor = session.execute(
            select(AuditEvent.actor)
            .where(AuditEvent.entity_id == registrant.handle)
            .order_by(AuditEvent.id.desc())  # type: ignore[attr-defined]
        ).scalar()
    assert actor == f"customer:{number}"

    stale = portal.client.post(f"{path}/consent", data={**form, "consent": [], "action": "save"})
    assert stale.status_code == 409 and "nothing was saved" in stale.text
    assert store.get_contact(registrant.handle).consent_fields == ["name", "email"]
    odd = portal.client.post(
        f"{path}/consent", data={**form, "consent": ["country"], "action": "preview"}
    )
    assert odd.status_code == 422 and "country cannot be consented to" in odd.text
    neither = portal.client.post(f"{path}/consent", data=form)
    assert neither.status_code == 400 and "Choose Preview or Save" in neither.text


def test_marketing_opt_out_and_in(portal: Portal, store: Store) -> None:
    number, _ = holder(store, "mail", "mail-panel.com")
    sign_in(portal, number)
    csrf = csrf_of(portal.client.get("/account").text)

    out = portal.client.post("/account/marketing", data={"csrf_token": csrf, "marketing": "out"})

    assert out.status_code == 200 and out.url.path == "/account"
    assert "You will no longer receive marketing mail" in out.text
    assert "You opted out of marketing mail on" in out.text and "(control panel)" in out.text
    assert "Receive marketing mail again" in out.text
    assert "essential for maintaining or updating your account" in out.text
    account = store.get_account(number)
    assert account.marketing_opt_out_at is not None
    assert account.marketing_opt_out_via == "control panel"

    back = portal.client.post("/account/marketing", data={"csrf_token": csrf, "marketing": "in"})
    assert "You will receive marketing mail from Interlink again" in back.text
    assert store.get_account(number).marketing_opt_out_at is None
    with store.read() as session:
        actors = session.execute(
            select(AuditEvent.actor).where(
                AuditEvent.entity_type == "account",
                AuditEvent.entity_id == number,
                AuditEvent.action == "account.update",
            )
        ).scalars()
        assert list(actors) == [f"customer:{number}"] * 2
    bad = portal.client.post("/account/marketing", data={"csrf_token": csrf, "marketing": "x"})
    assert bad.status_code == 400


def test_the_download_is_a_json_file_of_this_account_only(portal: Portal, store: Store) -> None:
    number, registrant = holder(store, "dl", "dl-panel.com")
    other, theirs = holder(store, "notme", "notme-panel.org")
    sign_in(portal, number)

    got = portal.client.get("/account/data")

    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    today = datetime.now(UTC).date().isoformat()
    disposition = got.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="interlink-account-{number}-{today}.json"')
    assert got.headers["cache-control"] == "no-store"
    data = json.loads(got.content)
    assert data["account"]["number"] == number
    assert [c["handle"] for c in data["contacts"]] == [registrant.handle]
    assert [d["name"] for d in data["domains"]] == ["dl-panel.com"]
    for foreign in (other, theirs.handle, "reg.notme@example.org", "notme-panel"):
        assert foreign not in got.text


def test_the_panels_posts_are_rate_limited(lite_store: Store, tmp_path: Path) -> None:
    number, _ = holder(lite_store, "rate", "rate-panel.com")
    limited = make_portal(lite_store, tmp_path / "outbox", panel_burst=2, panel_every=3600)
    with limited.client:
        sign_in(limited, number)
        csrf = csrf_of(limited.client.get("/account").text)
        codes = [
            limited.client.post(
                "/account/marketing", data={"csrf_token": csrf, "marketing": "out"}
            ).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]


class Timed:
    """The app, timed from the request's arrival to the end of its answer: server time, as the
    processor time the process spent (the wall time of a test on a busy shared machine says
    more about the machine), with the wall time beside it for the failure message."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cpu: list[float] = []
        self.wall: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.cpu.append(time.process_time() - cpu)
            self.wall.append(time.perf_counter() - wall)


SMALL_DOMAINS = 4


@pytest.mark.slow
def test_the_account_page_of_a_thousand_domains_is_quick(tmp_path: Path) -> None:
    """The account page asks the store as many queries for 1,000 domains as for 4 (none per
    domain), and the CPU time of its server side is printed (the speed target, p99 under
    100 ms with a bare query timed beside it, is benchmarks/panel_latency.py's)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'big.db'}",
        data_dir=tmp_path / "data",
        portal_base_url="https://portal.example.com",
    )
    store = Store.open(settings=settings)
    seed_staff(store)
    try:
        number = fill(store)
        small = f"A-{int(number.removeprefix('A-')) + 1}"  # an account of 4 domains
        app = Timed(
            create_app(
                store, mailer=FolderMailer(tmp_path / "out"), config=PortalSettings(secret="t")
            )
        )
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        queries = {}
        with TestClient(app, base_url="https://portal.example.com") as client:
            for account, domains in ((number, BIG_ACCOUNT_DOMAINS), (small, SMALL_DOMAINS)):
                client.cookies.set(SESSION_COOKIE, session_cookie(store, account))
                first = client.get("/account")  # warm: templates compiled, the file mapped
                assert first.status_code == 200
                main = main_of(first.text)
                assert main.count('<a class="small" href="/account/domains/') == domains
                statements.clear()
                event.listen(store.engine, "before_cursor_execute", count)
                try:
                    assert client.get("/account").status_code == 200
                finally:
                    event.remove(store.engine, "before_cursor_execute", count)
                queries[domains] = statements[:]
        assert 0 < len(queries[BIG_ACCOUNT_DOMAINS]) == len(queries[SMALL_DOMAINS]), queries
        print(f"account page of {BIG_ACCOUNT_DOMAINS:,} domains: CPU {app.cpu}, wall {app.wall}")
    finally:
        store.close()
