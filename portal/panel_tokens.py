"""The control panel's API tokens: make one (shown once), see them, revoke one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from domains.customer_sessions import ApiTokenView, NewApiToken
from domains.errors import NotFound, ValidationFailed
from portal.customer_auth import Customer, customer_page
from portal.forms import checked_form
from portal.render import Refused, page
from portal.security import CSRF_FIELD
from portal.service import Portal

router = APIRouter(include_in_schema=False)


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def not_found() -> Refused:
    """The answer for any id that is not one of the signed-in account's own."""
    return Refused(404, "Page not found", "There is no page at this address.")


def _tokens_page(
    request: Request,
    customer: Customer,
    *,
    made: NewApiToken | None = None,
    label: str = "",
    error: str | None = None,
) -> Response:
    portal = _portal(request)
    tokens: list[ApiTokenView] = portal.sessions.tokens(customer.account_id)
    csrf = portal.csrf.issue(request)
    response = page(
        "panel_tokens.html",
        422 if error else 200,
        title="API tokens",
        customer=customer,
        tokens=tokens,
        made=made,
        label=label,
        error=error,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


@router.get("/account/tokens")
async def tokens(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """The account's API tokens and the form to make one."""
    return await run_in_threadpool(_tokens_page, request, customer)


@router.post("/account/tokens")
async def make_token(request: Request, customer: Customer = Depends(customer_page)) -> Response:
    """Make a token; the page shows it once (only its hash is kept)."""
    form = await checked_form(request, "panel")
    raw = form.get("label")
    label = raw if isinstance(raw, str) else ""
    portal = _portal(request)
    try:
        made = await run_in_threadpool(portal.sessions.create_token, customer.account_id, label)
    except ValidationFailed as exc:
        error = "; ".join(f"Label {e.message}" for e in exc.errors)
        return await run_in_threadpool(
            _tokens_page, request, customer, label=label[:200], error=error
        )
    response = await run_in_threadpool(_tokens_page, request, customer, made=made)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: str, customer: Customer = Depends(customer_page)
) -> Response:
    """Revoke one of the account's tokens; any other id is a page that does not exist."""
    await checked_form(request, "panel")
    if not token_id.isdigit() or len(token_id) > 18:
        raise not_found()
    try:
        await run_in_threadpool(
            _portal(request).sessions.revoke_token, customer.account_id, int(token_id)
        )
    except NotFound:
        raise not_found() from None
    return RedirectResponse("/account/tokens", status_code=303)
