"""The public form of a disclosure request: its fields and choices, and the posted form read
into a `RequestForm` (files included), each refusal shown beside the field it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile

from domains.contact_fields import FIELDS_BY_NAME
from domains.disclosure_input import DISCLOSABLE_FIELDS, Attachment, RequestForm
from domains.errors import FieldError
from domains.vocabulary import ContactRole, DisclosureGround, RequestorKind, UrgencyCategory
from portal.forms import FormField

#: The most files one request may carry.
MAX_ATTACHMENTS = 3
#: Plain fields: the texts, the wanted fields' boxes, the CSRF token.
MAX_FORM_FIELDS = 120
#: The form's general errors (not about one field) are shown above it under this key.
GENERAL = "_form"

TEXT_FIELDS = (
    FormField("requestor_name", "Your name", 255, required=True, autocomplete="name"),
    FormField(
        "requestor_organisation",
        "Organisation",
        255,
        autocomplete="organization",
        help="The authority, firm or company you ask for, if any.",
    ),
    FormField(
        "requestor_email",
        "E-mail address",
        254,
        required=True,
        kind="email",
        autocomplete="email",
        help="We send a link to this address; the request counts once you open it.",
    ),
    FormField(
        "requestor_phone",
        "Phone",
        32,
        kind="tel",
        autocomplete="tel",
        help="Optional, in international form, for example +44 117 496 0123.",
    ),
    FormField(
        "jurisdiction",
        "Jurisdiction",
        100,
        required=True,
        help="The country (and state, if it matters) whose law you act under.",
    ),
)
DOMAINS_FIELD = FormField(
    "domains",
    "Domain names",
    253 * 50,
    required=True,
    kind="textarea",
    help="One per line, for example example.com.",
)
BASIS_FIELDS = (
    FormField(
        "legal_basis",
        "Legal basis",
        5000,
        required=True,
        kind="textarea",
        help="The law, order or interest the request rests on, and why you need the data.",
    ),
    FormField(
        "legal_reference",
        "Reference",
        255,
        help="The case, warrant or order number, if any.",
    ),
)
ALL_TEXT = (*TEXT_FIELDS, DOMAINS_FIELD, *BASIS_FIELDS)
#: How the form names every field in its error list.
LABELS: Mapping[str, str] = {f.name: f.label for f in ALL_TEXT} | {
    "requestor_kind": "You are",
    "ground": "Ground",
    "urgency": "Urgency",
    "wanted_fields": "Data wanted",
    "attachments": "Attachments",
}
ORDER = (
    GENERAL,
    *(f.name for f in TEXT_FIELDS),
    "requestor_kind",
    "domains",
    "wanted_fields",
    "ground",
    *(f.name for f in BASIS_FIELDS),
    "urgency",
    "attachments",
)


@dataclass(frozen=True)
class Choices:
    """The closed lists the form offers."""

    kinds: tuple[str, ...] = tuple(RequestorKind)
    grounds: tuple[str, ...] = tuple(DisclosureGround)
    urgencies: tuple[str, ...] = tuple(UrgencyCategory)
    roles: tuple[str, ...] = tuple(ContactRole)
    #: (field name, its label) of every field a request may ask for.
    fields: tuple[tuple[str, str], ...] = tuple(
        (name, FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else "Registry handle")
        for name in DISCLOSABLE_FIELDS
    )


CHOICES = Choices()


@dataclass(frozen=True)
class PostedRequest:
    """The form as posted: what to show again if refused, and the request to check."""

    values: dict[str, str]
    wanted: tuple[str, ...]
    request: RequestForm
    #: Refusals found before the register saw the request (too many files, too long).
    problems: tuple[FieldError, ...]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def read_request(form: FormData, max_attachment_bytes: int) -> PostedRequest:
    """The request in a posted form; files over `max_attachment_bytes` are refused by name
    without reading more of them than that."""
    values = {f.name: _text(form, f.name) for f in ALL_TEXT}
    for name in ("requestor_kind", "ground", "urgency"):
        values[name] = _text(form, name)
    wanted = tuple(v for v in form.getlist("wanted_fields") if isinstance(v, str))
    problems = [
        FieldError(f.name, f"is {len(values[f.name])} characters long; at most {f.cap}")
        for f in ALL_TEXT
        if len(values[f.name]) > f.cap
    ]
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    if len(files) > MAX_ATTACHMENTS:
        problems.append(
            FieldError("attachments", f"{len(files)} files; at most {MAX_ATTACHMENTS} are accepted")
        )
        files = []
    attachments = []
    for upload in files:
        content = await upload.read(max_attachment_bytes + 1)
        if len(content) > max_attachment_bytes:
            problems.append(
                FieldError(
                    "attachments",
                    f"{upload.filename!r} is larger than {max_attachment_bytes // 1024} KiB, "
                    "the most accepted",
                )
            )
            continue
        attachments.append(Attachment(upload.filename or "", content))
    if problems:  # let the register check the rest, without what is refused already
        long = {p.field for p in problems}
        values_checked = {k: ("" if k in long else v) for k, v in values.items()}
    else:
        values_checked = values
    request = RequestForm(
        requestor_name=values_checked["requestor_name"],
        requestor_email=values_checked["requestor_email"],
        requestor_kind=values_checked["requestor_kind"],
        jurisdiction=values_checked["jurisdiction"],
        ground=values_checked["ground"],
        legal_basis=values_checked["legal_basis"],
        domains=tuple(
            line.strip() for line in values_checked["domains"].splitlines() if line.strip()
        ),
        wanted_fields=wanted,
        requestor_organisation=values_checked["requestor_organisation"] or None,
        requestor_phone=values_checked["requestor_phone"] or None,
        legal_reference=values_checked["legal_reference"] or None,
        urgency=values_checked["urgency"] or None,
        attachments=tuple(attachments),
    )
    return PostedRequest(values, wanted, request, tuple(problems))


def field_errors(errors: list[FieldError] | tuple[FieldError, ...]) -> dict[str, str]:
    """Errors by the form field they belong beside, in the order of the form."""
    out: dict[str, list[str]] = {}
    for error in errors:
        name, message = error.field, error.message
        if name not in LABELS:
            name, message = GENERAL, f"{name} {message}"
        if message not in out.get(name, []):
            out.setdefault(name, []).append(message)
    rank = {name: i for i, name in enumerate(ORDER)}
    ordered = sorted(out.items(), key=lambda item: rank.get(item[0], len(rank)))
    return {name: "; ".join(messages) for name, messages in ordered}
