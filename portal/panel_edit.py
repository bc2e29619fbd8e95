"""The control panel's edit page of a contact: the customer corrects it, field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from domains import ascii_postal, contact_fields
from domains.contact_corrections import EDITABLE, MATERIAL, ContactCorrections, EditableContact
from domains.errors import ConflictError, FieldError, NotFound, RuleViolation, ValidationFailed
from domains.vocabulary import ContactKind
from portal.corrections import corrections_of, deliver_outcome, portal_of
from portal.customer_auth import Customer, customer_page
from portal.forms import GENERAL, FormField, checked_form
from portal.panel_tokens import not_found
from portal.render import page
from portal.security import CSRF_FIELD

T = TypeVar("T")

router = APIRouter(include_in_schema=False)

MAX_FORM_FIELDS = 20
#: How the edit form words each field beyond its label and limit (domains.contact_fields).
_WORDING: dict[str, dict[str, Any]] = {
    "name": dict(autocomplete="name"),
    "org": dict(autocomplete="organization"),
    "street": dict(kind="textarea", autocomplete="street-address"),
    "city": dict(autocomplete="address-level2"),
    "state": dict(autocomplete="address-level1"),
    "postal_code": dict(autocomplete="postal-code"),
    "country": dict(autocomplete="country", help="Two letters, for example GB, DE or US."),
    "voice": dict(kind="tel", autocomplete="tel", help="In international form: +44 117 496 0123."),
    "voice_ext": dict(),
    "fax": dict(kind="tel", help="In international form, or empty."),
    "fax_ext": dict(),
    "email": dict(
        kind="email",
        autocomplete="email",
        help="A new address is used once you open the link we send to it.",
    ),
}
REQUIRED = frozenset({"name", "city", "country", "email"})


def edit_fields(kind: str) -> tuple[FormField, ...]:
    """The form's inputs, in the order of the contact-field table, with its labels and limits."""
    out = []
    for name in EDITABLE:
        row = contact_fields.field(name)
        wording = dict(_WORDING[name])
        limit = (
            f"Up to {row.lines} lines of {row.max_len} characters."
            if row.lines > 1
            else f"Up to {row.max_len} characters."
        )
        if name != "country":  # "two letters" says it
            wording["help"] = f"{wording['help']} {limit}" if wording.get("help") else limit
        required = name in REQUIRED or (name == "org" and kind == ContactKind.ORGANIZATION)
        out.append(FormField(name, row.label, row.input_len, required=required, **wording))
    return tuple(out)


def shown(value: Any) -> str:
    """A stored value as the form shows it: street lines one a line, nothing as empty."""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def changes_of(values: Mapping[str, str]) -> dict[str, Any]:
    """The typed values as the rules take them."""
    changes: dict[str, Any] = {name: values[name].strip() for name in EDITABLE}
    changes["street"] = [line for line in values["street"].splitlines() if line.strip()]
    return {name: (value if value != "" else None) for name, value in changes.items()}


def errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    """The rules' errors beside the inputs they belong to; the rest above the form."""
    out: dict[str, list[str]] = {}
    for error in errors:
        name, message = error.field, error.message
        if name.startswith("street["):
            name, message = "street", f"line {name[len('street[') :].rstrip(']')} {message}"
        elif name not in EDITABLE:
            name, message = GENERAL, message if name == GENERAL else f"{name} {message}"
        out.setdefault(name, []).append(message)
    order = {name: i for i, name in enumerate((GENERAL, *EDITABLE))}
    return {k: "; ".join(v) for k, v in sorted(out.items(), key=lambda item: order[item[0]])}


def _values(form: FormData) -> dict[str, str]:
    return {name: raw if isinstance(raw := form.get(name), str) else "" for name in EDITABLE}


def _edit_page(
    request: Request,
    contact: EditableContact,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    newer: Mapping[str, str] | None = None,
    version: int | None = None,
    status: int = 200,
) -> Response:
    """The form; `version` is the one it carries (default: the contact's as read now)."""
    portal = portal_of(request)
    csrf = portal.csrf.issue(request)
    fields = edit_fields(contact.kind)
    labels = {f.name: f.label for f in fields}
    response = page(
        "corrections/edit.html",
        status,
        title=f"Correct contact {contact.handle}" if not errors else "Please check the form",
        contact=contact,
        fields=fields,
        labels=labels,
        values=values if values is not None else {k: shown(v) for k, v in contact.values.items()},
        errors=errors or {},
        newer=newer or {},
        version=contact.version if version is None else version,
        material=[labels[name] for name in MATERIAL],
        ascii_needed=not ascii_postal.is_ascii(contact.values),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


async def account_contact(read: Callable[[str, str], T], customer: Customer, handle: str) -> T:
    """`read(account number, handle)` off the event loop; 404 for a handle that is not one of
    the account's contacts (or not a handle at all)."""
    if len(handle) > 16:
        raise not_found()
    try:
        return await run_in_threadpool(read, customer.account_number, handle)
    except NotFound:
        raise not_found() from None


async def _editable(
    corrections: ContactCorrections, customer: Customer, handle: str
) -> EditableContact:
    return await account_contact(corrections.editable, customer, handle)


@router.get("/account/contacts/{handle}/edit")
async def edit_form(
    request: Request, handle: str, customer: Customer = Depends(customer_page)
) -> Response:
    """The edit form of one of the account's contacts, filled with what is stored."""
    contact = await _editable(corrections_of(request), customer, handle)
    return _edit_page(request, contact)


@router.post("/account/contacts/{handle}/edit")
async def edit_submit(
    request: Request,
    handle: str,
    background: BackgroundTasks,
    customer: Customer = Depends(customer_page),
) -> Response:
    """Check and apply the corrections; say what applied and what waits for a link."""
    portal = portal_of(request)
    form = await checked_form(request, "panel")
    corrections = corrections_of(request)
    contact = await _editable(corrections, customer, handle)
    values = _values(form)
    fields = edit_fields(contact.kind)
    problems = [
        FieldError(
            f.name, f"is {len(values[f.name])} characters long; at most {f.max_len} are allowed"
        )
        for f in fields
        if len(values[f.name]) > f.max_len
    ]
    raw_version = form.get("version")
    version = int(raw_version) if isinstance(raw_version, str) and raw_version.isdigit() else None
    if version is None:
        problems.append(FieldError(GENERAL, "The form was incomplete; please fill it in again."))
    if problems:
        errors = errors_by_field(problems)
        return _edit_page(
            request, contact, values=values, errors=errors, version=version, status=422
        )
    assert version is not None
    try:
        outcome = await run_in_threadpool(
            corrections.edit, customer.account_number, contact.handle, version, changes_of(values)
        )
    except ValidationFailed as exc:
        errors = errors_by_field(exc.errors)
        return _edit_page(
            request, contact, values=values, errors=errors, version=version, status=422
        )
    except ConflictError as exc:
        # Someone changed it meanwhile: the newer values are shown, the typed ones kept, and
        # the form now carries the newer version, so sending it again applies what was typed.
        stored = {k: shown(v) for k, v in contact.values.items()}
        newer = {k: stored[k] for k in EDITABLE if stored[k] != values[k].replace("\r\n", "\n")}
        message = (
            "This contact was changed by someone else while you were editing it. The values it "
            "has now are listed above the form; what you typed is kept below. Check it, then "
            "save again to apply what you typed."
        )
        return _edit_page(
            request,
            contact,
            values=values,
            errors={GENERAL: message},
            newer=newer,
            version=exc.current,
            status=409,
        )
    except RuleViolation as exc:
        errors = {GENERAL: str(exc)}
        return _edit_page(
            request, contact, values=values, errors=errors, version=version, status=409
        )
    background.add_task(deliver_outcome(portal, outcome))
    labels = {f.name: f.label for f in fields}
    result = outcome.result
    return page(
        "corrections/edit_done.html",
        title=f"Contact {result.handle} saved",
        result=result,
        applied=[labels[name] for name in result.applied],
        waiting=[labels[name] for name in result.registrant_change.fields]
        if result.registrant_change
        else [],
        postal_changed=any(name in ascii_postal.KEYS for name in result.applied),
    )
