"""The live delegation of a domain: its NS records as the DNS answers them now (dnspython).

Staff look at this to see whether DNS already moved to the new technical contact's company.
DNS trouble is never raised: it comes back as a clear message in `NsResult.error`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.resolver

from domains import explain
from domains.settings import DnsSettings, get_settings


@dataclass(frozen=True)
class NsResult:
    """The name servers found (sorted, lower case, no trailing dot) or why there are none."""

    hosts: list[str] = field(default_factory=list)
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the DNS answered with name servers."""
        return self.error is None


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def live_nameservers(
    domain_a_label: str,
    *,
    settings: DnsSettings | None = None,
    nameservers: list[str] | None = None,
    port: int | None = None,
    timeout: float | None = None,
) -> NsResult:
    """The NS records of the domain from the configured resolver (or the system's)."""
    dns_settings = settings or get_settings().dns
    servers = nameservers if nameservers is not None else dns_settings.resolvers
    port = port if port is not None else dns_settings.port
    timeout = timeout if timeout is not None else dns_settings.timeout
    started = time.monotonic()

    def result(hosts: list[str] | None = None, error: str | None = None) -> NsResult:
        elapsed = (time.monotonic() - started) * 1000
        return NsResult(hosts=hosts or [], error=error, elapsed_ms=round(elapsed, 1))

    try:
        qname = dns.name.from_text(_host(domain_a_label) or ".")
    except (dns.exception.DNSException, UnicodeError, ValueError):
        problem = explain.name_problem(domain_a_label)
        return result(error=f"{domain_a_label!r} is not a valid domain name: {problem}")
    try:
        resolver = dns.resolver.Resolver(configure=not servers)
    except dns.resolver.NoResolverConfiguration:
        return result(error="no DNS resolver is configured on this machine; set dns.resolvers")
    resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout
    if servers:
        try:
            resolver.nameservers = list(servers)
        except ValueError as exc:
            return result(error=f"the configured resolver address is not usable: {exc}")
    try:
        answer = resolver.resolve(qname, "NS", search=False, raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return result(error="the domain does not exist in the DNS (NXDOMAIN)")
    except dns.resolver.NoAnswer:
        return result(error="no NS records")
    except dns.exception.Timeout:
        return result(error=f"no answer from the resolver within {timeout:.1f} s")
    except dns.resolver.NoNameservers:
        return result(
            error="the resolver could not answer (it failed or refused the query: SERVFAIL/REFUSED)"
        )
    except dns.resolver.YXDOMAIN:
        return result(error="the name is too long once expanded (YXDOMAIN)")
    except dns.exception.DNSException as exc:
        return result(error=f"DNS look-up failed: {type(exc).__name__}: {exc}")
    except (OSError, ValueError) as exc:
        return result(error=f"cannot ask the resolver: {type(exc).__name__}: {exc}")
    hosts = sorted({_host(rr.target.to_text()) for rr in answer if hasattr(rr, "target")})
    if not hosts:
        return result(error="no NS records")
    return result(hosts=hosts)


def compare_delegation(stored: list[str], live: NsResult) -> str:
    """One line for staff: does the DNS still point where our record says, or has it moved?"""
    if live.error:
        return f"live delegation unknown: {live.error}"
    ours = sorted({_host(h) for h in stored if h.strip()})
    now = live.hosts
    now_text = ", ".join(now)
    if not ours:
        return f"no name servers are stored for this domain; DNS points to {now_text}"
    ours_text = ", ".join(ours)
    if set(now) == set(ours):
        return f"DNS still points to the stored name servers: {ours_text}"
    if not set(now) & set(ours):
        return f"DNS already moved to {now_text} (stored: {ours_text})"
    return f"DNS partly moved: it now points to {now_text} (stored: {ours_text})"
