"""The public pages of disclosure requests: the request form (linked from every page's
footer, as ICANN's Registration Data Policy asks), the e-mail verification the mailed link opens,
the single download of a disclosed document (one ZIP: the signed JSON and the readable text),
and the key that signs the documents.

A GET of a mailed link changes nothing: it looks the link up (404 for one never made, 410 for a
used or expired one) and shows a button (mail scanners fetch links); its POST acts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from domains.disclosure_decisions import DisclosureDecisions, DownloadNotFound
from domains.disclosure_input import check_form
from domains.disclosures import Disclosures, InvalidLink
from domains.errors import ValidationFailed
from domains.models import utcnow
from domains.vocabulary import DisclosureChannel, DisclosureLinkState
from portal.corrections import delivery
from portal.disclosure_form import (
    BASIS_FIELDS,
    CHOICES,
    DOMAINS_FIELD,
    LABELS,
    MAX_ATTACHMENTS,
    MAX_FORM_FIELDS,
    TEXT_FIELDS,
    PostedRequest,
    field_errors,
    read_request,
)
from portal.forms import checked_form
from portal.render import Refused, page
from portal.security import CSRF_FIELD, check_origin, check_rate
from portal.service import TOKEN_RE, Portal
from publishers.disclosure_document import archive, download, published_key

log = logging.getLogger("interlink.portal")

router = APIRouter(include_in_schema=False)

PATH = "/disclosure-requests"


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def _register(portal: Portal) -> Disclosures:
    return Disclosures(portal.store, portal.links)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def upload_limit_bytes(max_attachment_bytes: int) -> int:
    """The largest body the request form accepts: its files at their largest, and the text."""
    return MAX_ATTACHMENTS * max_attachment_bytes + 256 * 1024


def upload_limit_message(max_attachment_bytes: int) -> str:
    """What the form's 413 says: the field, and what to do."""
    return (
        f"Attachments: the files sent are too large together. Send at most {MAX_ATTACHMENTS} "
        f"files of at most {max_attachment_bytes // 1024} KiB each (PDF, PNG or JPEG)."
    )


def form_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    wanted: tuple[str, ...] = (),
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The request form, with what was typed and each refusal beside its field."""
    portal = _portal(request)
    token = portal.csrf.issue(request)
    errors = errors or {}
    max_bytes = portal.store.settings.disclosures.max_attachment_bytes
    response = page(
        "disclosure/form.html",
        status,
        title="Request non-public registration data" if not errors else "Please check the form",
        text_fields=TEXT_FIELDS,
        domains_field=DOMAINS_FIELD,
        basis_fields=BASIS_FIELDS,
        choices=CHOICES,
        labels=LABELS,
        values=values or {},
        wanted=wanted,
        errors=errors,
        max_files=MAX_ATTACHMENTS,
        max_kib=max_bytes // 1024,
        csrf_field=CSRF_FIELD,
        csrf_token=token.field,
    )
    return portal.csrf.set_cookie(response, token)


@router.get(PATH)
def request_form(request: Request) -> Response:
    """The form to ask for non-public registration data."""
    return form_page(request)


async def _posted_with_files(request: Request) -> FormData:
    """The posted form with its files, after the origin, rate limit and CSRF token."""
    portal = _portal(request)
    check_origin(request, portal.base_url)
    check_rate(request, "submit")
    form = await request.form(max_files=MAX_ATTACHMENTS + 1, max_fields=MAX_FORM_FIELDS)
    portal.csrf.verify(request, form.get(CSRF_FIELD))
    return form


def _check_or_submit(portal: Portal, posted: PostedRequest) -> Any:
    """Every refusal of the request at once; with none, the request submitted."""
    register = _register(portal)
    if posted.problems:
        known = {p.field for p in posted.problems}
        found = list(posted.problems)
        try:
            check_form(
                posted.request,
                DisclosureChannel.WEB_FORM,
                max_attachment_bytes=register.settings.max_attachment_bytes,
                email_required=True,
            )
        except ValidationFailed as exc:
            found += [e for e in exc.errors if e.field not in known]
        raise ValidationFailed(found, record="disclosure request")
    return register.submit(posted.request)


@router.post(PATH)
async def request_submit(request: Request, background: BackgroundTasks) -> Response:
    """Check the request; a valid one is kept and a verification link mailed to the requestor."""
    form = await _posted_with_files(request)
    portal = _portal(request)
    max_bytes = portal.store.settings.disclosures.max_attachment_bytes
    posted = await read_request(form, max_bytes)
    try:
        outcome = await run_in_threadpool(_check_or_submit, portal, posted)
    except ValidationFailed as exc:
        return form_page(
            request,
            values=posted.values,
            wanted=posted.wanted,
            errors=field_errors(exc.errors),
            status=422,
        )
    finally:
        await form.close()
    log.info("disclosure request %s submitted on the web form", outcome.request.reference)
    background.add_task(delivery(portal, outcome.notice_ids, outcome.contexts, "disclosure"))
    hours = portal.store.settings.disclosures.verify_link_hours
    return page(
        "disclosure/submitted.html",
        title="Please confirm your e-mail address",
        view=outcome.request,
        hours=hours,
    )


NO_SUCH_LINK = "There is no such link. Check the address."


def _check_shape(token: str) -> None:
    if not TOKEN_RE.match(token):
        raise Refused(404, "This link cannot be used", NO_SUCH_LINK)


def _with_button(request: Request, template: str, title: str, **context: Any) -> Response:
    portal = _portal(request)
    csrf = portal.csrf.issue(request)
    response = page(template, title=title, csrf_field=CSRF_FIELD, csrf_token=csrf.field, **context)
    return portal.csrf.set_cookie(response, csrf)


#: What the page of a mailed link says when the link can no longer be used (HTTP 410).
VERIFY_REFUSALS: Mapping[str, str] = {
    DisclosureLinkState.USED: (
        "This verification link has already been used: the request is confirmed, and we "
        "acknowledged it by e-mail."
    ),
    DisclosureLinkState.EXPIRED: (
        "This verification link has expired. Please submit the request again; the new one "
        "counts once you open the link we mail you."
    ),
}
DOWNLOAD_REFUSALS: Mapping[str, str] = {
    DisclosureLinkState.USED: (
        "This download link has already been used: each link works once. If you need the "
        "document again, ask us for a new link, quoting the reference in our e-mail."
    ),
    DisclosureLinkState.EXPIRED: (
        "This download link has expired. Ask us for a new one, quoting the reference in our e-mail."
    ),
}


def _refuse_state(messages: Mapping[str, str], state: DisclosureLinkState) -> Refused:
    """404 for a link never made; 410, saying why and what to do, for a used or expired one."""
    if state in messages:
        return Refused(410, "This link cannot be used", messages[state])
    return Refused(404, "This link cannot be used", NO_SUCH_LINK)


def _refuse_link(exc: InvalidLink) -> Refused:
    if exc.gone:
        return Refused(410, "This link cannot be used", _sentence(str(exc)))
    return Refused(404, "This link cannot be used", _sentence(str(exc)))


# -- the requestor's e-mail address -----------------------------------------------------------


@router.get(PATH + "/verify/{token}")
def verify_page(request: Request, token: str) -> Response:
    """A button that confirms the address; the GET changes nothing."""
    check_rate(request, "lookup")
    _check_shape(token)
    state = _register(_portal(request)).verification_state(token)
    if state != DisclosureLinkState.USABLE:
        raise _refuse_state(VERIFY_REFUSALS, state)
    return _with_button(
        request, "disclosure/verify.html", "Confirm your request for registration data", token=token
    )


@router.post(PATH + "/verify/{token}")
async def verify_submit(request: Request, token: str, background: BackgroundTasks) -> Response:
    """The requestor confirms: the request counts from now and is acknowledged by mail."""
    await checked_form(request, "confirm")
    _check_shape(token)
    portal = _portal(request)
    try:
        outcome = await run_in_threadpool(_register(portal).verify_email, token)
    except InvalidLink as exc:
        raise _refuse_link(exc) from None
    log.info("disclosure request %s verified", outcome.request.reference)
    background.add_task(delivery(portal, outcome.notice_ids, outcome.contexts, "disclosure"))
    return page("disclosure/verified.html", title="Request confirmed", view=outcome.request)


# -- the disclosed document ----------------------------------------------------------------


@router.get(PATH + "/download/{token}")
def download_page(request: Request, token: str) -> Response:
    """A button that downloads the document (once); the GET changes nothing."""
    check_rate(request, "lookup")
    _check_shape(token)
    state = DisclosureDecisions(_portal(request).store).download_state(token)
    if state != DisclosureLinkState.USABLE:
        raise _refuse_state(DOWNLOAD_REFUSALS, state)
    return _with_button(
        request, "disclosure/download.html", "Download the disclosed data", token=token
    )


@router.post(PATH + "/download/{token}")
async def download_submit(request: Request, token: str) -> Response:
    """The document, made now and given once: a ZIP of the signed JSON and the readable text;
    the download is recorded."""
    await checked_form(request, "confirm")
    _check_shape(token)
    portal = _portal(request)
    try:
        document = await run_in_threadpool(download, portal.store, token)
    except DownloadNotFound:
        raise Refused(404, "This link cannot be used", NO_SUCH_LINK) from None
    except InvalidLink as exc:
        raise _refuse_link(exc) from None
    log.info("disclosure request %s: document downloaded", document.reference)
    body = archive(document, key_url=portal.links.disclosure_signing_key(), now=utcnow())
    return Response(
        body,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="disclosure-{document.reference}.zip"',
            "X-Document-SHA256": document.sha256,
            "Cache-Control": "no-store",
        },
    )


@router.get(PATH + "/signing-key")
def signing_key_page(request: Request) -> Response:
    """The public key that signs disclosed documents, for recipients to compare."""
    encoded, short = published_key(_portal(request).store.settings)
    return page(
        "disclosure/signing_key.html",
        title="The key that signs disclosed data",
        public_key=encoded,
        key_id=short,
    )
