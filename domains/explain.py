"""Why a domain name, an e-mail address or a phone number was refused, in the product's words."""

from __future__ import annotations

import unicodedata

import email_validator
import idna
import phonenumbers
import pycountry

MAX_LABEL = 63
MAX_NAME = 253
MAX_LOCAL_PART = 64
PHONE_EXAMPLE = "+44 20 7946 0958"
HOW_TO_WRITE_A_PHONE = f"write it in international form, e.g. {PHONE_EXAMPLE}"
HOW_TO_WRITE_A_NAME = "a domain name is letters, digits and hyphens between dots, e.g. example.com"
HOW_TO_WRITE_AN_EMAIL = "write it like name@example.com"

#: The full stops UTS-46 reads as dots between labels.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
#: What RFC 5322 allows before the @ besides letters, digits and dots.
_LOCAL_SPECIALS = frozenset("!#$%&'*+-/=?^_`{|}~")
#: Bidirectional classes of right-to-left writing (RFC 5893).
_RIGHT_TO_LEFT = frozenset(("R", "AL", "AN"))
#: Codes people use that ISO 3166-1 gives another: the United Kingdom, Greece.
_USUAL_CODES = {"UK": "GB", "EL": "GR"}


def character(char: str) -> str:
    """One character as people can find it: 'x' (U+0078 LATIN SMALL LETTER X)."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}{' ' + name if name else ''}"
    return f"{char!r} ({code})" if char.isprintable() and not char.isspace() else code


def _encoded_length(label: str) -> int:
    """The label's length as the DNS stores it (the xn-- form for a label with non-ASCII)."""
    if label.isascii():
        return len(label)
    try:
        return len("xn--") + len(label.lower().encode("punycode"))
    except UnicodeError:
        return len(label)


def _character_problem(label: str) -> str | None:
    """The first character of a label that no domain name may hold, in words."""
    for index, char in enumerate(label):
        if char.isascii():
            if char.isalnum() or char == "-":
                continue
            return f"{character(char)} is not allowed; {HOW_TO_WRITE_A_NAME}"
        if index == 0 and unicodedata.category(char).startswith("M"):
            return f"the part {label!r} starts with the combining mark {character(char)}"
        try:
            idna.encode(char, uts46=True, transitional=False)
        except idna.IDNABidiError:
            continue  # a direction rule: the whole name decides (see name_problem)
        except (idna.IDNAError, UnicodeError):
            return f"{character(char)} is not allowed in the part {label!r}"
    return None


def _label_problem(label: str) -> str | None:
    if not label:
        return "it has an empty part (two dots in a row, or a dot at the start)"
    if label.lower().startswith("xn--"):
        try:
            idna.decode(label)
        except (idna.IDNAError, UnicodeError):
            return (
                f"the part {label!r} starts with xn-- but is not a correctly encoded name; "
                "write the name in its own letters instead"
            )
        return None
    length = _encoded_length(label)
    if length > MAX_LABEL:
        return (
            f"the part {label[:20]!r}... is {length} characters long"
            f"{' when encoded' if not label.isascii() else ''}; "
            f"at most {MAX_LABEL} are allowed between two dots"
        )
    if label.startswith("-") or label.endswith("-"):
        where = "starts" if label.startswith("-") else "ends"
        return f"the part {label!r} {where} with a hyphen; a hyphen may stand only inside a part"
    if label[2:4] == "--":
        return (
            f"the part {label!r} has two hyphens as its 3rd and 4th characters, "
            "which only encoded (xn--) names may have"
        )
    return _character_problem(label)


def name_problem(name: str) -> str:
    """Why `name` (one the IDNA rules refused) is not a domain or host name."""
    labels = name.translate(_DOTS).split(".")
    for label in labels:
        problem = _label_problem(label)
        if problem:
            return problem
    length = sum(_encoded_length(label) for label in labels) + len(labels) - 1
    if length > MAX_NAME:
        return f"it is {length} characters long; at most {MAX_NAME} are allowed"
    if any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in name):
        return (
            "it mixes right-to-left writing with letters or digits in an order domain names "
            "do not allow; write each part in one direction"
        )
    return f"it is not a name the domain name system accepts; {HOW_TO_WRITE_A_NAME}"


def _local_part_problem(local: str) -> str | None:
    if local.startswith('"'):
        return "the part before the @ is in quotes; write it without them"
    if len(local) > MAX_LOCAL_PART:
        return (
            f"the part before the @ is {len(local)} characters long; "
            f"at most {MAX_LOCAL_PART} are allowed"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before the @ may not start or end with a dot, or have two dots in a row"
    for char in local:
        allowed = (
            (char.isalnum() or char == "." or char in _LOCAL_SPECIALS)
            if char.isascii()
            else unicodedata.category(char)[0] not in "CZ"
        )
        if not allowed:
            return (
                f"the part before the @ holds {character(char)}; "
                "use letters, digits and . _ - + there"
            )
    return None


def _mail_domain_problem(domain: str) -> str:
    if domain.startswith("["):
        return "it has an address in brackets after the @; give a domain name there"
    labels = domain.translate(_DOTS).split(".")
    if len(labels) < 2:
        return f"the part after the @ ({domain!r}) has no dot; give the full domain name there"
    problem = next(filter(None, map(_label_problem, labels)), None)
    if problem:
        return f"the part after the @ is not a domain name: {problem}"
    tld = labels[-1].lower()
    if tld in email_validator.SPECIAL_USE_DOMAIN_NAMES or domain.lower() in (
        email_validator.SPECIAL_USE_DOMAIN_NAMES
    ):
        return (
            f"{domain!r} is a name kept for tests or local networks, which cannot receive "
            "mail; give an address at a real domain"
        )
    if not any(char.isalpha() for char in tld):
        return f"the part after the @ ends in .{tld}, which is not a top-level domain"
    return f"the part after the @ ({domain!r}) is not a domain name that can receive mail"


def email_problem(address: str) -> str:
    """Why `address` (refused by the e-mail rules) is not an e-mail address, and how to write it."""
    if "<" in address or ">" in address:
        return "give the address alone, without a name or angle brackets"
    local, at, domain = address.rpartition("@")
    if not at:
        return f"it has no @; {HOW_TO_WRITE_AN_EMAIL}"
    if "@" in local and not local.startswith('"'):
        return f"it has more than one @; {HOW_TO_WRITE_AN_EMAIL}"
    if not local:
        return f"there is nothing before the @; {HOW_TO_WRITE_AN_EMAIL}"
    if not domain:
        return f"there is nothing after the @; {HOW_TO_WRITE_AN_EMAIL}"
    space = next((char for char in address if char.isspace()), None)
    if space is not None:
        return f"it contains a space ({character(space)}); an e-mail address has none"
    return _local_part_problem(local) or _mail_domain_problem(domain)


def phone_problem(error_type: int, raw: str) -> str:
    """Why phonenumbers could not read `raw`, from the kind of its error, and how to write it."""
    kinds = phonenumbers.NumberParseException
    if error_type == kinds.INVALID_COUNTRY_CODE:
        if raw.lstrip().startswith("+"):
            why = "it does not start with a known country code"
        else:
            why = "it has no country code"
    elif error_type in (kinds.TOO_SHORT_NSN, kinds.TOO_SHORT_AFTER_IDD):
        why = "it has too few digits"
    elif error_type == kinds.TOO_LONG:
        why = "it has too many digits (at most 15 with the country code)"
    else:
        return f"{raw!r} is not a phone number; {HOW_TO_WRITE_A_PHONE}"
    return f"{raw!r} is not a phone number: {why}; {HOW_TO_WRITE_A_PHONE}"


def country_name(code: str) -> str | None:
    """The English name of an ISO 3166-1 alpha-2 code, or None when there is none."""
    found = pycountry.countries.get(alpha_2=code)
    return found.name if found is not None else None


def country_hint(value: str) -> str | None:
    """For a country given as a name, an alpha-3 code or a usual non-ISO code: its alpha-2."""
    code = _USUAL_CODES.get(value.strip().upper())
    if code is None:
        try:
            code = pycountry.countries.lookup(value.strip()).alpha_2
        except LookupError:
            return None
    return f"for {country_name(code)} write {code}"
