"""DNSSEC in the public answers: RDAP's secureDNS (RFC 9083 section 5.3) carries a signed domain's
DS records, live and rendered ahead; WHOIS says signedDelegation or unsigned."""

from __future__ import annotations

import dataclasses

from domains.dnssec import DsView
from domains.store import Store
from publishers.policy import build_view
from publishers.public_lookup import PublicLookup
from publishers.published import Publication, publish
from publishers.rdap import UNSHOWN_DS_REMARK, rdap_bytes, rdap_json
from publishers.rdap_app import rdap_lookup
from publishers.whois import render_whois, whois_bytes
from tests.support.factories import make_domain
from tests.support.rdap_schema import rdap_answer
from tests.support.records import make_contact, make_record, view_of

D1 = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"
D2 = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3F4D8B1E9D1C6B8D2E5A7F30"
DS = (DsView(2371, 13, 2, D1), DsView(60485, 15, 2, D2))
DS_DATA = [
    {"keyTag": 2371, "algorithm": 13, "digest": D1, "digestType": 2},
    {"keyTag": 60485, "algorithm": 15, "digest": D2, "digestType": 2},
]


def signed_record(dnssec: bool = True, ds: tuple[DsView, ...] = DS):
    record = make_record({"registrant": make_contact()}, dnssec=dnssec)
    return dataclasses.replace(record, ds=ds)


def check_secure_dns(member: dict) -> None:
    """RFC 9083 section 5.3: the members and their JSON types."""
    assert set(member) <= {"zoneSigned", "delegationSigned", "maxSigLife", "dsData", "keyData"}
    assert isinstance(member["delegationSigned"], bool)
    for ds in member.get("dsData", []):
        assert set(ds) <= {"keyTag", "algorithm", "digest", "digestType", "events", "links"}
        assert isinstance(ds["keyTag"], int) and 0 <= ds["keyTag"] <= 65535
        assert isinstance(ds["algorithm"], int) and 0 <= ds["algorithm"] <= 255
        assert isinstance(ds["digestType"], int) and 0 <= ds["digestType"] <= 255
        assert isinstance(ds["digest"], str) and int(ds["digest"], 16) >= 0


def test_a_signed_domain_carries_its_ds_data() -> None:
    body = rdap_answer(rdap_json(view_of(signed_record())))
    assert body["secureDNS"] == {"delegationSigned": True, "dsData": DS_DATA}
    check_secure_dns(body["secureDNS"])
    assert "DNSSEC: signedDelegation\r\n" in render_whois(view_of(signed_record()))


def test_signed_without_ds_on_file_and_unsigned_carry_no_ds_data() -> None:
    # Recorded as signed, no DS records on file: RFC 9083 section 5.3's delegationSigned true
    # would need dsData or keyData to show, so false, and a remark says why.
    legacy = rdap_answer(rdap_json(view_of(signed_record(ds=()))))
    assert legacy["secureDNS"] == {"delegationSigned": False}
    assert legacy["remarks"] == [UNSHOWN_DS_REMARK]
    unsigned = rdap_answer(rdap_json(view_of(signed_record(dnssec=False))))
    assert unsigned["secureDNS"] == {"delegationSigned": False}  # DS of an unsigned one: never
    assert "remarks" not in unsigned
    check_secure_dns(unsigned["secureDNS"])
    assert "DNSSEC: unsigned\r\n" in render_whois(view_of(signed_record(dnssec=False)))


def test_the_public_view_carries_the_ds_records() -> None:
    view = build_view(
        signed_record(), profile="icann-gtld", registrar=view_of(signed_record()).registrar
    )
    assert view.domain.ds == DS


def test_the_store_s_ds_records_reach_rdap_live_and_rendered_ahead(store: Store) -> None:
    created, _ = make_domain(store, "signed-kites.com")
    store.set_ds("staff:test", created.name, None, [ds.text for ds in DS])
    live = PublicLookup(store, rdap_bytes, cache_bytes=0)
    whois = PublicLookup(store, whois_bytes, cache_bytes=0)
    try:
        body = rdap_answer(live.answer("signed-kites.com").body)
        assert body["secureDNS"] == {"delegationSigned": True, "dsData": DS_DATA}
        assert b"DNSSEC: signedDelegation" in (whois.answer("signed-kites.com").body or b"")
    finally:
        live.close()
        whois.close()

    publication = Publication(store.settings)
    publish(store, publication)
    ahead = rdap_lookup(store, cache_bytes=0)
    try:
        served = rdap_answer(ahead.answer("signed-kites.com").body)
        assert ahead.stats["published"] == 1
        assert served["secureDNS"] == {"delegationSigned": True, "dsData": DS_DATA}
        # Removing the records unsigns the domain: the answer rendered ahead is not served.
        store.set_ds("staff:test", created.name, None, [])
        after = rdap_answer(ahead.answer("signed-kites.com").body)
        assert after["secureDNS"] == {"delegationSigned": False}
    finally:
        ahead.close()


def test_a_cached_live_answer_follows_a_ds_change(store: Store) -> None:
    created, _ = make_domain(store, "cached-kites.com")
    lookup = PublicLookup(store, rdap_bytes)  # with its memory cache
    try:
        first = rdap_answer(lookup.answer("cached-kites.com").body)
        assert first["secureDNS"] == {"delegationSigned": False}
        store.add_ds("staff:test", created.name, None, [DS[0].text])
        second = rdap_answer(lookup.answer("cached-kites.com").body)
        assert second["secureDNS"] == {"delegationSigned": True, "dsData": DS_DATA[:1]}
    finally:
        lookup.close()
