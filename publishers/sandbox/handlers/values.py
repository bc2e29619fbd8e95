"""The sandbox's value checks, as a registry makes them: 2005 for a value of the wrong syntax.

The EPP schemas (checked first, 2001) leave these open: a domain or host name is any token, a
country code any two characters, an e-mail address any token, and a phone number any digits
after +CC. A registry refuses the rest with 2005 "Parameter value syntax error" (RFC 5730):
names of LDH labels (RFC 1035, RFC 5890 A-labels), ISO 3166-1 alpha-2 codes (pycountry),
e-mail syntax (email-validator) and E.164 numbers (phonenumbers).
"""

from __future__ import annotations

import re

import email_validator
import idna
import phonenumbers
import pycountry

from publishers.epp.model import CONTACT_NS, DOMAIN_NS, Address, ContactChange, ContactData
from publishers.sandbox.reply import Refusal, Value

SYNTAX_ERROR = 2005
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
_PHONE = re.compile(r"\+(\d{1,3})\.(\d{1,14})")
_IMPOSSIBLE = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "no country has the calling code +{cc}",
    phonenumbers.ValidationResult.TOO_SHORT: "too few digits for a number under +{cc}",
    phonenumbers.ValidationResult.TOO_LONG: "too many digits for a number under +{cc}",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a possible length for a number under +{cc}",
}


def _refuse(value: Value, reason: str) -> Refusal:
    return Refusal(SYNTAX_ERROR, value=value, reason=reason)


def _name_problem(name: str) -> str | None:
    """Why name is not a fully qualified name of LDH labels (None: it is one)."""
    labels = name.rstrip(".").split(".")
    if len(labels) < 2:
        return "a name needs at least two labels"
    if len(name.rstrip(".")) > 253:
        return "a name has at most 253 characters"
    for label in labels:
        if not _LDH.fullmatch(label):
            return (
                f"label {label!r} is not 1 to 63 letters, digits and hyphens, "
                "starting and ending with a letter or digit"
            )
        if label[2:4] == "--":
            if label[:4].lower() != "xn--":
                return f"label {label!r} has hyphens in positions 3 and 4 but is not an A-label"
            try:
                idna.decode(label.lower())
            except (idna.IDNAError, UnicodeError):
                return f"label {label!r} is not a valid A-label (IDNA2008)"
    if labels[-1].isdigit():
        return "a top-level label is not all digits"
    return None


def domain_name(name: str) -> None:
    """Refuse (2005) a domain name that is not made of LDH labels."""
    problem = _name_problem(name)
    if problem is not None:
        raise _refuse((DOMAIN_NS, "name", name), f"not a domain name: {problem}")


def host_name(name: str) -> None:
    """Refuse (2005) a name server's host name that is not made of LDH labels."""
    problem = _name_problem(name)
    if problem is not None:
        raise _refuse((DOMAIN_NS, "hostObj", name), f"not a host name: {problem}")


def country_code(cc: str) -> None:
    """Refuse (2005) what is not an ISO 3166-1 alpha-2 code (upper case, as registries want)."""
    if cc != cc.upper() or pycountry.countries.get(alpha_2=cc) is None:
        raise _refuse((CONTACT_NS, "cc", cc), "not an ISO 3166-1 alpha-2 country code")


def email(address: str) -> None:
    """Refuse (2005) an e-mail address whose syntax is wrong (no DNS look-up)."""
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise _refuse((CONTACT_NS, "email", address), "not an e-mail address") from None


def phone(tag: str, number: str) -> None:
    """Refuse (2005) a +CC.NNNN number that E.164 does not allow: an unassigned calling code,
    or a length no number under that code has."""
    found = _PHONE.fullmatch(number)
    if found is None:
        raise _refuse((CONTACT_NS, tag, number), "not an E.164 number in the form +CC.NNNN")
    cc, national = found.groups()
    parsed = phonenumbers.PhoneNumber(country_code=int(cc), national_number=int(national))
    result = phonenumbers.is_possible_number_with_reason(parsed)
    reason = _IMPOSSIBLE.get(result)
    if reason is not None:
        raise _refuse((CONTACT_NS, tag, number), reason.format(cc=cc))


def _address(addr: Address) -> None:
    country_code(addr.cc)


def contact(data: ContactData) -> None:
    """Every value check of a contact:create."""
    country_code(data.cc)
    email(data.email)
    if data.voice:
        phone("voice", data.voice)
    if data.fax:
        phone("fax", data.fax)


def contact_change(change: ContactChange) -> None:
    """Every value check of a contact:update's chg (what it leaves alone is not checked)."""
    for postal in change.postal:
        if postal.addr is not None:
            _address(postal.addr)
    if change.email is not None:
        email(change.email)
    if change.voice:
        phone("voice", change.voice)
    if change.fax:
        phone("fax", change.fax)
