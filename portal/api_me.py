"""The JSON API of the control panel under /api/v1/me/: the signed-in account's own data."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from portal.api import PREFIX, ConsentField, TechnicalContactIn, _problems, invalid
from portal.api_errors import BodyShape, body_errors
from portal.customer_auth import Customer, customer_api
from portal.panel_change import ask, own_domain
from portal.render import Refused
from portal.security import BODY_METHODS, check_origin, check_rate
from portal.service import STATE_TEXT, Portal

ME = f"{PREFIX}/me"

#: Ids are checked by the handler, so any other text is the same 404 as an id not ours.
ID_PATTERN = "^[1-9][0-9]{0,17}$"
ID_RE = re.compile(ID_PATTERN)
TokenId = Annotated[
    str, Path(description="The token's id, as listed.", json_schema_extra={"pattern": ID_PATTERN})
]
DomainName = Annotated[
    str, Path(description="One of the account's domains, e.g. example.com.", max_length=253)
]


class TokenIn(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=100, description="What the token is for.", min_length=1)


class TokenOut(BaseModel):
    """An API token as listed: its label and last four characters, never the token."""

    id: int
    label: str
    hint: str = Field(description="The token's last four characters.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(BaseModel):
    """A token just made: `token` is shown this once; only its hash is kept."""

    token: str
    about: TokenOut


class TechChangeOut(BaseModel):
    """A technical-contact change asked for by the signed-in account."""

    reference: str
    domain: str
    state: str
    description: str
    confirmed_by_registrant: bool = Field(
        description="True when the account's e-mail is the registrant's on file."
    )


#: What the bodies of this API hold, for telling a client what is wrong with theirs.
SHAPE = BodyShape(
    fields={"": (*TechnicalContactIn.model_fields, *TokenIn.model_fields)},
    choices={"consent": get_args(ConsentField)},
    lines=frozenset({"street"}),
)


def refused_body(exc: RequestValidationError) -> Refused:
    """A 422 problem for a body this API's schema refuses, each field in the product's words."""
    return invalid(body_errors(exc.errors(), exc.body, SHAPE))


async def signed_in(request: Request) -> Customer:
    """The customer of the call; a change made with the session cookie must come from this site."""
    customer = await customer_api(request)
    if customer.via != "token" and request.method in BODY_METHODS:
        check_origin(request, request.app.state.portal.base_url)
    bucket = "panel" if request.method in BODY_METHODS else "lookup"
    check_rate(request, bucket)
    return customer


Me = Annotated[Customer, Depends(signed_in)]
router = APIRouter(prefix=ME, tags=["control panel"], responses=_problems(401, 429))


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def not_found(what: str) -> Refused:
    """Any id that is not the signed-in account's own: 404, the same as one that never was."""
    return Refused(404, "Not found", f"There is no {what} of yours with that name.")


def _token_out(view: Any) -> TokenOut:
    return TokenOut(
        id=view.id,
        label=view.label,
        hint=view.hint,
        created_at=view.created_at,
        last_used_at=view.last_used_at,
        revoked_at=view.revoked_at,
    )


@router.get("/tokens", response_model=list[TokenOut], summary="The account's API tokens")
async def tokens(request: Request, customer: Me) -> list[TokenOut]:
    """Newest first; revoked ones too, with when."""
    views = await run_in_threadpool(_portal(request).sessions.tokens, customer.account_id)
    return [_token_out(v) for v in views]


@router.post(
    "/tokens",
    status_code=201,
    response_model=NewTokenOut,
    responses=_problems(400, 413, 422),
    summary="Make an API token",
)
async def make_token(body: TokenIn, request: Request, customer: Me) -> NewTokenOut:
    """The token is in this answer only; send it as `Authorization: Bearer TOKEN`."""
    try:
        made = await run_in_threadpool(
            _portal(request).sessions.create_token, customer.account_id, body.label
        )
    except ValidationFailed as exc:
        raise invalid(exc.errors) from None
    return NewTokenOut(token=made.token, about=_token_out(made.view))


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses=_problems(404),
    summary="Revoke an API token",
)
async def revoke_token(token_id: TokenId, request: Request, customer: Me) -> Response:
    """It stops working at once; revoking it again changes nothing."""
    if not ID_RE.match(token_id):
        raise not_found("API token")
    try:
        await run_in_threadpool(
            _portal(request).sessions.revoke_token, customer.account_id, int(token_id)
        )
    except NotFound:
        raise not_found("API token") from None
    return Response(status_code=204)


@router.post(
    "/domains/{name}/tech-change",
    status_code=201,
    response_model=TechChangeOut,
    responses=_problems(400, 404, 409, 413, 422),
    summary="Ask for a technical-contact change of one of the account's domains",
)
async def tech_change(
    name: DomainName,
    body: TechnicalContactIn,
    request: Request,
    background: BackgroundTasks,
    customer: Me,
) -> TechChangeOut:
    """Confirmed at once when the account's e-mail is the registrant's on file; else the
    registrant gets a confirmation link."""
    portal = _portal(request)
    try:
        record = await run_in_threadpool(own_domain, portal, customer, name)
    except NotFound:
        raise not_found("domain") from None
    proposal = body.model_dump(exclude={"consent"})
    proposal["consent_fields"] = list(body.consent)
    proposal["consent_method"] = "portal" if body.consent else None
    domain = record.domain.unicode_name
    try:
        await run_in_threadpool(portal.check, record.domain.name, proposal)
        reference, state, job = await run_in_threadpool(
            ask, portal, customer, record.domain.name, proposal
        )
    except ValidationFailed as exc:
        errors = [e for e in exc.errors if e.field != "domain"]
        raise invalid(field_errors(errors or exc.errors)) from None
    except RuleViolation as exc:
        raise Refused(409, "Not possible now", str(exc)[:1].upper() + str(exc)[1:] + ".") from None
    background.add_task(job)
    return TechChangeOut(
        reference=reference,
        domain=domain,
        state=state,
        description=STATE_TEXT[state],
        confirmed_by_registrant=state == "confirmed",
    )


def field_errors(errors: list[FieldError]) -> list[FieldError]:
    """Store errors named as this API names the fields (street[2] is street.1)."""
    named = []
    for error in errors:
        field = error.field
        if field.startswith("street["):
            field = f"street.{int(field[len('street[') : -1]) - 1}"
        named.append(FieldError(field, error.message))
    return named
