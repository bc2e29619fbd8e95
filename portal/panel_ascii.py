"""The control panel's ASCII form page: what registries get of a contact's non-ASCII address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from domains import ascii_postal, contact_fields
from domains.ascii_corrections import AsciiFormCorrections, AsciiFormView, AsciiItem
from domains.errors import ConflictError, FieldError, RuleViolation, ValidationFailed
from domains.vocabulary import AsciiSource
from portal.corrections import portal_of
from portal.customer_auth import Customer, customer_page
from portal.forms import GENERAL, FormField, checked_form
from portal.panel_edit import account_contact
from portal.render import page
from portal.security import CSRF_FIELD

router = APIRouter(include_in_schema=False)

#: The words of where each item the registries get comes from, beside it on the page.
SOURCE_TEXT = {
    AsciiSource.GIVEN: "the ASCII form you gave",
    AsciiSource.TRANSLITERATED: "transliterated automatically: a suggestion to keep or improve",
}
#: The form's input of each item of the ASCII form ("ascii_city").
INPUTS = {key: f"ascii_{key}" for key in ascii_postal.KEYS}


def ascii_fields(view: AsciiFormView) -> tuple[FormField, ...]:
    """An input per postal item the contact has, its help saying what the registries get now."""
    out = []
    for item in view.items:
        row = contact_fields.field(item.key)
        value, sent = (item.value, item.sent) if item.key != "street" else _one_line(item)
        out.append(
            FormField(
                INPUTS[item.key],
                f"ASCII {item.label.lower()}",
                row.input_len,
                kind="textarea" if item.key == "street" else "text",
                help=f"As written: {value}. Registries get now: {sent or '(nothing)'} "
                f"({SOURCE_TEXT[item.source]}).",
            )
        )
    return tuple(out)


def _one_line(item: AsciiItem) -> tuple[str, str]:
    return item.value.replace("\n", " / "), item.sent.replace("\n", " / ")


def form_of(view: AsciiFormView, values: Mapping[str, str]) -> dict[str, Any] | None:
    """The typed ASCII form as the rules take it: the items typed, street lines one a line."""
    form: dict[str, Any] = {}
    for item in view.items:
        typed = values.get(INPUTS[item.key], "")
        if item.key == "street":
            lines = [line.strip() for line in typed.splitlines() if line.strip()]
            if lines:
                form["street"] = lines
        elif typed.strip():
            form[item.key] = typed.strip()
    return form or None


def errors_by_field(errors: list[FieldError], labels: Mapping[str, str]) -> dict[str, str]:
    """The rules' errors (`ascii.city`, `ascii.street[2]`) beside their inputs; the rest above."""
    out: dict[str, list[str]] = {}
    for error in errors:
        name, message = error.field.replace(f"{ascii_postal.FIELD}.", "ascii_", 1), error.message
        if name.startswith("ascii_street["):
            name, message = (
                "ascii_street",
                f"line {name[len('ascii_street[') :].rstrip(']')} {message}",
            )
        if name not in labels:
            words = "The ASCII form" if error.field == ascii_postal.FIELD else error.field
            name, message = GENERAL, f"{words} {message}"
        out.setdefault(name, []).append(message)
    order = {name: i for i, name in enumerate((GENERAL, *labels))}
    return {k: "; ".join(v) for k, v in sorted(out.items(), key=lambda kv: order[kv[0]])}


def _values(form: FormData, view: AsciiFormView) -> dict[str, str]:
    names = [INPUTS[item.key] for item in view.items]
    return {name: raw if isinstance(raw := form.get(name), str) else "" for name in names}


def _stored_values(view: AsciiFormView) -> dict[str, str]:
    return {INPUTS[item.key]: item.stored for item in view.items}


def _ascii_page(
    request: Request,
    view: AsciiFormView,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    version: int | None = None,
    status: int = 200,
) -> Response:
    portal = portal_of(request)
    csrf = portal.csrf.issue(request)
    fields = ascii_fields(view)
    response = page(
        "corrections/ascii.html",
        status,
        title=f"ASCII form of contact {view.handle}" if not errors else "Please check the form",
        view=view,
        fields=fields,
        labels={f.name: f.label for f in fields},
        values=_stored_values(view) if values is None else values,
        errors=errors or {},
        version=view.version if version is None else version,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.field,
    )
    return portal.csrf.set_cookie(response, csrf)


def _corrections(request: Request) -> AsciiFormCorrections:
    portal = portal_of(request)
    return AsciiFormCorrections(portal.store, portal.links)


async def _view(
    corrections: AsciiFormCorrections, customer: Customer, handle: str
) -> AsciiFormView:
    return await account_contact(corrections.ascii_form, customer, handle)


@router.get("/account/contacts/{handle}/ascii")
async def ascii_form_page(
    request: Request, handle: str, customer: Customer = Depends(customer_page)
) -> Response:
    """The contact's ASCII form: each item as stored, or its transliteration as a suggestion."""
    view = await _view(_corrections(request), customer, handle)
    return _ascii_page(request, view)


@router.post("/account/contacts/{handle}/ascii")
async def ascii_form_submit(
    request: Request, handle: str, customer: Customer = Depends(customer_page)
) -> Response:
    """Give, change or clear ("clear" pressed) the ASCII form; the registries are told."""
    form = await checked_form(request, "panel")
    corrections = _corrections(request)
    view = await _view(corrections, customer, handle)
    fields = ascii_fields(view)
    labels = {f.name: f.label for f in fields}
    values = _values(form, view)
    problems = [
        FieldError(f.name, f"is {len(values[f.name])} characters long; at most {f.max_len} fit")
        for f in fields
        if len(values[f.name]) > f.max_len
    ]
    raw_version = form.get("version")
    version = int(raw_version) if isinstance(raw_version, str) and raw_version.isdigit() else None
    if version is None:
        problems.append(FieldError(GENERAL, "The form was incomplete; please fill it in again."))
    if problems:
        errors = {e.field: e.message for e in problems}
        return _ascii_page(request, view, values=values, errors=errors, version=version, status=422)
    assert version is not None
    given = None if form.get("clear") == "yes" else form_of(view, values)
    try:
        outcome = await run_in_threadpool(
            corrections.set_ascii_form, customer.account_number, view.handle, version, given
        )
    except ValidationFailed as exc:
        errors = errors_by_field(exc.errors, labels)
        return _ascii_page(request, view, values=values, errors=errors, version=version, status=422)
    except ConflictError as exc:
        message = (
            "This contact was changed by someone else while you were editing its ASCII form. "
            "What registries get now is shown beside each field; what you typed is kept. Check "
            "it, then save again to apply what you typed."
        )
        return _ascii_page(
            request, view, values=values, errors={GENERAL: message}, version=exc.current, status=409
        )
    except RuleViolation as exc:
        return _ascii_page(
            request, view, values=values, errors={GENERAL: str(exc)}, version=version, status=409
        )
    after = await _view(corrections, customer, handle)
    return page(
        "corrections/ascii_done.html",
        title=f"ASCII form of contact {after.handle} saved",
        view=after,
        changed=bool(outcome.result.applied),
        source_text=SOURCE_TEXT,
    )
