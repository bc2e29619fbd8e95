"""DS records (DNSSEC as data): each checked against IANA's registries, as a frozen view.

The numbers and what each may be used for are IANA's "DNS Security Algorithm Numbers" and "DS RR
Type Digest Algorithms" registries, with the use columns RFC 9904 gave them (it moved RFC 8624's
tables there). A DS record is refused when its algorithm is not one zones are signed with (0
Delete DS, 2 Diffie-Hellman, 252 Indirect), is reserved or unassigned, or IANA says it MUST NOT be
used for signing (1, 3, 6, 12); and when its digest type MUST NOT be used for a delegation (0, 1
SHA-1, 3 GOST R 34.11-94) or its digest is not as long as the type makes it. Mnemonics are read
with dnspython (`dns.dnssectypes`); dnspython keeps no use columns, so they are here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dns.dnssectypes
import dns.exception

from domains.errors import FieldError, ValidationFailed

MAX_KEY_TAG = 65535
MUST_NOT = "MUST NOT"
#: Algorithm number -> (mnemonic, IANA "Use for DNSSEC Signing"), RFC 9904 table 2.
ALGORITHMS: Mapping[int, tuple[str, str]] = {
    1: ("RSAMD5", MUST_NOT),
    3: ("DSA", MUST_NOT),
    5: ("RSASHA1", "NOT RECOMMENDED"),
    6: ("DSA-NSEC3-SHA1", MUST_NOT),
    7: ("RSASHA1-NSEC3-SHA1", "NOT RECOMMENDED"),
    8: ("RSASHA256", "RECOMMENDED"),
    10: ("RSASHA512", "NOT RECOMMENDED"),
    12: ("ECC-GOST", MUST_NOT),
    13: ("ECDSAP256SHA256", "RECOMMENDED"),
    14: ("ECDSAP384SHA384", "MAY"),
    15: ("ED25519", "RECOMMENDED"),
    16: ("ED448", "MAY"),
    17: ("SM2SM3", "MAY"),
    23: ("ECC-GOST12", "MAY"),
    253: ("PRIVATEDNS", "MAY"),
    254: ("PRIVATEOID", "MAY"),
}
#: Assigned numbers that no zone is signed with, and why.
NOT_FOR_ZONES: Mapping[int, str] = {
    0: "0 (Delete DS) is only for CDS records a child publishes, never a DS at the parent",
    2: "2 (Diffie-Hellman) is not a zone-signing algorithm",
    252: "252 (Indirect) is reserved and not a zone-signing algorithm",
}
RESERVED_ALGORITHMS = frozenset({4, 9, 11, 255, *range(123, 252)})
#: Digest type -> (name, hex digits of the digest, IANA "Use for DNSSEC Delegation"), table 3.
DIGESTS: Mapping[int, tuple[str, int, str]] = {
    0: ("NULL (CDS only)", 0, MUST_NOT),
    1: ("SHA-1", 40, MUST_NOT),
    2: ("SHA-256", 64, "RECOMMENDED"),
    3: ("GOST R 34.11-94", 64, MUST_NOT),
    4: ("SHA-384", 96, "MAY"),
    5: ("GOST R 34.11-2012", 64, "MAY"),
    6: ("SM3", 64, "MAY"),
}
USABLE_ALGORITHMS = tuple(n for n, (_, use) in ALGORITHMS.items() if use != MUST_NOT)
USABLE_DIGESTS = tuple(n for n, (_, _, use) in DIGESTS.items() if use != MUST_NOT)
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX = re.compile(r"[0-9A-Fa-f]*")
#: Other spellings of a DS's parts in a mapping (RDAP's and EPP's).
_ALIASES = {
    "key_tag": ("key_tag", "keyTag", "keytag"),
    "algorithm": ("algorithm", "alg"),
    "digest_type": ("digest_type", "digestType"),
    "digest": ("digest",),
}


@dataclass(frozen=True, order=True)
class DsView:
    """One DS record of a domain: key tag, algorithm, digest type, digest (upper-case hex)."""

    key_tag: int
    algorithm: int
    digest_type: int
    digest: str

    @property
    def text(self) -> str:
        """The record as DS presentation text: `12345 13 2 49FD...`."""
        return f"{self.key_tag} {self.algorithm} {self.digest_type} {self.digest}"

    @property
    def algorithm_name(self) -> str:
        """The algorithm's mnemonic (ECDSAP256SHA256), or its number."""
        return ALGORITHMS.get(self.algorithm, (str(self.algorithm), ""))[0]

    @property
    def digest_name(self) -> str:
        """The digest type's name (SHA-256), or its number."""
        return DIGESTS.get(self.digest_type, (str(self.digest_type), 0, ""))[0]

    def payload(self) -> dict[str, Any]:
        """The record as an outbox payload carries it (secDNS-1.1 dsData)."""
        return {
            "key_tag": self.key_tag,
            "alg": self.algorithm,
            "digest_type": self.digest_type,
            "digest": self.digest,
        }


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(FieldError(field, message))


def _number(field: str, value: Any, what: str, mnemonic: Any = None) -> int:
    """A whole number, from an int or its text (or a mnemonic `mnemonic.from_text` reads)."""
    if isinstance(value, bool) or value is None:
        raise _fail(field, f"is required: the {what}, a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text)
        if mnemonic is not None:
            try:
                return int(mnemonic.from_text(text.upper()))
            except (ValueError, TypeError, AttributeError, dns.exception.DNSException):
                pass  # not a mnemonic either: refused below
    raise _fail(field, f"{value!r} is not a number; give the {what} as a number")


def key_tag(value: Any, field: str = "key_tag") -> int:
    """A key tag: 0 to 65535."""
    number = _number(field, value, "key tag")
    if not 0 <= number <= MAX_KEY_TAG:
        raise _fail(field, f"{number} is not a key tag; a key tag is 0 to {MAX_KEY_TAG}")
    return number


def algorithm(value: Any, field: str = "algorithm") -> int:
    """A DNSSEC algorithm number a DS may carry (IANA, RFC 9904)."""
    number = _number(field, value, "algorithm", dns.dnssectypes.Algorithm)
    usable = ", ".join(str(n) for n in USABLE_ALGORITHMS)
    if number in ALGORITHMS:
        name, use = ALGORITHMS[number]
        if use == MUST_NOT:
            raise _fail(
                field,
                f"{number} ({name}) must not be used to sign zones any more (IANA, RFC 9904); "
                "sign the zone with a current algorithm such as 13 (ECDSAP256SHA256) or "
                "15 (ED25519) and give that key's DS",
            )
        return number
    if number in NOT_FOR_ZONES:
        raise _fail(field, f"{NOT_FOR_ZONES[number]}; a DS takes one of {usable}")
    if number in RESERVED_ALGORITHMS:
        raise _fail(field, f"{number} is a reserved algorithm number; a DS takes one of {usable}")
    if not 0 <= number <= 255:
        raise _fail(field, f"{number} is not an algorithm number (0 to 255); use one of {usable}")
    raise _fail(field, f"{number} is not an assigned DNSSEC algorithm; use one of {usable}")


def digest_type(value: Any, field: str = "digest_type") -> int:
    """A DS digest type that may be used for a delegation (IANA, RFC 9904)."""
    number = _number(field, value, "digest type", dns.dnssectypes.DSDigest)
    usable = ", ".join(f"{n} ({DIGESTS[n][0]})" for n in USABLE_DIGESTS)
    if number not in DIGESTS:
        raise _fail(field, f"{number} is not an assigned digest type; use {usable}")
    name, _, use = DIGESTS[number]
    if use == MUST_NOT:
        raise _fail(
            field,
            f"{number} ({name}) must not be used for a delegation (IANA, RFC 9904); "
            "make the DS of the same key with digest type 2 (SHA-256)",
        )
    return number


def digest(value: Any, kind: int | None, field: str = "digest") -> str:
    """The digest in upper-case hex, as long as its type makes it (spaces between allowed)."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, "is required: the digest, in hexadecimal")
    text = "".join(value.split())
    if not _HEX.fullmatch(text):
        bad = next(char for char in text if char not in HEX_DIGITS)
        raise _fail(field, f"has {bad!r}, which is not a hexadecimal digit (0-9, A-F)")
    if kind is not None and kind in DIGESTS:
        name, length, _ = DIGESTS[kind]
        if len(text) != length:
            raise _fail(
                field,
                f"has {len(text)} hexadecimal digits; a {name} digest (type {kind}) has {length}",
            )
    return text.upper()


def _part(value: Mapping[str, Any], name: str) -> Any:
    for key in _ALIASES[name]:
        if key in value:
            return value[key]
    return None


def _parts(value: Any, field: str) -> tuple[Any, Any, Any, Any]:
    """key tag, algorithm, digest type and digest of a DsView, a mapping or DS text."""
    if isinstance(value, DsView):
        return value.key_tag, value.algorithm, value.digest_type, value.digest
    if isinstance(value, Mapping):
        return (
            _part(value, "key_tag"),
            _part(value, "algorithm"),
            _part(value, "digest_type"),
            _part(value, "digest"),
        )
    if isinstance(value, str):
        words = value.split()
        # A whole DS line (`example.com. 3600 IN DS 12345 13 2 ...`): what follows DS.
        upper = [word.upper() for word in words]
        if "DS" in upper:
            words = words[len(upper) - upper[::-1].index("DS") :]
        if len(words) < 4:
            raise _fail(
                field,
                f"{value.strip()!r} is not a DS record; write key tag, algorithm, digest type "
                "and digest, e.g. 2371 13 2 1F987CC6583E92DF0890718C42...",
            )
        return words[0], words[1], words[2], "".join(words[3:])
    raise _fail(field, "must be a DS record: key tag, algorithm, digest type and digest")


def ds_record(value: Any, field: str = "ds") -> DsView:
    """One DS record, every part checked (each refusal names `field.part`)."""
    tag, alg, kind, hexdigits = _parts(value, field)
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, check in (
        ("key_tag", lambda: key_tag(tag, f"{field}.key_tag")),
        ("algorithm", lambda: algorithm(alg, f"{field}.algorithm")),
        ("digest_type", lambda: digest_type(kind, f"{field}.digest_type")),
    ):
        try:
            checked[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    known_kind = checked.get("digest_type")
    try:
        checked["digest"] = digest(hexdigits, known_kind, f"{field}.digest")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return DsView(**checked)


def ds_records(values: Iterable[Any] | None, field: str = "ds") -> tuple[DsView, ...]:
    """DS records `ds[0]`, `ds[1]`, ...: each checked, none twice, sorted."""
    if values is None:
        return ()
    if isinstance(values, str | Mapping | DsView):
        values = [values]
    errors: list[FieldError] = []
    found: list[DsView] = []
    for index, value in enumerate(values):
        where = f"{field}[{index}]"
        try:
            record = ds_record(value, where)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if record in found:
            errors.append(FieldError(where, f"{record.text} is given twice"))
            continue
        found.append(record)
    if errors:
        raise ValidationFailed(errors)
    return tuple(sorted(found))
