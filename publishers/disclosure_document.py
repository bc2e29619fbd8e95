"""The disclosed document: a `DisclosureView` as signed JSON and as readable text.

The JSON holds the view under `disclosure` and an Ed25519 signature of its canonical form (keys
sorted, no spaces, UTF-8) under `signature`, with the public key, so a recipient can check that
the document is the one Interlink made and was not changed; Interlink publishes the same key
(`published_key`, on the portal) for them to compare. The key is derived from the server secret
(`domains.server_secret`), so it survives restarts and needs no key file of its own. The
requestor receives both forms in one ZIP (`archive`). The register keeps the SHA-256 of the JSON
document, never the document.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domains.disclosure_decisions import DisclosureDecisions, DisclosureGrant
from domains.errors import InterlinkError
from domains.server_secret import derive_key, load_secret
from domains.settings import Settings
from domains.store import DomainRecord, Store
from publishers.policy import DisclosureView, build_disclosure_view

FORMAT = "interlink-disclosure/1"
#: The purpose the signing key is derived for (one secret never signs two kinds of thing).
KEY_PURPOSE = "disclosure-document-ed25519"


class DocumentInvalid(InterlinkError):
    """A document whose signature does not hold (changed, or not made by this key)."""


@dataclass(frozen=True)
class SealedDocument:
    """A disclosure as the requestor receives it: the signed JSON, its text, its SHA-256."""

    reference: str
    json: bytes
    text: str
    sha256: str


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The document signing key, derived from the server secret."""
    secret = load_secret(settings.portal, settings.data_dir)
    return Ed25519PrivateKey.from_private_bytes(derive_key(secret, KEY_PURPOSE))


def public_key(settings: Settings) -> bytes:
    """The raw public key (32 bytes) recipients check documents with."""
    return signing_key(settings).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_id(raw_public: bytes) -> str:
    """The short name of a public key that documents carry: its SHA-256, first 16 hex digits."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def published_key(settings: Settings) -> tuple[str, str]:
    """(base64, key id) of the public key, as Interlink publishes it for recipients."""
    raw = public_key(settings)
    return _b64(raw), key_id(raw)


def _payload(view: DisclosureView) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "reference": view.reference,
        "outcome": view.outcome,
        "decided_at": view.decided_at.isoformat(),
        "generated_at": view.generated_at.isoformat(),
        "registrar": view.registrar,
        "domains": [
            {
                "name": domain.name,
                "unicode_name": domain.unicode_name,
                "fields": [
                    {"role": f.role, "field": f.field, "label": f.label, "value": f.value}
                    for f in domain.fields
                ],
            }
            for domain in view.domains
        ],
    }


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: the payload's JSON, keys sorted, no spaces, UTF-8."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def render_json(view: DisclosureView, key: Ed25519PrivateKey) -> bytes:
    """The signed JSON document of a view."""
    payload = _payload(view)
    raw_public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    document = {
        "disclosure": payload,
        "signature": {
            "algorithm": "Ed25519",
            "signed": "the canonical JSON of `disclosure`: keys sorted, no spaces, UTF-8",
            "public_key": _b64(raw_public),
            "key_id": key_id(raw_public),
            "value": _b64(key.sign(canonical(payload))),
        },
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def verify_document(data: bytes, expected_key: bytes | None = None) -> dict[str, Any]:
    """The `disclosure` of a signed document whose signature holds (with `expected_key`, the
    raw public key Interlink publishes, also that it made it); DocumentInvalid otherwise."""
    try:
        document = orjson.loads(data)
        signature = document["signature"]
        raw_public = base64.b64decode(signature["public_key"], validate=True)
        value = base64.b64decode(signature["value"], validate=True)
        payload = document["disclosure"]
        key = Ed25519PublicKey.from_public_bytes(raw_public)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise DocumentInvalid("this is not a signed disclosure document") from None
    if expected_key is not None and raw_public != expected_key:
        raise DocumentInvalid("the document is signed with another key than Interlink's")
    try:
        key.verify(value, canonical(payload))
    except InvalidSignature:
        raise DocumentInvalid("the document's signature does not match its content") from None
    return dict(payload)


def render_text(view: DisclosureView, sha256: str) -> str:
    """The document as a person reads it, naming the signed JSON by its SHA-256."""
    lines = [
        f"Disclosure of registration data by {view.registrar}",
        f"Reference: {view.reference}",
        f"Outcome: {view.outcome}",
        f"Decided: {view.decided_at:%Y-%m-%d %H:%M} UTC",
        f"Made: {view.generated_at:%Y-%m-%d %H:%M} UTC",
        f"SHA-256 of the signed JSON document: {sha256}",
    ]
    for domain in view.domains:
        title = (
            domain.name
            if domain.unicode_name == domain.name
            else (f"{domain.unicode_name} ({domain.name})")
        )
        lines += ["", f"Domain {title}"]
        for field in domain.fields:
            value = (field.value or "(empty)").replace("\n", ", ")
            lines.append(f"  {field.label}: {value}")
    return "\n".join(lines) + "\n"


def seal(view: DisclosureView, key: Ed25519PrivateKey) -> SealedDocument:
    """The signed JSON and the text of a view, with the JSON's SHA-256."""
    data = render_json(view, key)
    digest = hashlib.sha256(data).hexdigest()
    return SealedDocument(view.reference, data, render_text(view, digest), digest)


def archive(document: SealedDocument, *, key_url: str, now: datetime) -> bytes:
    """The single download a requestor receives: a ZIP holding the signed JSON document, the
    same data as readable text, and a note on how to check the signature (`key_url`: the page
    where Interlink publishes its key)."""
    name = f"disclosure-{document.reference}"
    note = "\n".join(
        [
            f"Disclosure {document.reference}: what this archive holds",
            "",
            f"{name}.json  the disclosed data, signed by Interlink (Ed25519)",
            f"{name}.txt   the same data as readable text (not signed)",
            "",
            f"SHA-256 of {name}.json: {document.sha256}",
            "",
            "The JSON document carries its signature and the public key that made it. The",
            "signature covers the canonical JSON of `disclosure` (keys sorted, no spaces, UTF-8).",
            f"Compare the public key with the one Interlink publishes at {key_url}",
            "",
        ]
    )
    stamp = now.astimezone(UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for filename, data in (
            (f"{name}.json", document.json),
            (f"{name}.txt", document.text.encode("utf-8")),
            ("README.txt", note.encode("utf-8")),
        ):
            info = zipfile.ZipInfo(filename, date_time=stamp)
            info.external_attr = 0o644 << 16  # readable once unpacked
            bundle.writestr(info, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def view_of(
    grant: DisclosureGrant,
    records: Mapping[str, DomainRecord],
    settings: Settings,
    now: datetime | None = None,
) -> DisclosureView:
    """The DisclosureView of a decision's grant over the records read with it."""
    return build_disclosure_view(
        records,
        grant.approved,
        reference=grant.reference,
        outcome=grant.outcome,
        decided_at=grant.decided_at,
        registrar=settings.registrar,
        now=now,
    )


def download(store: Store, token: str, *, now: datetime | None = None) -> SealedDocument:
    """The requestor's single download: the document made now from the decision, signed; the
    link used up and the download recorded (domains.disclosure_decisions.use_download)."""
    key = signing_key(store.settings)

    def make(grant: DisclosureGrant, records: Mapping[str, DomainRecord]) -> SealedDocument:
        return seal(view_of(grant, records, store.settings, now), key)

    return DisclosureDecisions(store).use_download(token, make, now=now)
