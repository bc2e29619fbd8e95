"""The HTML pages: the change form, the confirmation page, the status page.

Server-rendered and usable without JavaScript. Every POST must come from this site (its
Origin and Sec-Fetch-Site headers, when the browser sends them), carries a CSRF token and takes a
token from the client's rate-limit bucket; every field is checked with the store's validators
and its error is shown beside it, with what the visitor typed kept in the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from domains import contact_fields
from domains.errors import FieldError, NotFound, ValidationFailed
from domains.vocabulary import ConsentMethod
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_origin, check_rate
from portal.service import BadToken, Portal

router = APIRouter(include_in_schema=False)

#: The form's general errors (not about one field) are shown above it under this key.
GENERAL = "_form"
MAX_FORM_FIELDS = 40


@dataclass(frozen=True)
class FormField:
    """One input of the change form."""

    name: str
    label: str
    max_len: int
    required: bool = False
    kind: str = "text"  # text | email | tel | textarea
    autocomplete: str = "off"
    help: str | None = None

    @property
    def cap(self) -> int:
        """The most characters the server reads before the validators give their own words."""
        return max(self.max_len, 64)


DOMAIN_FIELD = FormField(
    "domain",
    "Domain name",
    253,
    required=True,
    help="The domain registered with Interlink, for example example.com.",
)
#: How the form words each field of the new technical contact for a customer (its label where
#: the table's differs); its limit and its place come from domains.contact_fields.
_WORDING: dict[str, dict[str, Any]] = {
    "org": dict(
        required=True,
        autocomplete="organization",
        help="The company that will look after the technical side of the domain.",
    ),
    "name": dict(
        label="Contact name",
        required=True,
        autocomplete="name",
        help="A person or team at that company.",
    ),
    "email": dict(required=True, kind="email", autocomplete="email"),
    "voice": dict(
        required=True,
        kind="tel",
        autocomplete="tel",
        help="In international form, for example +44 117 496 0123.",
    ),
    "street": dict(kind="textarea", autocomplete="street-address", help="Optional; up to 3 lines."),
    "city": dict(
        required=True,
        autocomplete="address-level2",
        help="Required: the registry needs a city and a country for every contact.",
    ),
    "postal_code": dict(autocomplete="postal-code"),
    "state": dict(
        label="State or province",
        autocomplete="address-level1",
        help="Optional. Always public in the registry's records.",
    ),
    "country": dict(
        label="Country code",
        required=True,
        autocomplete="country",
        help="Two letters, for example GB, DE or US. Required by the registry; always public.",
    ),
}


def _contact_field(name: str) -> FormField:
    row = contact_fields.field(name)
    wording = {"label": row.label, **_WORDING[name]}
    return FormField(name, max_len=row.input_len, **wording)


CONTACT_FIELDS = tuple(_contact_field(name) for name in contact_fields.REQUEST_FIELDS)
FIELDS = (DOMAIN_FIELD, *CONTACT_FIELDS)
FIELD_NAMES = frozenset(f.name for f in FIELDS) | {"consent"}
#: The order errors are listed in: general ones first, then the fields as the form shows them.
ERROR_ORDER = {name: i for i, name in enumerate((GENERAL, *(f.name for f in FIELDS), "consent"))}


def _portal(request: Request) -> Portal:
    return request.app.state.portal


async def read_form(request: Request) -> FormData:
    """The posted form: plain fields only (no files), a bounded number of them."""
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)


async def checked_form(request: Request, bucket: str | None) -> FormData:
    """A form posted from this site: its origin checked, a token taken from the client's
    `bucket` of the rate limits (None: none), its CSRF token verified; then the form."""
    portal = _portal(request)
    check_origin(request, portal.base_url)
    if bucket is not None:
        check_rate(request, bucket)
    form = await read_form(request)
    portal.csrf.verify(request, form.get(CSRF_FIELD))
    return form


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """Validator errors by the form field they belong beside, in the order of the form."""
    out: dict[str, list[str]] = {}
    for error in errors:
        name, message = error.field, error.message
        if name.startswith("street["):
            line = name[len("street[") :].rstrip("]")
            name, message = "street", f"line {line} {message}"
        elif name in ("consent_fields", "consent_method"):
            name = "consent"
        elif name not in FIELD_NAMES:
            name, message = GENERAL, f"{name} {message}"
        out.setdefault(name, []).append(message)
    ordered = sorted(out.items(), key=lambda item: ERROR_ORDER[item[0]])
    return {name: "; ".join(messages) for name, messages in ordered}


def form_values(form: FormData) -> tuple[dict[str, str], list[str]]:
    values = {}
    for field in FIELDS:
        raw = form.get(field.name)
        values[field.name] = raw if isinstance(raw, str) else ""
    consent = [v for v in form.getlist("consent") if isinstance(v, str)]
    return values, consent


def too_long(values: dict[str, str]) -> list[FieldError]:
    return [
        FieldError(f.name, f"is {len(values[f.name])} characters long; at most {f.cap} are allowed")
        for f in FIELDS
        if len(values[f.name]) > f.cap
    ]


def proposal_of(values: dict[str, str], consent: list[str]) -> dict[str, Any]:
    """The new technical contact as the workflow takes it."""
    proposal: dict[str, Any] = {f.name: values[f.name] for f in CONTACT_FIELDS}
    proposal["street"] = [line for line in values["street"].splitlines() if line.strip()]
    proposal["country"] = values["country"].strip()
    proposal["consent_fields"] = consent
    proposal["consent_method"] = ConsentMethod.PORTAL if consent else None
    return proposal


def form_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    consent: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    action: str = "/change",
    domain: str | None = None,
) -> Response:
    """The change form; `domain` fixes the domain (the control panel asks for one of its own)."""
    portal = _portal(request)
    token = portal.csrf.issue(request)
    errors = errors or {}
    response = page(
        "change.html",
        status,
        title="Change the technical contact of a domain" if not errors else "Please check the form",
        domain_field=DOMAIN_FIELD,
        contact_fields=CONTACT_FIELDS,
        labels={f.name: f.label for f in FIELDS} | {"consent": "Publication"},
        values=values or {},
        consent=consent or [],
        consent_choices=contact_fields.REQUEST_CONSENTS,
        errors=errors,
        csrf_field=CSRF_FIELD,
        csrf_token=token.field,
        expiry_days=portal.expiry_days,
        action=action,
        fixed_domain=domain,
    )
    return portal.csrf.set_cookie(response, token)


def refuse_token(exc: BadToken) -> Refused:
    """The page for a confirmation link that cannot be used (400 unknown, 410 spent)."""
    return Refused(exc.status, "This confirmation link cannot be used", _sentence(str(exc)))


def refuse_reference() -> Refused:
    return Refused(
        404,
        "No such request",
        "We have no request with that reference. Check the reference in your e-mail; "
        "it looks like CR-ABCDE-FGH23.",
    )


@router.get("/")
@router.get("/change")
def change_form(request: Request) -> Response:
    """The form to ask for the change."""
    return form_page(request)


@router.post("/change")
async def change_submit(request: Request, background: BackgroundTasks) -> Response:
    """Check the form; a domain not ours is an error beside its field (see Portal.submit)."""
    form = await checked_form(request, "submit")
    portal = _portal(request)
    values, consent = form_values(form)
    problems = too_long(values)
    if problems:
        # Check the rest too, so the visitor sees every problem at once.
        long = {e.field for e in problems}
        rest = {k: ("" if k in long else v) for k, v in values.items()}
        try:
            await run_in_threadpool(portal.check, rest["domain"], proposal_of(rest, consent))
        except ValidationFailed as exc:
            problems += [e for e in exc.errors if e.field.partition("[")[0] not in long]
    else:
        try:
            answer, job = await run_in_threadpool(
                portal.submit, values["domain"], proposal_of(values, consent)
            )
        except ValidationFailed as exc:
            problems = exc.errors
    if problems:
        return form_page(
            request, values=values, consent=consent, errors=field_errors(problems), status=422
        )
    background.add_task(job)  # opens the request after the answer went out
    return page("submitted.html", title="Request received", answer=answer)


@router.get("/confirm/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    """Show the request with a Confirm button; a GET never confirms (mail scanners fetch it)."""
    check_rate(request, "lookup")
    portal = _portal(request)
    try:
        view = await run_in_threadpool(portal.describe, token)
    except BadToken as exc:
        raise refuse_token(exc) from None
    csrf = portal.csrf.issue(request)
    response = page(
        "confirm.html",
        title=f"Confirm the change for {view.domain}",
        view=view,
        token=token,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


@router.post("/confirm/{token}")
async def confirm_submit(request: Request, token: str, background: BackgroundTasks) -> Response:
    """The registrant presses Confirm."""
    await checked_form(request, "confirm")
    portal = _portal(request)
    try:
        status, job = await run_in_threadpool(portal.confirm, token)
    except BadToken as exc:
        raise refuse_token(exc) from None
    background.add_task(job)
    return page("confirmed.html", title="Request confirmed", view=status)


@router.get("/status")
def status_lookup(reference: str | None = None) -> Response:
    """A small form to type a reference (GET, so no CSRF), or a redirect to its page."""
    if reference and reference.strip():
        key = reference.strip().upper()[:64]
        return RedirectResponse(f"/status/{quote(key, safe='')}", status_code=303)
    return page("status_lookup.html", title="Follow a request")


@router.get("/status/{reference}")
async def status_page(request: Request, reference: str) -> Response:
    """The state of a request in plain words."""
    check_rate(request, "lookup")
    try:
        view = await run_in_threadpool(_portal(request).status, reference)
    except NotFound:
        raise refuse_reference() from None
    return page("status.html", title=f"Request {view.reference}", view=view)


@router.get("/requests/{reference}")
def status_alias(reference: str) -> Response:
    """Older links in mail point here."""
    return RedirectResponse(f"/status/{quote(reference[:64], safe='')}", status_code=308)
