"""Every field a person or a file can give us: normalised, or refused with the reason in words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import email_validator
import idna
import phonenumbers
import pycountry
from publicsuffixlist import PublicSuffixList

from domains import explain
from domains.contact_fields import CONSENTABLE, FIELDS_BY_NAME
from domains.errors import FieldError, ValidationFailed
from domains.vocabulary import AccountStatus, ConsentMethod, ContactKind, ContactRole

MAX_LINE = 255  # EPP's (RFC 5733); each contact field's own limits: domains.contact_fields
HANDLE_MIN, HANDLE_MAX = 3, 16
ROLES = tuple(ContactRole)  # the role names for `in` checks (`"x" in ContactRole` raises on 3.11)
#: RFC 5731 section 2.3 domain statuses.
DOMAIN_STATUSES = (
    "ok",
    "inactive",
    "clientDeleteProhibited",
    "clientHold",
    "clientRenewProhibited",
    "clientTransferProhibited",
    "clientUpdateProhibited",
    "pendingCreate",
    "pendingDelete",
    "pendingRenew",
    "pendingTransfer",
    "pendingUpdate",
    "serverDeleteProhibited",
    "serverHold",
    "serverRenewProhibited",
    "serverTransferProhibited",
    "serverUpdateProhibited",
)
UPDATE_LOCKS = ("clientUpdateProhibited", "serverUpdateProhibited")
#: The statuses a registrar sets and lifts itself (RFC 5731 section 2.3).
CLIENT_STATUSES = tuple(s for s in DOMAIN_STATUSES if s.startswith("client"))
#: The registrar lock: no transfer, no update, no delete until the registrar lifts it.
REGISTRAR_LOCK = ("clientTransferProhibited", "clientUpdateProhibited", "clientDeleteProhibited")

_HANDLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ROID_RE = re.compile(r"^[\w]{1,80}-[\w]{1,8}$", re.ASCII)
_ACCOUNT_RE = re.compile(r"^[A-Z]{1,4}-?[0-9]{3,12}$")
_EPP_PHONE_RE = re.compile(r"^\+[0-9]{1,3}\.[0-9]{1,14}$")
_REFERENCE_RE = re.compile(r"^CR-[A-Z0-9]{5}-[A-Z0-9]{5}$")
#: What a value of the wrong kind is, in words (JSON and YAML give these types).
_KINDS = {bool: "true or false", int: "a number", float: "a number", list: "a list", dict: "a map"}


def fail(field: str, message: str) -> ValidationFailed:
    """A ValidationFailed for one field."""
    return ValidationFailed(FieldError(field, message))


def not_text(field: str, value: Any) -> ValidationFailed:
    """The refusal of a value that should have been text, naming what it was instead."""
    return fail(field, f"must be text, not {_KINDS.get(type(value), 'a value of another kind')}")


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def _has_control(value: str) -> int | None:
    """Position of the first control or format character, if any."""
    if value.isprintable():
        # isprintable() is False for every character of the categories below (and for the spaces
        # other than U+0020), so printable text, nearly all of it, needs no look at each character.
        return None
    for index, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return index
    return None


def text(field: str, value: Any, *, required: bool, max_len: int = MAX_LINE) -> str | None:
    """A single-line text field: trimmed, no control characters, within the EPP length limit."""
    if isinstance(value, str):
        return _remembered_text(field, value, required, max_len)
    return _text(field, value, required, max_len)


@lru_cache(maxsize=1 << 16)
def _remembered_text(field: str, value: str, required: bool, max_len: int) -> str | None:
    # Names, cities, states, postal codes and street lines repeat from record to record (an import
    # checks millions): each distinct one is checked once. lru_cache keeps no exceptions, so a bad
    # text is checked (and raises) afresh each time, under its own field name (part of the key).
    return _text(field, value, required, max_len)


def _text(field: str, value: Any, required: bool, max_len: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise fail(field, "is required")
        return None
    if not isinstance(value, str):
        raise not_text(field, value)
    value = unicodedata.normalize(
        "NFC", " ".join(value.split()) if "\t" in value else value.strip()
    )
    position = _has_control(value)
    if position is not None:
        raise fail(
            field,
            f"contains the control character U+{ord(value[position]):04X} at position "
            f"{position + 1}; only printable text on one line is allowed",
        )
    if len(value) > max_len:
        raise fail(field, f"is {len(value)} characters long; at most {max_len} are allowed")
    return value


def street(field: str, value: Any) -> list[str]:
    """Up to three street lines, each a valid text line."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise fail(field, "must be a list of up to 3 lines")
    lines = [line for line in value if line is not None and str(line).strip()]
    row = FIELDS_BY_NAME["street"]
    if len(lines) > row.lines:
        raise fail(field, f"has {len(lines)} lines; at most {row.lines} are allowed")
    return [
        text(f"{field}[{i + 1}]", line, required=True, max_len=row.max_len) or ""
        for i, line in enumerate(lines)
    ]


def country(value: Any, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 country code, upper case."""
    if not isinstance(value, str) or not value.strip():
        raise fail(field, "is required (an ISO 3166-1 alpha-2 code such as GB or DE)")
    return _country(value, field)


@lru_cache(maxsize=512)
def _country(value: str, field: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        hint = explain.country_hint(value) or "write two letters, e.g. GB, DE or US"
        raise fail(field, f"{value!r} is not an ISO 3166-1 alpha-2 country code; {hint}")
    return code


def postal_code(field: str, value: Any) -> str | None:
    """A postal code of at most 16 characters (EPP pcType)."""
    return text(field, value, required=False, max_len=FIELDS_BY_NAME["postal_code"].max_len)


def phone(field: str, value: Any, region: str | None = None) -> str | None:
    """A phone number in EPP form +CC.NNNN, checked for the country it belongs to."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise not_text(field, value)
    return _parse_phone(field, value.strip(), region)


# phonenumbers compiles its metadata's patterns on every use unless told to keep them (re's own
# cache, of 512 patterns, costs a look-up each time and drops some): a fifth of a phone check.
# The same patterns give the same answers. (Older phonenumbers versions do not have the switch.)
if hasattr(phonenumbers, "enable_pattern_cache"):
    phonenumbers.enable_pattern_cache()


@lru_cache(maxsize=65536)
def _parse_phone(field: str, given: str, region: str | None) -> str:
    raw = given.replace(".", "", 1) if _EPP_PHONE_RE.match(given) else given
    try:
        number = phonenumbers.parse(raw, region if not raw.startswith("+") else None)
    except phonenumbers.NumberParseException as exc:
        raise fail(field, explain.phone_problem(exc.error_type, given)) from None
    if not phonenumbers.is_valid_number(number):
        where = explain.country_name(
            phonenumbers.region_code_for_country_code(number.country_code or 0)
        )
        raise fail(
            field,
            f"{given!r} is not a valid number for country code +{number.country_code}"
            f"{f' ({where})' if where else ''}; check the digits",
        )
    national = str(number.national_number)
    if number.italian_leading_zero:
        national = "0" * (number.number_of_leading_zeros or 1) + national
    return f"+{number.country_code}.{national}"


def extension(field: str, value: Any) -> str | None:
    """A phone extension: digits only."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    ext = str(value).strip()
    most = FIELDS_BY_NAME["voice_ext"].max_len
    if not ext.isascii() or not ext.isdigit() or len(ext) > most:
        raise fail(field, f"{ext!r} is not an extension; use up to {most} digits")
    return ext


def email(value: Any, field: str = "email") -> str:
    """An e-mail address, syntax only (no DNS), normalised."""
    if not isinstance(value, str) or not value.strip():
        raise fail(field, "is required (an e-mail address such as name@example.com)")
    return _email(value, field)


@lru_cache(maxsize=65536)
def _email(value: str, field: str) -> str:
    try:
        result = email_validator.validate_email(value.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError:
        problem = explain.email_problem(value.strip())
        raise fail(
            field,
            f"{value.strip()!r} is not a valid e-mail address: {problem}",
        ) from None
    most = FIELDS_BY_NAME["email"].max_len
    if len(result.normalized) > most:
        raise fail(field, f"is longer than {most} characters")
    return result.normalized


def handle(value: Any, field: str = "handle") -> str:
    """A registry contact id: 3-16 characters, letters, digits, dot, dash, underscore."""
    if not isinstance(value, str):
        raise fail(field, "is required")
    value = value.strip()
    if not HANDLE_MIN <= len(value) <= HANDLE_MAX:
        raise fail(
            field, f"{value!r} has {len(value)} characters; it needs {HANDLE_MIN} to {HANDLE_MAX}"
        )
    if not _HANDLE_RE.match(value):
        raise fail(field, f"{value!r} may hold only letters, digits, '.', '-' and '_'")
    return value


def choice(field: str, value: Any, allowed: Iterable[str]) -> str:
    """One of a fixed set of words."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise fail(field, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


def aware(field: str, value: Any, *, required: bool = False) -> datetime | None:
    """A timezone-aware UTC datetime, from a datetime or an ISO 8601 string with an offset."""
    if value is None or value == "":
        if required:
            raise fail(field, "is required (ISO 8601 with a timezone, e.g. 2026-01-31T12:00:00Z)")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise fail(
                field, f"{value!r} is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)"
            ) from None
    if not isinstance(value, datetime):
        raise fail(field, "must be a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(field, "has no timezone; give it in UTC, e.g. 2026-01-31T12:00:00Z")
    return value.astimezone(UTC)


def _refuse_spaces_and_controls(field: str, raw: str, kind: str) -> None:
    position = _has_control(raw)
    if position is not None:
        raise fail(
            field,
            f"{raw!r} contains the invisible or control character "
            f"{explain.character(raw[position])} at position {position + 1}, "
            f"so it is not a valid {kind}",
        )
    # Printable text has no space but U+0020 (see _has_control): the look at each character
    # is for the rest, such as U+00A0 and U+3000.
    if " " in raw or (not raw.isprintable() and any(char.isspace() for char in raw)):
        how = explain.HOW_TO_WRITE_A_NAME
        raise fail(field, f"{raw!r} contains a space, so it is not a valid {kind}; {how}")


def domain_name(value: Any, field: str = "name") -> tuple[str, str, str]:
    """A registrable domain name: returns (A-label, U-label, TLD), all lower case (UTS-46)."""
    if not isinstance(value, str) or not value.strip():
        raise fail(field, "is required (a domain name such as example.com)")
    raw = value.strip().rstrip(".")
    _refuse_spaces_and_controls(field, raw, "domain name")
    try:
        alabel = idna.encode(raw, uts46=True, transitional=False).decode("ascii").lower()
        ulabel = idna.decode(alabel)
    except (idna.IDNAError, UnicodeError):
        raise fail(
            field, f"{raw!r} is not a valid domain name: {explain.name_problem(raw)}"
        ) from None
    if len(alabel) > 253:
        raise fail(field, f"is {len(alabel)} characters as an A-label; at most 253 are allowed")
    if "." not in alabel:
        raise fail(field, f"{raw!r} has no TLD; give the full name, e.g. example.com")
    registrable = _psl().privatesuffix(alabel)
    if registrable != alabel:
        suffix = _psl().publicsuffix(alabel)
        if suffix is None:
            raise fail(
                field, f"{raw!r} is not registrable: .{alabel.rsplit('.', 1)[1]} is not a known TLD"
            )
        if registrable is None:
            raise fail(field, f"{raw!r} is a public suffix, not a domain one can register")
        raise fail(
            field,
            f"{raw!r} is not registrable under the public suffix .{suffix}; "
            f"the registrable name is {idna.decode(registrable)}",
        )
    tld = alabel.rsplit(".", 1)[1]
    return alabel, ulabel, tld


def host_name(value: Any, field: str = "nameservers") -> str:
    """A name server host name as an A-label (no public-suffix rule: any valid host)."""
    if not isinstance(value, str) or not value.strip():
        raise fail(field, "has an empty host name")
    raw = value.strip().rstrip(".")
    _refuse_spaces_and_controls(field, raw, "host name")
    try:
        host = idna.encode(raw, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise fail(
            field, f"{raw!r} is not a valid host name: {explain.name_problem(raw)}"
        ) from None
    if "." not in host or len(host) > 253:
        raise fail(field, f"{raw!r} is not a fully qualified host name")
    return host


def roid(value: Any, field: str = "roid") -> str | None:
    """A registry object id (EPP roidType: up to 80 word characters, '-', up to 8)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ROID_RE.match(value):
        raise fail(field, f"{value!r} is not a registry object id (e.g. D1234-EXAMPLE)")
    return value


def reference(value: Any, field: str = "reference") -> str:
    """A change-request reference such as CR-ABCDE-FGH23, upper case."""
    key = value.strip().upper() if isinstance(value, str) else ""
    if not _REFERENCE_RE.match(key):
        raise fail(
            field,
            f"{value!r} is not a request reference; one looks like CR-ABCDE-FGH23 "
            "(CR, then two groups of five letters or digits)",
        )
    return key


def account_number(value: Any, field: str = "number") -> str:
    """An account number such as A-100042."""
    if not isinstance(value, str) or not _ACCOUNT_RE.match(value.strip().upper()):
        raise fail(field, f"{value!r} is not an account number (letters, '-', digits: A-100042)")
    return value.strip().upper()


def _collect(checks: list[tuple[str, Callable[[], Any]]], record: str | None) -> dict[str, Any]:
    """Run every check, gathering all failures so a person sees them at once."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks:
        try:
            out[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors, record=record)
    return out


def contact(data: Mapping[str, Any], record: str | None = None) -> dict[str, Any]:
    """A whole contact: returns the normalised fields or raises with every bad field."""
    cc_raw = data.get("country")
    try:
        region = country(cc_raw)
    except ValidationFailed:
        region = None
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("kind", lambda: choice("kind", data.get("kind", ContactKind.PERSON), ContactKind)),
        ("name", lambda: _line("name", data, required=True)),
        ("org", lambda: _line("org", data, required=data.get("kind") == ContactKind.ORGANIZATION)),
        ("street", lambda: street("street", data.get("street"))),
        ("city", lambda: _line("city", data, required=True)),
        ("state", lambda: _line("state", data, required=False)),
        ("postal_code", lambda: postal_code("postal_code", data.get("postal_code"))),
        ("country", lambda: country(cc_raw)),
        ("voice", lambda: phone("voice", data.get("voice"), region)),
        ("voice_ext", lambda: extension("voice_ext", data.get("voice_ext"))),
        ("fax", lambda: phone("fax", data.get("fax"), region)),
        ("fax_ext", lambda: extension("fax_ext", data.get("fax_ext"))),
        ("email", lambda: email(data.get("email"))),
        ("consent_fields", lambda: consent_fields(data.get("consent_fields"))),
        ("consent_method", lambda: consent_method(data)),
        ("consent_at", lambda: aware("consent_at", data.get("consent_at"))),
    ]
    if data.get("handle") is not None:
        checks.append(("handle", lambda: handle(data.get("handle"))))
    from domains import ascii_postal  # local: it builds on this module's checks

    checks.append(("ascii_postal", lambda: ascii_postal.check(data.get("ascii_postal"))))
    out = _collect(checks, record)
    if out["voice_ext"] and not out["voice"]:
        raise ValidationFailed(FieldError("voice_ext", "needs a voice number"), record=record)
    if out["fax_ext"] and not out["fax"]:
        raise ValidationFailed(FieldError("fax_ext", "needs a fax number"), record=record)
    if out["consent_fields"] and out["consent_at"] is None:
        out["consent_at"] = datetime.now(UTC)
    return out


def _line(name: str, data: Mapping[str, Any], *, required: bool) -> str | None:
    return text(name, data.get(name), required=required, max_len=FIELDS_BY_NAME[name].max_len)


def consent_fields(value: Any) -> list[str]:
    """The fields a contact agreed to publish."""
    if not value:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in value if v not in CONSENTABLE]
    if bad:
        raise fail(
            "consent_fields",
            f"{', '.join(map(str, bad))} cannot be consented to; "
            f"choose from {', '.join(CONSENTABLE)}",
        )
    return [f for f in CONSENTABLE if f in value]


def consent_method(data: Mapping[str, Any]) -> str | None:
    """How consent was given; required when any field is consented."""
    method = data.get("consent_method")
    if not data.get("consent_fields"):
        return None
    if method is None:
        raise fail(
            "consent_method",
            "is required when consent is given (" + ", ".join(ConsentMethod) + ")",
        )
    return choice("consent_method", method, ConsentMethod)


def account(data: Mapping[str, Any], record: str | None = None) -> dict[str, Any]:
    """A whole account: returns the normalised fields or raises with every bad field."""
    cc_raw = data.get("country")
    try:
        region = country(cc_raw)
    except ValidationFailed:
        region = None
    return _collect(
        [
            ("number", lambda: account_number(data.get("number"))),
            ("name", lambda: text("name", data.get("name"), required=True)),
            ("email", lambda: email(data.get("email"))),
            ("phone", lambda: phone("phone", data.get("phone"), region)),
            ("street", lambda: street("street", data.get("street"))),
            ("city", lambda: text("city", data.get("city"), required=False)),
            ("state", lambda: text("state", data.get("state"), required=False)),
            ("postal_code", lambda: postal_code("postal_code", data.get("postal_code"))),
            ("country", lambda: country(cc_raw)),
            (
                "status",
                lambda: choice("status", data.get("status", AccountStatus.ACTIVE), AccountStatus),
            ),
            (
                "marketing_opt_out_at",
                lambda: aware("marketing_opt_out_at", data.get("marketing_opt_out_at")),
            ),
            (
                "marketing_opt_out_via",
                lambda: text(
                    "marketing_opt_out_via", data.get("marketing_opt_out_via"), required=False
                ),
            ),
            (
                "marketing_opt_out_by",
                lambda: text(
                    "marketing_opt_out_by", data.get("marketing_opt_out_by"), required=False
                ),
            ),
        ],
        record,
    )


def statuses(value: Any, field: str = "statuses") -> list[str]:
    """EPP domain statuses (RFC 5731), without duplicates, in a stable order."""
    if not value:
        return ["ok"]
    if isinstance(value, str):
        value = value.split()
    bad = [s for s in value if s not in DOMAIN_STATUSES]
    if bad:
        raise fail(field, f"{', '.join(map(str, bad))} is not an EPP domain status (RFC 5731)")
    chosen = [s for s in DOMAIN_STATUSES if s in value]
    if "ok" in chosen and len(chosen) > 1:
        chosen.remove("ok")
    return chosen


def nameservers(value: Any, field: str = "nameservers") -> list[str]:
    """Name server host names, A-labels, no duplicates, at most 13."""
    if not value:
        return []
    if isinstance(value, str):
        value = value.split()
    hosts: list[str] = []
    for host in value:
        name = host_name(host, field)
        if name not in hosts:
            hosts.append(name)
    if len(hosts) > 13:
        raise fail(field, f"has {len(hosts)} hosts; at most 13 are allowed")
    return hosts


def domain(data: Mapping[str, Any], record: str | None = None) -> dict[str, Any]:
    """A whole domain: returns the normalised fields (name, unicode_name, tld, ...)."""
    out = _collect(
        [
            ("labels", lambda: domain_name(data.get("name"))),
            ("roid", lambda: roid(data.get("roid"))),
            ("statuses", lambda: statuses(data.get("statuses"))),
            ("nameservers", lambda: nameservers(data.get("nameservers"))),
            ("dnssec", lambda: bool(data.get("dnssec", False))),
            ("created_at", lambda: aware("created_at", data.get("created_at"))),
            ("expires_at", lambda: aware("expires_at", data.get("expires_at"))),
            ("updated_at", lambda: aware("updated_at", data.get("updated_at"))),
        ],
        record,
    )
    out["name"], out["unicode_name"], out["tld"] = out.pop("labels")
    if out["created_at"] and out["expires_at"] and out["expires_at"] <= out["created_at"]:
        raise ValidationFailed(
            FieldError("expires_at", "must be after the creation date"), record=record
        )
    return out
