"""Signing in to the control panel by a mailed link, and signing out (here or everywhere)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from domains.customer_sessions import LINK_LIFETIME, SignInRefused
from portal.customer_auth import (
    SESSION_COOKIE,
    Customer,
    clear_session_cookie,
    customer_page,
    set_session_cookie,
)
from portal.forms import checked_form
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_rate
from portal.service import Job, Portal

log = logging.getLogger("interlink.portal")
router = APIRouter(include_in_schema=False)

MAX_IDENTIFIER = 254
HOME = "/account"


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def safe_next(value: object) -> str:
    """Where to go after signing in: a path on this site only, else the overview."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and len(value) <= 200
        and value.isprintable()
    ):
        return value
    return HOME


def _signin_page(request: Request, *, next_path: str, error: str | None = None) -> Response:
    portal = _portal(request)
    token = portal.csrf.issue(request)
    response = page(
        "signin.html",
        422 if error else 200,
        title="Sign in",
        next_path=next_path,
        error=error,
        max_len=MAX_IDENTIFIER,
        minutes=int(LINK_LIFETIME.total_seconds() // 60),
        csrf_field=CSRF_FIELD,
        csrf_token=token.field,
    )
    return portal.csrf.set_cookie(response, token)


def _mailing(portal: Portal, identifier: str) -> Job:
    """The job that makes and mails the links after the answer went out; it never raises."""

    def run() -> None:
        limiter = portal.limiter
        try:
            numbers = portal.sessions.accounts_for(identifier)
            for number in numbers:
                if limiter.retry_after("signin_account", number):
                    log.info("sign-in link not sent: the account's hourly allowance is used")
                    continue
                for link in portal.sessions.request_links(number):
                    context = {"signin_url": portal.links.signin(link.token)}
                    portal.deliver("sign-in link", [link.notice_id], context)()
        except Exception as exc:  # the visitor has their answer; the type is enough here
            log.error("sign-in link not sent: %s", type(exc).__name__)

    return run


@router.get("/signin")
async def signin_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form: an account number or the account's e-mail address."""
    return _signin_page(request, next_path=safe_next(next))


@router.post("/signin")
async def signin_submit(request: Request, background: BackgroundTasks) -> Response:
    """Mail a link; the answer is the same whatever was typed, and comes before any lookup."""
    portal = _portal(request)
    form = await checked_form(request, "signin")
    raw = form.get("identifier")
    identifier = raw.strip() if isinstance(raw, str) else ""
    next_path = safe_next(form.get("next"))
    if not identifier:
        return _signin_page(
            request,
            next_path=next_path,
            error="Account number or e-mail address is required: type one of them.",
        )
    if len(identifier) > MAX_IDENTIFIER:
        return _signin_page(
            request,
            next_path=next_path,
            error=f"Account number or e-mail address is {len(identifier)} characters long; "
            f"at most {MAX_IDENTIFIER} are allowed.",
        )
    background.add_task(_mailing(portal, identifier))
    return RedirectResponse("/signin/sent", status_code=303)


@router.get("/signin/sent")
def signin_sent() -> Response:
    """What happens next, the same for every identifier."""
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return page("signin_sent.html", title="Check your mail", minutes=minutes)


def _refuse_link(exc: SignInRefused) -> Refused:
    message = str(exc)
    return Refused(
        410 if exc.gone else 400,
        "This sign-in link cannot be used",
        message[:1].upper() + message[1:] + ". Ask for a new one on the sign-in page.",
    )


@router.get("/signin/{token}")
async def signin_link_page(request: Request, token: str, next: str | None = None) -> Response:
    """The page a mailed link opens: a button signs in (a mail scanner's GET signs nobody in)."""
    check_rate(request, "lookup")
    portal = _portal(request)
    try:
        number = await run_in_threadpool(portal.sessions.inspect_link, token)
    except SignInRefused as exc:
        raise _refuse_link(exc) from None
    csrf = portal.csrf.issue(request)
    response = page(
        "signin_link.html",
        title="Sign in",
        account_number=number,
        token=token,
        next_path=safe_next(next),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


@router.post("/signin/{token}")
async def signin_link_submit(request: Request, token: str) -> Response:
    """Spend the link, start a new session (a fresh id: the old cookie is ended) and go on."""
    portal = _portal(request)
    form = await checked_form(request, "confirm")
    old = request.cookies.get(SESSION_COOKIE)
    try:
        new = await run_in_threadpool(portal.sessions.redeem_link, token, replacing=old)
    except SignInRefused as exc:
        raise _refuse_link(exc) from None
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    return set_session_cookie(response, new, secure=portal.secure)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Sign this browser out."""
    portal = _portal(request)
    await checked_form(request, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await run_in_threadpool(portal.sessions.end, cookie)
    response = page("signed_out.html", title="Signed out", everywhere=False)
    return clear_session_cookie(response, secure=portal.secure)


@router.post("/signout/everywhere")
async def signout_everywhere(
    request: Request, customer: Customer = Depends(customer_page)
) -> Response:
    """End every session of the account: on this browser and on every other."""
    portal = _portal(request)
    await checked_form(request, None)
    await run_in_threadpool(portal.sessions.end_all, customer.account_id)
    response = page("signed_out.html", title="Signed out everywhere", everywhere=True)
    return clear_session_cookie(response, secure=portal.secure)
