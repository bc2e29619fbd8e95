"""Publication by TLD: the registries file names each TLD's profile, or says that only the
registry runs WHOIS and RDAP for it; the view picks the profile by the domain's TLD, and WHOIS,
RDAP and the answers rendered ahead follow it (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import whois as python_whois
from whois.parser import WhoisEntry

from domains.settings import Settings
from domains.store import DomainRecord, Store
from publishers.policy import build_view
from publishers.profiles import Publications, RegistryRdds, TldPublication
from publishers.public_lookup import PublicLookup
from publishers.published import Publication, publish
from publishers.rdap import rdap_bytes, referral_of, render_rdap
from publishers.registries import load_registries
from publishers.whois import render_whois, whois_bytes
from tests.support.factories import account_data, contact_data, make_domain
from tests.support.rdap_schema import check_rdap, rdap_answer
from tests.support.rdds import need_whois_client, query, rdds_settings, whois_cli
from tests.support.records import NOW, REGISTRAR, make_contact, make_record
from tui.commands.serve import Services

REGISTRIES = """\
[registries.x]
tlds = ["com", "se", "de", "fr"]
host = "127.0.0.1"
client_id = "c"
password_env = "P"

[tlds.se]
profile = "cctld-legal-persons"

[tlds.de]
rdds = "registry"
registry_whois = "whois.registry-de.example"
registry_rdap = "https://rdap.registry-de.example/"

[tlds.fr]
rdds = "registry"
registry_whois = "whois.registry-fr.example"
"""
DE_RDDS = RegistryRdds("whois.registry-de.example", "https://rdap.registry-de.example/")
#: What the stored contacts of make_contact hold that no public answer of theirs may show.
PRIVATE = ("Imogen", "Quillon", "Upper Flat", "Wexcombe", "SN8 3ZZ", "555012", "555013", "imogen@")


def registries_file(folder: Path, text: str = REGISTRIES) -> Path:
    path = folder / "registries.toml"
    path.write_text(text)
    return path


@pytest.fixture
def publications(tmp_path: Path) -> Publications:
    return load_registries(registries_file(tmp_path), data_dir=tmp_path).publications()


def record_in(tld: str, **contacts: Any) -> DomainRecord:
    name = f"kites.{tld}"
    holders = contacts or {"registrant": make_contact(), "tech": make_contact(handle="ILC9")}
    return make_record(holders, name=name, unicode_name=name, tld=tld)


# ---------------------------------------------------------------- the registries file


def test_each_tld_names_its_publication(tmp_path: Path, publications: Publications) -> None:
    assert publications.for_tld("com") == TldPublication("com", "icann-gtld")
    assert publications.for_tld(".SE") == TldPublication("se", "cctld-legal-persons")
    assert publications.for_tld("de") == TldPublication("de", "icann-gtld", DE_RDDS)
    fr = publications.for_tld("fr").registry_rdds
    assert fr == RegistryRdds("whois.registry-fr.example", None)
    # A TLD that names no profile: the settings' default for a ccTLD, icann-gtld for a gTLD.
    registries = load_registries(registries_file(tmp_path), data_dir=tmp_path)
    legal = registries.publications("cctld-legal-persons")
    assert legal.for_tld("nl").profile == legal.for_tld("de").profile == "cctld-legal-persons"
    assert legal.for_tld("com").profile == legal.for_tld("net").profile == "icann-gtld"
    assert legal.for_tld("de").registry_rdds == DE_RDDS


def test_the_packaged_default_file_publishes_every_tld_under_icann_gtld(tmp_path: Path) -> None:
    publications = load_registries(data_dir=tmp_path).publications()
    for tld in ("com", "net", "org", "de", "fr", "nl", "se", "uk", "es", "it"):
        assert publications.for_tld(tld) == TldPublication(tld, "icann-gtld")


# ---------------------------------------------------------------- the view picks by TLD


def test_the_view_picks_the_profile_of_the_domains_tld(publications: Publications) -> None:
    company = make_contact(kind="organization")
    se = build_view(record_in("se", registrant=company), profile=publications, registrar=REGISTRAR)
    com = build_view(
        record_in("com", registrant=company), profile=publications, registrar=REGISTRAR
    )
    assert (se.profile, com.profile) == ("cctld-legal-persons", "icann-gtld")
    assert se.field("registrant", "street").published  # a legal person, in full
    assert not com.field("registrant", "street").published
    assert "Registrant Street: 7 Quillon Row" in render_whois(se)
    assert "Quillon" not in render_whois(com)
    assert se.registry_rdds is None and com.registry_rdds is None


def test_whois_of_a_tld_whose_rdds_only_the_registry_runs(publications: Publications) -> None:
    view = build_view(record_in("de"), profile=publications, registrar=REGISTRAR, now=NOW)
    assert view.registry_rdds == DE_RDDS
    text = render_whois(view)
    lines = text.split("\r\n")
    assert lines[:5] == [
        "Domain Name: KITES.DE",
        f"Registrar: {REGISTRAR.name}",
        f"Registrar URL: {REGISTRAR.url}",
        "Registry WHOIS Server: whois.registry-de.example",
        "Registry RDAP Base URL: https://rdap.registry-de.example/",
    ]
    assert "(whois -h whois.registry-de.example kites.de)" in text
    assert lines[-2:] == [">>> Last update of WHOIS database: 2026-11-27T12:00:00Z <<<", ""]
    assert "REDACTED" not in text and "Registrant" not in text
    for private in (*PRIVATE, "Wiltshire", "Farthingale Kites"):
        assert private not in text
    parsed = WhoisEntry("kites.de", text)  # the generic ICANN-style parser
    assert parsed["domain_name"].lower() == "kites.de"
    assert parsed["registrar"] == REGISTRAR.name


def test_rdap_of_a_tld_whose_rdds_only_the_registry_runs(publications: Publications) -> None:
    view = build_view(record_in("de"), profile=publications, registrar=REGISTRAR, now=NOW)
    body = check_rdap(render_rdap(view), "errorAnswer")
    target = "https://rdap.registry-de.example/domain/kites.de"
    # RFC 9083 section 6: a non-answer with its HTTP code; RFC 7480 section 5.2: the redirect.
    assert body["rdapConformance"] == ["rdap_level_0"]
    assert body["errorCode"] == 302
    assert isinstance(body["title"], str)
    assert all(isinstance(line, str) for line in body["description"])
    assert "whois.registry-de.example" in " ".join(body["description"])
    (notice,) = body["notices"]
    (link,) = notice["links"]
    assert link == {
        "value": f"{REGISTRAR.rdap_base_url}/domain/kites.de",
        "rel": "related",
        "href": target,
        "type": "application/rdap+json",
    }
    assert referral_of(rdap_bytes(view)) == (302, target)
    text = rdap_bytes(view).decode()
    for private in (*PRIVATE, "Wiltshire", "Farthingale Kites"):
        assert private not in text
    com = build_view(record_in("com"), profile=publications, registrar=REGISTRAR)
    assert referral_of(rdap_bytes(com)) is None
    rdap_answer(rdap_bytes(com), "domainAnswer")


def test_rdap_of_a_registry_without_rdap_names_its_whois(publications: Publications) -> None:
    view = build_view(record_in("fr"), profile=publications, registrar=REGISTRAR)
    body = check_rdap(render_rdap(view), "errorAnswer")
    assert body["errorCode"] == 404 and "notices" not in body
    assert "whois.registry-fr.example" in " ".join(body["description"])
    assert referral_of(rdap_bytes(view)) == (404, None)


# ---------------------------------------------------------------- through the store


def _domain(store: Store, name: str, contact: dict[str, Any]) -> None:
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact("staff:test", contact, account_number=account.number)
    store.create_domain(
        "staff:test",
        {"name": name, "nameservers": ["ns1.example.net"]},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )


def test_answers_rendered_ahead_follow_each_domains_tld(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    for name in ("kites.com", "kites.se", "kites.de"):
        company = contact_data(kind="organization", org="Drachen AB", street=["Kajgatan 12"])
        _domain(store, name, company)
    chosen = settings.model_copy(update={"registries_file": registries_file(tmp_path)})
    publication = Publication(chosen)
    assert publication.key != Publication(settings).key  # another file, another render key
    assert publish(store, publication).published == 3
    whois = PublicLookup(store, whois_bytes, settings=chosen, service="whois")
    rdap = PublicLookup(store, rdap_bytes, settings=chosen, service="rdap")
    try:
        com, se, de = (whois.answer(f"kites.{tld}").body or b"" for tld in ("com", "se", "de"))
        assert whois.stats["published"] == 3  # each from its answer rendered ahead
        assert b"Kajgatan" not in com and b"Registrant Organization: Drachen AB" in com
        assert b"Registrant Street: Kajgatan 12" in se  # cctld-legal-persons: in full
        assert b"Registry WHOIS Server: whois.registry-de.example" in de and b"Kajgatan" not in de
        answer = rdap.answer("kites.de").body or b""
        assert referral_of(answer) == (302, "https://rdap.registry-de.example/domain/kites.de")
        rdap_answer(answer, "errorAnswer")
        rdap_answer(rdap.answer("kites.se").body, "domainAnswer")
        # .se under the default profile in another file: another key, the street redacted.
        (tmp_path / "plain").mkdir()
        plain = registries_file(
            tmp_path / "plain", REGISTRIES.replace('profile = "cctld-legal-persons"', "")
        )
        other = Publication(settings.model_copy(update={"registries_file": plain}))
        assert other.key != publication.key
        live = PublicLookup(
            store, whois_bytes, settings=chosen, profile=other.publications, cache_bytes=0
        )
        try:
            assert b"Kajgatan" not in (live.answer("kites.se").body or b"")
        finally:
            live.close()
    finally:
        whois.close()
        rdap.close()


@pytest.fixture
def registry_run(store: Store, settings: Settings, seeded: dict[str, Any], tmp_path: Path) -> Any:
    """The services with .de's RDDS the registry's (the seeded bücher-haus.de)."""
    chosen = settings.model_copy(update={"registries_file": registries_file(tmp_path)})
    running = Services(store, rdds_settings(chosen), whois_port=0, http_port=0).start()
    try:
        yield running
    finally:
        running.stop()


def test_rdap_clients_are_sent_to_the_registry(registry_run: Services, seeded: dict) -> None:
    target = f"https://rdap.registry-de.example/domain/{seeded['idn_alabel']}"
    with httpx.Client(base_url=registry_run.http_url, timeout=10) as client:
        for _ in range(2):  # the first from the store, the second from the ready answer
            response = client.get(f"/rdap/domain/{seeded['idn']}")
            assert response.status_code == 302, response.text
            assert response.headers["location"] == target
            assert response.headers["content-type"] == "application/rdap+json"
            assert response.headers["access-control-allow-origin"] == "*"
            assert rdap_answer(response.content, "errorAnswer")["errorCode"] == 302
            assert "Margarethe" not in response.text
        ours = client.get("/rdap/domain/kite-makers.com")
        assert ours.status_code == 200
        rdap_answer(ours.content, "domainAnswer")


def test_whois_names_the_registrys_whois_server(registry_run: Services, seeded: dict) -> None:
    answer = query(registry_run.whois_port, seeded["idn"])
    assert "Registry WHOIS Server: whois.registry-de.example\r\n" in answer
    assert "Margarethe" not in answer and "Berlin" not in answer
    need_whois_client()
    out = whois_cli(registry_run.whois_port, seeded["idn_alabel"])
    assert "Registry WHOIS Server: whois.registry-de.example" in out
    assert "Registrant" not in out


def test_an_empty_name_server_line_through_real_clients(services: Services, store: Store) -> None:
    """A domain without name servers: one empty `Name Server:` line, which Debian's whois
    prints and python-whois reads as no name server."""
    need_whois_client()
    make_domain(store, "bare-kites.com")
    out = whois_cli(services.whois_port, "bare-kites.com")
    assert "\nName Server:\nDNSSEC: unsigned\n" in out.replace("\r\n", "\n")
    parsed = python_whois.whois(
        "bare-kites.com",
        command=True,
        executable_opts=["-h", "127.0.0.1", "-p", str(services.whois_port)],
    )
    assert parsed.domain_name == "BARE-KITES.COM"
    assert not [ns for ns in (parsed.name_servers or []) if ns and ns.strip()]
