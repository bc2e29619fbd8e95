"""The portal's HTML pages: the change form, confirmation, status, and every refusal.

Each negative test checks the visitor's message and that nothing changed in the store.
"""

from __future__ import annotations

import ast
import logging
import re
from datetime import timedelta
from html import escape, unescape
from pathlib import Path

import pytest
from starlette.requests import Request

import portal as portal_package
from domains.changes import Workflow
from domains.mailer import FolderMailer
from domains.models import utcnow
from domains.server_secret import load_secret
from domains.settings import PortalSettings
from domains.store import Store
from portal.app import create_app
from portal.ratelimit import RateLimiter
from portal.security import CSRF_COOKIE, client_key
from tests.support.factories import make_domain
from tests.support.portal import (
    FORM,
    MASK_RE,
    Portal,
    confirm_link,
    csrf_of,
    form_data,
    main_of,
    make_portal,
    requests_of,
    snapshot,
    submit_form,
)

ANSWER_RE = re.compile(
    r"If (?P<domain>\S+) is registered with Interlink, we are\s+sending a confirmation link to its "
    r"registrant at <span class=\"masked\">(?P<masked>" + MASK_RE + r")</span>\.\s+Nothing "
    r"changes until the registrant confirms; the link expires in 7 days\."
)
NOT_REGISTERED = (
    "{domain} is not registered with Interlink, so we cannot change its technical contact here; "
    "which registrar holds it is public in RDAP and WHOIS"
)
PROPOSAL = {
    "org": FORM["org"],
    "name": FORM["name"],
    "email": FORM["email"],
    "voice": FORM["voice"],
    "city": FORM["city"],
    "country": FORM["country"],
}


def normalised_answer(html: str, domain: str, masked: str) -> str:
    """The answer page with the only two things that may differ replaced."""
    return main_of(html).replace(domain, "DOMAIN").replace(masked, "MASKED")


def field_block(html: str, name: str) -> str:
    """The <div class="field"> of one input (label, help, error, input)."""
    found = re.search(
        r'<div class="field[^"]*">\s*<label for="f-' + name + r'">.*?</div>', html, re.S
    )
    assert found, f"no field {name} on the page"
    return found.group(0)


def old_request(store: Store, domain: str, days: int = 8) -> str:
    """A request made `days` ago; returns its confirmation token."""
    outcome = Workflow(store).submit(
        actor="customer:portal",
        domain_name=domain,
        proposal=PROPOSAL,
        channel="portal",
        now=utcnow() - timedelta(days=days),
    )
    assert outcome.token
    return outcome.token


# -- the form ---------------------------------------------------------------------------------


def test_the_form_has_labelled_fields_a_csrf_cookie_and_safe_headers(lite: Portal) -> None:
    response = lite.client.get("/")
    assert response.status_code == 200
    html = response.text
    for name in ("domain", "org", "name", "email", "voice", "street", "city", "country"):
        assert f'<label for="f-{name}">' in html
        assert f'id="f-{name}" name="{name}"' in html
    for key in ("org", "name", "email", "voice", "street", "city", "postal_code"):
        assert f'<label for="f-consent-{key}">' in html
    assert "the registry needs a city and a country" in html
    assert "registrant's e-mail address on file" in html
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Secure" in cookie  # the base URL is https
    headers = response.headers
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    css = lite.client.get("/static/portal.css")
    assert css.status_code == 200 and "max-width" in css.text


def test_a_valid_request_is_stored_and_mailed_to_the_registrant_on_file(
    portal: Portal, store: Store
) -> None:
    _, registrant = make_domain(store, "move-me.com")
    response = submit_form(portal, "move-me.com", consent=["org", "email"])
    assert response.status_code == 200, response.text
    answer = ANSWER_RE.search(response.text)
    assert answer, main_of(response.text)
    assert answer["domain"] == "move-me.com"
    local, _, host = registrant.email.partition("@")
    assert answer["masked"] == f"{local[0]}***@{host[0]}***.{host.rsplit('.', 1)[1]}"
    (request,) = requests_of(store)
    assert request.state == "submitted" and request.channel == "portal"
    assert request.proposed["org"] == FORM["org"]
    assert request.proposed["consent_fields"] == ["org", "email"]
    assert request.reference not in response.text  # the reference goes in the registrant's mail
    (mail,) = portal.mails()
    assert mail["To"].addresses[0].addr_spec == registrant.email
    assert FORM["email"] not in str(mail["To"])  # never to an address typed in the form
    assert confirm_link(mail).startswith("/confirm/")
    assert request.reference in mail.get_body(("plain",)).get_content()


def test_a_domain_not_registered_with_interlink_is_said_so_beside_its_field(
    portal: Portal, store: Store
) -> None:
    make_domain(store, "ours-one.com")
    known = submit_form(portal, "ours-one.com")
    assert known.status_code == 200 and ANSWER_RE.search(known.text)
    before = snapshot(store)
    unknown = submit_form(portal, "Not-Ours-At-All.com", consent=["org"])
    assert unknown.status_code == 422
    domain = field_block(unknown.text, "domain")
    assert 'id="error-domain"' in domain and 'aria-invalid="true"' in domain
    assert NOT_REGISTERED.format(domain="not-ours-at-all.com") in " ".join(domain.split())
    assert 'value="Not-Ours-At-All.com"' in domain  # what was typed is kept, to correct it
    assert 'href="#f-domain"' in unknown.text  # the summary links to the field
    assert "Request received" not in unknown.text and "we are sending" not in unknown.text
    assert not re.search(MASK_RE, unknown.text), "an invented masked address"
    assert "***" not in unknown.text
    assert snapshot(store) == before
    assert len(portal.mails()) == 1  # the known domain's registrant only


def test_a_domain_not_ours_and_bad_contact_fields_are_reported_at_once(
    lite: Portal, lite_store: Store
) -> None:
    response = submit_form(lite, "not-ours-either.com", voice="phone me maybe")
    assert response.status_code == 422
    assert "is not registered with Interlink" in field_block(response.text, "domain")
    voice = unescape(field_block(response.text, "voice"))
    assert "'phone me maybe' is not a phone number; write it in international form" in voice
    assert "(The string supplied" not in voice


def test_the_error_summary_lists_the_fields_in_the_order_of_the_form(
    lite: Portal, lite_store: Store
) -> None:
    make_domain(lite_store, "order.com")
    response = submit_form(
        lite, "order.com", email="nope", voice="phone me maybe", city="", country="ZZ"
    )
    assert response.status_code == 422
    start = response.text.index('id="error-summary"')
    summary = response.text[start : response.text.index("</ul>", start)]
    linked = re.findall(r'<a href="#f-([a-z_]+)">', summary)
    assert linked == ["email", "voice", "city", "country"]
    form_order = [m for m in re.findall(r'id="error-([a-z_]+)"', response.text) if m != "summary"]
    assert form_order == linked  # the messages beside the fields, top to bottom, say the same
    unknown = submit_form(lite, "not-ours.com", country="ZZ", org="", email="nope")
    start = unknown.text.index('id="error-summary"')
    summary = unknown.text[start : unknown.text.index("</ul>", start)]
    assert re.findall(r'<a href="#f-([a-z_]+)">', summary) == ["domain", "org", "email", "country"]


def test_a_second_open_request_gets_the_same_answer_and_nothing_new(
    portal: Portal, store: Store
) -> None:
    make_domain(store, "busy.com")
    first = submit_form(portal, "busy.com")
    before = snapshot(store)
    second = submit_form(portal, "busy.com", org="Another Hosting Ltd")
    assert second.status_code == 200
    assert main_of(second.text) == main_of(first.text)
    assert snapshot(store) == before
    assert len(portal.mails()) == 1


@pytest.mark.parametrize("lock", ["clientUpdateProhibited", "serverUpdateProhibited"])
def test_a_locked_domain_gets_the_same_answer_and_nothing_is_stored(
    portal: Portal, store: Store, lock: str
) -> None:
    make_domain(store, "open-one.com")
    make_domain(store, "locked-one.com", statuses=[lock])
    normal = submit_form(portal, "open-one.com")
    before = snapshot(store)
    locked = submit_form(portal, "locked-one.com")
    assert locked.status_code == 200
    a, b = ANSWER_RE.search(normal.text), ANSWER_RE.search(locked.text)
    assert a and b
    assert normalised_answer(normal.text, "open-one.com", a["masked"]) == normalised_answer(
        locked.text, "locked-one.com", b["masked"]
    )
    assert snapshot(store) == before
    assert len(portal.mails()) == 1


def test_a_bad_phone_is_shown_beside_its_field_with_the_values_kept(
    lite: Portal, lite_store: Store
) -> None:
    make_domain(lite_store, "typo.com")
    before = snapshot(lite_store)
    response = submit_form(lite, "typo.com", voice="12345", city="", consent=["org"])
    assert response.status_code == 422
    voice = field_block(response.text, "voice")
    assert 'id="error-voice"' in voice
    assert "is not a phone number" in voice or "is not a valid number" in voice
    assert 'aria-describedby="help-voice error-voice"' in voice
    assert 'aria-invalid="true"' in voice
    assert 'value="12345"' in voice
    city = field_block(response.text, "city")
    assert "is required" in city and 'id="error-city"' in city
    org = field_block(response.text, "org")
    assert "error-org" not in org and f'value="{FORM["org"]}"' in org
    assert 'value="org" checked' in response.text
    assert 'href="#f-voice"' in response.text  # the summary links to the field
    assert csrf_of(response.text)  # the form can be sent again
    assert snapshot(lite_store) == before
    assert lite.mails() == []


def test_a_bad_domain_name_is_an_error_beside_the_domain_field(
    lite: Portal, lite_store: Store
) -> None:
    before = snapshot(lite_store)
    response = submit_form(lite, "no-tld")
    assert response.status_code == 422
    assert "has no TLD" in field_block(response.text, "domain")
    assert snapshot(lite_store) == before


def test_control_characters_are_refused_beside_their_field(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "ctrl.com")
    before = snapshot(lite_store)
    response = submit_form(lite, "ctrl.com", org="Bell\x07Hosting", street="Line one\nTwo\x1b")
    assert response.status_code == 422
    assert "control character U+0007" in field_block(response.text, "org")
    assert "line 2" in field_block(response.text, "street")
    assert "U+001B" in field_block(response.text, "street")
    assert snapshot(lite_store) == before


def test_overlong_fields_are_refused_beside_their_field(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "long.com")
    before = snapshot(lite_store)
    response = submit_form(lite, "long.com", name="N" * 300, postal_code="1" * 40)
    assert response.status_code == 422
    assert "at most 255" in field_block(response.text, "name")
    assert "at most 16" in field_block(response.text, "postal_code")
    assert snapshot(lite_store) == before


def test_markup_is_escaped_on_every_page_it_appears_on(portal: Portal, store: Store) -> None:
    make_domain(store, "markup.com")
    script = "<script>alert(1)</script> & Co"
    refused = submit_form(portal, "markup.com", org=script, voice="bad")
    assert refused.status_code == 422
    assert script not in refused.text and escape(script) in field_block(refused.text, "org")
    bad_domain = submit_form(portal, "<b>x</b>.com")
    assert "<b>x</b>" not in bad_domain.text and "&lt;b&gt;x&lt;/b&gt;" in bad_domain.text
    accepted = submit_form(portal, "markup.com", org=script)
    assert accepted.status_code == 200
    page = portal.client.get(confirm_link(portal.mails()[0]))
    assert page.status_code == 200
    assert script not in page.text and escape(script) in page.text
    (request,) = requests_of(store)
    status = portal.client.get(f"/status/{request.reference}")
    assert "<script>" not in status.text


def test_an_oversized_body_is_refused_with_413(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "big.com")
    before = snapshot(lite_store)
    csrf = csrf_of(lite.client.get("/change").text)
    response = lite.client.post("/change", data=form_data("big.com", csrf, street="x" * 20_000))
    assert response.status_code == 413
    assert "larger than 16 KiB" in response.text

    def chunks():  # no Content-Length: the limit counts the bytes as they come
        yield f"csrf_token={csrf}&domain=big.com&org=".encode()
        for _ in range(40):
            yield b"y" * 1024

    streamed = lite.client.post(
        "/change",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert snapshot(lite_store) == before


# -- CSRF and rate limits ----------------------------------------------------------------------


def test_a_form_post_without_a_valid_csrf_token_is_refused(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "csrf.com")
    before = snapshot(lite_store)
    csrf = csrf_of(lite.client.get("/change").text)
    cookie = lite.client.cookies.get(CSRF_COOKIE)
    missing_field = lite.client.post("/change", data=form_data("csrf.com", ""))
    wrong_field = lite.client.post("/change", data=form_data("csrf.com", csrf[:-2] + "AA"))
    lite.client.cookies.clear()
    missing_cookie = lite.client.post("/change", data=form_data("csrf.com", csrf))
    lite.client.cookies.set(CSRF_COOKIE, "x" * 43)  # planted by someone else
    planted = lite.client.post("/change", data=form_data("csrf.com", csrf))
    for response in (missing_field, wrong_field, missing_cookie, planted):
        assert response.status_code == 403
        assert "security check failed" in response.text
    assert cookie
    assert snapshot(lite_store) == before


def test_a_confirmation_without_csrf_is_refused(lite: Portal, lite_store: Store) -> None:
    make_domain(lite_store, "csrf2.com")
    submit_form(lite, "csrf2.com")
    link = confirm_link(lite.mails()[0])
    before = snapshot(lite_store)
    lite.client.cookies.clear()
    response = lite.client.post(link, data={"csrf_token": "nope"})
    assert response.status_code == 403
    assert snapshot(lite_store) == before
    assert requests_of(lite_store)[0].state == "submitted"


def test_a_client_over_its_rate_limit_gets_429_with_retry_after(
    lite_store: Store, tmp_path: Path
) -> None:
    made = make_portal(lite_store, tmp_path / "outbox", submit_burst=2, submit_every=600)
    with made.client:
        make_domain(lite_store, "rate.com")
        first = submit_form(made, "rate.com")
        second = submit_form(made, "unknown-rate.com")  # refused, and counted all the same
        before = snapshot(lite_store)
        third = submit_form(made, "rate.com")
    assert first.status_code == 200 and second.status_code == 422
    assert third.status_code == 429
    assert 500 <= int(third.headers["retry-after"]) <= 600
    assert "Too many requests" in third.text and "Please wait" in third.text
    assert snapshot(lite_store) == before


def test_the_confirm_bucket_limits_confirmations(lite_store: Store, tmp_path: Path) -> None:
    made = make_portal(lite_store, tmp_path / "outbox", confirm_burst=1, confirm_every=120)
    with made.client:
        page = made.client.get("/change")
        csrf = csrf_of(page.text)
        first = made.client.post("/confirm/" + "A" * 43, data={"csrf_token": csrf})
        second = made.client.post("/confirm/" + "B" * 43, data={"csrf_token": csrf})
    assert first.status_code == 400
    assert second.status_code == 429 and int(second.headers["retry-after"]) > 0


# -- confirmation ------------------------------------------------------------------------------


def test_get_never_confirms_and_post_does(portal: Portal, store: Store) -> None:
    _, registrant = make_domain(store, "confirm-me.com")
    submit_form(portal, "confirm-me.com", consent=["org"])
    link = confirm_link(portal.mails()[0])
    before = snapshot(store)
    for _ in range(3):  # mail scanners fetch links, sometimes more than once
        page = portal.client.get(link)
        assert page.status_code == 200
    assert snapshot(store) == before
    (request,) = requests_of(store)
    assert request.state == "submitted"
    html = page.text
    assert "Confirm the change for confirm-me.com" in html
    assert FORM["org"] in html and "n***@n***.net" in html
    assert FORM["email"] not in html and FORM["name"] not in html
    assert request.reference in html
    assert page.headers["referrer-policy"] == "no-referrer"
    assert f'action="{link}"' in html
    done = portal.client.post(link, data={"csrf_token": csrf_of(html)})
    assert done.status_code == 200
    assert "Confirmed; Interlink staff will review it." in done.text
    (request,) = requests_of(store)
    assert request.state == "confirmed"
    sent = portal.mails()[1:]
    assert {str(m["Subject"]).strip().split(":")[0] for m in sent} == {"Confirmed"}
    recipients = {m["To"].addresses[0].addr_spec for m in sent}
    house = store.house_contact().email
    assert recipients == {registrant.email, house, FORM["email"]}  # registrant, old and new tech


def test_a_wrong_token_is_refused_with_400_and_nothing_changes(
    portal: Portal, store: Store
) -> None:
    make_domain(store, "wrong.com")
    submit_form(portal, "wrong.com")
    before = snapshot(store)
    csrf = csrf_of(portal.client.get("/change").text)
    for token in ("A" * 43, "short", "x" * 200):
        shown = portal.client.get(f"/confirm/{token}")
        posted = portal.client.post(f"/confirm/{token}", data={"csrf_token": csrf})
        for response in (shown, posted):
            assert response.status_code == 400
            assert "This confirmation link is not valid." in response.text
            assert "Confirm</button>" not in response.text
    assert snapshot(store) == before


def test_a_used_token_is_refused_with_410_and_nothing_changes(portal: Portal, store: Store) -> None:
    make_domain(store, "twice.com")
    submit_form(portal, "twice.com")
    link = confirm_link(portal.mails()[0])
    csrf = csrf_of(portal.client.get(link).text)
    assert portal.client.post(link, data={"csrf_token": csrf}).status_code == 200
    before = snapshot(store)
    again = portal.client.post(link, data={"csrf_token": csrf})
    shown = portal.client.get(link)
    for response in (again, shown):
        assert response.status_code == 410
        assert "This confirmation link has already been used." in response.text
    assert snapshot(store) == before


def test_an_expired_token_is_refused_with_410_and_nothing_changes(
    portal: Portal, store: Store
) -> None:
    make_domain(store, "stale.com")
    token = old_request(store, "stale.com", days=8)
    before = snapshot(store)
    csrf = csrf_of(portal.client.get("/change").text)
    shown = portal.client.get(f"/confirm/{token}")
    posted = portal.client.post(f"/confirm/{token}", data={"csrf_token": csrf})
    for response in (shown, posted):
        assert response.status_code == 410
        assert "This confirmation link has expired; the request must be made again." in (
            response.text
        )
    assert snapshot(store) == before
    assert requests_of(store)[0].state == "submitted"


def test_a_token_of_a_cancelled_request_is_refused(portal: Portal, store: Store) -> None:
    make_domain(store, "gone.com")
    token = old_request(store, "gone.com", days=0)
    reference = requests_of(store)[0].reference
    Workflow(store).cancel(actor="staff:alice", reference=reference)
    before = snapshot(store)
    response = portal.client.get(f"/confirm/{token}")
    assert response.status_code == 410
    assert "This request is cancelled; it can no longer be confirmed." in response.text
    assert snapshot(store) == before


# -- status ------------------------------------------------------------------------------------


def test_the_status_page_says_the_state_in_plain_words_without_personal_data(
    portal: Portal, store: Store
) -> None:
    _, registrant = make_domain(store, "follow.com")
    submit_form(portal, "follow.com")
    (request,) = requests_of(store)
    page = portal.client.get(f"/status/{request.reference.lower()}")
    assert page.status_code == 200
    assert "Waiting for the registrant to confirm" in page.text
    assert "follow.com" in page.text
    for private in (registrant.email, registrant.name, FORM["org"], FORM["email"], FORM["name"]):
        assert private not in page.text
    lookup = portal.client.get(f"/status?reference={request.reference}", follow_redirects=False)
    assert (
        lookup.status_code == 303 and lookup.headers["location"] == f"/status/{request.reference}"
    )
    assert portal.client.get("/status").status_code == 200
    alias = portal.client.get(f"/requests/{request.reference}", follow_redirects=False)
    assert alias.status_code == 308


@pytest.mark.parametrize("reference", ["CR-AAAAA-BBBBB", "nonsense", "x" * 300])
def test_an_unknown_reference_is_a_404_page(lite: Portal, reference: str) -> None:
    response = lite.client.get(f"/status/{reference}")
    assert response.status_code == 404
    assert "We have no request with that reference." in response.text


# -- errors and logs ---------------------------------------------------------------------------


def test_errors_are_plain_pages_without_tracebacks(lite: Portal) -> None:
    def explode() -> None:
        raise RuntimeError("secret detail jane@example.com")

    lite.client.app.add_api_route("/explode", explode)  # type: ignore[attr-defined]
    response = lite.client.get("/explode")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    for leak in ("Traceback", "RuntimeError", "jane@example.com", "secret detail"):
        assert leak not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    missing = lite.client.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    wrong_method = lite.client.put("/change")
    assert wrong_method.status_code == 405 and "<h1>" in wrong_method.text


def test_logs_carry_no_personal_data_and_no_tokens(
    lite: Portal, lite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _, registrant = make_domain(lite_store, "quiet.com")
    caplog.set_level(logging.DEBUG)
    submit_form(lite, "quiet.com")
    submit_form(lite, "unknown-quiet.com")
    link = confirm_link(lite.mails()[0])
    lite.client.post(link, data={"csrf_token": csrf_of(lite.client.get(link).text)})
    (request,) = requests_of(lite_store)
    # What the server logs (httpx is the test's client: its log lines are not the portal's).
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(r.getMessage() for r in server)
    assert request.reference in text  # the log says what happened, by reference
    for private in (registrant.email, registrant.name, FORM["email"], FORM["name"], FORM["org"]):
        assert private not in text
    assert link.rsplit("/", 1)[1] not in text
    assert "@" not in text


# -- the parts behind the pages ----------------------------------------------------------------


def test_token_buckets_refill_at_their_rate() -> None:
    now = [0.0]
    limiter = RateLimiter({"submit": (2, 10.0)}, clock=lambda: now[0])
    assert limiter.retry_after("submit", "a") == 0
    assert limiter.retry_after("submit", "a") == 0
    assert limiter.retry_after("submit", "a") == 10
    assert limiter.retry_after("submit", "b") == 0  # per client
    now[0] = 5.0
    assert limiter.retry_after("submit", "a") == 5
    now[0] = 10.0
    assert limiter.retry_after("submit", "a") == 0
    now[0] = 1000.0  # a long pause refills only up to the burst
    assert [limiter.retry_after("submit", "a") for _ in range(3)] == [0, 0, 10]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.9", "192.0.2.9"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(address: str, key: str) -> None:
    request = Request({"type": "http", "client": (address, 1234), "headers": []})
    assert client_key(request) == key


def test_the_secret_is_kept_so_form_tokens_survive_a_restart(
    lite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERLINK_PORTAL_SECRET", raising=False)
    data_dir = tmp_path / "secret-home"
    first = load_secret(PortalSettings(), data_dir)
    assert load_secret(PortalSettings(), data_dir) == first and len(first) == 32
    assert (data_dir / "portal-secret").stat().st_mode & 0o777 == 0o600
    settings = lite_store.settings.model_copy(update={"data_dir": data_dir})
    keys = {
        create_app(
            lite_store, mailer=FolderMailer(tmp_path), settings=settings
        ).state.portal.csrf.key
        for _ in range(2)
    }
    assert len(keys) == 1


def test_the_portal_does_not_import_the_tui() -> None:
    for source in Path(portal_package.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "tui" or n.startswith("tui.") for n in names), source.name
