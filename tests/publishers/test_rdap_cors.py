"""RDAP answers CORS preflights, so web pages of other sites can query it from a browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from domains.settings import Settings
from domains.store import Store
from tests.support.portal import serve
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import rdds_settings
from tui.commands.serve import Services

PREFLIGHT = {
    "Origin": "https://lookup.example",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "accept, content-type",
}


def preflight(base_url: str, path: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return client.request("OPTIONS", path, headers=PREFLIGHT)


def assert_preflight(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""
    headers = response.headers
    assert headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "HEAD", "OPTIONS"}
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"accept", "content-type"} <= allowed
    assert int(headers["access-control-max-age"]) > 0


@pytest.mark.parametrize(
    "path", ["/rdap/domain/kite-makers.com", "/rdap/domain/not-ours.com", "/rdap/help"]
)
def test_a_preflight_is_answered_with_204_and_the_cors_headers(
    services: Services, path: str
) -> None:
    assert_preflight(preflight(services.http_url, path))


def test_other_methods_are_told_what_is_allowed(services: Services) -> None:
    with httpx.Client(base_url=services.http_url, timeout=10) as client:
        refused = client.request("DELETE", "/rdap/domain/kite-makers.com")
    assert refused.status_code == 405
    assert refused.headers["access-control-allow-origin"] == "*"
    allowed = {m.strip() for m in refused.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD", "OPTIONS"}


def test_preflights_are_not_counted_against_the_rate_limit(
    store: Store, settings: Settings, seeded: dict[str, Any]
) -> None:
    limited = rdds_settings(
        settings,
        rate_limit={"per_address_rate": 0.01, "per_address_burst": 2, "allow_list": []},
    )
    with Services(store, limited, whois_port=0, http_port=0, portal=False) as running:
        for _ in range(5):
            assert_preflight(preflight(running.http_url, "/rdap/domain/kite-makers.com"))
        with httpx.Client(base_url=running.http_url, timeout=10) as client:
            answers = [client.get("/rdap/domain/kite-makers.com") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    for answer in answers:
        rdap_answer(answer.content)  # the domain object twice, then an error object


# -- in Chromium -------------------------------------------------------------------------------

#: A page of another site that looks a domain up with fetch(); the Content-Type header is not
#: one of CORS's safe ones, so Chromium asks with a preflight first.
LOOKUP_PAGE = """<!doctype html><link rel="icon" href="data:,"><pre id="out">…</pre><script>
fetch("RDAP/domain/kite-makers.com", {headers: {"Content-Type": "application/json"}})
  .then(r => r.json().then(b => JSON.stringify({status: r.status, handle: b.handle})))
  .catch(e => "failed: " + e)
  .then(t => { document.getElementById("out").textContent = t; });
</script>"""


@pytest.fixture
def lookup_page(services: Services) -> Iterator[str]:
    """The page above, served from localhost (another site than 127.0.0.1's RDAP)."""
    html = LOOKUP_PAGE.replace("RDAP/", services.rdap_url)

    def build(base_url: str) -> Any:
        return Starlette(routes=[Route("/", lambda request: HTMLResponse(html))])

    with serve(build) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.mark.slow
def test_a_page_of_another_site_can_query_rdap_in_chromium(
    browser: Any,
    lookup_page: str,
) -> None:
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.goto(lookup_page)
        tab.wait_for_function("document.getElementById('out').textContent !== '…'")
        said = tab.locator("#out").inner_text()
    finally:
        context.close()
    assert not said.startswith("failed"), said
    answer = json.loads(said)
    assert answer["status"] == 200 and answer["handle"]
