"""Form posts from another site are refused by their Origin and Sec-Fetch-Site headers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from domains.mailer import FolderMailer
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from portal.security import origin_of
from tests.support.factories import make_domain
from tests.support.portal import (
    BASE_URL,
    Portal,
    confirm_link,
    csrf_of,
    form_data,
    requests_of,
    serve,
    snapshot,
    submit_form,
)
from tests.support.staff import seed_staff

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

REFUSED = "The form was sent from a page of another site, not from this one."


def post_change(portal: Portal, domain: str, headers: dict[str, str]) -> Any:
    """GET the form (cookie and a valid token), then POST it with these headers."""
    csrf = csrf_of(portal.client.get("/change").text)
    return portal.client.post("/change", data=form_data(domain, csrf), headers=headers)


def assert_refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert REFUSED in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://attacker.example"},
        {"origin": "http://portal.test"},  # same host, another scheme
        {"origin": "https://portal.test:8443"},  # same host, another port
        {"origin": "https://shop.portal.test", "sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site"},
        {"origin": BASE_URL, "sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": "cross-site"},  # a sandboxed frame elsewhere
        {"origin": "null", "sec-fetch-site": "same-site"},
        {"origin": "not a url"},
    ],
)
def test_a_form_post_from_another_site_is_refused_despite_a_valid_token(
    lite: Portal, lite_store: Store, headers: dict[str, str]
) -> None:
    make_domain(lite_store, "origin.com")
    before = snapshot(lite_store)
    assert_refused(post_change(lite, "origin.com", headers))
    assert snapshot(lite_store) == before
    assert lite.mails() == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # old browsers and programs: the CSRF token alone decides
        {"origin": BASE_URL},
        {"origin": "HTTPS://Portal.Test:443"},
        {"origin": BASE_URL, "sec-fetch-site": "same-origin"},
        # Chromium's form post from a page with Referrer-Policy: no-referrer (measured).
        {"origin": "null", "sec-fetch-site": "same-origin"},
        {"origin": "null"},
        {"sec-fetch-site": "none"},  # typed or bookmarked by the user
    ],
)
def test_a_form_post_from_this_site_is_accepted(
    lite: Portal, lite_store: Store, headers: dict[str, str]
) -> None:
    make_domain(lite_store, "origin-ok.com")
    response = post_change(lite, "origin-ok.com", headers)
    assert response.status_code == 200, response.text
    assert "Request received" in response.text
    assert len(requests_of(lite_store)) == 1


def test_the_origin_check_does_not_replace_the_csrf_token(lite: Portal) -> None:
    lite.client.get("/change")
    response = lite.client.post(
        "/change", data=form_data("origin.com", "forged"), headers={"origin": BASE_URL}
    )
    assert response.status_code == 403
    assert "security check failed" in response.text


def test_the_host_the_request_came_to_is_also_this_site(lite_store: Store, tmp_path: Path) -> None:
    """Reached by another name than the public address (an intranet name, say)."""
    make_domain(lite_store, "intranet.com")
    app = create_app(
        lite_store,
        mailer=FolderMailer(tmp_path / "outbox"),
        config=PortalSettings(secret="test-secret-of-the-portal"),
    )
    with TestClient(app, base_url="https://portal.intranet:8443") as client:
        csrf = csrf_of(client.get("/change").text)
        ok = client.post(
            "/change",
            data=form_data("intranet.com", csrf),
            headers={"origin": "https://portal.intranet:8443"},
        )
        other = client.post(
            "/change",
            data=form_data("intranet.com", csrf),
            headers={"origin": "https://portal.intranet:8444"},
        )
    assert ok.status_code == 200, ok.text
    assert_refused(other)


def test_a_confirmation_from_another_site_is_refused(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "origin-confirm.com")
    submit_form(lite, "origin-confirm.com")
    link = confirm_link(lite.mails()[0])
    csrf = csrf_of(lite.client.get(link).text)
    for headers in ({"origin": "https://attacker.example"}, {"sec-fetch-site": "cross-site"}):
        assert_refused(lite.client.post(link, data={"csrf_token": csrf}, headers=headers))
    assert requests_of(lite_store)[0].state == "submitted"
    done = lite.client.post(link, data={"csrf_token": csrf}, headers={"origin": BASE_URL})
    assert done.status_code == 200
    assert requests_of(lite_store)[0].state == "confirmed"


def test_the_api_is_not_subject_to_the_origin_check(lite: Portal, lite_store: Store) -> None:
    """Programs hold no cookies there, so there is nothing to forge."""
    make_domain(lite_store, "origin-api.com")
    response = lite.client.post(
        "/api/v1/change-requests",
        json={
            "domain": "origin-api.com",
            "technical_contact": {
                "org": "Northwind Hosting GmbH",
                "name": "Greta Nord",
                "email": "noc@northwind.example.net",
                "voice": "+49 40 609040",
                "city": "Hamburg",
                "country": "DE",
            },
        },
        headers={"origin": "https://tool.example", "sec-fetch-site": "cross-site"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Portal.Test/", "https://portal.test"),
        ("https://portal.test:443/x", "https://portal.test"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:80/", "http://[::1]"),
        ("ftp://portal.test", None),
        ("https://", None),
        ("https://portal.test:99999", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


# -- in Chromium -------------------------------------------------------------------------------


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[tuple[str, str, Store]]:
    """The portal on 127.0.0.1, and a page of another site (localhost) that posts to it."""
    stores: list[Store] = []

    def build_portal(base_url: str) -> Any:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'origin.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(retries=0),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        return create_app(
            stores[0], mailer=FolderMailer(tmp_path / "outbox"), config=PortalSettings(secret="o")
        )

    try:
        with serve(build_portal) as portal_url:
            fields = "".join(
                f'<input type="hidden" name="{k}" value="{v}">'
                for k, v in form_data("cross.com", "x").items()
            )
            hostile = (
                '<link rel="icon" href="data:,">'
                f'<form method="post" action="{portal_url}/change">{fields}'
                '<button id="go">Win a prize</button></form>'
            )

            def build_hostile(base_url: str) -> Any:
                return Starlette(routes=[Route("/", lambda request: HTMLResponse(hostile))])

            with serve(build_hostile) as hostile_url:
                yield portal_url, hostile_url.replace("127.0.0.1", "localhost"), stores[0]
    finally:
        for store in stores:
            store.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A fresh browser context; the refusal's 403 is the only console error expected."""
    context = browser.new_context()
    made = context.new_page()
    errors: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 403"
    made.on(
        "console",
        lambda m: m.type == "error" and not m.text.startswith(expected) and errors.append(m.text),
    )
    made.on("pageerror", lambda e: errors.append(str(e)))
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        context.close()
    assert not errors, f"the browser reported errors: {errors}"


@pytest.mark.slow
def test_chromium_is_refused_a_post_from_another_site(
    two_sites: tuple[str, str, Store], tab: Any
) -> None:
    portal_url, hostile_url, store = two_sites
    make_domain(store, "cross.com")
    tab.goto(f"{portal_url}/change")  # the visitor has the portal's cookie
    tab.goto(hostile_url)
    tab.click("#go")
    tab.get_by_role("heading", name="This form could not be accepted").wait_for()
    assert REFUSED in " ".join(tab.get_by_role("alert").inner_text().split())
    assert requests_of(store) == []
