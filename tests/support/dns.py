"""A real DNS server (dnslib) on loopback answering NS look-ups from fixed zones."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dnslib import NS, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from domains.dns_check import NsResult, live_nameservers

# Many long NS names: the answer is over 512 bytes, so UDP truncates and TCP has to carry it.
BIG = [
    f"ns{i:02d}.host-{i:02d}-with-a-long-label-to-fill-the-packet.example{i:02d}.net."
    for i in range(20)
]


ZONES = {
    "moved.example.": ["NS2.NewHost.Example.", "ns1.newhost.example."],
    "xn--bcher-kva.example.": ["ns1.interlink.example.net."],
    "big.example.": BIG,
}


@dataclass
class Zones(BaseResolver):
    """Answers NS for ZONES, NOERROR without NS for `empty.example`, SERVFAIL for `broken`."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).lower()
        self.seen.append((qname, handler.protocol))
        if qname == "broken.example.":
            reply.header.rcode = RCODE.SERVFAIL
        elif qname == "empty.example.":
            if request.q.qtype == QTYPE.A:  # the name exists, it just has no NS records
                reply.add_answer(RR(qname, QTYPE.A, rdata=A("192.0.2.1"), ttl=60))
        elif qname in ZONES and request.q.qtype == QTYPE.NS:
            for host in ZONES[qname]:
                reply.add_answer(RR(qname, QTYPE.NS, rdata=NS(host), ttl=300))
        elif qname not in ZONES:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class SmallUdp(DNSHandler):
    """Truncates UDP answers over 512 bytes as a classic server does: question kept, TC set."""

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        packed = self.server.resolver.resolve(request, self).pack()
        if self.protocol == "udp" and len(packed) > 512:
            truncated = request.reply()
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed


@dataclass
class DnsFixture:
    port: int
    zones: Zones

    def look_up(self, name: str, **kwargs) -> NsResult:
        return live_nameservers(name, nameservers=["127.0.0.1"], port=self.port, **kwargs)


def _bind(zones: Zones, port: int) -> list[DNSServer]:
    quiet = DNSLogger(log="-recv,-send,-request,-reply,-truncated,-error,-data", prefix=False)
    servers = []
    try:
        for tcp in (False, True):
            server = DNSServer(
                zones, address="127.0.0.1", port=port, tcp=tcp, logger=quiet, handler=SmallUdp
            )
            servers.append(server)
    except OSError:
        for server in servers:
            server.server.server_close()
        raise
    return servers


@contextmanager
def serve_zones() -> Iterator[DnsFixture]:
    """The server on 127.0.0.1, UDP and TCP on the same free port, until the block ends."""
    zones = Zones()
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            servers = _bind(zones, port)
            break
        except OSError:
            continue
    else:
        raise RuntimeError("no free port for the DNS server")
    for server in servers:
        threading.Thread(
            target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
    try:
        yield DnsFixture(port, zones)
    finally:
        for server in servers:
            server.stop()
            server.server.server_close()
