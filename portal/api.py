"""The JSON API under /api/v1/: the same requests as the pages, for programs.

No cookies and no ambient authority, so no CSRF token; the same per-client rate limits as the
pages. Errors are RFC 9457 problem documents (application/problem+json) naming each field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from domains.errors import FieldError, NotFound, ValidationFailed
from portal.api_errors import BODY, BodyShape, body_errors
from portal.forms import refuse_reference, refuse_token
from portal.render import PROBLEM_JSON, Refused
from portal.security import check_rate
from portal.service import BadToken, Portal, RequestView, StatusView

PREFIX = "/api/v1"
CONTACT = "technical_contact"

ConsentField = Literal["org", "name", "email", "voice", "street", "city", "postal_code"]
Line = Annotated[str, Field(max_length=255)]


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(
        default=None, description="For 422: each refused field ('field') and why ('message')."
    )


class TechnicalContactIn(BaseModel):
    """The company that is to become the domain's technical contact."""

    model_config = ConfigDict(extra="forbid")

    org: str = Field(max_length=255, description="Organisation name.")
    name: str = Field(max_length=255, description="A person or team at the organisation.")
    email: str = Field(max_length=254)
    voice: str = Field(max_length=32, description="Phone, international form: +44 117 496 0123.")
    street: list[Line] = Field(default_factory=list, max_length=3)
    city: str = Field(max_length=255, description="Required by the registry (EPP).")
    postal_code: str | None = Field(default=None, max_length=16)
    state: str | None = Field(default=None, max_length=255)
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2 code, e.g. GB.")
    consent: list[ConsentField] = Field(
        default_factory=list,
        max_length=7,
        description="Fields the contact agrees to publish in WHOIS/RDAP; country and state "
        "are public anyway.",
    )


class ChangeRequestIn(BaseModel):
    """A request to change a domain's technical contact."""

    model_config = ConfigDict(extra="forbid")

    domain: str = Field(max_length=253, description="The domain name, e.g. example.com.")
    technical_contact: TechnicalContactIn


#: What a change request holds, for telling a client what is wrong with theirs.
SHAPE = BodyShape(
    fields={
        "": tuple(ChangeRequestIn.model_fields),
        CONTACT: tuple(TechnicalContactIn.model_fields),
    },
    choices={f"{CONTACT}.consent": get_args(ConsentField)},
    lines=frozenset({f"{CONTACT}.street"}),
)
INVALID = (
    "Invalid input: each field and why. A body that is not one JSON object is one error on the "
    "field `body`. A domain not registered with Interlink is an error on the field `domain` "
    "(which registrar holds a domain is public in RDAP and WHOIS)."
)


class SubmitOut(BaseModel):
    """The answer to every valid request for a domain registered with Interlink.

    It is the same whether or not a request was opened (a locked domain, or one with a request
    already open, gets it too): only the registrant learns which, by the mail on file.
    """

    message: str
    domain: str
    registrant_email_masked: str = Field(
        description="Where the confirmation link went, masked (j***@e***.com)."
    )
    expires_in_days: int


class StatusOut(BaseModel):
    """A request's state in plain words; no personal data."""

    reference: str
    domain: str
    state: str
    description: str
    registrant_email_masked: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class ConfirmationOut(BaseModel):
    """What the registrant is asked to confirm."""

    reference: str
    domain: str
    state: str
    current_technical_contact: str | None
    new_technical_contact_org: str
    new_technical_contact_email_masked: str
    published_fields: list[str]
    created_at: datetime
    expires_at: datetime


class ConfirmedOut(BaseModel):
    """The answer to a confirmation."""

    message: str
    status: StatusOut


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem} for code in codes}


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with every error answer documented as the problem JSON it is."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"]["description"] = INVALID
            for code, answer in responses.items():
                if code.isdigit() and int(code) >= 400:
                    answer["content"] = {PROBLEM_JSON: {"schema": problem_ref}}
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _rate(bucket: str) -> Any:
    def dependency(request: Request) -> None:
        check_rate(request, bucket)

    return Depends(dependency)


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def _status_out(view: StatusView) -> StatusOut:
    return StatusOut(
        reference=view.reference,
        domain=view.domain,
        state=view.state,
        description=view.state_text,
        registrant_email_masked=view.registrant_masked,
        created_at=view.created_at,
        updated_at=view.updated_at,
        expires_at=view.expires_at,
    )


def _api_field(name: str) -> str:
    if name == "domain":
        return name
    if name.startswith("street["):
        index = int(name[len("street[") : -1]) - 1
        return f"{CONTACT}.street.{index}"
    if name in ("consent_fields", "consent_method"):
        return f"{CONTACT}.consent"
    return f"{CONTACT}.{name}"


def invalid(errors: list[FieldError]) -> Refused:
    """A 422 problem naming every refused field."""
    count = len(errors)
    detail = f"{count} field{'s were' if count != 1 else ' was'} refused; see errors."
    if [e.field for e in errors] == [BODY]:
        detail = "The request body could not be read; see errors."
    return Refused(422, "Invalid request", detail, errors=errors)


def refused_body(exc: RequestValidationError) -> Refused:
    """A 422 problem for a body the schema refuses, each field in the product's words."""
    return invalid(body_errors(exc.errors(), exc.body, SHAPE))


router = APIRouter(prefix=PREFIX, tags=["change requests"])


@router.post(
    "/change-requests",
    status_code=202,
    response_model=SubmitOut,
    responses=_problems(413, 422, 429),
    summary="Ask for a technical-contact change",
    dependencies=[_rate("submit")],
)
async def submit(body: ChangeRequestIn, request: Request, background: BackgroundTasks) -> SubmitOut:
    """The registrant on file gets a link to confirm; a domain not ours is a 422 on `domain`."""
    contact = body.technical_contact
    proposal = contact.model_dump(exclude={"consent"})
    proposal["consent_fields"] = list(contact.consent)
    proposal["consent_method"] = "portal" if contact.consent else None
    try:
        answer, job = await run_in_threadpool(_portal(request).submit, body.domain, proposal)
    except ValidationFailed as exc:
        errors = [FieldError(_api_field(e.field), e.message) for e in exc.errors]
        raise invalid(sorted(errors, key=lambda e: SHAPE.order(e.field))) from None
    background.add_task(job)  # opens the request after the answer went out
    return SubmitOut(
        message=(
            f"If {answer.domain} is registered with Interlink, we have sent a confirmation link "
            f"to its registrant at {answer.masked_email}. Nothing changes until the registrant "
            f"confirms; the link expires in {answer.expiry_days} days."
        ),
        domain=answer.domain,
        registrant_email_masked=answer.masked_email,
        expires_in_days=answer.expiry_days,
    )


@router.get(
    "/change-requests/{reference}",
    response_model=StatusOut,
    responses=_problems(404, 429),
    summary="The state of a request",
    dependencies=[_rate("lookup")],
)
async def status(reference: str, request: Request) -> StatusOut:
    """By the reference from the e-mail (CR-ABCDE-FGH23)."""
    try:
        view = await run_in_threadpool(_portal(request).status, reference)
    except NotFound:
        raise refuse_reference() from None
    return _status_out(view)


@router.get(
    "/confirmations/{token}",
    response_model=ConfirmationOut,
    responses=_problems(400, 410, 429),
    summary="Describe the request a confirmation token belongs to (does not confirm)",
    dependencies=[_rate("lookup")],
)
async def describe(token: str, request: Request) -> ConfirmationOut:
    """Read-only; only a POST confirms."""
    try:
        view: RequestView = await run_in_threadpool(_portal(request).describe, token)
    except BadToken as exc:
        raise refuse_token(exc) from None
    return ConfirmationOut(
        reference=view.reference,
        domain=view.domain,
        state=view.state,
        current_technical_contact=view.current_tech,
        new_technical_contact_org=view.new_org,
        new_technical_contact_email_masked=view.new_email_masked,
        published_fields=view.published,
        created_at=view.created_at,
        expires_at=view.expires_at,
    )


@router.post(
    "/confirmations/{token}",
    response_model=ConfirmedOut,
    responses=_problems(400, 410, 429),
    summary="Confirm a request (the registrant, with the token from the e-mail on file)",
    dependencies=[_rate("confirm")],
)
async def confirm(token: str, request: Request, background: BackgroundTasks) -> ConfirmedOut:
    """Single use; the token expires with the request."""
    try:
        view, job = await run_in_threadpool(_portal(request).confirm, token)
    except BadToken as exc:
        raise refuse_token(exc) from None
    background.add_task(job)
    return ConfirmedOut(
        message="Confirmed; Interlink staff will review it.", status=_status_out(view)
    )
