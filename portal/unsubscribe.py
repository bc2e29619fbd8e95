"""Unsubscribe links of marketing mail: a page with one button, and the one-click POST."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from domains.unsubscribe import (
    ONE_CLICK_FIELD,
    ONE_CLICK_VALUE,
    InvalidUnsubscribeToken,
    Unsubscribes,
)
from domains.vocabulary import OptOutVia
from portal.forms import read_form
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_origin, check_rate
from portal.service import Portal

log = logging.getLogger("interlink.portal")
router = APIRouter(include_in_schema=False)

#: What a mail client's one-click POST is answered with.
ONE_CLICK_ANSWER = "Unsubscribed: this account receives no more marketing mail.\n"


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def _unsubscribes(request: Request) -> Unsubscribes:
    """The app's Unsubscribes, made on first use (its key comes from the store's settings, as
    the key of the links in the mail does)."""
    state = request.app.state
    found = getattr(state, "unsubscribes", None)
    if found is None:
        found = state.unsubscribes = Unsubscribes(_portal(request).store)
    return found


def _refuse(exc: InvalidUnsubscribeToken) -> Refused:
    message = str(exc)
    return Refused(
        400,
        "This unsubscribe link cannot be used",
        message[:1].upper() + message[1:] + ". Nothing was changed.",
    )


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(request: Request, token: str) -> Response:
    """The page the mail's link opens: one button (a link scanner's GET changes nothing)."""
    check_rate(request, "lookup")
    portal = _portal(request)
    try:
        already = await run_in_threadpool(_unsubscribes(request).opted_out, token)
    except InvalidUnsubscribeToken as exc:
        raise _refuse(exc) from None
    csrf = portal.csrf.issue(request)
    response = page(
        "unsubscribe.html",
        title="Unsubscribe",
        token=token,
        already=already,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


@router.post("/unsubscribe/{token}")
async def unsubscribe_post(request: Request, token: str) -> Response:
    """Opt the link's account out at once; again changes nothing and answers the same.

    A mail client's one-click POST (body `List-Unsubscribe=One-Click`, RFC 8058) carries no
    cookie and no form token: the signed link is its whole authority, and it is answered in
    plain text. The page's own button is a form of this site, checked like every other.
    """
    check_rate(request, "lookup")
    portal = _portal(request)
    form = await read_form(request)
    one_click = form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE
    if not one_click:
        check_origin(request, portal.base_url)
        portal.csrf.verify(request, form.get(CSRF_FIELD))
    try:
        await run_in_threadpool(_unsubscribes(request).opt_out, token, OptOutVia.ONE_CLICK)
    except InvalidUnsubscribeToken as exc:
        log.info("unsubscribe refused: a link that is not ours")
        raise _refuse(exc) from None
    if one_click:
        return PlainTextResponse(ONE_CLICK_ANSWER)
    return page("unsubscribed.html", title="Unsubscribed")
