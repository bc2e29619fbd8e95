"""The public pages of disclosure requests: the form (with files), the e-mail verification by
the mailed link, the single download; refusals named by field, escaped, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_models import DisclosureDownload, DisclosureRequest
from domains.disclosures import Disclosures
from domains.settings import DisclosureSettings
from domains.store import Store
from domains.vocabulary import (
    DisclosureChannel,
    DisclosureGround,
    DisclosureOutcome,
    DisclosureState,
    RequestorKind,
)
from portal.links import PortalLinks
from publishers.disclosure_document import public_key, verify_document
from tests.support.disclosures import PDF, PNG, customer_domain, form
from tests.support.portal import BASE_URL, Portal, csrf_of, main_of, make_portal

DOMAIN = "harbour-kites.com"
MARKUP = '<script>alert("x")</script><b>bold</b>'

#: The form as a requestor fills it.
FIELDS: dict[str, Any] = {
    "requestor_name": "Inspector Mara Voss",
    "requestor_organisation": "Landeskriminalamt",
    "requestor_email": "m.voss@police.example",
    "requestor_phone": "+49 30 4664 0",
    "jurisdiction": "DE",
    "requestor_kind": RequestorKind.LAW_ENFORCEMENT.value,
    "domains": f"{DOMAIN}\n",
    "wanted_fields": ["registrant name", "registrant email"],
    "ground": DisclosureGround.LEGAL_PROCESS.value,
    "legal_basis": "Production order under the Code of Criminal Procedure",
    "legal_reference": "AZ 12 Js 345/26",
    "urgency": "",
}


def post_request(
    portal: Portal, files: list[tuple[str, bytes]] | None = None, **overrides: Any
) -> Any:
    """GET the form (cookie and token), then POST it with `files` as attachments."""
    shown = portal.client.get("/disclosure-requests")
    assert shown.status_code == 200
    data = {"csrf_token": csrf_of(shown.text), **FIELDS, **overrides}
    upload = [("attachments", (name, content)) for name, content in (files or [])]
    return portal.client.post("/disclosure-requests", data=data, files=upload or None)


def requests_in(store: Store) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(DisclosureRequest)).scalar_one()


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(re.escape(BASE_URL) + "(" + path + r"/[A-Za-z0-9_-]+)", body.get_content())
    assert found, f"the mail has no {path} link"
    return found.group(1)


def press(portal: Portal, path: str) -> Any:
    """GET the page of a mailed link, then press its button."""
    shown = portal.client.get(path)
    assert shown.status_code == 200, shown.text
    return portal.client.post(path, data={"csrf_token": csrf_of(shown.text)})


def test_every_page_links_to_the_request_form_in_its_footer(lite: Portal) -> None:
    for path in ("/", "/status", "/signin", "/disclosure-requests", "/no-such-page"):
        html = lite.client.get(path).text
        footer = html[html.index("<footer") :]
        assert 'href="/disclosure-requests"' in footer, path


def test_a_request_counts_once_the_mailed_link_is_confirmed(portal: Portal, store: Store) -> None:
    customer_domain(store, DOMAIN)
    answer = post_request(portal, [("order.pdf", PDF)])
    assert answer.status_code == 200, answer.text
    assert "Please confirm your e-mail address" in answer.text
    assert "m.voss@police.example" in main_of(answer.text)
    [mail] = portal.mails()
    assert "m.voss@police.example" in mail["To"]
    verify = link_in(mail, "/disclosure-requests/verify")
    [reference] = re.findall(r"DR-[A-Z0-9]{5}-[A-Z0-9]{5}", main_of(answer.text))[:1]
    register = Disclosures(store)
    submitted = register.get(reference)
    assert submitted.state == DisclosureState.UNVERIFIED
    assert [a.filename for a in submitted.attachments] == ["order.pdf"]

    shown = portal.client.get(verify)  # a link scanner's GET changes nothing
    assert "Confirm" in shown.text
    assert register.get(reference).state == DisclosureState.UNVERIFIED

    done = portal.client.post(verify, data={"csrf_token": csrf_of(shown.text)})
    assert done.status_code == 200, done.text
    assert "Request confirmed" in done.text and reference in done.text
    assert register.get(reference).state == DisclosureState.ACKNOWLEDGED
    acknowledged = portal.mails()[1]
    assert "m.voss@police.example" in acknowledged["To"]
    assert reference in str(acknowledged["Subject"])

    again = portal.client.get(verify)  # the used link's page says so, with no button
    assert again.status_code == 410
    assert "already been used" in again.text and "request is confirmed" in again.text
    assert "<form" not in main_of(again.text) and "Traceback" not in again.text
    posted = portal.client.post(verify, data={"csrf_token": csrf_of(shown.text)})
    assert posted.status_code == 410 and "already been used" in posted.text
    assert len(portal.mails()) == 2


def test_a_forged_verification_link_is_404_already_on_the_get(lite: Portal) -> None:
    forged = "/disclosure-requests/verify/" + "A" * 43
    shown = lite.client.get(forged)
    assert shown.status_code == 404
    assert "no such link" in shown.text and "<form" not in main_of(shown.text)
    assert lite.client.get("/disclosure-requests/verify/short").status_code == 404
    form_page = lite.client.get("/disclosure-requests")  # a POST with a good CSRF token
    refused = lite.client.post(forged, data={"csrf_token": csrf_of(form_page.text)})
    assert refused.status_code == 404
    assert lite.mails() == []


def test_an_expired_verification_link_is_410_already_on_the_get(
    lite: Portal, lite_store: Store
) -> None:
    customer_domain(lite_store, DOMAIN)
    assert post_request(lite).status_code == 200
    verify = link_in(lite.mails()[0], "/disclosure-requests/verify")
    with lite_store.write() as session:  # the link's time has run out
        row = session.execute(select(DisclosureRequest)).scalar_one()
        row.verify_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    shown = lite.client.get(verify)
    assert shown.status_code == 410
    assert "expired" in shown.text and "submit the request again" in shown.text
    assert "<form" not in main_of(shown.text)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("order.pdf", PNG, "its content is not application/pdf"),
        ("order.docx", PDF, "is not a PDF, PNG or JPEG"),
        ("order.pdf", b"%PDF-" + b"0" * 3000, "larger than 2 KiB"),
    ],
)
def test_an_attachment_refused_is_named_beside_its_field(
    tmp_path: Path, lite_store: Store, name: str, content: bytes, why: str
) -> None:
    lite_store.settings = lite_store.settings.model_copy(
        update={"disclosures": DisclosureSettings(max_attachment_bytes=2048)}
    )
    portal = make_portal(lite_store, tmp_path / "outbox")
    with portal.client:
        refused = post_request(portal, [(name, content)])
    assert refused.status_code == 422
    html = main_of(refused.text)
    found = re.search(r'<p class="error" id="error-attachments">(.*?)</p>', html, re.S)
    assert found and "Attachments" in found.group(1) and why in found.group(1)
    assert 'value="Inspector Mara Voss"' in html  # what was typed is kept
    assert requests_in(lite_store) == 0 and portal.mails() == []


def test_files_too_large_together_are_refused_naming_the_attachments(
    tmp_path: Path, lite_store: Store
) -> None:
    lite_store.settings = lite_store.settings.model_copy(
        update={"disclosures": DisclosureSettings(max_attachment_bytes=2048)}
    )
    portal = make_portal(lite_store, tmp_path / "outbox")
    with portal.client:
        refused = post_request(portal, [("order.pdf", b"%PDF-" + b"0" * 400_000)])
    assert refused.status_code == 413
    assert "Attachments" in refused.text and "2 KiB each" in refused.text
    assert "Traceback" not in refused.text
    assert requests_in(lite_store) == 0


def test_bad_fields_are_each_named_and_markup_is_escaped(lite: Portal, lite_store: Store) -> None:
    refused = post_request(
        lite,
        requestor_name=MARKUP,
        requestor_organisation=MARKUP,
        jurisdiction=MARKUP,
        legal_basis=MARKUP,
        legal_reference=MARKUP,
        domains=MARKUP,
        requestor_kind=MARKUP,
        ground="curiosity",
        wanted_fields=["registrant password"],
    )
    assert refused.status_code == 422
    html = main_of(refused.text)
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html
    for field in ("domains", "requestor_kind", "ground", "wanted_fields"):
        assert f'id="error-{field}"' in html, field
    assert requests_in(lite_store) == 0


def test_markup_in_a_valid_request_is_escaped_on_its_pages(lite: Portal, lite_store: Store) -> None:
    customer_domain(lite_store, DOMAIN)
    answer = post_request(lite, requestor_name=MARKUP, legal_basis=MARKUP)
    assert answer.status_code == 200, answer.text
    verify = link_in(lite.mails()[0], "/disclosure-requests/verify")
    done = press(lite, verify)
    for html in (answer.text, done.text):
        assert "<script>" not in html and "<b>" not in html


def downloads_in(store: Store) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(DisclosureDownload)).scalar_one()


def unzipped(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def decided(store: Store) -> str:
    """A request entered by ann, partly disclosed by pia; the path of its download link."""
    customer_domain(store, DOMAIN)
    links = PortalLinks(store.settings)
    entered = (
        Disclosures(store)
        .enter("staff:ann", form((DOMAIN,)), DisclosureChannel.EMAIL)
        .request.reference
    )
    Disclosures(store).review("staff:pia", entered)
    outcome = DisclosureDecisions(store, links).decide(
        "staff:pia",
        entered,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="The order covers the registrant's e-mail only.",
        approved=(f"{DOMAIN} registrant email",),
    )
    [context] = outcome.contexts.values()
    return context["download_url"].removeprefix(BASE_URL)


def test_the_document_downloads_once_and_a_forged_link_is_404(
    lite: Portal, lite_store: Store
) -> None:
    path = decided(lite_store)
    shown = lite.client.get(path)
    assert shown.status_code == 200 and "Download" in shown.text
    assert lite.client.get(path).status_code == 200  # looking changes nothing
    assert downloads_in(lite_store) == 0  # looking records nothing
    got = lite.client.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    reference = got.headers["content-disposition"].split('"')[1].removesuffix(".zip")
    assert got.headers["content-disposition"].startswith("attachment")
    files = unzipped(got.content)
    assert sorted(files) == sorted([f"{reference}.json", f"{reference}.txt", "README.txt"])
    signed = files[f"{reference}.json"]
    payload = verify_document(signed, public_key(lite_store.settings))
    [domain] = payload["domains"]
    assert [(f["role"], f["field"]) for f in domain["fields"]] == [("registrant", "email")]
    digest = hashlib.sha256(signed).hexdigest()
    assert got.headers["x-document-sha256"] == digest
    text = files[f"{reference}.txt"].decode()
    registrant = lite_store.domain_record(DOMAIN).contact("registrant")
    assert registrant is not None and registrant.email and registrant.name
    assert [f["value"] for f in domain["fields"]] == [registrant.email]
    assert registrant.email in text and digest in text
    assert registrant.name not in text and registrant.name not in signed.decode()
    assert digest in files["README.txt"].decode()
    assert "/disclosure-requests/signing-key" in files["README.txt"].decode()
    assert downloads_in(lite_store) == 1

    again = lite.client.get(path)  # the used link's page says so, with no button
    assert again.status_code == 410
    assert "already been used" in again.text and "ask us for a new link" in again.text
    assert "<form" not in main_of(again.text) and "Traceback" not in again.text
    posted = lite.client.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert posted.status_code == 410 and "already been used" in posted.text
    assert downloads_in(lite_store) == 1  # one download, whatever was tried after
    forged = "/disclosure-requests/download/" + "B" * 43
    assert lite.client.get(forged).status_code == 404  # forged: 404 already on the GET
    refused = lite.client.post(forged, data={"csrf_token": csrf_of(shown.text)})
    assert refused.status_code == 404 and "Traceback" not in refused.text


def test_the_signing_key_is_published(lite: Portal, lite_store: Store) -> None:
    shown = lite.client.get("/disclosure-requests/signing-key")
    assert shown.status_code == 200
    raw = public_key(lite_store.settings)
    assert base64.b64encode(raw).decode() in main_of(shown.text)
    assert hashlib.sha256(raw).hexdigest()[:16] in main_of(shown.text)


def test_a_revoked_download_link_is_refused_with_words(lite: Portal, lite_store: Store) -> None:
    path = decided(lite_store)
    [due] = [r for r in Disclosures(lite_store).due()] or [None]
    assert due is None  # decided: no longer waiting
    with lite_store.read() as session:
        reference = session.execute(select(DisclosureRequest.reference)).scalar_one()
    shown = lite.client.get(path)
    Disclosures(lite_store).close("staff:pia", reference)  # revokes the link
    refused = lite.client.get(path)
    assert refused.status_code == 410
    assert "expired" in refused.text and "Traceback" not in refused.text
    assert "<form" not in main_of(refused.text)
    posted = lite.client.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert posted.status_code == 410 and "expired" in posted.text
