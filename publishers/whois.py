"""WHOIS text in the ICANN registrar layout, rendered from a PublicationView only.

The A-label is shown upper case in `Domain Name` and `Name Server`, as in the example of the
2013 RAA Registration Data Directory Service Specification; no `Internationalized Domain Name`
line is added (it is not part of ICANN's layout, and RDAP carries the `unicodeName`). A field the
profile omits has no line (the technical contact of ICANN's Registration Data Policy is a name, a
phone and an e-mail address); a domain without name servers has one empty `Name Server:` line, as
the RDDS specification of the 2013 RAA asks. For a TLD whose RDDS only its registry runs, the
answer is a short text naming the registry's WHOIS server (and RDAP service), and no contact.
"""

from __future__ import annotations

import re
from datetime import datetime

from publishers.policy import FieldView, PublicationView
from publishers.profiles import FIELDS, RegistryRdds

CRLF = "\r\n"
#: Unicode categories Cc (C0, DEL, C1), Zl and Zp: what could end or forge a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
WICF_URL = "https://www.icann.org/wicf/"
EPP_STATUS_URL = "https://icann.org/epp"


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def _clean(value: str) -> str:
    """One line of text: any line break or control character becomes a space."""
    return value if value.isprintable() else _CONTROL.sub(" ", value)


def _line(label: str, value: str = "") -> str:
    return f"{label}: {_clean(value)}".rstrip()


def _field_lines(view: FieldView) -> list[str]:
    if view.omitted:
        return []
    if view.field == "street" and view.published and len(view.lines) > 1:
        return [_line(view.rdap_name, line) for line in view.lines]
    return [_line(view.rdap_name, view.whois_text)]


def terms_of_use(view: PublicationView) -> list[str]:
    """Interlink's terms of use paragraph, one list item per line."""
    return [
        f"TERMS OF USE: The data in {view.registrar.name}'s WHOIS database is provided",
        "for information purposes only: to help persons obtain information about or related",
        "to a domain name registration record. Personal data is redacted according to",
        "the ICANN Registration Data Policy and Interlink's privacy policy; the contact form",
        "URL shown instead of an e-mail address reaches the contact. You agree to use this",
        "data only for lawful purposes and not to enable high volume, automated queries,",
        "unsolicited advertising or spam. Interlink may restrict or end your access to",
        f"this service at any time. Full terms: {view.registrar.terms_url}",
    ]


def render_referral(view: PublicationView, rdds: RegistryRdds) -> str:
    """The answer for a domain whose TLD's RDDS only its registry runs: where to ask, no data."""
    domain, registrar = view.domain, view.registrar
    tld = domain.name.rsplit(".", 1)[-1].upper()
    lines = [
        _line("Domain Name", domain.name.upper()),
        _line("Registrar", registrar.name),
        _line("Registrar URL", registrar.url),
        _line("Registry WHOIS Server", rdds.whois_server),
    ]
    if rdds.rdap_base_url:
        lines.append(_line("Registry RDAP Base URL", rdds.rdap_base_url))
    lines += [
        "",
        f"NOTICE: {registrar.name} runs no WHOIS service for .{tld} domains. The registration",
        f"data of {domain.name.upper()} is held by the .{tld} registry: ask its WHOIS server,",
        f"{rdds.whois_server} (whois -h {rdds.whois_server} {domain.name}).",
        "",
        f">>> Last update of WHOIS database: {_iso(view.generated_at)} <<<",
    ]
    return CRLF.join(lines) + CRLF


def render_whois(view: PublicationView) -> str:
    """The WHOIS answer for one domain: ICANN registrar layout, CRLF line ends."""
    if view.registry_rdds is not None:
        return render_referral(view, view.registry_rdds)
    domain, registrar = view.domain, view.registrar
    lines = [
        _line("Domain Name", domain.name.upper()),
        _line("Registry Domain ID", domain.roid or ""),
        _line("Registrar WHOIS Server", registrar.whois_server),
        _line("Registrar URL", registrar.url),
        _line("Updated Date", _iso(domain.updated)),
        _line("Creation Date", _iso(domain.created)),
        _line("Registrar Registration Expiration Date", _iso(domain.expires)),
        _line("Registrar", registrar.name),
        _line("Registrar IANA ID", registrar.iana_id),
        _line("Registrar Abuse Contact Email", registrar.abuse_email),
        _line("Registrar Abuse Contact Phone", registrar.abuse_phone),
        _line("Reseller"),
    ]
    lines += [
        _line("Domain Status", f"{status} {EPP_STATUS_URL}#{status}") for status in domain.statuses
    ]
    for role in view.shown_roles:
        for name in FIELDS:
            lines += _field_lines(role.field(name))
    # One empty `Name Server:` line for a domain without any (the RDDS specification).
    lines += [_line("Name Server", host.upper()) for host in domain.nameservers or ("",)]
    lines += [
        _line("DNSSEC", "signedDelegation" if domain.dnssec else "unsigned"),
        _line("URL of the ICANN Whois Inaccuracy Complaint Form", WICF_URL),
        f">>> Last update of WHOIS database: {_iso(view.generated_at)} <<<",
        "",
        f"For more information on Whois status codes, please visit {EPP_STATUS_URL}",
        "",
        *terms_of_use(view),
    ]
    return CRLF.join(lines) + CRLF


def whois_bytes(view: PublicationView) -> bytes:
    """The WHOIS answer of a PublicationView, as sent on the wire (UTF-8, CRLF)."""
    return render_whois(view).encode("utf-8")
