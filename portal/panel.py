"""The control panel's pages: the account, a contact's publication and consent, marketing, data."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from domains.customer_overview import ContactPage
from domains.customer_panel import CustomerPanel
from domains.errors import ConflictError, NotFound, ValidationFailed
from domains.vocabulary import ContactRole
from portal.customer_auth import Customer, customer_page
from portal.forms import checked_form
from portal.panel_tokens import not_found
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_rate
from portal.service import Portal
from publishers.customer_preview import ConsentPreview, PolicyLens, consent_preview

log = logging.getLogger("interlink.portal")
router = APIRouter(include_in_schema=False)

#: A contact handle as the store makes them (3-16 characters); anything else is no page.
HANDLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,16}$")
#: The role columns of the domains table, in ICANN's order.
ROLES = tuple(ContactRole)
#: The marketing form's two choices.
OPT_OUT, OPT_IN = "out", "in"
#: Interlink's policy on mail no one may opt out of, in the portal's words.
ESSENTIAL_MAIL = (
    "This choice is about marketing only. You cannot opt out of the information that is "
    "essential for maintaining or updating your account, or of system information: we "
    "always send you those messages."
)
SAVED_WORDS = {
    "consent": "Saved. The public WHOIS and RDAP answers show your choice from now on.",
    OPT_OUT: "You will no longer receive marketing mail from Interlink.",
    OPT_IN: "You will receive marketing mail from Interlink again.",
}


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def panel_of(request: Request) -> CustomerPanel:
    """The app's control panel, made on first use (it sees the publication as WHOIS does)."""
    panel = getattr(request.app.state, "customer_panel", None)
    if panel is None:
        portal = _portal(request)
        panel = CustomerPanel(portal.store, PolicyLens(portal.settings))
        request.app.state.customer_panel = panel
    return panel


def _with_csrf(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    portal = _portal(request)
    csrf = portal.csrf.issue(request)
    response = page(template, status, csrf_field=CSRF_FIELD, csrf_token=csrf.field, **context)
    return portal.csrf.set_cookie(response, csrf)


def _handle(handle: str) -> str:
    if not HANDLE_RE.fullmatch(handle):
        raise not_found()
    return handle


# -- the account -------------------------------------------------------------------------------


@router.get("/account")
async def account_page(
    request: Request, saved: str | None = None, customer: Customer = Depends(customer_page)
) -> Response:
    """The account: its details, domains with each role's holder, contacts, marketing, data."""
    panel = panel_of(request)
    try:
        overview = await run_in_threadpool(panel.overview, customer.account_number)
    except NotFound:
        raise not_found() from None
    return _with_csrf(
        request,
        "panel/account.html",
        title="Your account",
        overview=overview,
        roles=ROLES,
        domain_cells=[(d, [d.roles.get(role) for role in ROLES]) for d in overview.domains],
        customer=customer,
        essential_mail=ESSENTIAL_MAIL,
        saved=SAVED_WORDS.get(saved or ""),
    )


@router.post("/account/marketing")
async def marketing(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """Opt out of marketing mail, or back in; essential mail is sent either way."""
    form = await checked_form(request, "panel")
    choice = form.get("marketing")
    if choice not in (OPT_OUT, OPT_IN):
        raise Refused(400, "Bad request", "Choose whether you want marketing mail or not.")
    try:
        await run_in_threadpool(
            panel_of(request).set_marketing, customer.account_number, choice == OPT_OUT
        )
    except NotFound:
        raise not_found() from None
    log.info("panel: marketing opt-%s", choice)
    return RedirectResponse(f"/account?saved={choice}", status_code=303)


@router.get("/account/data")
async def account_data(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """Everything Interlink holds about the account, as a JSON file to keep."""
    check_rate(request, "panel")
    try:
        data = await run_in_threadpool(panel_of(request).account_data, customer.account_number)
    except NotFound:
        raise not_found() from None
    day = str(data["generated_at"])[:10]
    name = f"interlink-account-{customer.account_number}-{day}.json"
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
            + quote(name),
            "Cache-Control": "no-store",
        },
    )


# -- one contact -------------------------------------------------------------------------------


def _contact_page(
    request: Request,
    contact: ContactPage,
    *,
    chosen: list[str] | None = None,
    preview: ConsentPreview | None = None,
    saved: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    labels = {row.field: row.label for row in contact.fields}
    return _with_csrf(
        request,
        "panel/contact.html",
        status,
        title=f"Contact {contact.handle}",
        contact=contact,
        chosen=contact.consent_fields if chosen is None else chosen,
        preview=preview,
        preview_public=[labels[name] for name in preview.newly_public] if preview else [],
        preview_hidden=[labels[name] for name in preview.newly_hidden] if preview else [],
        saved=saved,
        error=error,
    )


async def _own_page(panel: CustomerPanel, number: str, handle: str) -> ContactPage:
    """The account's contact `handle`; the 404 page for any other."""
    try:
        return await run_in_threadpool(panel.contact, number, handle)
    except NotFound:
        raise not_found() from None


@router.get("/account/contacts/{handle}")
async def contact_page(
    request: Request,
    handle: str,
    saved: str | None = None,
    customer: Customer = Depends(customer_page),
) -> Response:
    """A contact: every stored field beside what WHOIS and RDAP show, and its consent."""
    contact = await _own_page(panel_of(request), customer.account_number, _handle(handle))
    return _contact_page(request, contact, saved=SAVED_WORDS.get(saved or ""))


@router.post("/account/contacts/{handle}/consent")
async def consent(
    request: Request, handle: str, customer: Customer = Depends(customer_page)
) -> Response:
    """`action=preview` shows the public answer with the ticked consent and saves nothing;
    `action=save` saves it (refused when the contact changed since the page was shown)."""
    form = await checked_form(request, "panel")
    handle = _handle(handle)
    panel = panel_of(request)
    chosen = [v for v in form.getlist("consent") if isinstance(v, str)]
    action = form.get("action")
    number = customer.account_number
    if action not in ("preview", "save"):
        raise Refused(400, "Bad request", "Choose Preview or Save.")
    version = form.get("version")
    expected = (
        int(version)
        if isinstance(version, str) and version.isdigit() and len(version) <= 18
        else None
    )
    try:
        if action == "preview":
            preview = await run_in_threadpool(consent_preview, panel, number, handle, chosen)
            contact = await _own_page(panel, number, handle)
            return _contact_page(request, contact, chosen=preview.consent_fields, preview=preview)
        await run_in_threadpool(
            lambda: panel.set_consent(number, handle, chosen, expected_version=expected)
        )
    except NotFound:
        raise not_found() from None
    except ValidationFailed as exc:
        contact = await _own_page(panel, number, handle)
        error = "; ".join(e.message for e in exc.errors)
        return _contact_page(request, contact, chosen=chosen, error=error, status=422)
    except ConflictError:
        contact = await _own_page(panel, number, handle)
        error = (
            "This contact was changed since you opened the page, so nothing was saved. "
            "Here it is as it is now: choose again and save."
        )
        return _contact_page(request, contact, chosen=chosen, error=error, status=409)
    log.info("panel: consent saved")
    return RedirectResponse(
        f"/account/contacts/{quote(handle, safe='')}?saved=consent", status_code=303
    )
