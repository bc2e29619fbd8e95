"""WHOIS text in the ICANN registrar layout, rendered from a PublicationView only.

The A-label is shown upper case in `Domain Name` and `Name Server`, as in the example of the
2013 RAA Registration Data Directory Service Specification; no `Internationalized Domain Name`
line is added (it is not part of ICANN's layout, and RDAP carries the `unicodeName`).
"""

from __future__ import annotations

import re
from datetime import datetime

from publishers.policy import FieldView, PublicationView
from publishers.profiles import FIELDS

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


def render_whois(view: PublicationView) -> str:
    """The WHOIS answer for one domain: ICANN registrar layout, CRLF line ends."""
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
    lines += [_line("Name Server", host.upper()) for host in domain.nameservers]
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
