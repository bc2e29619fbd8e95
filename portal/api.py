"""The JSON API under /api/v1/: the same requests as the pages, for programs.

No cookies and no ambient authority, so no CSRF token; the same per-client rate limits as the
pages. Errors are RFC 9457 problem documents (application/problem+json) naming each field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from starlette.concurrency import run_in_threadpool

from domains.errors import FieldError, NotFound, ValidationFailed
from portal.api_errors import BODY, BodyShape, body_errors, unreadable_text
from portal.forms import refuse_reference, refuse_token
from portal.render import PROBLEM_JSON, Refused
from portal.security import check_rate
from portal.service import (
    TOKEN_LENGTH,
    TOKEN_PATTERN,
    BadToken,
    Portal,
    RequestView,
    StatusView,
)

PREFIX = "/api/v1"
CONTACT = "technical_contact"

ConsentField = Literal["org", "name", "email", "voice", "street", "city", "postal_code"]
Line = Annotated[str, Field(max_length=255)]
#: Said in the schema of a required text field; the store's validators refuse an empty one with
#: their own words (a 422 naming the field), so every bad field is still told at once.
REQUIRED: JsonDict = {"minLength": 1}
Token = Annotated[
    str,
    Path(
        description="The confirmation token from the link in the e-mail.",
        json_schema_extra={
            "pattern": TOKEN_PATTERN,
            "minLength": TOKEN_LENGTH,
            "maxLength": TOKEN_LENGTH,
        },
    ),
]
Reference = Annotated[
    str,
    Path(
        description="The request's reference from the e-mail, e.g. CR-ABCDE-FGH23 (any case).",
        json_schema_extra={"pattern": "^[Cc][Rr]-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$"},
    ),
]


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

    org: str = Field(max_length=255, description="Organisation name.", json_schema_extra=REQUIRED)
    name: str = Field(
        max_length=255,
        description="A person or team at the organisation.",
        json_schema_extra=REQUIRED,
    )
    email: str = Field(max_length=254, json_schema_extra=REQUIRED)
    voice: str = Field(
        max_length=32,
        description="Phone, international form: +44 117 496 0123.",
        json_schema_extra=REQUIRED,
    )
    street: list[Line] = Field(default_factory=list, max_length=3)
    city: str = Field(
        max_length=255, description="Required by the registry (EPP).", json_schema_extra=REQUIRED
    )
    postal_code: str | None = Field(default=None, max_length=16)
    state: str | None = Field(default=None, max_length=255)
    country: str = Field(
        max_length=2,
        description="ISO 3166-1 alpha-2 code, e.g. GB.",
        json_schema_extra={"minLength": 2},
    )
    consent: list[ConsentField] = Field(
        default_factory=list,
        max_length=7,
        description="Fields the contact agrees to publish in WHOIS/RDAP; country and state "
        "are public anyway.",
    )


#: A valid request, shown in the schema (and sent by schemathesis' examples phase).
EXAMPLE: JsonDict = {
    "domain": "example.com",
    "technical_contact": {
        "org": "Northwind Hosting GmbH",
        "name": "Network operations",
        "email": "noc@northwind.example.net",
        "voice": "+49 40 609040",
        "street": ["Speicherstadt 1"],
        "city": "Hamburg",
        "postal_code": "20457",
        "country": "DE",
        "consent": ["org", "email"],
    },
}


class ChangeRequestIn(BaseModel):
    """A request to change a domain's technical contact."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    domain: str = Field(
        max_length=253,
        description="The domain name, e.g. example.com.",
        json_schema_extra=REQUIRED,
    )
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
UNREADABLE = (
    "The request body is not text in UTF-8, so it cannot be JSON: one error on the field `body`."
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
            if "requestBody" not in operation:
                # FastAPI lists 422 wherever there are parameters; these are plain text, so
                # only a body can be refused that way here.
                responses.pop("422", None)
            if "422" in responses:
                responses["422"]["description"] = INVALID
            if "400" in responses and "requestBody" in operation:
                responses["400"]["description"] = UNREADABLE
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


def unreadable_body() -> Refused:
    """The 400 problem for a JSON body that is not even text (FastAPI cannot decode it)."""
    return Refused(
        400,
        "Invalid request",
        "The request body could not be read; see errors.",
        errors=[FieldError(BODY, unreadable_text(SHAPE))],
    )


router = APIRouter(prefix=PREFIX, tags=["change requests"])


@router.post(
    "/change-requests",
    status_code=202,
    response_model=SubmitOut,
    responses=_problems(400, 413, 422, 429),
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
async def status(reference: Reference, request: Request) -> StatusOut:
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
async def describe(token: Token, request: Request) -> ConfirmationOut:
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
    responses=_problems(400, 410, 413, 429),
    summary="Confirm a request (the registrant, with the token from the e-mail on file)",
    dependencies=[_rate("confirm")],
)
async def confirm(token: Token, request: Request, background: BackgroundTasks) -> ConfirmedOut:
    """Single use; the token expires with the request."""
    try:
        view, job = await run_in_threadpool(_portal(request).confirm, token)
    except BadToken as exc:
        raise refuse_token(exc) from None
    background.add_task(job)
    return ConfirmedOut(
        message="Confirmed; Interlink staff will review it.", status=_status_out(view)
    )
