"""A technical-contact change asked for from the control panel, for one of the account's domains."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.store import DomainRecord
from portal.customer_auth import Customer, customer_page
from portal.forms import (
    GENERAL,
    checked_form,
    field_errors,
    form_page,
    form_values,
    proposal_of,
    too_long,
)
from portal.panel_tokens import not_found
from portal.render import page
from portal.service import STATE_TEXT, Job, Portal

log = logging.getLogger("interlink.portal")
router = APIRouter(include_in_schema=False)


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def own_domain(portal: Portal, customer: Customer, name: str) -> DomainRecord:
    """One of the signed-in account's domains; NotFound for any other name, ours or not."""
    if len(name) > 253:
        raise NotFound("domain", "(name)")
    try:
        record = portal.store.domain_record(name)
    except (NotFound, ValidationFailed):
        raise NotFound("domain", "(name)") from None
    if record.account.number != customer.account_number:
        raise NotFound("domain", "(name)")
    return record


def prefill(record: DomainRecord) -> dict[str, str]:
    """The form filled with the account's own details, a start the customer edits."""
    account = record.account
    return {
        "domain": record.domain.unicode_name,
        "org": account.name,
        "name": account.name,
        "email": account.email,
        "voice": account.phone or "",
        "street": "\n".join(account.street or []),
        "city": account.city or "",
        "postal_code": account.postal_code or "",
        "state": account.state or "",
        "country": account.country,
    }


def ask(portal: Portal, customer: Customer, domain: str, proposal: dict) -> tuple[str, str, Job]:
    """Open the request as the customer; the reference, its state and the mail job."""
    outcome = portal.workflow.submit(
        actor=customer.actor,
        domain_name=domain,
        proposal=proposal,
        channel="portal",
        account=customer.account_number,
    )
    reference = outcome.request.reference
    log.info("panel: request %s %s", reference, outcome.request.state)
    job = portal.deliver(reference, outcome.notice_ids, portal.workflow.mail_context(outcome))
    return reference, outcome.request.state, job


@router.get("/account/domains/{name}/change")
async def change_form(
    request: Request, name: str, customer: Customer = Depends(customer_page)
) -> Response:
    """The change form for one of the account's domains, prefilled."""
    portal = _portal(request)
    try:
        record = await run_in_threadpool(own_domain, portal, customer, name)
    except NotFound:
        raise not_found() from None
    domain = record.domain.unicode_name
    return form_page(
        request, values=prefill(record), action=f"/account/domains/{domain}/change", domain=domain
    )


@router.post("/account/domains/{name}/change")
async def change_submit(
    request: Request,
    name: str,
    background: BackgroundTasks,
    customer: Customer = Depends(customer_page),
) -> Response:
    """Open the request; the signed-in owner is told its reference and state at once."""
    portal = _portal(request)
    form = await checked_form(request, "panel")
    try:
        record = await run_in_threadpool(own_domain, portal, customer, name)
    except NotFound:
        raise not_found() from None
    domain = record.domain.unicode_name
    values, consent = form_values(form)
    values["domain"] = domain
    problems = too_long(values)
    if not problems:
        try:
            await run_in_threadpool(portal.check, domain, proposal_of(values, consent))
            reference, state, job = await run_in_threadpool(
                ask, portal, customer, record.domain.name, proposal_of(values, consent)
            )
        except ValidationFailed as exc:
            problems = exc.errors
        except RuleViolation as exc:
            problems = [FieldError(GENERAL, str(exc))]
    if problems:
        errors = field_errors(problems)
        if GENERAL in errors:  # a rule, not a field: said as the product says it
            errors[GENERAL] = errors[GENERAL].removeprefix(f"{GENERAL} ")
        return form_page(
            request,
            values=values,
            consent=consent,
            errors=errors,
            status=422,
            action=f"/account/domains/{domain}/change",
            domain=domain,
        )
    background.add_task(job)
    return page(
        "panel_change_done.html",
        title=f"Request {reference}",
        domain=domain,
        reference=reference,
        state_text=STATE_TEXT[state],
        confirmed=state == "confirmed",
    )
