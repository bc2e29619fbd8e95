"""Every HTML form of the portal refuses a POST without its CSRF token, signed in or not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from domains.store import Store
from tests.support.factories import account_data, contact_data
from tests.support.panel import sign_in
from tests.support.portal import Portal, snapshot

#: What each path parameter is filled with: the signed-in account's own records, so the only
#: reason left to refuse is the missing token.
PARAMETERS = {"token": "A" * 43, "token_id": "1", "passkey_id": "1"}


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route with its full path (FastAPI keeps an included router whole, with its prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def form_posts(portal: Portal) -> list[str]:
    """The path templates of every POST that is not the JSON API."""
    routes = portal.client.app.routes  # type: ignore[attr-defined]
    return sorted(
        path
        for path, route in api_routes(routes)
        if "POST" in route.methods and not path.startswith("/api/")
    )


def test_every_form_post_needs_its_csrf_token(portal: Portal, store: Store) -> None:
    account = store.create_account("staff:test", account_data())
    contact = store.create_contact(
        "staff:test", contact_data(email=account.email), account_number=account.number
    )
    store.create_domain(
        "staff:test",
        {"name": "csrf-own.com"},
        account_number=account.number,
        contacts={"registrant": contact.handle},
    )
    sign_in(portal, account.number)
    values = {**PARAMETERS, "handle": contact.handle, "name": "csrf-own.com"}
    paths = form_posts(portal)
    assert len(paths) >= 15, paths
    before = snapshot(store)
    for template in paths:
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        refused = portal.client.post(
            path,
            data={"identifier": account.number, "label": "x", "choice": "out"},
            headers={"Origin": "https://portal.test"},
            follow_redirects=False,
        )
        assert refused.status_code == 403, (template, refused.status_code, refused.text[:300])
        assert "security check" in refused.text, template
    assert snapshot(store) == before
    assert portal.mails() == []


@pytest.mark.parametrize("path", ["/account/marketing", "/account/tokens", "/signin"])
def test_a_post_from_another_site_is_refused_before_anything(
    portal: Portal, store: Store, path: str
) -> None:
    account = store.create_account("staff:test", account_data())
    sign_in(portal, account.number)
    refused = portal.client.post(
        path,
        data={"identifier": account.number},
        headers={"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
