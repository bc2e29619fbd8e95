"""Publication profiles as data: per role and field, publish or redact (and how).

A profile is a table, not code. `publishers.policy` reads it together with the contact's consent,
the house-contact rule and the profile's legal-person setting; no other module decides what is
private. `check_profile` refuses a table a renderer could not honour (a State/Province that is
redacted, a phone extension that does not follow its number, a method a field cannot use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from domains.contact_fields import CONTACT_FIELDS, NAMES
from domains.errors import InterlinkError
from domains.vocabulary import ContactRole

Action = Literal["publish", "redact"]
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
    """One cell of a profile table: publish, or redact with an RFC 9537 method."""

    action: Action
    method: Method | None = None

    @property
    def published(self) -> bool:
        """True when the field is shown as it is."""
        return self.action == "publish"


PUBLISH = Rule("publish")
EMPTY = Rule("redact", "emptyValue")
REMOVE = Rule("redact", "removal")
REPLACE = Rule("redact", "replacementValue")


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
            if rule.published != (rule.method is None):
                raise ProfileError(f"{where}: publish takes no method, redact needs one")
            if not rule.published and rule.method not in ALLOWED_METHODS[name]:
                allowed = ", ".join(sorted(ALLOWED_METHODS[name])) or "none: never redacted"
                raise ProfileError(f"{where}: method {rule.method} (allowed: {allowed})")
        for ext, number in EXTENSION_OF.items():
            if cells[ext].published != cells[number].published:
                raise ProfileError(f"{profile.name}: {role}.{ext} must follow {role}.{number}")
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
# architecture §4, tech rows: name emptyValue, phone and ext removal, e-mail replacementValue.
# Cells the design leaves out for tech are redacted the way the registrant's same field is
# (ICANN's Temporary Specification, Appendix A 2.3 redacts them for tech too), except the
# organisation, which only the registrant confirms for publication: removal. State/province and
# country stay published: never redacted.
_ICANN_TECH = _table(
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
# Admin and billing are not shown at all (shown_roles). Their cells still matter: they set the
# EPP disclose flags when a registry takes these roles, so they are as strict as tech.
_ICANN_RULES: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {
        ContactRole.REGISTRANT: _ICANN_REGISTRANT,
        ContactRole.ADMIN: _ICANN_TECH,
        ContactRole.TECH: _ICANN_TECH,
        ContactRole.BILLING: _ICANN_TECH,
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
            "and redacts natural persons like icann-gtld"
        ),
        rules=_ICANN_RULES,
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
