"""Publication profiles as data: per role and field, publish, redact (and how) or omit.

A profile is a table, not code. `publishers.policy` reads it together with the contact's consent,
the house-contact rule and the profile's legal-person setting; no other module decides what is
private. `check_profile` refuses a table a renderer could not honour (a State/Province that is
redacted, a phone extension that does not follow its number, a method a field cannot use).
`Publications` says which profile each TLD publishes under, and whether the registrar answers
WHOIS and RDAP for it at all (the registries file names them: publishers/registries.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from domains.contact_fields import CONTACT_FIELDS, NAMES
from domains.errors import InterlinkError
from domains.vocabulary import ContactRole

Action = Literal["publish", "redact", "omit"]
Method = Literal["removal", "emptyValue", "replacementValue"]

#: Every contact field the policy decides on, in WHOIS layout order; `handle` is the registry
#: contact id.
FIELDS = ("handle", *NAMES)
ADDRESS_FIELDS = ("street", "city", "state", "postal_code", "country")
#: The RFC 9537 methods each field can be redacted with, given how WHOIS and jCard carry it:
#: fn and the slots of adr must stay present (emptyValue), tel members and the entity handle can
#: only go (removal), an e-mail goes or is replaced by a contact-uri.
ALLOWED_METHODS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "handle": frozenset({"removal"}),
        "name": frozenset({"emptyValue"}),
        "org": frozenset({"removal", "emptyValue"}),
        "street": frozenset({"emptyValue"}),
        "city": frozenset({"emptyValue"}),
        "state": frozenset(),
        "postal_code": frozenset({"emptyValue"}),
        "country": frozenset(),
        "voice": frozenset({"removal"}),
        "voice_ext": frozenset({"removal"}),
        "fax": frozenset({"removal"}),
        "fax_ext": frozenset({"removal"}),
        "email": frozenset({"removal", "replacementValue"}),
    }
)
#: An extension lives inside its number (WHOIS line pair, jCard tel URI): it follows it.
EXTENSION_OF = MappingProxyType({f.name: f.part_of for f in CONTACT_FIELDS if f.part_of})


@dataclass(frozen=True)
class Rule:
    """One cell of a profile table: publish, redact with an RFC 9537 method, or omit.

    An omitted field is no part of the role's public data at all (ICANN's Registration Data
    Policy shows no address of the technical contact, say): no line, no member, no redaction
    notice, and nothing, not consent nor the house-contact rule, publishes it.
    """

    action: Action
    method: Method | None = None

    @property
    def published(self) -> bool:
        """True when the field is shown as it is."""
        return self.action == "publish"

    @property
    def omitted(self) -> bool:
        """True when the field is no part of the role's public data."""
        return self.action == "omit"


PUBLISH = Rule("publish")
EMPTY = Rule("redact", "emptyValue")
REMOVE = Rule("redact", "removal")
REPLACE = Rule("redact", "replacementValue")
OMIT = Rule("omit")
#: Fields a profile may omit; the name never (jCard's `fn` is required), the address only whole
#: (jCard's `adr` is one member).
OMITTABLE = frozenset(FIELDS) - {"name"}


@dataclass(frozen=True)
class Profile:
    """A named publication profile: a rule per role and field, and which roles RDDS shows."""

    name: str
    description: str
    rules: Mapping[str, Mapping[str, Rule]]
    shown_roles: frozenset[str] = field(
        default=frozenset({ContactRole.REGISTRANT, ContactRole.TECH})
    )
    organizations_in_full: bool = False

    def rule(self, role: str, field_name: str) -> Rule:
        """The rule of one cell of the table."""
        return self.rules[role][field_name]


class ProfileError(ValueError):
    """A profile table a renderer could not honour."""


class UnknownProfile(InterlinkError):
    """A profile name that is not in PROFILES."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no publication profile {name!r}; known: {', '.join(sorted(PROFILES))}")


def check_profile(profile: Profile) -> Profile:
    """Return the profile unchanged, or raise ProfileError naming the first bad cell."""
    for role in ContactRole:
        cells = profile.rules.get(role)
        if cells is None or set(cells) != set(FIELDS):
            raise ProfileError(f"{profile.name}: role {role} needs exactly the fields {FIELDS}")
        for name, rule in cells.items():
            where = f"{profile.name}: {role}.{name}"
            if (rule.action == "redact") != (rule.method is not None):
                raise ProfileError(f"{where}: redact needs a method, publish and omit take none")
            if rule.action == "redact" and rule.method not in ALLOWED_METHODS[name]:
                allowed = ", ".join(sorted(ALLOWED_METHODS[name])) or "none: never redacted"
                raise ProfileError(f"{where}: method {rule.method} (allowed: {allowed})")
            if rule.omitted and name not in OMITTABLE:
                raise ProfileError(f"{where}: cannot be omitted (every contact shows a name)")
        for ext, number in EXTENSION_OF.items():
            if cells[ext].action != cells[number].action:
                raise ProfileError(f"{profile.name}: {role}.{ext} must follow {role}.{number}")
        if len({cells[name].omitted for name in ADDRESS_FIELDS}) > 1:
            raise ProfileError(
                f"{profile.name}: {role}: the address is omitted whole or not at all"
            )
    unknown = profile.shown_roles - set(ContactRole)
    if unknown:
        raise ProfileError(f"{profile.name}: unknown roles {sorted(unknown)}")
    return profile


def _table(**cells: Rule) -> Mapping[str, Rule]:
    return MappingProxyType(dict(cells))


# architecture §4, registrant rows, exactly.
_ICANN_REGISTRANT = _table(
    handle=REMOVE,  # registry contact id: REDACTED FOR PRIVACY / removal
    name=EMPTY,  # REDACTED FOR PRIVACY / emptyValue (fn = "")
    org=PUBLISH,  # published if given (no org: the member is simply absent)
    street=EMPTY,  # REDACTED FOR PRIVACY / emptyValue (slots of adr)
    city=EMPTY,
    state=PUBLISH,  # never redacted
    postal_code=EMPTY,
    country=PUBLISH,  # never redacted
    voice=REMOVE,  # REDACTED FOR PRIVACY / removal
    voice_ext=REMOVE,
    fax=REMOVE,
    fax_ext=REMOVE,
    email=REPLACE,  # web-form URL / replacementValue (contact-uri)
)
# The classic technical contact (the 2013 RAA's RDDS layout), for a ccTLD profile: every field,
# redacted the way the registrant's same field is (ICANN's Temporary Specification, Appendix A
# 2.3), except the organisation, which only the registrant confirms for publication: removal.
# State/province and country stay published: never redacted.
_CLASSIC_TECH = _table(
    handle=REMOVE,
    name=EMPTY,
    org=REMOVE,
    street=EMPTY,
    city=EMPTY,
    state=PUBLISH,
    postal_code=EMPTY,
    country=PUBLISH,
    voice=REMOVE,
    voice_ext=REMOVE,
    fax=REMOVE,
    fax_ext=REMOVE,
    email=REPLACE,
)
# architecture §4, tech rows, as ICANN's Registration Data Policy has them: the technical contact
# is a name, a phone number and an e-mail address (Tech Name, Tech Phone, Tech Email; the
# extension lives in its number), each redacted unless consented (the e-mail replaced by the
# web form that reaches the contact). No registry contact id, organisation, address or fax is
# part of it: omitted, whoever the contact is (the house contact shows its name, phone and
# e-mail as they are, and no more).
_RDP_TECH = _table(
    handle=OMIT,
    name=EMPTY,
    org=OMIT,
    street=OMIT,
    city=OMIT,
    state=OMIT,
    postal_code=OMIT,
    country=OMIT,
    voice=REMOVE,
    voice_ext=REMOVE,
    fax=OMIT,
    fax_ext=OMIT,
    email=REPLACE,
)
# Admin and billing are not shown at all (shown_roles). Their cells still matter: they set the
# EPP disclose flags when a registry takes these roles, so they are as strict as the classic tech.
_ICANN_RULES: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {
        ContactRole.REGISTRANT: _ICANN_REGISTRANT,
        ContactRole.ADMIN: _CLASSIC_TECH,
        ContactRole.TECH: _RDP_TECH,
        ContactRole.BILLING: _CLASSIC_TECH,
    }
)
_CLASSIC_RULES: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {
        ContactRole.REGISTRANT: _ICANN_REGISTRANT,
        ContactRole.ADMIN: _CLASSIC_TECH,
        ContactRole.TECH: _CLASSIC_TECH,
        ContactRole.BILLING: _CLASSIC_TECH,
    }
)

ICANN_GTLD = check_profile(
    Profile(
        name="icann-gtld",
        description="ICANN Registration Data Policy for gTLDs (architecture §4)",
        rules=_ICANN_RULES,
    )
)
CCTLD_LEGAL_PERSONS = check_profile(
    Profile(
        name="cctld-legal-persons",
        description=(
            "a ccTLD that publishes the contacts of legal persons (kind organization) in full "
            "and redacts natural persons' data like icann-gtld, in the classic technical-contact "
            "block (every field, as the registrant's)"
        ),
        rules=_CLASSIC_RULES,
        organizations_in_full=True,
    )
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {profile.name: profile for profile in (ICANN_GTLD, CCTLD_LEGAL_PERSONS)}
)
DEFAULT_PROFILE = ICANN_GTLD.name


def get_profile(name: str) -> Profile:
    """The profile of that name; UnknownProfile (naming the known ones) otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(name) from None


def is_gtld(tld: str) -> bool:
    """True for a generic TLD: any ASCII one but the two-letter ones, which are all country codes
    (an IDN TLD, "xn--", may be either, so it is not taken for one)."""
    return not (len(tld) == 2 and tld.isascii() and tld.isalpha()) and not tld.startswith("xn--")


@dataclass(frozen=True)
class RegistryRdds:
    """The registry's own RDDS, which holds a TLD's registration data when the registrar runs
    none for it: the public are sent there."""

    whois_server: str
    rdap_base_url: str | None = None

    def rdap_url(self, domain: str) -> str | None:
        """The registry's RDAP URL of `domain` (RFC 9224: base URL + "domain/" + name)."""
        if self.rdap_base_url is None:
            return None
        return f"{self.rdap_base_url.rstrip('/')}/domain/{domain}"


@dataclass(frozen=True)
class TldPublication:
    """How one TLD's domains are published: the profile (None: the default one), and the
    registry's RDDS when the registrar answers no WHOIS or RDAP for them (answers point there)."""

    tld: str
    profile: str | None = None
    registry_rdds: RegistryRdds | None = None

    def __post_init__(self) -> None:
        if self.profile is not None:
            get_profile(self.profile)  # UnknownProfile, naming the known ones


@dataclass(frozen=True)
class Publications:
    """Each TLD's publication (from the registries file). A TLD that names no profile publishes
    under `default` when it is a ccTLD, and under icann-gtld when it is a gTLD (its registrar is
    bound by ICANN's policy), unless `every_tld` (a preview of one profile everywhere).

    Plain data (profile names, not tables), so that it travels to a worker process.
    """

    tlds: Mapping[str, TldPublication]
    default: str = DEFAULT_PROFILE
    every_tld: bool = False

    def __post_init__(self) -> None:
        get_profile(self.default)

    @classmethod
    def single(cls, profile: str) -> Publications:
        """Every TLD under one profile, with the registrar's RDDS (a preview's --profile)."""
        return cls({}, profile, every_tld=True)

    def for_tld(self, tld: str) -> TldPublication:
        """The publication of one TLD (A-label, any case), its profile named."""
        key = tld.strip(".").lower()
        found = self.tlds.get(key)
        if found is not None and found.profile is not None:
            return found
        gtld = is_gtld(key) and not self.every_tld
        profile = DEFAULT_PROFILE if gtld else self.default
        return TldPublication(key, profile, found.registry_rdds if found else None)

    def choose(self, tld: str) -> tuple[Profile, RegistryRdds | None]:
        """The profile one TLD publishes under, and the registry's RDDS if only it runs one."""
        chosen = self.for_tld(tld)
        return get_profile(chosen.profile or self.default), chosen.registry_rdds

    def profiles(self) -> dict[str, Profile]:
        """Every profile in use, by name (for digests of what answers depend on)."""
        names = {DEFAULT_PROFILE, self.default, *(e.profile for e in self.tlds.values())}
        return {name: get_profile(name) for name in sorted(n for n in names if n)}
