"""What a disclosure request must hold: the requestor, ground, domains, fields and attachments,
each checked with a message that names the field and says why."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from domains import validation
from domains.contact_fields import NAMES
from domains.errors import FieldError, ValidationFailed
from domains.vocabulary import (
    ContactRole,
    DisclosureChannel,
    DisclosureGround,
    RequestorKind,
    UrgencyCategory,
)

#: The fields a request may ask for, per role: the contact's data and its registry handle.
DISCLOSABLE_FIELDS = ("handle", *NAMES)
#: What an attachment may be, by the start of its content, and the names such a file has.
MEDIA_TYPES: Mapping[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}
#: The most domains one request may name.
MAX_DOMAINS = 50
MAX_FREE_TEXT = 5000


@dataclass(frozen=True)
class Attachment:
    """A file sent with a request, as the requestor or staff handed it over."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class CheckedAttachment:
    """An attachment whose content is what its name says: its type, size and SHA-256."""

    filename: str
    media_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class RequestForm:
    """A disclosure request as it is entered (web form or staff), before it is checked."""

    requestor_name: str
    requestor_email: str | None
    requestor_kind: str
    jurisdiction: str
    ground: str
    legal_basis: str
    domains: tuple[str, ...]
    wanted_fields: tuple[str, ...]
    requestor_organisation: str | None = None
    requestor_phone: str | None = None
    legal_reference: str | None = None
    urgency: str | None = None
    attachments: tuple[Attachment, ...] = field(default=())


def wanted_field(value: Any, name: str = "wanted_fields") -> str:
    """A wanted field as "role field" (e.g. "registrant email"), checked against the lists."""
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 2:
        raise validation.fail(name, f"{value!r} is not a role and a field, e.g. 'registrant email'")
    role, field_name = parts
    validation.choice(name, role, ContactRole)
    validation.choice(name, field_name, DISCLOSABLE_FIELDS)
    return f"{role} {field_name}"


def check_attachment(attachment: Attachment, max_bytes: int) -> CheckedAttachment:
    """The attachment if it is a PDF, PNG or JPEG whose content matches its name and size."""
    name = "attachments"
    filename = validation.text(name, attachment.filename, required=True, max_len=255) or ""
    filename = PurePath(filename.replace("\\", "/")).name  # never a path, only the name
    content = attachment.content
    if not isinstance(content, bytes) or not content:
        raise validation.fail(name, f"{filename!r} is empty")
    if len(content) > max_bytes:
        raise validation.fail(
            name, f"{filename!r} is {len(content)} bytes; at most {max_bytes} bytes are accepted"
        )
    suffix = PurePath(filename).suffix.lower()
    claimed = [kind for kind, (_, suffixes) in MEDIA_TYPES.items() if suffix in suffixes]
    if not claimed:
        raise validation.fail(
            name, f"{filename!r} is not a PDF, PNG or JPEG file (.pdf, .png, .jpg, .jpeg)"
        )
    media_type = claimed[0]
    if not content.startswith(MEDIA_TYPES[media_type][0]):
        raise validation.fail(
            name, f"{filename!r} is named as {media_type} but its content is not {media_type}"
        )
    return CheckedAttachment(filename, media_type, content, hashlib.sha256(content).hexdigest())


def _domains(values: Iterable[Any]) -> tuple[str, ...]:
    names = []
    for value in values:
        alabel = validation.domain_name(value, "domains")[0]
        if alabel not in names:
            names.append(alabel)
    if not names:
        raise validation.fail("domains", "name at least one domain")
    if len(names) > MAX_DOMAINS:
        raise validation.fail("domains", f"at most {MAX_DOMAINS} domains per request")
    return tuple(names)


def _wanted(values: Iterable[Any]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(wanted_field(value) for value in values))
    if not out:
        raise validation.fail("wanted_fields", "name at least one field, e.g. 'registrant email'")
    return out


def check_form(
    form: RequestForm, channel: str, *, max_attachment_bytes: int, email_required: bool
) -> dict[str, Any]:
    """The checked values of a request, or ValidationFailed naming every bad field."""
    validation.choice("channel", channel, DisclosureChannel)
    checks: list[tuple[str, Any]] = [
        (
            "requestor_name",
            lambda: validation.text("requestor_name", form.requestor_name, required=True),
        ),
        (
            "requestor_organisation",
            lambda: validation.text(
                "requestor_organisation", form.requestor_organisation, required=False
            ),
        ),
        ("requestor_email", lambda: _email(form.requestor_email, email_required)),
        (
            "requestor_phone",
            lambda: validation.phone("requestor_phone", form.requestor_phone),
        ),
        (
            "requestor_kind",
            lambda: validation.choice("requestor_kind", form.requestor_kind, RequestorKind),
        ),
        (
            "jurisdiction",
            lambda: validation.text("jurisdiction", form.jurisdiction, required=True, max_len=100),
        ),
        ("ground", lambda: validation.choice("ground", form.ground, DisclosureGround)),
        ("legal_basis", lambda: _free_text("legal_basis", form.legal_basis)),
        (
            "legal_reference",
            lambda: validation.text("legal_reference", form.legal_reference, required=False),
        ),
        ("urgency", lambda: _urgency(form.urgency)),
        ("domains", lambda: _domains(form.domains)),
        ("wanted_fields", lambda: _wanted(form.wanted_fields)),
        (
            "attachments",
            lambda: tuple(check_attachment(a, max_attachment_bytes) for a in form.attachments),
        ),
    ]
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks:
        try:
            out[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors, record="disclosure request")
    return out


def _email(value: str | None, required: bool) -> str | None:
    if not required and (value is None or not value.strip()):
        return None
    return validation.email(value, "requestor_email")


def _urgency(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return validation.choice("urgency", value, UrgencyCategory)


def _free_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise validation.fail(name, "is required")
    text = value.strip()
    if len(text) > MAX_FREE_TEXT:
        raise validation.fail(name, f"is {len(text)} characters; at most {MAX_FREE_TEXT}")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise validation.fail(name, "contains control characters")
    return text


def free_text(name: str, value: Any) -> str:
    """A required multi-line text of at most MAX_FREE_TEXT characters (an explanation)."""
    return _free_text(name, value)
