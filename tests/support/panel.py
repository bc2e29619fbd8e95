"""Signed-in customers for tests: a session started in the store, its cookie in a client."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from domains.customer_sessions import CustomerSessions
from domains.store import Store
from portal.customer_auth import SESSION_COOKIE
from tests.support.portal import BASE_URL, Portal

SIGNIN_RE = re.compile(r"(https?://[^\s/]+)(/signin/[A-Za-z0-9_-]+)")


def session_cookie(store: Store, account_number: str) -> str:
    """A new session of the account, as the raw cookie value (what a sign-in would give)."""
    return CustomerSessions(store).start(account_number).cookie


def sign_in(portal: Portal, account_number: str) -> str:
    """Put a session of the account in the test client; returns the cookie value."""
    cookie = session_cookie(portal.store, account_number)
    portal.client.cookies.set(SESSION_COOKIE, cookie, domain=urlsplit(BASE_URL).hostname)
    return cookie


def sign_in_browser(context: Any, base_url: str, store: Store, account_number: str) -> str:
    """Put a session of the account in a Playwright browser context for `base_url`."""
    cookie = session_cookie(store, account_number)
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base_url}])
    return cookie


def signin_link(message: EmailMessage) -> str:
    """The path of the sign-in link in a mail."""
    body = message.get_body(("plain",))
    assert body is not None
    found = SIGNIN_RE.search(body.get_content())
    assert found, "the mail has no sign-in link"
    return found.group(2)
