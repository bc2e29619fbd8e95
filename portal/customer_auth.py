"""Who the signed-in customer is: the session cookie or an API bearer token, on each request."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domains.audit import customer_actor
from domains.customer_sessions import (
    ABSOLUTE_TIMEOUT,
    CustomerSessions,
    NewSession,
    SignedIn,
)
from portal.render import Refused

SESSION_COOKIE = "interlink_session"
#: The API's bearer scheme, as the OpenAPI schema names it.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="A token made in the control panel (Account → API tokens); or the session cookie.",
)


@dataclass(frozen=True)
class Customer:
    """The signed-in customer of this request."""

    account_number: str
    account_id: int
    via: str
    session_id: int | None

    @property
    def actor(self) -> str:
        """How the audit trail names them: customer:<account number>."""
        return customer_actor(self.account_number)


class SignInNeeded(Refused):
    """A page for signed-in customers asked for without a session: off to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(
            303,
            "Please sign in",
            "This page is for signed-in customers.",
            headers={"Location": f"/signin?next={quote(next_path, safe='/')}"},
        )


def sessions(request: Request) -> CustomerSessions:
    """The portal's customer sessions."""
    return request.app.state.portal.sessions


def _customer(who: SignedIn) -> Customer:
    return Customer(who.account_number, who.account_id, who.via, who.session_id)


async def _from_cookie(request: Request) -> Customer | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    who = await run_in_threadpool(sessions(request).resume, cookie)
    return _customer(who) if who else None


async def customer_page(request: Request) -> Customer:
    """The signed-in customer of an HTML page; else a redirect to the sign-in page."""
    customer = await _from_cookie(request)
    if customer is None:
        raise SignInNeeded(request.url.path)
    return customer


async def customer_api(request: Request) -> Customer:
    """The customer of an API call: a bearer token, else the session cookie; else 401."""
    credentials: HTTPAuthorizationCredentials | None = await bearer(request)
    if credentials is not None:
        who = await run_in_threadpool(sessions(request).verify_token, credentials.credentials)
        if who is None:
            raise Refused(
                401,
                "Not signed in",
                "The API token is not valid: it was revoked or never existed.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return _customer(who)
    customer = await _from_cookie(request)
    if customer is None:
        raise Refused(
            401,
            "Not signed in",
            "Sign in to the control panel, or send a bearer token made there.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return customer


def set_session_cookie(response: Response, new: NewSession, *, secure: bool) -> Response:
    """Hand the browser its new session: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    return response


def clear_session_cookie(response: Response, *, secure: bool) -> Response:
    """Make the browser forget its session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
    return response
