"""The JSON API of the control panel under /api/v1/me/: the signed-in account's own data."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from domains.contact_corrections import CorrectionResult
from domains.customer_overview import AccountSummary, ContactPage, Overview
from domains.errors import ConflictError, FieldError, NotFound, RuleViolation, ValidationFailed
from portal.api import PREFIX, ConsentField, Line, TechnicalContactIn, _problems, invalid
from portal.api_errors import BodyShape, body_errors
from portal.corrections import corrections_of, deliver_outcome
from portal.customer_auth import Customer, customer_api
from portal.panel import HANDLE_RE, panel_of
from portal.panel_change import ask, own_domain
from portal.render import Refused
from portal.security import BODY_METHODS, check_origin, check_rate
from portal.service import STATE_TEXT, Portal
from publishers.customer_preview import ConsentPreview, consent_preview

ME = f"{PREFIX}/me"

#: Ids are checked by the handler, so any other text is the same 404 as an id not ours.
ID_PATTERN = "^[1-9][0-9]{0,17}$"
ID_RE = re.compile(ID_PATTERN)
TokenId = Annotated[
    str, Path(description="The token's id, as listed.", json_schema_extra={"pattern": ID_PATTERN})
]
Handle = Annotated[
    str,
    Path(
        description="The handle of one of the account's contacts, as the overview lists it.",
        json_schema_extra={"pattern": HANDLE_RE.pattern},
    ),
]
Consentable = Literal["name", "org", "street", "city", "postal_code", "voice", "fax", "email"]
DomainName = Annotated[
    str, Path(description="One of the account's domains, e.g. example.com.", max_length=253)
]


class TokenIn(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid", strict=True)

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


class ContactChangesIn(BaseModel):
    """A correction of a contact: the version read, and the fields to change (others stay)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: int = Field(ge=1, le=2**31, description="The contact's version as last read.")
    name: str | None = Field(default=None, max_length=255)
    org: str | None = Field(default=None, max_length=255)
    street: list[Line] | None = Field(default=None, max_length=3)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    voice: str | None = Field(default=None, max_length=32)
    voice_ext: str | None = Field(default=None, max_length=10)
    fax: str | None = Field(default=None, max_length=32)
    fax_ext: str | None = Field(default=None, max_length=10)
    email: str | None = Field(
        default=None,
        max_length=254,
        description="A new address is used only after the link mailed to it is followed.",
    )


class ConsentIn(BaseModel):
    """Consent to publish exactly these fields (the others are withdrawn)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    fields: list[Consentable] = Field(max_length=8)
    version: int | None = Field(
        default=None, ge=1, le=2**31, description="The contact's version as last read."
    )


class MarketingIn(BaseModel):
    """The marketing opt-out. Essential account and system notices are always sent."""

    model_config = ConfigDict(extra="forbid", strict=True)

    opt_out: bool


#: What the bodies of this API hold, for telling a client what is wrong with theirs.
SHAPE = BodyShape(
    fields={
        "": tuple(
            dict.fromkeys(
                (
                    *TechnicalContactIn.model_fields,
                    *TokenIn.model_fields,
                    *ContactChangesIn.model_fields,
                    *ConsentIn.model_fields,
                    *MarketingIn.model_fields,
                )
            )
        )
    },
    choices={"consent": get_args(ConsentField), "fields": get_args(Consentable)},
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


# -- the account and its contacts -------------------------------------------------------------


def _own_handle(handle: str) -> str:
    if not HANDLE_RE.fullmatch(handle):
        raise not_found("contact")
    return handle


@router.get("", response_model=Overview, summary="The account, its domains and contacts")
async def overview(request: Request, customer: Me) -> Overview:
    """With the holder of each role on each domain, and what the public sees of each contact."""
    return await run_in_threadpool(panel_of(request).overview, customer.account_number)


@router.get(
    "/contacts/{handle}",
    response_model=ContactPage,
    responses=_problems(404),
    summary="One of the account's contacts: every field beside what WHOIS and RDAP show",
)
async def contact(handle: Handle, request: Request, customer: Me) -> ContactPage:
    """With the exact public WHOIS answer of one of its domains as a preview."""
    try:
        return await run_in_threadpool(
            panel_of(request).contact, customer.account_number, _own_handle(handle)
        )
    except NotFound:
        raise not_found("contact") from None


def _conflict(exc: ConflictError) -> Refused:
    return Refused(
        409,
        "Changed meanwhile",
        f"The contact was changed since you read it (version {exc.expected}; it is now "
        f"{exc.current}). Read it again and send your change with the new version.",
    )


@router.patch(
    "/contacts/{handle}",
    response_model=CorrectionResult,
    responses=_problems(400, 404, 409, 413, 422),
    summary="Correct one of the account's contacts",
)
async def correct(
    handle: Handle,
    body: ContactChangesIn,
    request: Request,
    background: BackgroundTasks,
    customer: Me,
) -> CorrectionResult:
    """The fields apply at once and reach the registries; a new e-mail address waits for the
    link mailed to it; a material change of a gTLD registrant waits for both parties' links."""
    changes = body.model_dump(exclude={"version"}, exclude_unset=True)
    portal = _portal(request)
    try:
        outcome = await run_in_threadpool(
            corrections_of(request).edit,
            customer.account_number,
            _own_handle(handle),
            body.version,
            changes,
        )
    except NotFound:
        raise not_found("contact") from None
    except ConflictError as exc:
        raise _conflict(exc) from None
    except ValidationFailed as exc:
        raise invalid(field_errors(exc.errors)) from None
    except RuleViolation as exc:
        raise Refused(409, "Not possible now", str(exc)[:1].upper() + str(exc)[1:] + ".") from None
    background.add_task(deliver_outcome(portal, outcome))
    return outcome.result  # never the outcome: its contexts hold the mailed links


@router.put(
    "/contacts/{handle}/consent",
    response_model=ContactPage,
    responses=_problems(400, 404, 409, 413, 422),
    summary="Choose which fields of a contact the public answers show",
)
async def consent(handle: Handle, body: ConsentIn, request: Request, customer: Me) -> ContactPage:
    """Saved with when and how; the public WHOIS and RDAP answers follow at once."""
    try:
        return await run_in_threadpool(
            lambda: panel_of(request).set_consent(
                customer.account_number,
                _own_handle(handle),
                body.fields,
                expected_version=body.version,
            )
        )
    except NotFound:
        raise not_found("contact") from None
    except ConflictError as exc:
        raise _conflict(exc) from None
    except ValidationFailed as exc:
        raise invalid(exc.errors) from None


@router.post(
    "/contacts/{handle}/consent/preview",
    response_model=ConsentPreview,
    responses=_problems(400, 404, 413, 422),
    summary="The public answers now and with a proposed consent (nothing is saved)",
)
async def preview(
    handle: Handle, body: ConsentIn, request: Request, customer: Me
) -> ConsentPreview:
    """The WHOIS answer and the RDAP fields of one of its domains, before and after."""
    panel = panel_of(request)
    try:
        return await run_in_threadpool(
            consent_preview, panel, customer.account_number, _own_handle(handle), body.fields
        )
    except NotFound:
        raise not_found("contact") from None
    except ValidationFailed as exc:
        raise invalid(exc.errors) from None


@router.put(
    "/marketing",
    response_model=AccountSummary,
    responses=_problems(400, 413, 422),
    summary="Opt out of marketing mail, or back in",
)
async def marketing(body: MarketingIn, request: Request, customer: Me) -> AccountSummary:
    """Essential account and system notices are always sent, whatever is chosen here."""
    return await run_in_threadpool(
        panel_of(request).set_marketing, customer.account_number, body.opt_out
    )


@router.get(
    "/data",
    summary="Everything Interlink holds about the account, as one JSON document",
    response_model=dict[str, Any],
)
async def data(request: Request, customer: Me) -> Response:
    """Account, contacts, domains and roles, requests, notices, changes and staff's looks."""
    document = await run_in_threadpool(panel_of(request).account_data, customer.account_number)
    day = datetime.now(UTC).date().isoformat()
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": (
                f'attachment; filename="interlink-{customer.account_number}-{day}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/requests",
    response_model=list[dict[str, Any]],
    summary="The technical-contact change requests for the account's domains",
)
async def requests(request: Request, customer: Me) -> list[dict[str, Any]]:
    """Each with its reference, domain and state."""
    document = await run_in_threadpool(panel_of(request).account_data, customer.account_number)
    return list(document["change_requests"])
