"""The pages a correction's mailed links open: a new address verified, a change of registrant."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from domains.contact_corrections import (
    ContactCorrections,
    CorrectionOutcome,
    RegistrantChangeOutcome,
    deliver,
)
from domains.errors import RuleViolation, ValidationFailed
from domains.request_tokens import InvalidToken
from domains.vocabulary import RegistrantChangeState
from portal.forms import checked_form
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_rate
from portal.service import TOKEN_RE, Portal

log = logging.getLogger("interlink.portal")

router = APIRouter(include_in_schema=False)

MAX_FORM_FIELDS = 8
#: The words of each state of a change of registrant, after a party's decision.
CHANGE_STATE_TEXT = {
    RegistrantChangeState.PENDING: "Waiting for the other registrant to confirm.",
    RegistrantChangeState.APPLIED: "Both registrants confirmed: the change has been made.",
    RegistrantChangeState.REFUSED: "The change was refused. Nothing was changed.",
    RegistrantChangeState.EXPIRED: "The change expired. Nothing was changed.",
}


def portal_of(request: Request) -> Portal:
    """The portal the app serves."""
    return request.app.state.portal


def corrections_of(request: Request) -> ContactCorrections:
    """The contact-correction rules over the portal's store, with its links."""
    portal = portal_of(request)
    return ContactCorrections(portal.store, portal.links)


def delivery(
    portal: Portal,
    notice_ids: tuple[int, ...],
    contexts: Mapping[int, Mapping[str, str]],
    kind: str = "correction",
) -> Callable[[], None]:
    """The job that mails the notices of a change (`kind`: a correction, a disclosure request)
    after the answer went out; it never raises."""

    def run() -> None:
        if not notice_ids:
            return
        try:
            sent = deliver(
                portal.store, notice_ids, contexts, mailer=portal.mailer, links=portal.links
            )
        except Exception as exc:  # the visitor has their answer; staff see the notice log
            log.error("%s notices not delivered: %s", kind, type(exc).__name__)
            return
        statuses = ", ".join(sorted({n.status for n in sent})) or "none"
        log.info("%s notices: %s", kind, statuses)

    return run


def deliver_outcome(portal: Portal, outcome: CorrectionOutcome) -> Callable[[], None]:
    """The delivery job of an edit's outcome."""
    return delivery(portal, outcome.notice_ids, outcome.contexts)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def refuse_link(exc: InvalidToken) -> Refused:
    """The page for a link that cannot be used (400 unknown, 410 spent or expired)."""
    return Refused(410 if exc.gone else 400, "This link cannot be used", _sentence(str(exc)))


def _check_shape(token: str) -> None:
    if not TOKEN_RE.match(token):
        raise Refused(400, "This link cannot be used", "This link is not valid.")


async def _posted(request: Request) -> FormData:
    """The posted form, after the origin, the rate limit and the CSRF token were checked."""
    return await checked_form(request, "confirm")


def _with_form(request: Request, template: str, title: str, **context: Any) -> Response:
    portal = portal_of(request)
    csrf = portal.csrf.issue(request)
    response = page(template, title=title, csrf_field=CSRF_FIELD, csrf_token=csrf.field, **context)
    return portal.csrf.set_cookie(response, csrf)


# -- a new e-mail address -------------------------------------------------------------------


@router.get("/verify-email/{token}")
async def verify_email_page(request: Request, token: str) -> Response:
    """What the link will verify, with a button; a GET changes nothing (mail scanners fetch it)."""
    check_rate(request, "lookup")
    _check_shape(token)
    try:
        view = await run_in_threadpool(corrections_of(request).describe_verification, token)
    except InvalidToken as exc:
        raise refuse_link(exc) from None
    return _with_form(
        request,
        "corrections/verify_email.html",
        "Confirm your new e-mail address",
        view=view,
        token=token,
    )


@router.post("/verify-email/{token}")
async def verify_email_submit(request: Request, token: str) -> Response:
    """The owner of the new address presses Confirm: the address is used from now on."""
    await _posted(request)
    _check_shape(token)
    try:
        done = await run_in_threadpool(corrections_of(request).verify_email, token)
    except InvalidToken as exc:
        raise refuse_link(exc) from None
    except RuleViolation as exc:
        raise Refused(409, "The address was not changed", _sentence(str(exc))) from None
    return page("corrections/email_verified.html", title="E-mail address confirmed", done=done)


# -- a change of registrant ---------------------------------------------------------------


@router.get("/registrant-change/{token}")
async def registrant_change_page(request: Request, token: str) -> Response:
    """The change a party's link opens, with Confirm and Refuse; a GET changes nothing."""
    check_rate(request, "lookup")
    _check_shape(token)
    try:
        view = await run_in_threadpool(corrections_of(request).describe_registrant_change, token)
    except InvalidToken as exc:
        raise refuse_link(exc) from None
    return _with_form(
        request,
        "corrections/registrant_change.html",
        f"Change of registrant {view.reference}",
        view=view,
        token=token,
    )


def _decided(
    outcome: RegistrantChangeOutcome, background: BackgroundTasks, portal: Portal
) -> Response:
    background.add_task(delivery(portal, outcome.notice_ids, {}))
    view = outcome.change
    return page(
        "corrections/registrant_change_decided.html",
        title=f"Change of registrant {view.reference}",
        view=view,
        state_text=CHANGE_STATE_TEXT[RegistrantChangeState(view.state)],
    )


@router.post("/registrant-change/{token}")
async def registrant_change_confirm(
    request: Request, token: str, background: BackgroundTasks
) -> Response:
    """A party confirms (the new registrant may opt out of the transfer lock)."""
    form = await _posted(request)
    _check_shape(token)
    opt_out = form.get("lock_opt_out") == "yes"
    try:
        outcome = await run_in_threadpool(
            corrections_of(request).confirm_registrant_change, token, opt_out
        )
    except InvalidToken as exc:
        raise refuse_link(exc) from None
    except ValidationFailed as exc:
        message = _sentence(exc.errors[0].message)
        raise Refused(422, "This choice is not yours to make", message) from None
    return _decided(outcome, background, portal_of(request))


@router.post("/registrant-change/{token}/refuse")
async def registrant_change_refuse(
    request: Request, token: str, background: BackgroundTasks
) -> Response:
    """A party refuses: the change ends and nothing changes."""
    await _posted(request)
    _check_shape(token)
    try:
        outcome = await run_in_threadpool(corrections_of(request).refuse_registrant_change, token)
    except InvalidToken as exc:
        raise refuse_link(exc) from None
    return _decided(outcome, background, portal_of(request))
