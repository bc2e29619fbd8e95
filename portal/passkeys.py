"""Passkeys in the portal: add and remove them in the panel, sign in with one instead of a link."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from domains.errors import NotFound, ValidationFailed
from domains.passkeys import PasskeyRefused, Passkeys
from portal.customer_auth import SESSION_COOKIE, Customer, customer_page, set_session_cookie
from portal.forms import checked_form
from portal.panel_tokens import not_found
from portal.render import Refused, page
from portal.security import CSRF_FIELD
from portal.service import Portal
from portal.signin import safe_next

log = logging.getLogger("interlink.portal")
router = APIRouter(include_in_schema=False)
#: A WebAuthn answer is a few kilobytes of JSON; more is not one.
MAX_CREDENTIAL = 12_000
JSON_TYPE = "application/json"


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def passkeys_of(portal: Portal) -> Passkeys:
    """Passkeys for the portal's public address (its host is the relying party)."""
    base = urlsplit(portal.base_url)
    return Passkeys(
        portal.store,
        rp_id=base.hostname or "localhost",
        rp_name=portal.settings.registrar.name,
        origin=f"{base.scheme}://{base.netloc}",
    )


def _credential(form: FormData) -> dict[str, Any]:
    raw = form.get("credential")
    if not isinstance(raw, str) or not raw or len(raw) > MAX_CREDENTIAL:
        raise PasskeyRefused("the browser sent no passkey answer")
    try:
        value = json.loads(raw)
    except ValueError:
        raise PasskeyRefused("the browser's passkey answer could not be read") from None
    if not isinstance(value, dict):
        raise PasskeyRefused("the browser's passkey answer could not be read")
    return value


def _refused(exc: PasskeyRefused) -> Refused:
    message = str(exc)
    return Refused(400, "The passkey was not accepted", message[:1].upper() + message[1:] + ".")


def _options(ceremony_json: str) -> Response:
    return Response(ceremony_json, media_type=JSON_TYPE, headers={"Cache-Control": "no-store"})


# -- the panel ------------------------------------------------------------------------------


def _list_page(request: Request, customer: Customer, error: str | None = None) -> Response:
    portal = _portal(request)
    keys = passkeys_of(portal).of_account(customer.account_id)
    csrf = portal.csrf.issue(request)
    response = page(
        "panel_passkeys.html",
        400 if error else 200,
        title="Passkeys",
        passkeys=keys,
        error=error,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


@router.get("/account/passkeys")
async def passkeys(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """The account's passkeys, and a button to add one (with JavaScript and a passkey)."""
    return await run_in_threadpool(_list_page, request, customer)


@router.post("/account/passkeys/options")
async def registration_options(
    request: Request, customer: Customer = Depends(customer_page)
) -> Response:
    """The options for the browser to make a passkey for this account."""
    await checked_form(request, "panel")
    ceremony = await run_in_threadpool(
        passkeys_of(_portal(request)).registration, customer.account_id
    )
    return _options(ceremony.options_json)


@router.post("/account/passkeys")
async def register(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """Keep the passkey the browser made."""
    form = await checked_form(request, "panel")
    label = form.get("label")
    try:
        credential = _credential(form)
        await run_in_threadpool(
            passkeys_of(_portal(request)).register,
            customer.account_id,
            credential,
            label if isinstance(label, str) else "",
        )
    except PasskeyRefused as exc:
        return await run_in_threadpool(_list_page, request, customer, _refused(exc).message)
    except ValidationFailed as exc:
        message = "; ".join(f"Name {e.message}" for e in exc.errors)
        return await run_in_threadpool(_list_page, request, customer, message)
    return RedirectResponse("/account/passkeys", status_code=303)


@router.post("/account/passkeys/{passkey_id}/remove")
async def remove(
    request: Request, passkey_id: str, customer: Customer = Depends(customer_page)
) -> Response:
    """Remove one of the account's passkeys; any other id is a page that does not exist."""
    await checked_form(request, "panel")
    if not passkey_id.isdigit() or len(passkey_id) > 18:
        raise not_found()
    try:
        await run_in_threadpool(
            passkeys_of(_portal(request)).remove, customer.account_id, int(passkey_id)
        )
    except NotFound:
        raise not_found() from None
    return RedirectResponse("/account/passkeys", status_code=303)


# -- signing in -----------------------------------------------------------------------------


@router.post("/signin/passkey/options")
async def signin_options(request: Request) -> Response:
    """The options for the browser to sign in with any passkey of ours."""
    await checked_form(request, "signin")
    ceremony = await run_in_threadpool(passkeys_of(_portal(request)).signin)
    return _options(ceremony.options_json)


@router.post("/signin/passkey")
async def signin(request: Request) -> Response:
    """Sign in with the passkey's answer: a new session, as after a mailed link."""
    form = await checked_form(request, "confirm")
    portal = _portal(request)
    old = request.cookies.get(SESSION_COOKIE)
    try:
        credential = _credential(form)
        new = await run_in_threadpool(passkeys_of(portal).verify_signin, credential, replacing=old)
    except PasskeyRefused as exc:
        raise _refused(exc) from None
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    return set_session_cookie(response, new, secure=portal.secure)
