"""Live NS look-ups with dnspython against a real DNS server (dnslib) on loopback."""

from __future__ import annotations

import socket

from domains.dns_check import NsResult, compare_delegation, live_nameservers
from domains.settings import DnsSettings
from tests.support.dns import BIG, DnsFixture


def test_ns_records_sorted_lower_case_without_dots(dns_server: DnsFixture) -> None:
    result = dns_server.look_up("moved.example", timeout=2)
    assert result.error is None and result.ok
    assert result.hosts == ["ns1.newhost.example", "ns2.newhost.example"]
    assert result.elapsed_ms >= 0
    assert dns_server.zones.seen == [("moved.example.", "udp")]


def test_an_idn_in_a_label_form(dns_server: DnsFixture) -> None:
    assert dns_server.look_up("xn--bcher-kva.example.").hosts == ["ns1.interlink.example.net"]


def test_a_truncated_answer_is_fetched_over_tcp(dns_server: DnsFixture) -> None:
    result = dns_server.look_up("big.example")
    assert result.error is None
    assert result.hosts == sorted(h.rstrip(".") for h in BIG)
    assert [proto for _q, proto in dns_server.zones.seen] == ["udp", "tcp"]


def test_nxdomain(dns_server: DnsFixture) -> None:
    result = dns_server.look_up("unknown.example")
    assert result == NsResult(
        hosts=[],
        error="the domain does not exist in the DNS (NXDOMAIN)",
        elapsed_ms=result.elapsed_ms,
    )
    assert not result.ok


def test_no_ns_records(dns_server: DnsFixture) -> None:
    result = dns_server.look_up("empty.example")
    assert (result.hosts, result.error) == ([], "no NS records")


def test_a_failing_resolver(dns_server: DnsFixture) -> None:
    result = dns_server.look_up("broken.example")
    assert result.hosts == []
    assert "SERVFAIL" in result.error


def test_resolver_address_and_port_from_settings(dns_server: DnsFixture) -> None:
    settings = DnsSettings(resolvers=["127.0.0.1"], port=dns_server.port, timeout=2.0)
    result = live_nameservers("moved.example", settings=settings)
    assert result.hosts == ["ns1.newhost.example", "ns2.newhost.example"]


def test_a_silent_resolver_times_out() -> None:
    # A UDP socket that is bound (so no "port unreachable") but never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = live_nameservers(
            "moved.example", nameservers=["127.0.0.1"], port=port, timeout=0.3
        )
    assert result.hosts == []
    assert result.error == "no answer from the resolver within 0.3 s"
    assert 250 <= result.elapsed_ms < 3000


def test_bad_input_is_an_answer_not_an_exception() -> None:
    result = live_nameservers("a..b", nameservers=["127.0.0.1"], timeout=0.1)
    assert result.hosts == [] and "not a valid domain name" in result.error
    result = live_nameservers("example.com", nameservers=["not-an-ip"], timeout=0.1)
    assert "resolver address" in result.error


def test_compare_delegation() -> None:
    live = NsResult(hosts=["ns1.newhost.example", "ns2.newhost.example"], elapsed_ms=3)
    assert compare_delegation(["NS1.newhost.example.", "ns2.newhost.example"], live) == (
        "DNS still points to the stored name servers: ns1.newhost.example, ns2.newhost.example"
    )
    assert compare_delegation(["ns1.interlink.example.net"], live) == (
        "DNS already moved to ns1.newhost.example, ns2.newhost.example "
        "(stored: ns1.interlink.example.net)"
    )
    assert compare_delegation(["ns1.newhost.example", "ns9.interlink.example.net"], live) == (
        "DNS partly moved: it now points to ns1.newhost.example, ns2.newhost.example "
        "(stored: ns1.newhost.example, ns9.interlink.example.net)"
    )
    assert compare_delegation([], live) == (
        "no name servers are stored for this domain; DNS points to "
        "ns1.newhost.example, ns2.newhost.example"
    )
    failed = NsResult(error="no NS records")
    assert compare_delegation(["ns1.x.example"], failed) == "live delegation unknown: no NS records"
